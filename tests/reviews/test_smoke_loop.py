from reviews.enums import CampaignState
from tests.workflows import campaign_in, submit_all


def test_loop_reaches_analysis(world, api):
    campaign = campaign_in(world, CampaignState.IN_REVIEW)
    submit_all(campaign)
    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/close_review/")
    assert r.status_code == 200, r.json()
    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/start_analysis/")
    assert r.status_code == 200, r.json()
    r = api(world.chair).get(f"/api/campaigns/{campaign.pk}/results/")
    assert r.status_code == 200, r.json()
    print(r.json())
