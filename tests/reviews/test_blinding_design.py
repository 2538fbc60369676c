"""Blinding of a campaign's design (DESIGN §5): strata built on the AI output, their set sizes and
over-sampling weights, the frozen protocol, the seed and the population are secret from anyone
with a blind reading pending in the campaign, whatever their role.

Each test plants a stratified design whose strata, sizes and weights are sentinels, then asks
every endpoint and page that can show it, as every role, with and without a pending blind reading
in the campaign. Only the chair, the clinicians and the patient representatives are ever given a
blind reading by the services; the other roles get one planted in the database, so that the rule
is checked for them too (defence in depth)."""

import datetime as dt

import pytest

from accounts.enums import Role
from reviews.enums import AssignmentKind
from reviews.models import Assignment, Campaign, CampaignCase
from tests.factories import UserFactory
from tests.login import verified_client
from tests.workflows import build_world, campaign_in

DESIGN = {
    "type": "stratified", "strata_by": ["ai_label"], "allocation": "set",
    "sizes": {"ai_label=DESIGNSEAL001Z": 3, "ai_label=DESIGNSEAL002Z": 1},
    "oversample": {"ai_label=DESIGNSEAL001Z": 3.141593},
}
SENTINELS = ("DESIGNSEAL001Z", "DESIGNSEAL002Z", "3.141593", "3,141593", "POPHASHSEAL77Z", "918273645")
ROLES = [Role.QUALITY, Role.ADMIN, Role.CHAIR, Role.SECRETARY, Role.MANAGEMENT, Role.DPO, Role.CLINICIAN,
         Role.PATIENT_REP]
DESIGN_ROLES = {Role.QUALITY, Role.ADMIN, Role.CHAIR, Role.SECRETARY, Role.MANAGEMENT}
HIDDEN_FR = "Les résultats vous restent masqués tant"


@pytest.fixture
def setup(db):
    world = build_world()
    campaign = campaign_in(world, "in_review")
    Campaign.objects.filter(pk=campaign.pk).update(
        design=DESIGN, protocol={**campaign.protocol, "design": DESIGN}, seed=918273645,
        population_hash="POPHASHSEAL77Z")
    campaign.refresh_from_db()
    return world, campaign


def _caller(world, campaign, role: str, *, blind: bool):
    """The world's officer of ``role`` (the chair and the secretary sit on the committee), or a new
    account; with ``blind``, a blind reading of one case of the campaign, pending."""
    existing = {Role.QUALITY: world.quality, Role.ADMIN: world.admin, Role.CHAIR: world.chair,
                Role.SECRETARY: world.secretary, Role.MANAGEMENT: world.management, Role.DPO: world.dpo}
    user = existing.get(role) or UserFactory(role=role, username=f"caller_{role}")
    Assignment.objects.filter(reviewer=user, campaign_case__campaign=campaign).delete()
    if blind:
        cc = CampaignCase.objects.filter(campaign=campaign).order_by("pk").first()
        Assignment.objects.create(campaign_case=cc, reviewer=user, kind=AssignmentKind.CLINICIAN,
                                  due_date=dt.date(2026, 12, 31), display_order=1)
    return user


def _leaks(text: str) -> list[str]:
    return [s for s in SENTINELS if s in text]


@pytest.mark.parametrize("blind", [True, False], ids=["blind", "not-blind"])
@pytest.mark.parametrize("role", ROLES)
def test_blinding_design_campaign_api_detail_and_list(setup, api, role, blind):
    world, campaign = setup
    user = _caller(world, campaign, role, blind=blind)
    client = api(user)
    detail = client.get(f"/api/campaigns/{campaign.pk}/")
    listing = client.get("/api/campaigns/", {"limit": 100})
    sees = role in DESIGN_ROLES and not blind
    visible = blind or role in DESIGN_ROLES  # other roles see the campaign only through a reading
    if not visible:
        assert (detail.status_code, listing.json()["results"]) == (404, [])
        return
    assert detail.status_code == 200
    assert [r["id"] for r in listing.json()["results"]] == [campaign.pk]
    row = listing.json()["results"][0]
    if sees:
        assert (detail.json()["design"], detail.json()["protocol"]["design"], detail.json()["seed"]) == (
            DESIGN, DESIGN, 918273645)
        assert row == detail.json()
    else:
        expected = {"id": campaign.pk, "name": campaign.name, "state": "in_review",
                    "ai_system_name": world.ai_system.name, "review_deadline": "2026-12-31"}
        assert detail.json() == expected
        assert row == expected
        assert _leaks(detail.content.decode() + listing.content.decode()) == []


@pytest.mark.parametrize("blind", [True, False], ids=["blind", "not-blind"])
@pytest.mark.parametrize("role", ROLES)
def test_blinding_design_campaign_sub_resources(setup, api, role, blind):
    world, campaign = setup
    user = _caller(world, campaign, role, blind=blind)
    client = api(user)
    statuses = {}
    for name in ("progress", "results", "cases", "deviations"):
        response = client.get(f"/api/campaigns/{campaign.pk}/{name}/")
        statuses[name] = response.status_code
        assert _leaks(response.content.decode()) == [], name
    if blind:
        assert statuses == {"progress": 403, "results": 403, "cases": 403, "deviations": 403}
    elif role in (Role.QUALITY, Role.ADMIN, Role.CHAIR, Role.SECRETARY):
        assert statuses == {"progress": 200, "results": 200, "cases": 200, "deviations": 200}
        cases = client.get(f"/api/campaigns/{campaign.pk}/cases/").json()["results"]
        assert len(cases) == 4
    elif role == Role.MANAGEMENT:
        assert statuses == {"progress": 200, "results": 200, "cases": 403, "deviations": 403}
    else:
        assert statuses == {"progress": 404, "results": 404, "cases": 404, "deviations": 404}


@pytest.mark.parametrize("blind", [True, False], ids=["blind", "not-blind"])
@pytest.mark.parametrize("role", ROLES)
def test_blinding_design_campaign_case_detail(setup, api, role, blind):
    """A case of the campaign the caller does not read themselves: its stratum and inclusion
    probability are the design."""
    world, campaign = setup
    user = _caller(world, campaign, role, blind=blind)
    other = CampaignCase.objects.filter(campaign=campaign).order_by("pk").last()
    CampaignCase.objects.filter(pk=other.pk).update(stratum="ai_label=DESIGNSEAL002Z")
    response = api(user).get(f"/api/campaign-cases/{other.pk}/")
    if blind or role not in (Role.QUALITY, Role.ADMIN, Role.CHAIR, Role.SECRETARY):
        assert response.json() == {"code": "not_found", "detail": "Non trouvé.", "extra": {}}
    else:
        assert (response.status_code, response.json()["stratum"]) == (200, "ai_label=DESIGNSEAL002Z")


@pytest.mark.parametrize("blind", [True, False], ids=["blind", "not-blind"])
@pytest.mark.parametrize("role", ROLES)
def test_blinding_design_campaign_web_pages(setup, role, blind):
    world, campaign = setup
    user = _caller(world, campaign, role, blind=blind)
    client = verified_client(user)
    detail = client.get(f"/campaigns/{campaign.pk}/")
    listing = client.get("/campaigns/")
    progress = client.get(f"/campaigns/{campaign.pk}/progress/")
    board = client.get(f"/campaigns/{campaign.pk}/board/")
    body = "".join(r.content.decode() for r in (detail, listing, progress, board))
    sees = role in DESIGN_ROLES and not blind
    if blind or role in DESIGN_ROLES:
        assert detail.status_code == 200
    if sees and role in (Role.QUALITY, Role.ADMIN, Role.CHAIR, Role.SECRETARY):
        assert "DESIGNSEAL001Z" in detail.content.decode()  # the frozen protocol, strata and sizes
        assert "918273645" in detail.content.decode()
    elif sees:  # management: the campaign's facts, never the protocol section
        assert "918273645" in detail.content.decode()
    else:
        assert _leaks(body) == []
        # a blind reader sees the campaign (403); anyone else here does not (404)
        assert (progress.status_code, board.status_code) == ((403, 403) if blind else (404, 404))
    if blind and role in DESIGN_ROLES:  # a role that would see the results is told why, in French
        assert HIDDEN_FR in detail.content.decode()
