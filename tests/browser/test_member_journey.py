"""The patient representative's journey as a member of the committee, in a real browser, clicks
counted: log in, open the session from "Séances", read the agenda, vote and comment on an item,
read the signed minutes of the previous session, open the campaign's dashboard. A clinician
member walks the same pages (same seat rules)."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sittings import services
from sittings.models import Comment, Vote
from tests.browser.journeys import Clicks
from tests.browser.login import log_in
from tests.workflows import disagreeing_campaign, present_quorum

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEMBER_LOGIN_CLICKS = 1  # a patient representative has no second factor


def _signed_session(world):
    """Last month's session, decided and signed."""
    session = services.session_create(actor=world.secretary, committee=world.committee, title="Séance de février",
                                      scheduled_at=timezone.now() - dt.timedelta(days=30), place="Salle 2")
    services.session_start(actor=world.secretary, session=session)
    present_quorum(session, world.secretary)
    item = session.items.order_by("position").first()
    for voter in (world.chair, world.clinicians[0], world.patient_reps[0]):
        services.vote_cast(actor=voter, item=item, choice="for")
    services.decision_record(actor=world.chair, item=item, summary="Débat.", text="Fracture retenue en février.",
                             reference_label="fracture")
    services.session_close(actor=world.secretary, session=session)
    return services.session_sign(actor=world.chair, session=session)


@pytest.mark.parametrize("seat", ["patient_rep", "clinician"])
def test_member_journey_session_vote_comment_minutes_dashboard(open_page, live_server, world, seat):
    campaign = disagreeing_campaign(world, sample_size=6)
    signed = _signed_session(world)
    session = services.session_create(actor=world.secretary, committee=world.committee, title="Séance de mars",
                                      scheduled_at=timezone.now() + dt.timedelta(hours=1), place="Salle 2")
    services.session_start(actor=world.secretary, session=session)
    present_quorum(session, world.secretary)
    member = world.patient_reps[0] if seat == "patient_rep" else world.clinicians[1]
    base = live_server.url
    clicks = Clicks()

    watch = open_page()
    page = log_in(watch.page, base, member.username, landing="/reviews/")
    clicks.click(page.get_by_role("navigation", name="Navigation principale")
                 .get_by_role("link", name="Séances", exact=True))
    clicks.click(page.get_by_role("link", name="Séance de mars"))
    expect(page.get_by_role("heading", name="Ordre du jour")).to_be_visible()
    item = session.items.order_by("position").first()
    article = page.locator(f"#item-{item.pk}")
    expect(article).to_contain_text("Les relecteurs cliniciens sont en désaccord")
    assert page.get_by_role("button", name="Clore la séance").count() == 0  # a member does not run the sitting
    assert article.locator(f"form[action$='/items/{item.pk}/decide/']").count() == 0

    clicks.check(article.locator(".vote-form").get_by_label("Contre"))
    article.locator(".vote-form").get_by_label("Opinion divergente").fill("Le patient n'a pas été informé.")
    clicks.click(article.get_by_role("button", name="Voter"))
    expect(page.locator(".messages")).to_contain_text("Votre vote est enregistré")
    vote = Vote.objects.get(item=item, member__user=member)
    assert (vote.choice, vote.dissent, vote.on_behalf) == ("against", "Le patient n'a pas été informé.", False)

    article = page.locator(f"#item-{item.pk}")
    clicks.click(article.get_by_text("0 commentaire"))
    article.get_by_label("Commentaire").fill("L'information du patient devrait figurer au compte rendu.")
    clicks.click(article.get_by_role("button", name="Commenter"))
    expect(page.locator(".messages")).to_contain_text("Votre commentaire est ajouté")
    assert Comment.objects.get(item=item).author_id == member.pk

    clicks.click(page.get_by_role("navigation", name="Navigation principale")
                 .get_by_role("link", name="Séances", exact=True))
    clicks.click(page.get_by_role("link", name="Séance de février"))
    clicks.click(page.get_by_role("link", name="Procès-verbal", exact=True))
    expect(page.locator(".minutes-frame")).to_contain_text("Fracture retenue en février.")
    assert page.locator("#minutes-sha256").inner_text() == signed.minutes_sha256

    clicks.click(page.get_by_role("link", name="Tableaux de bord"))
    clicks.click(page.get_by_role("link", name=campaign.name))
    expect(page.get_by_role("heading", level=1)).to_contain_text(campaign.name)

    assert MEMBER_LOGIN_CLICKS + clicks.count == 12  # quoted in the README ("Journeys")
    watch.assert_clean()
