"""One "too small to conclude" rule: the campaign page and the campaign dashboard warn for the
same campaigns, counted on the cases with a reference (``concordance.too_small``)."""

import pytest

from concordance import SMALL_SAMPLE
from reviews.enums import CampaignState
from tests.login import login
from tests.workflows import build_world, campaign_in, submit_all

pytestmark = pytest.mark.django_db


def test_campaign_page_and_dashboard_agree_on_a_sample_too_small_to_conclude():
    world = build_world(n_cases=SMALL_SAMPLE)
    # Every case sampled, none read yet: enough cases, but no case with a reference.
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=SMALL_SAMPLE)
    client = login(world.quality)

    page = client.get(f"/campaigns/{campaign.pk}/").context["results"]
    dashboard = client.get(f"/reports/campaigns/{campaign.pk}/").context

    assert (page["n_cases"], page["n_with_reference"]) == (SMALL_SAMPLE, 0)
    assert (page["small_sample"], page["small_sample_threshold"]) == (True, SMALL_SAMPLE)
    assert (dashboard["small_sample"], dashboard["small_sample_threshold"]) == (True, SMALL_SAMPLE)


def test_each_agreement_figure_is_flagged_by_the_same_rule_on_the_campaign_page_and_the_dashboard():
    """Every case read and agreeing: 4 cases with a reference, each figure from 4 cases (fewer
    than 30): the campaign page flags each row, and the dashboard's McNemar and reliability carry
    the same flag."""
    world = build_world(n_cases=4)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    submit_all(campaign)
    client = login(world.quality)
    page = client.get(f"/campaigns/{campaign.pk}/").context["results"]
    dashboard = client.get(f"/reports/campaigns/{campaign.pk}/").context
    assert page["ai_vs_reference"]["n"] == 4 and page["ai_vs_reference"]["too_small"] is True
    assert page["ai_vs_final"]["too_small"] is True and page["readers"]["too_small"] is True
    assert dashboard["ai_vs_clinician"]["n"] == 4 and dashboard["ai_vs_clinician"]["too_small"] is True
    assert dashboard["reliability"]["too_small"] is True
