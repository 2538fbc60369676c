"""A member who saw a case's unblinded evidence (the committee's case page, a dashboard's
discordant-case list) is never drawn to read it blind afterwards: not as its third reader, not as
a replacement. Accounts that never read blind leave no trace."""

import numpy as np
import pytest

from committees import services as committee_services
from committees.models import Member
from reviews.enums import AssignmentState, CampaignCaseState
from reviews.models import Assignment, CampaignCase, EvidenceExposure
from reviews.services.common import one_more_reader
from tests.helpers import snapshot
from tests.login import login
from tests.workflows import disagreeing_campaign

pytestmark = pytest.mark.django_db


def _disagreement(world) -> CampaignCase:
    campaign = disagreeing_campaign(world)
    return CampaignCase.objects.select_related("case").filter(
        campaign=campaign, state=CampaignCaseState.NEEDS_ADJUDICATION).order_by("pk").first()


def _candidates(world, cc) -> list[int]:
    """The clinician seats not reading the case: the possible third readers."""
    readers = set(cc.assignments.values_list("reviewer_id", flat=True))
    return sorted({world.chair.pk, *(u.pk for u in world.clinicians)} - readers)


def _bar(world, user_id, cc) -> None:
    member = Member.objects.get(committee=world.committee, user_id=user_id, term_end__isnull=True)
    committee_services.conflict_declare(actor=world.quality, member=member, kind="site", value=cc.case.site)


def _case_page(client, cc):
    return client.get(f"/campaigns/{cc.campaign_id}/cases/{cc.pk}/")


def test_a_member_who_opened_the_case_page_is_never_its_third_reader(world, api):
    cc = _disagreement(world)
    seen, other = _candidates(world, cc)
    client = login(_user(world, seen))
    assert _case_page(client, cc).status_code == 200
    assert EvidenceExposure.objects.filter(case=cc.case, user_id=seen).count() == 1

    r = api(world.quality).post(f"/api/campaign-cases/{cc.pk}/third-reading/", {}, format="json")

    assert r.status_code == 201, r.json()
    assert Assignment.objects.get(campaign_case=cc, is_third_reading=True).reviewer_id == other


def test_no_third_reader_left_once_the_only_unexposed_one_is_barred(world, api):
    cc = _disagreement(world)
    seen, other = _candidates(world, cc)
    assert _case_page(login(_user(world, seen)), cc).status_code == 200
    _case_page(login(_user(world, seen)), cc)  # a second look keeps one record
    _bar(world, other, cc)
    before = snapshot()

    r = api(world.quality).post(f"/api/campaign-cases/{cc.pk}/third-reading/", {}, format="json")

    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")
    assert snapshot() == before
    assert EvidenceExposure.objects.filter(case=cc.case).count() == 1


def test_the_chair_seeing_the_discordant_list_is_exposed_to_every_listed_case(world):
    cc = _disagreement(world)
    response = login(world.chair).get(f"/reports/campaigns/{cc.campaign_id}/")

    assert response.status_code == 200
    exposed = set(EvidenceExposure.objects.filter(user=world.chair).values_list("case_id", flat=True))
    disagreements = set(CampaignCase.objects.filter(campaign=cc.campaign_id, state=CampaignCaseState.NEEDS_ADJUDICATION)
                        .values_list("case_id", flat=True))
    assert disagreements and disagreements <= exposed


def test_accounts_that_never_read_blind_leave_no_record(world):
    cc = _disagreement(world)
    assert _case_page(login(world.quality), cc).status_code == 200
    assert login(world.quality).get(f"/reports/campaigns/{cc.campaign_id}/").status_code == 200
    assert not EvidenceExposure.objects.exists()


def test_a_blind_reader_gets_404_and_no_record(world):
    cc = _disagreement(world)
    reader = cc.assignments.order_by("pk").first().reviewer
    Assignment.objects.filter(campaign_case=cc, reviewer=reader).update(state=AssignmentState.OPENED)
    assert _case_page(login(reader), cc).status_code == 404
    assert not EvidenceExposure.objects.filter(user=reader).exists()


def test_exposure_also_bars_a_replacement_reader(world):
    cc = _disagreement(world)
    seen, other = _candidates(world, cc)
    assert _case_page(login(_user(world, seen)), cc).status_code == 200
    _bar(world, other, cc)
    cc.refresh_from_db()
    assert one_more_reader(cc, "clinician", np.random.Generator(np.random.PCG64(1))) is None


def _user(world, pk):
    return next(u for u in [world.chair, *world.clinicians] if u.pk == pk)
