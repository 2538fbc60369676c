"""Cached campaign figures (``common.cache``, keyed by ``reviews.selectors.campaign_revision``):
never stale after a change, never shared between audiences that see different things, and never
a way around the blinding rule (the permission is checked before the cache is asked)."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from cases.models import Case
from reviews import services
from reviews.enums import CampaignState
from reviews.models import Assignment, CampaignCase
from tests.helpers import html
from tests.login import login
from tests.workflows import build_world, campaign_in, disagreeing_campaign, submit_all

AI_VERSION = "AIVER-CACHE-SENTINEL"
User = get_user_model()
pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def test_dashboard_cached_for_case_level_readers_never_reaches_management():
    world = build_world(n_cases=6)
    Case.objects.update(ai_version=AI_VERSION)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    submit_all(campaign)
    url = f"/reports/campaigns/{campaign.pk}/"

    quality_page = html(login(world.quality).get(url))  # fills the case-level entry first
    management_page = html(login(world.management).get(url))

    assert AI_VERSION in quality_page
    assert AI_VERSION not in management_page
    assert AI_VERSION in html(login(world.quality).get(url))


def test_results_are_fresh_after_each_verdict_and_adjudication():
    world = build_world(n_cases=6)
    campaign = disagreeing_campaign(world, sample_size=2)
    client = api(world.quality)
    url = f"/api/campaigns/{campaign.pk}/results/"
    before = client.get(url).json()
    assert (before["n_with_reference"], before["n_needs_adjudication"]) == (0, 2)

    services.campaign_close_review(actor=world.quality, campaign=campaign)
    first = CampaignCase.objects.filter(campaign=campaign).order_by("pk").first()
    services.adjudication_record(actor=world.chair, campaign_case=first, label="fracture", reasoning="Séance.")
    after = client.get(url).json()

    assert (after["n_with_reference"], after["n_needs_adjudication"]) == (1, 1)


def test_results_progress_on_each_lock_in_review():
    world = build_world(n_cases=6)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)
    client = api(world.quality)
    url = f"/api/campaigns/{campaign.pk}/results/"
    seen = [client.get(url).json()["n_with_reference"]]
    for a in Assignment.objects.filter(campaign_case__campaign=campaign).order_by("campaign_case_id", "pk"):
        data = ({"label": "fracture"} if a.kind == "clinician" else
                {"patient_informed": "yes", "information_understandable": "yes", "rights_respected": "yes",
                 "equity_concern": False})
        services.assignment_submit(actor=a.reviewer, assignment=a, data=data)
        seen.append(client.get(url).json()["n_with_reference"])

    assert seen[0] == 0 and seen[-1] == 2
    assert sorted(seen) == seen and len(set(seen)) == 3  # each settled case shows at once


def test_cached_figures_are_refused_to_a_reader_with_a_blind_review_pending():
    """The chair sits on the committee but still reads a case of the campaign blind: the entry the
    quality team filled does not reach them, by the API or the dashboard page."""
    world = build_world(n_cases=6)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    pending = Assignment.objects.filter(campaign_case__campaign=campaign, reviewer=world.chair).first()
    assert pending is not None
    for a in Assignment.objects.filter(campaign_case__campaign=campaign).exclude(pk=pending.pk):
        data = ({"label": "fracture"} if a.kind == "clinician" else
                {"patient_informed": "yes", "information_understandable": "yes", "rights_respected": "yes",
                 "equity_concern": False})
        services.assignment_submit(actor=a.reviewer, assignment=a, data=data)
    assert api(world.quality).get(f"/api/campaigns/{campaign.pk}/results/").status_code == 200
    assert login(world.quality).get(f"/reports/campaigns/{campaign.pk}/").status_code == 200

    refused = api(world.chair).get(f"/api/campaigns/{campaign.pk}/results/")
    page = login(world.chair).get(f"/reports/campaigns/{campaign.pk}/")

    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert page.status_code == 403
    assert "kappa" not in refused.content.decode() + html(page)
