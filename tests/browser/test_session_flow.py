"""A committee session in a real browser: the secretary plans it (the agenda is built from the
discordant cases), opens it and records attendance; the chair is refused a decision before the
quorum, records it once the quorum is met, creates a corrective action and signs the minutes
after confirming. The signed minutes never change again: same hash on reload, no form left, and
a POST to decide or to record attendance answers 409."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sittings.enums import AgendaItemState, SessionState
from sittings.models import Action, AgendaItem, Session
from tests.browser.login import log_in
from tests.workflows import disagreeing_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def record(page, name: str, status_label: str) -> None:
    page.get_by_label(f"Présence de {name}").select_option(label=status_label)
    page.get_by_role("button", name=f"Enregistrer — {name}").click()
    expect(page.locator(".messages")).to_contain_text(name)


def test_session_from_agenda_to_signed_minutes(open_page, live_server, world):
    campaign = disagreeing_campaign(world)
    n_cases = campaign.campaign_cases.count()
    base = live_server.url

    sec_watch = open_page()
    sec = log_in(sec_watch.page, base, world.secretary.username)
    sec.get_by_role("link", name="Séances").click()
    sec.get_by_role("link", name="Planifier une séance").first.click()
    sec.get_by_label("Intitulé").fill("Séance navigateur")
    when = timezone.localtime() + dt.timedelta(days=1)
    sec.get_by_label("Date et heure").fill(when.strftime("%Y-%m-%dT%H:%M"))
    sec.get_by_label("Lieu").fill("Salle du conseil")
    sec.get_by_role("button", name="Planifier la séance").click()
    expect(sec.get_by_role("heading", name=re.compile("Séance navigateur"))).to_be_visible()
    session = Session.objects.get()
    assert session.items.count() == n_cases
    expect(sec.locator(".agenda-item")).to_have_count(n_cases)

    sec.get_by_role("button", name="Ouvrir la séance").click()
    expect(sec.locator("main > h1")).to_contain_text("En séance")
    record(sec, world.chair.display_name, "Présent")
    expect(sec.locator("#quorum-status")).to_contain_text("quorum non atteint")

    chair_watch = open_page()
    chair = log_in(chair_watch.page, base, world.chair.username)
    chair.goto(f"{base}/sessions/{session.pk}/")
    item = session.items.order_by("position").first()
    article = chair.locator(f"#item-{item.pk}")
    article.get_by_text("Enregistrer la décision").first.click()  # the <summary>
    article.get_by_label("Synthèse des débats").fill("Trait de fracture discuté sur les deux incidences.")
    article.locator(f"#id_item{item.pk}-text").fill("Fracture retenue.")
    article.get_by_label("Label de référence retenu par le collège").select_option("fracture")
    article.get_by_label("Voix pour").fill("3")
    article.get_by_role("button", name="Enregistrer la décision").click()
    expect(chair.locator(".notice-error")).to_contain_text("Pas de quorum")
    assert AgendaItem.objects.get(pk=item.pk).state == AgendaItemState.PENDING

    for member in world.committee.members.select_related("user").exclude(user=world.chair):
        record(sec, member.user.display_name, "Présent")
    expect(sec.locator("#quorum-status")).to_contain_text("quorum atteint")

    chair.goto(f"{base}/sessions/{session.pk}/")
    article = chair.locator(f"#item-{item.pk}")
    article.get_by_text("Enregistrer la décision").first.click()
    article.get_by_label("Synthèse des débats").fill("Trait de fracture discuté sur les deux incidences.")
    article.locator(f"#id_item{item.pk}-text").fill("Fracture retenue.")
    article.get_by_label("Label de référence retenu par le collège").select_option("fracture")
    article.get_by_label("Voix pour").fill("5")
    article.get_by_label("Voix contre").fill("1")
    article.get_by_label("Opinion divergente").fill("Trait douteux pour un membre.")
    article.get_by_role("button", name="Enregistrer la décision").click()
    expect(chair.locator(".messages")).to_contain_text("La décision est enregistrée")
    assert AgendaItem.objects.get(pk=item.pk).state == AgendaItemState.DECIDED

    article = chair.locator(f"#item-{item.pk}")
    article.get_by_text("Créer une action corrective").click()
    article.get_by_label("Type d'action").select_option("train_users")
    article.get_by_label("Intitulé").fill("Former les urgentistes à la lecture du poignet")
    article.get_by_label("Responsable").select_option(label=world.quality.display_name)
    article.get_by_label("Échéance").fill((timezone.localdate() + dt.timedelta(days=30)).isoformat())
    article.get_by_role("button", name="Créer l'action").click()
    expect(chair.locator(".messages")).to_contain_text("L'action corrective est créée")
    assert Action.objects.get().title == "Former les urgentistes à la lecture du poignet"

    sec.goto(f"{base}/sessions/{session.pk}/")
    sec.get_by_role("button", name="Clore la séance").click()
    expect(sec.locator("main > h1")).to_contain_text("procès-verbal à signer")

    chair.goto(f"{base}/sessions/{session.pk}/")
    chair.get_by_role("link", name="Signer le procès-verbal").click()
    chair.get_by_role("button", name="Signer le procès-verbal").click()  # without confirming: refused
    expect(chair.locator(".errors")).to_contain_text("Cochez cette case")
    chair.get_by_label("Je confirme").check()
    chair.get_by_role("button", name="Signer le procès-verbal").click()
    expect(chair.locator(".messages")).to_contain_text("signé et figé")
    session.refresh_from_db()
    assert session.state == SessionState.SIGNED
    digest = chair.locator("#minutes-sha256").inner_text()
    assert digest == session.minutes_sha256
    expect(chair.locator(".minutes-frame")).to_contain_text("Former les urgentistes")
    chair_watch.screenshot("signed_minutes")

    chair.reload()
    assert chair.locator("#minutes-sha256").inner_text() == digest
    assert chair.locator("main form").count() == 0
    sec.goto(f"{base}/sessions/{session.pk}/")
    assert sec.locator("main form").count() == 0

    token = next(c["value"] for c in sec.context.cookies() if c["name"] == "csrftoken")
    member = world.committee.members.first()
    r = sec.request.post(f"{base}/sessions/{session.pk}/attendance/",
                         form={"csrfmiddlewaretoken": token, "member": str(member.pk), "status": "absent"})
    assert r.status == 409
    token = next(c["value"] for c in chair.context.cookies() if c["name"] == "csrftoken")
    other = session.items.exclude(pk=item.pk).first()
    r = chair.request.post(f"{base}/sessions/{session.pk}/items/{other.pk}/decide/",
                           form={"csrfmiddlewaretoken": token})
    assert r.status == 409
    session.refresh_from_db()
    assert session.minutes_sha256 == digest
    for watch in (sec_watch, chair_watch):
        # The refusals above (409 without quorum, 400 without confirmation) are the only errors.
        watch.console_errors = [e for e in watch.console_errors
                                if not re.search(r"status of (409|400) \((Conflict|Bad Request)\)", e)]
        watch.assert_clean()
