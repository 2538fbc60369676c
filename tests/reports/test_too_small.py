"""One "too small to conclude" rule: the campaign page and the campaign dashboard warn for the
same campaigns, counted on the cases with a reference (``concordance.too_small``)."""

import pytest

from concordance import SMALL_SAMPLE
from reviews.enums import CampaignState
from tests.login import login
from tests.workflows import build_world, campaign_in

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
