"""Irreversible actions outside the sessions ask for a ticked confirmation, and the campaign page
offers a transition only when it can succeed. A missing confirmation is a 400 that changes
nothing; the role (403) and the state (409) are answered before it."""

import datetime as dt

import pytest

from audit.models import AuditEvent
from cases.models import Case
from reviews import services
from reviews.enums import CampaignState
from reviews.models import Campaign
from tests.helpers import html
from tests.login import login
from tests.workflows import build_world, campaign_in

pytestmark = pytest.mark.django_db

NOT_CONFIRMED = "Cette action est définitive : cochez la case qui la confirme, puis recommencez."


@pytest.fixture
def world():
    return build_world(n_cases=4, n_clinicians=3, n_patient_reps=1)


def _draft(world, **kwargs):
    return services.campaign_create(
        actor=world.quality, ai_system=world.ai_system, committee=world.committee, name="Campagne à figer",
        period_start=kwargs.get("start", dt.date(2026, 1, 1)), period_end=kwargs.get("end", dt.date(2026, 6, 30)),
        sample_size=2, review_deadline=dt.date(2026, 12, 31), seed=11)


@pytest.mark.parametrize("state, name", [
    (CampaignState.DRAFT, "schedule"), (CampaignState.SCHEDULED, "draw_sample"),
    (CampaignState.SAMPLED, "start_review"), (CampaignState.DRAFT, "cancel"),
])
def test_an_unconfirmed_campaign_transition_is_a_400_that_changes_nothing(world, state, name):
    campaign = campaign_in(world, state, sample_size=2)
    events = AuditEvent.objects.filter(action__startswith="campaign.").count()
    data = {"reason": "Doublon"} if name == "cancel" else {}
    r = login(world.quality).post(f"/campaigns/{campaign.pk}/transitions/{name}/", data)
    assert r.status_code == 400
    assert NOT_CONFIRMED in html(r)
    assert Campaign.objects.get(pk=campaign.pk).state == state
    assert AuditEvent.objects.filter(action__startswith="campaign.").count() == events
    r = login(world.quality).post(f"/campaigns/{campaign.pk}/transitions/{name}/", data | {"confirm": "on"})
    assert r.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).state != state


def test_the_role_and_the_state_are_answered_before_the_confirmation(world):
    campaign = campaign_in(world, CampaignState.SCHEDULED, sample_size=2)
    assert login(world.management).post(f"/campaigns/{campaign.pk}/transitions/draw_sample/").status_code == 403
    r = login(world.quality).post(f"/campaigns/{campaign.pk}/transitions/publish/")
    assert r.status_code == 409
    assert Campaign.objects.get(pk=campaign.pk).state == CampaignState.SCHEDULED


def test_each_offered_transition_names_what_it_does_for_good_in_a_required_box(world):
    campaign = _draft(world)
    body = html(login(world.quality).get(f"/campaigns/{campaign.pk}/"))
    assert ('<input type="checkbox" name="confirm" id="confirm-schedule" required>'
            in body)
    assert "Je confirme : le protocole (plan, taille d'échantillon, relecteurs par dossier, date limite, " \
           "version de l'IA) est figé et ne pourra plus être modifié." in body
    assert 'id="confirm-cancel"' in body


def test_drawing_is_offered_only_when_the_population_holds_cases(world):
    campaign = _draft(world, start=dt.date(2001, 1, 1), end=dt.date(2001, 1, 31))  # no case then
    campaign = services.campaign_schedule(actor=world.quality, campaign=campaign)
    body = html(login(world.quality).get(f"/campaigns/{campaign.pk}/"))
    assert "transitions/draw_sample/" not in body
    assert "Aucun dossier de ce système d'IA dans la période et le périmètre de la campagne" in body
    assert "transitions/cancel/" in body

    Case.objects.update(exam_date=dt.date(2001, 1, 15))
    body = html(login(world.quality).get(f"/campaigns/{campaign.pk}/"))
    assert f'action="/campaigns/{campaign.pk}/transitions/draw_sample/"' in body
    assert "Aucun dossier de ce système d'IA" not in body
