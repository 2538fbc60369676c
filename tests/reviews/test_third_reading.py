"""Third-reader adjudication: a third blind clinician chosen under the campaign's rules, the
majority label as the reference, no majority left to the committee, a pending third reading
withdrawn by a consensus decision, the case put on the next planned session's agenda (after
commit), and the API action's allowed path / wrong role / wrong state."""

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import AISystem
from committees import services as committee_services
from committees.models import Member
from reviews import services
from reviews.enums import AdjudicationMethod, AssignmentKind, AssignmentState, CampaignCaseState
from reviews.models import Adjudication, Assignment, CampaignCase
from sittings.models import AgendaItem
from tests.helpers import snapshot
from tests.sittings.flows import plan, user_of
from tests.workflows import campaign_in, disagreeing_campaign, submit_all

pytestmark = pytest.mark.django_db


def _case(campaign) -> CampaignCase:
    return CampaignCase.objects.select_related("case").filter(
        campaign=campaign, state=CampaignCaseState.NEEDS_ADJUDICATION).order_by("pk").first()


def _reader_seats(world) -> set[int]:
    return {world.chair.pk, *(u.pk for u in world.clinicians)}


def _submit_third(world, cc, label: str) -> Assignment:
    third = Assignment.objects.get(campaign_case=cc, is_third_reading=True, state=AssignmentState.ASSIGNED)
    services.assignment_submit(actor=third.reviewer, assignment=third,
                               data={"label": label, "confidence": 4, "rationale": "Troisième lecture."})
    return third


def test_third_reader_is_never_a_previous_reader_and_respects_conflicts(world, api):
    cc = _case(disagreeing_campaign(world))
    previous = set(cc.assignments.values_list("reviewer_id", flat=True))
    candidates = sorted(_reader_seats(world) - previous)
    assert len(candidates) == 2
    barred = Member.objects.get(committee=world.committee, user_id=candidates[0], term_end__isnull=True)
    committee_services.conflict_declare(actor=world.quality, member=barred, kind="site", value=cc.case.site)

    r = api(world.quality).post(f"/api/campaign-cases/{cc.pk}/third-reading/", {}, format="json")

    assert r.status_code == 201, r.json()
    third = Assignment.objects.get(campaign_case=cc, is_third_reading=True)
    assert (third.reviewer_id, third.kind, third.state) == (candidates[1], AssignmentKind.CLINICIAN,
                                                             AssignmentState.ASSIGNED)
    assert third.due_date == timezone.localdate() + dt.timedelta(days=services.THIRD_READING_DAYS)
    assert third.reviewer.username in [row["reviewer"] for row in r.json()["readers"]]
    assert AuditEvent.objects.filter(action="assignment.third_reading").count() == 1


def test_third_reading_409_when_nobody_eligible_is_left(world, api):
    cc = _case(disagreeing_campaign(world))
    for uid in _reader_seats(world) - set(cc.assignments.values_list("reviewer_id", flat=True)):
        member = Member.objects.get(committee=world.committee, user_id=uid, term_end__isnull=True)
        committee_services.conflict_declare(actor=world.quality, member=member, kind="site", value=cc.case.site)
    before = snapshot()

    r = api(world.quality).post(f"/api/campaign-cases/{cc.pk}/third-reading/", {}, format="json")

    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")
    assert snapshot() == before


def test_third_reading_majority_makes_the_reference(world, django_capture_on_commit_callbacks):
    cc = _case(disagreeing_campaign(world))
    services.third_reading_request(actor=world.quality, campaign_case=cc)

    with django_capture_on_commit_callbacks(execute=True):
        third = _submit_third(world, cc, "no_fracture")

    cc.refresh_from_db()
    adjudication = Adjudication.objects.get(campaign_case=cc)
    assert (cc.state, cc.reference_label) == (CampaignCaseState.ADJUDICATED, "no_fracture")
    assert (adjudication.method, adjudication.label, adjudication.decided_by_id) == (
        AdjudicationMethod.THIRD_READER, "no_fracture", third.reviewer_id)
    assert "2 of 3" in adjudication.reasoning


def test_third_reading_without_majority_stays_for_the_committee(world):
    AISystem.objects.filter(pk=world.ai_system.pk).update(labels=["fracture", "no_fracture", "doubtful"])
    world.ai_system.refresh_from_db()
    cc = _case(disagreeing_campaign(world))
    services.third_reading_request(actor=world.quality, campaign_case=cc)

    _submit_third(world, cc, "doubtful")

    cc.refresh_from_db()
    assert (cc.state, cc.reference_label) == (CampaignCaseState.NEEDS_ADJUDICATION, "")
    assert not Adjudication.objects.filter(campaign_case=cc).exists()
    assert AuditEvent.objects.filter(action="campaign_case.third_reading_no_majority").count() == 1


def test_consensus_adjudication_withdraws_a_pending_third_reading(world, api):
    cc = _case(disagreeing_campaign(world))
    services.third_reading_request(actor=world.quality, campaign_case=cc)

    r = api(world.chair).post(f"/api/campaign-cases/{cc.pk}/adjudicate/",
                              {"label": "fracture", "reasoning": "Consensus en séance."}, format="json")

    assert r.status_code == 200, r.json()
    third = Assignment.objects.get(campaign_case=cc, is_third_reading=True)
    assert third.state == AssignmentState.WITHDRAWN
    assert Adjudication.objects.get(campaign_case=cc).method == AdjudicationMethod.CONSENSUS
    event = AuditEvent.objects.filter(action="assignment.withdraw").latest("pk")
    assert (event.object_id, event.data) == (
        str(third.pk), {"reason": "Adjudicated by the committee before the third reading."})


def test_disagreement_puts_the_case_on_the_next_planned_session(world, django_capture_on_commit_callbacks):
    campaign = campaign_in(world, "in_review", sample_size=2)
    later = plan(world, days=10, title="Séance de mai")
    sooner = plan(world, days=2, title="Séance d'avril")
    first: dict[int, int] = {}

    def label_for(a):
        first.setdefault(a.campaign_case_id, a.pk)
        return "fracture" if first[a.campaign_case_id] == a.pk else "no_fracture"

    with django_capture_on_commit_callbacks(execute=True):
        submit_all(campaign, label_for)

    on_sooner = AgendaItem.objects.filter(session=sooner).order_by("position")
    assert {i.campaign_case_id for i in on_sooner} == set(campaign.campaign_cases.values_list("pk", flat=True))
    assert all(i.reasons == ["readers_disagree"] for i in on_sooner)
    assert not AgendaItem.objects.filter(session=later).exists()


def test_third_reading_majority_differing_from_ai_goes_on_the_next_agenda(world, django_capture_on_commit_callbacks):
    campaign = campaign_in(world, "in_review", sample_size=2)
    session = plan(world, days=3)
    first: dict[int, int] = {}

    def label_for(a):
        first.setdefault(a.campaign_case_id, a.pk)
        return "fracture" if first[a.campaign_case_id] == a.pk else "no_fracture"

    submit_all(campaign, label_for)  # outside the capture: the enqueue after commit never runs here
    assert not session.items.exists()
    cc = _case(campaign)
    services.third_reading_request(actor=world.quality, campaign_case=cc)
    differs = next(label for label in world.ai_system.labels if label != cc.case.ai_label)

    with django_capture_on_commit_callbacks(execute=True):
        _submit_third(world, cc, differs)

    # The enqueue brings the agenda up to date: this case, and the other one still in dispute.
    item = AgendaItem.objects.get(session=session, campaign_case=cc)
    assert item.reasons == ["reference_differs_from_ai"]


# --- The API action: allowed path, wrong role, wrong state -------------------------------------

@pytest.mark.parametrize("who", ["quality", "chair", "admin"])
def test_third_reading_api_allowed(world, api, who):
    cc = _case(disagreeing_campaign(world))  # every reader has submitted: the chair reads nothing blind

    r = api(user_of(world, who)).post(f"/api/campaign-cases/{cc.pk}/third-reading/",
                                      {"due_date": (timezone.localdate() + dt.timedelta(days=7)).isoformat()},
                                      format="json")

    assert r.status_code == 201, r.json()
    third = Assignment.objects.get(campaign_case=cc, is_third_reading=True)
    assert third.due_date == timezone.localdate() + dt.timedelta(days=7)


@pytest.mark.parametrize(("who", "status"), [
    ("secretary", 403), ("clin0", 404), ("rep0", 404), ("management", 404), ("dpo", 404),
])
def test_third_reading_api_wrong_role_changes_nothing(world, api, who, status):
    cc = _case(disagreeing_campaign(world))
    before = snapshot()

    r = api(user_of(world, who)).post(f"/api/campaign-cases/{cc.pk}/third-reading/", {}, format="json")

    assert r.status_code == status, r.json()
    assert snapshot() == before


@pytest.mark.parametrize("setup", ["pending", "adjudicated", "concordant"])
def test_third_reading_api_wrong_state_409_changes_nothing(world, api, setup):
    if setup == "concordant":
        campaign = campaign_in(world, "in_review", sample_size=2)
        submit_all(campaign)
        cc = CampaignCase.objects.filter(campaign=campaign).order_by("pk").first()
        assert cc.state == CampaignCaseState.CONCORDANT
    else:
        cc = _case(disagreeing_campaign(world))
        if setup == "pending":
            services.third_reading_request(actor=world.quality, campaign_case=cc)
        else:
            services.adjudication_record(actor=world.chair, campaign_case=cc,
                                         label="fracture", reasoning="Consensus.")
    before = snapshot()

    r = api(world.quality).post(f"/api/campaign-cases/{cc.pk}/third-reading/", {}, format="json")

    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed"), r.json()
    assert snapshot() == before
