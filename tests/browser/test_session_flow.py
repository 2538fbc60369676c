"""The chair's session journey in a real browser, clicks counted: plan the session (the agenda is
built from the discordant cases, the members get the convocation), open it, record everyone's
attendance in one form, vote, record the decision once the present members have voted and the
quorum is met (the button is not offered before), close the session after a confirmation page,
sign the minutes after confirming. The signed minutes never change again: same hash on reload,
no form left, and a POST to decide or to record attendance answers 409."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from sittings import services
from sittings.enums import AgendaItemState, SessionState
from sittings.models import AgendaItem, Session
from tests.browser.journeys import Clicks
from tests.browser.login import log_in
from tests.workflows import disagreeing_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHAIR_LOGIN_CLICKS = 2  # password form, then the second factor


def test_chair_session_journey_from_planning_to_signed_minutes(open_page, live_server, world):
    campaign = disagreeing_campaign(world)
    n_cases = campaign.campaign_cases.count()
    base = live_server.url
    clicks = Clicks()

    watch = open_page()
    chair = log_in(watch.page, base, world.chair.username)
    clicks.click(chair.get_by_role("navigation", name="Navigation principale")
                 .get_by_role("link", name="Séances", exact=True))
    clicks.click(chair.get_by_role("link", name="Planifier une séance").first)
    chair.get_by_label("Intitulé").fill("Séance navigateur")
    when = timezone.localtime() + dt.timedelta(days=1)
    chair.get_by_label("Date et heure").fill(when.strftime("%Y-%m-%dT%H:%M"))
    chair.get_by_label("Lieu").fill("Salle du conseil")
    clicks.click(chair.get_by_role("button", name="Planifier la séance"))
    expect(chair.get_by_role("heading", name=re.compile("Séance navigateur"))).to_be_visible()
    session = Session.objects.get()
    assert session.items.count() == n_cases
    expect(chair.locator(".agenda-item")).to_have_count(n_cases)
    assert len(mail.outbox) == session.attendances.count()  # one convocation, with its .ics, per member

    clicks.click(chair.get_by_role("button", name="Ouvrir la séance"))
    expect(chair.locator("main > h1")).to_contain_text("En séance")
    clicks.click(chair.get_by_role("link", name="Présences et quorum"))
    excused = world.patient_reps[1]
    clicks.choose(chair.get_by_label(f"Présence de {excused.display_name}"), label="Excusé")
    clicks.click(chair.get_by_role("button", name="Enregistrer les présences"))  # every other row: present
    expect(chair.locator("#quorum-status")).to_contain_text("quorum atteint")

    clicks.click(chair.get_by_role("link", name="Ordre du jour et votes"))
    item = session.items.order_by("position").first()
    article = chair.locator(f"#item-{item.pk}")
    expect(article.get_by_text("une fois que les membres présents auront voté")).to_be_visible()
    assert article.locator(f"form[action$='/items/{item.pk}/decide/']").count() == 0
    clicks.check(article.locator(".vote-form").get_by_label("Pour"))
    clicks.click(article.get_by_role("button", name="Voter"))
    expect(chair.locator(".messages")).to_contain_text("Votre vote est enregistré")
    # The other present members vote from their own pages (see the member's journey); one dissents.
    others = [world.clinicians[0], world.clinicians[1], world.clinicians[2]]
    for voter in others[:2]:
        services.vote_cast(actor=voter, item=item, choice="for")
    services.vote_cast(actor=others[2], item=item, choice="against", dissent="Trait douteux pour un membre.")

    chair.reload()
    article = chair.locator(f"#item-{item.pk}")
    expect(article.locator(".vote-roll")).to_contain_text("Trait douteux pour un membre.")
    clicks.click(article.get_by_text("Enregistrer la décision").first)  # the <summary>
    article.get_by_label("Synthèse des débats").fill("Trait de fracture discuté sur les deux incidences.")
    article.locator(f"#id_item{item.pk}-text").fill("Fracture retenue.")
    clicks.choose(article.get_by_label("Label de référence retenu par le collège"), value="fracture")
    clicks.click(article.get_by_role("button", name="Enregistrer la décision"))
    expect(chair.locator(".messages")).to_contain_text("La décision est enregistrée")
    decision = AgendaItem.objects.get(pk=item.pk).decision
    assert (decision.votes_for, decision.votes_against) == (3, 1)

    clicks.click(chair.get_by_role("button", name="Clore la séance"))
    expect(chair.get_by_role("heading", name="Clore la séance ?")).to_be_visible()
    assert Session.objects.get(pk=session.pk).state == SessionState.OPEN  # nothing happens before confirming
    clicks.click(chair.get_by_role("button", name="Oui, clore la séance"))
    expect(chair.locator("main > h1")).to_contain_text("procès-verbal à signer")
    assert AgendaItem.objects.filter(session=session, state=AgendaItemState.DEFERRED).count() == n_cases - 1

    clicks.click(chair.get_by_role("link", name="Signer le procès-verbal"))
    clicks.check(chair.get_by_label("Je confirme"))
    clicks.click(chair.get_by_role("button", name="Signer le procès-verbal"))
    expect(chair.locator(".messages")).to_contain_text("signé et figé")
    session.refresh_from_db()
    assert session.state == SessionState.SIGNED
    clicks.click(chair.get_by_role("link", name="Procès-verbal", exact=True))
    digest = chair.locator("#minutes-sha256").inner_text()
    assert digest == session.minutes_sha256
    expect(chair.locator(".minutes-frame")).to_contain_text("Vote : 3 pour, 1 contre")
    expect(chair.locator(".minutes-frame")).to_contain_text("Décision prise à la majorité")

    assert CHAIR_LOGIN_CLICKS + clicks.count == 21  # quoted in the README ("Journeys")

    chair.reload()
    assert chair.locator("#minutes-sha256").inner_text() == digest
    assert chair.locator("main form").count() == 0
    token = next(c["value"] for c in chair.context.cookies() if c["name"] == "csrftoken")
    member = world.committee.members.first()
    r = chair.request.post(f"{base}/sessions/{session.pk}/roll-call/",
                           form={"csrfmiddlewaretoken": token, f"status-{member.pk}": "absent"})
    assert r.status == 409
    other = session.items.exclude(pk=item.pk).first()
    r = chair.request.post(f"{base}/sessions/{session.pk}/items/{other.pk}/decide/",
                           form={"csrfmiddlewaretoken": token})
    assert r.status == 409
    session.refresh_from_db()
    assert session.minutes_sha256 == digest
    watch.console_errors = [e for e in watch.console_errors
                            if not re.search(r"status of 409 \(Conflict\)", e)]
    watch.assert_clean()
