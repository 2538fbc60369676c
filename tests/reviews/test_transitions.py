"""Every transition of campaigns, assignments and adjudication through the API: the allowed
path (200, new state, one audit event with the right action), a wrong role (403 when the caller
may see the object, 404 when not) and a wrong state (409), and in every refused case nothing
changed: states, row counts, audit trail."""

import datetime as dt

import pytest

from accounts.enums import Role
from audit.models import AuditEvent
from cases.pseudonymization import pseudonymize
from committees.enums import MemberRole
from reviews import services
from reviews.enums import AssignmentKind, AssignmentState, CampaignCaseState, CampaignState
from reviews.models import Adjudication, Assignment, Campaign, CampaignCase, Classification, Verdict
from tests.factories import CaseFactory, CommitteeFactory, MemberFactory, UserFactory
from tests.helpers import snapshot
from tests.workflows import build_world, campaign_in, submit_all

S = CampaignState
A = AssignmentState

NOT_FOUND = {"code": "not_found", "detail": "Non trouvé.", "extra": {}}
FORBIDDEN = {"code": "permission_denied", "detail": "You are not allowed to do this.", "extra": {}}
REP_VERDICT = {"patient_informed": "yes", "information_understandable": "no", "rights_respected": "yes",
               "equity_concern": True, "comments": "Information écrite absente."}
CLINICIAN_VERDICT = {"label": "fracture", "confidence": 4, "rationale": "Trait du radius distal."}
CLASSIFICATION = {"discrepancy": "understandable", "would_have_changed": True,
                  "possible_adverse_event": False, "comment": "Fracture peu visible."}


def new_events(since: int) -> list[tuple[str, str, str]]:
    return list(AuditEvent.objects.filter(pk__gt=since).order_by("pk").values_list(
        "action", "object_type", "object_id"))


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def not_allowed(name: str, obj, state: str) -> dict:
    return {
        "code": "transition_not_allowed",
        "detail": f"Cannot {name.replace('_', ' ')} this {obj._meta.verbose_name_raw}: it is {state}.",
        "extra": {"state": state, "transition": name},
    }


def campaign_at(world, state: str) -> Campaign:
    """A campaign brought to ``state`` through the services; from in_review on, every reader
    answered "fracture", so that every case is concordant."""
    if state == S.CANCELLED:
        return services.campaign_cancel(actor=world.quality, campaign=campaign_in(world, S.DRAFT))
    if state in (S.DRAFT, S.SCHEDULED, S.SAMPLED, S.IN_REVIEW):
        return campaign_in(world, state)
    campaign = campaign_in(world, S.IN_REVIEW)
    submit_all(campaign)
    q = world.quality
    for target, step in [(S.ADJUDICATION, services.campaign_close_review),
                         (S.ANALYSIS, services.campaign_start_analysis),
                         (S.PUBLISHED, services.campaign_publish), (S.ARCHIVED, services.campaign_archive)]:
        campaign = step(actor=q, campaign=campaign)
        if target == state:
            return campaign
    raise AssertionError(state)


def other_chair():
    """The chair of another committee: may not even know the campaign exists."""
    user = UserFactory(role=Role.CHAIR, username="other_chair")
    MemberFactory(committee=CommitteeFactory(), user=user, role=MemberRole.CHAIR)
    return user


# --- Campaign ----------------------------------------------------------------------------------

CAMPAIGN_ALLOWED = [
    ("schedule", S.DRAFT, S.SCHEDULED, "quality"),
    ("schedule", S.DRAFT, S.SCHEDULED, "admin"),
    ("draw_sample", S.SCHEDULED, S.SAMPLED, "quality"),
    ("start_review", S.SAMPLED, S.IN_REVIEW, "quality"),
    ("close_review", S.IN_REVIEW, S.ADJUDICATION, "quality"),
    ("start_analysis", S.ADJUDICATION, S.ANALYSIS, "quality"),
    ("publish", S.ANALYSIS, S.PUBLISHED, "quality"),
    ("publish", S.ANALYSIS, S.PUBLISHED, "chair"),
    ("archive", S.PUBLISHED, S.ARCHIVED, "quality"),
    *[("cancel", source, S.CANCELLED, "quality")
      for source in (S.DRAFT, S.SCHEDULED, S.SAMPLED, S.IN_REVIEW, S.ADJUDICATION, S.ANALYSIS)],
]


@pytest.mark.parametrize(("name", "source", "target", "role"), CAMPAIGN_ALLOWED)
def test_campaign_transition_allowed_path(world, api, name, source, target, role):
    campaign = campaign_at(world, source)
    if name == "close_review":
        submit_all(campaign)
    actor = getattr(world, role)
    since = last_event_id()

    r = api(actor).post(f"/api/campaigns/{campaign.pk}/{name}/")

    assert r.status_code == 200, r.json()
    assert r.json()["id"] == campaign.pk
    assert r.json()["state"] == target
    campaign.refresh_from_db()
    assert campaign.state == target
    events = new_events(since)
    assert events[0] == (f"campaign.{name}", "reviews.campaign", str(campaign.pk))
    # Cancelling takes every pending review back (withdrawn, one audit event each); nothing else.
    withdrawn = [str(pk) for pk in Assignment.objects.filter(
        campaign_case__campaign=campaign, state="withdrawn").order_by("pk").values_list("pk", flat=True)]
    assert events[1:] == [("assignment.withdraw", "reviews.assignment", pk) for pk in withdrawn]
    assert bool(withdrawn) == (name == "cancel" and source in (S.IN_REVIEW,))
    assert AuditEvent.objects.filter(pk__gt=since).values_list("actor_id", flat=True).distinct().get() == actor.pk


def test_campaign_schedule_freezes_protocol_and_seed(world, api):
    campaign = services.campaign_create(
        actor=world.quality, ai_system=world.ai_system, committee=world.committee, name="Sans graine",
        period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 6, 30), sample_size=3,
        review_deadline=dt.date(2026, 12, 31))

    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/schedule/")

    body = r.json()
    assert r.status_code == 200
    assert isinstance(body["seed"], int)
    assert body["protocol"] == {
        "design": {"type": "simple_random"}, "sample_size": 3, "period": ["2026-01-01", "2026-06-30"],
        "sites": [], "clinicians_per_case": 2, "patient_reps_per_case": 1, "exclude_own_service": True,
        "exclude_own_site": False, "required_specialty": "", "review_deadline": "2026-12-31",
        "reminder_days": [7, 1], "seed": body["seed"],
        "ai_system": {"id": world.ai_system.pk, "name": world.ai_system.name, "version": "2.1",
                      "labels": ["fracture", "no_fracture"]},
        "acceptance_thresholds": {"sensitivity": 0.9},
    }
    assert AuditEvent.objects.get(action="campaign.schedule").data == {"protocol": body["protocol"]}


def test_campaign_transitions_write_their_related_rows(world, api):
    q = api(world.quality)
    campaign = campaign_in(world, S.SCHEDULED)

    q.post(f"/api/campaigns/{campaign.pk}/draw_sample/")
    sampled = CampaignCase.objects.filter(campaign=campaign).count()
    q.post(f"/api/campaigns/{campaign.pk}/start_review/")
    kinds = sorted(Assignment.objects.filter(campaign_case__campaign=campaign).values_list("kind", flat=True))

    assert sampled == 4
    assert kinds == [AssignmentKind.CLINICIAN] * 8 + [AssignmentKind.PATIENT_REP] * 4
    assert set(CampaignCase.objects.filter(campaign=campaign).values_list("state", flat=True)) == {
        CampaignCaseState.IN_REVIEW}

    submit_all(campaign)
    q.post(f"/api/campaigns/{campaign.pk}/close_review/")
    q.post(f"/api/campaigns/{campaign.pk}/start_analysis/")
    r = q.post(f"/api/campaigns/{campaign.pk}/publish/")

    assert set(CampaignCase.objects.filter(campaign=campaign).values_list("state", flat=True)) == {
        CampaignCaseState.CLOSED}
    assert r.json()["published_at"] is not None


CAMPAIGN_WRONG_ROLE = [
    # visible to the caller: 403
    *[(name, source, "management", 403) for name, source, _, _ in CAMPAIGN_ALLOWED if name != "publish"],
    ("publish", S.ANALYSIS, "management", 403),
    ("publish", S.ANALYSIS, "secretary", 403),
    ("schedule", S.DRAFT, "chair", 403),
    ("archive", S.PUBLISHED, "chair", 403),
    ("cancel", S.ANALYSIS, "secretary", 403),
    ("close_review", S.IN_REVIEW, "reviewer", 403),
    ("cancel", S.IN_REVIEW, "reviewer", 403),
    # not visible: 404
    *[(name, source, "dpo", 404) for name, source, _, _ in CAMPAIGN_ALLOWED],
    ("schedule", S.DRAFT, "clinician", 404),
    ("draw_sample", S.SCHEDULED, "patient_rep", 404),
    ("publish", S.ANALYSIS, "other_chair", 404),
]


@pytest.mark.parametrize(("name", "source", "who", "status"), CAMPAIGN_WRONG_ROLE)
def test_campaign_transition_wrong_role_changes_nothing(world, api, name, source, who, status):
    campaign = campaign_at(world, source)
    if name == "close_review":
        submit_all(campaign)
    if who == "reviewer":
        actor = Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician").first().reviewer
    elif who == "clinician":
        actor = world.clinicians[0]
    elif who == "patient_rep":
        actor = world.patient_reps[0]
    elif who == "other_chair":
        actor = other_chair()
    else:
        actor = getattr(world, who)
    before = snapshot()

    r = api(actor).post(f"/api/campaigns/{campaign.pk}/{name}/")

    assert r.status_code == status
    assert r.json() == (FORBIDDEN if status == 403 else NOT_FOUND)
    assert snapshot() == before


CAMPAIGN_WRONG_STATE = [
    ("schedule", S.SCHEDULED), ("schedule", S.CANCELLED),
    ("draw_sample", S.DRAFT), ("draw_sample", S.SAMPLED),
    ("start_review", S.SCHEDULED), ("start_review", S.IN_REVIEW),
    ("close_review", S.SAMPLED), ("close_review", S.ADJUDICATION),
    ("start_analysis", S.IN_REVIEW), ("start_analysis", S.ANALYSIS),
    ("publish", S.ADJUDICATION), ("publish", S.PUBLISHED),
    ("archive", S.ANALYSIS), ("archive", S.ARCHIVED),
    ("cancel", S.PUBLISHED), ("cancel", S.ARCHIVED), ("cancel", S.CANCELLED),
]


@pytest.mark.parametrize(("name", "state"), CAMPAIGN_WRONG_STATE)
def test_campaign_transition_wrong_state_is_409_and_changes_nothing(world, api, name, state):
    campaign = campaign_at(world, state)
    before = snapshot()

    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/{name}/")

    assert r.status_code == 409
    assert r.json() == not_allowed(name, campaign, state)
    assert snapshot() == before


def test_campaign_close_review_refused_while_verdicts_are_pending(world, api):
    campaign = campaign_in(world, S.IN_REVIEW)
    first = Assignment.objects.filter(campaign_case__campaign=campaign).order_by("pk").first()
    services.assignment_submit(actor=first.reviewer, assignment=first, data=(
        CLINICIAN_VERDICT if first.kind == "clinician" else REP_VERDICT))
    before = snapshot()

    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/close_review/")

    assert r.status_code == 409
    assert r.json() == {"code": "transition_not_allowed",
                        "detail": "4 case(s) still have reviews pending: the review cannot close yet.",
                        "extra": {"cases_pending": 4}}
    assert snapshot() == before


def test_campaign_start_analysis_refused_while_a_case_needs_adjudication(world, api):
    campaign = campaign_in(world, S.IN_REVIEW)
    disagreeing = _disagree_on_all_but_first(campaign)
    services.campaign_close_review(actor=world.quality, campaign=campaign)
    before = snapshot()

    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/start_analysis/")

    assert r.status_code == 409
    assert r.json() == {"code": "transition_not_allowed", "detail": "3 case(s) still need adjudication.",
                        "extra": {"cases_pending": 3}}
    assert len(disagreeing) == 3
    assert snapshot() == before


def test_campaign_available_transitions_per_role_and_state(world, api):
    draft = campaign_at(world, S.DRAFT)
    url = f"/api/campaigns/{draft.pk}/"

    assert api(world.quality).get(url).json()["available_transitions"] == ["schedule", "cancel"]
    assert api(world.admin).get(url).json()["available_transitions"] == ["schedule", "cancel"]
    assert api(world.management).get(url).json()["available_transitions"] == []
    assert api(world.chair).get(url).json()["available_transitions"] == []

    r = api(world.quality).post(f"/api/campaigns/{draft.pk}/schedule/")
    assert r.json()["available_transitions"] == ["draw_sample", "cancel"]


def test_campaign_available_transitions_in_analysis_and_after(world, api):
    campaign = campaign_at(world, S.ANALYSIS)
    url = f"/api/campaigns/{campaign.pk}/"

    assert api(world.quality).get(url).json()["available_transitions"] == ["publish", "cancel"]
    assert api(world.chair).get(url).json()["available_transitions"] == ["publish"]
    assert api(world.secretary).get(url).json()["available_transitions"] == []
    r = api(world.chair).post(f"/api/campaigns/{campaign.pk}/publish/")
    assert r.json()["available_transitions"] == []
    assert api(world.quality).get(url).json()["available_transitions"] == ["archive"]
    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/archive/")
    assert r.json()["available_transitions"] == []


def test_campaign_seen_by_a_reviewer_has_no_transitions_nor_protocol(world, api):
    campaign = campaign_in(world, S.IN_REVIEW)
    reviewer = Assignment.objects.filter(campaign_case__campaign=campaign, kind="patient_rep")[0].reviewer

    r = api(reviewer).get(f"/api/campaigns/{campaign.pk}/")

    assert r.status_code == 200
    assert r.json() == {"id": campaign.pk, "name": "Campagne T1", "state": "in_review",
                        "ai_system_name": world.ai_system.name, "review_deadline": "2026-12-31"}


# --- Assignments -------------------------------------------------------------------------------

def _disagree_on_all_but_first(campaign) -> list[int]:
    """Submit every verdict; the clinicians of the first case agree, the others split. Returns
    the ids of the campaign cases that need adjudication."""
    ccs = list(CampaignCase.objects.filter(campaign=campaign).order_by("pk"))
    first_readers = {
        cc.pk: cc.assignments.filter(kind="clinician").order_by("pk").values_list("pk", flat=True).first()
        for cc in ccs
    }

    def label_for(a):
        if a.campaign_case_id == ccs[0].pk or a.pk == first_readers[a.campaign_case_id]:
            return "fracture"
        return "no_fracture"

    submit_all(campaign, label_for)
    return [cc.pk for cc in ccs[1:]]


def clinician_assignment(world, campaign=None) -> Assignment:
    campaign = campaign or campaign_in(world, S.IN_REVIEW)
    return Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician").order_by("pk")[0]


def assignment_at(world, state: str, kind: str = "clinician") -> Assignment:
    """An assignment of a fresh in-review campaign brought to ``state`` by its reviewer."""
    campaign = campaign_in(world, S.IN_REVIEW)
    a = Assignment.objects.filter(campaign_case__campaign=campaign, kind=kind).order_by("pk").first()
    me = a.reviewer
    if state == A.DECLINED:
        return services.assignment_decline(actor=me, assignment=a, reason="Conflit d'intérêts.")
    if state == A.EXPIRED:
        return services.assignment_expire(actor=world.quality, assignment=a)
    path = [(A.OPENED, lambda: services.assignment_open(actor=me, assignment=a)),
            (A.SUBMITTED, lambda: services.assignment_submit(
                actor=me, assignment=a, data=CLINICIAN_VERDICT if kind == "clinician" else REP_VERDICT)),
            (A.UNBLINDED, lambda: services.assignment_unblind(actor=me, assignment=a)),
            (A.CLASSIFIED, lambda: services.assignment_classify(
                actor=me, assignment=a, discrepancy="understandable", would_have_changed=False))]
    for target, step in path:
        if a.state == state:
            break
        a = step()
        assert a.state == target
    assert a.state == state
    return a


ASSIGNMENT_ALLOWED = [
    # name, source, body, expected new audit actions
    ("open", A.ASSIGNED, None, ["assignment.open"]),
    ("submit", A.ASSIGNED, CLINICIAN_VERDICT, ["assignment.submit"]),
    ("submit", A.OPENED, CLINICIAN_VERDICT, ["assignment.submit"]),
    ("unblind", A.SUBMITTED, None, ["assignment.unblind"]),
    ("classify", A.UNBLINDED, CLASSIFICATION, ["assignment.classify"]),
    ("decline", A.ASSIGNED, {"reason": "Patient connu."}, ["assignment.decline", "assignment.reassign"]),
    ("decline", A.OPENED, {"reason": "Patient connu."}, ["assignment.decline", "assignment.reassign"]),
]


@pytest.mark.parametrize(("name", "source", "body", "actions"), ASSIGNMENT_ALLOWED)
def test_assignment_transition_allowed_path(world, api, name, source, body, actions):
    a = assignment_at(world, source)
    since = last_event_id()

    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/{name}/", body, format="json")

    target = {"open": A.OPENED, "submit": A.SUBMITTED, "unblind": A.UNBLINDED, "classify": A.CLASSIFIED,
              "decline": A.DECLINED}[name]
    assert r.status_code == 200, r.json()
    assert r.json()["state"] == target
    a.refresh_from_db()
    assert a.state == target
    assert [e[0] for e in new_events(since)] == actions
    assert new_events(since)[0][1:] == ("reviews.assignment", str(a.pk))
    assert AuditEvent.objects.filter(pk__gt=since).first().actor_id == a.reviewer_id


def test_assignment_submit_locks_the_verdict(world, api):
    a = assignment_at(world, A.OPENED)

    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/submit/", CLINICIAN_VERDICT, format="json")

    verdict = Verdict.objects.get(assignment=a)
    assert (verdict.label, verdict.confidence, verdict.rationale) == (
        "fracture", 4, "Trait du radius distal.")
    assert r.json()["verdict"]["label"] == "fracture"
    assert r.json()["is_blinded"] is False
    assert "ai_label" not in r.json()["case"]
    assert r.json()["available_transitions"] == ["unblind"]


def test_assignment_submit_by_patient_rep(world, api):
    a = assignment_at(world, A.ASSIGNED, kind="patient_rep")
    since = last_event_id()

    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/submit/", REP_VERDICT, format="json")

    assert r.status_code == 200, r.json()
    verdict = Verdict.objects.get(assignment=a)
    assert (verdict.label, verdict.patient_informed, verdict.information_understandable,
            verdict.rights_respected, verdict.equity_concern, verdict.comments) == (
        "", "yes", "no", "yes", True, "Information écrite absente.")
    assert new_events(since) == [("assignment.submit", "reviews.assignment", str(a.pk))]


def test_assignment_unblind_shows_sealed_data_and_other_verdicts(world, api):
    a = assignment_at(world, A.SUBMITTED)
    others = list(a.campaign_case.assignments.exclude(pk=a.pk).order_by("kind", "pk"))
    for other in others:
        data = {"label": "no_fracture"} if other.kind == "clinician" else REP_VERDICT
        services.assignment_submit(actor=other.reviewer, assignment=other, data=data)

    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/unblind/")

    body = r.json()
    case = a.campaign_case.case
    assert (body["case"]["ai_label"], body["case"]["final_label"]) == (case.ai_label, case.final_label)
    assert body["other_verdicts"] == [
        {"kind": "clinician", "label": "no_fracture", "confidence": None, "equity_concern": None},
        {"kind": "patient_rep", "label": "", "confidence": None, "equity_concern": True},
    ]
    assert body["available_transitions"] == ["classify"]


def test_assignment_classify_records_the_classification(world, api):
    a = assignment_at(world, A.UNBLINDED)

    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/classify/", CLASSIFICATION, format="json")

    c = Classification.objects.get(assignment=a)
    assert (c.discrepancy, c.would_have_changed, c.possible_adverse_event, c.comment) == (
        "understandable", True, False, "Fracture peu visible.")
    assert r.json()["classification"]["discrepancy"] == "understandable"
    assert r.json()["available_transitions"] == []
    assert Verdict.objects.get(assignment=a).label == "fracture"


def test_assignment_expire_by_quality(world, api):
    a = assignment_at(world, A.OPENED)
    since = last_event_id()

    r = api(world.quality).post(f"/api/assignments/{a.pk}/expire/")

    assert r.status_code == 200
    assert r.json()["state"] == A.EXPIRED
    assert r.json()["available_transitions"] == []
    new = Assignment.objects.get(replaces=a)
    assert new_events(since) == [("assignment.expire", "reviews.assignment", str(a.pk)),
                                 ("assignment.reassign", "reviews.assignment", str(new.pk))]
    assert AuditEvent.objects.filter(pk__gt=since).first().actor_id == world.quality.pk


ASSIGNMENT_WRONG_ROLE = [
    # visible to the caller: 403
    ("open", A.ASSIGNED, None, "quality", "Only the assigned reviewer can do this."),
    ("submit", A.OPENED, CLINICIAN_VERDICT, "quality", "Only the assigned reviewer can do this."),
    ("unblind", A.SUBMITTED, None, "admin", "Only the assigned reviewer can do this."),
    ("classify", A.UNBLINDED, CLASSIFICATION, "quality", "Only the assigned reviewer can do this."),
    ("decline", A.ASSIGNED, {"reason": "x"}, "quality", "Only the assigned reviewer can decline."),
    ("expire", A.ASSIGNED, None, "assignee", "You are not allowed to do this."),
    ("expire", A.OPENED, None, "assignee", "You are not allowed to do this."),
    # not visible: 404
    ("open", A.ASSIGNED, None, "co_reader", None),
    ("submit", A.OPENED, CLINICIAN_VERDICT, "co_reader", None),
    ("submit", A.ASSIGNED, REP_VERDICT, "patient_rep", None),
    ("unblind", A.SUBMITTED, None, "secretary", None),
    ("classify", A.UNBLINDED, CLASSIFICATION, "management", None),
    ("decline", A.OPENED, {"reason": "x"}, "co_reader", None),
    ("expire", A.ASSIGNED, None, "secretary", None),
    ("expire", A.ASSIGNED, None, "co_reader", None),
    ("expire", A.ASSIGNED, None, "dpo", None),
]


@pytest.mark.parametrize(("name", "source", "body", "who", "detail"), ASSIGNMENT_WRONG_ROLE)
def test_assignment_transition_wrong_role_changes_nothing(world, api, name, source, body, who, detail):
    a = assignment_at(world, source)
    if who == "assignee":
        actor = a.reviewer
    elif who == "co_reader":  # reads the same case, so knows it: still not their assignment
        actor = a.campaign_case.assignments.exclude(pk=a.pk).filter(kind="clinician").first().reviewer
    elif who == "patient_rep":
        actor = a.campaign_case.assignments.get(kind="patient_rep").reviewer
    else:
        actor = getattr(world, who)
    before = snapshot()

    r = api(actor).post(f"/api/assignments/{a.pk}/{name}/", body, format="json")

    if detail is None:
        assert r.status_code == 404
        assert r.json() == NOT_FOUND
    else:
        assert r.status_code == 403
        assert r.json() == {"code": "permission_denied", "detail": detail, "extra": {}}
    assert snapshot() == before


ASSIGNMENT_WRONG_STATE = [
    ("open", A.OPENED, None, "assignee"), ("open", A.SUBMITTED, None, "assignee"),
    ("submit", A.SUBMITTED, CLINICIAN_VERDICT, "assignee"),
    ("submit", A.DECLINED, CLINICIAN_VERDICT, "assignee"),
    ("unblind", A.ASSIGNED, None, "assignee"), ("unblind", A.OPENED, None, "assignee"),
    ("unblind", A.UNBLINDED, None, "assignee"),
    ("classify", A.SUBMITTED, CLASSIFICATION, "assignee"),
    ("classify", A.CLASSIFIED, CLASSIFICATION, "assignee"),
    ("decline", A.SUBMITTED, {"reason": "Trop tard."}, "assignee"),
    ("decline", A.EXPIRED, {"reason": "Trop tard."}, "assignee"),
    ("expire", A.SUBMITTED, None, "quality"), ("expire", A.DECLINED, None, "quality"),
    ("expire", A.CLASSIFIED, None, "quality"),
]


@pytest.mark.parametrize(("name", "state", "body", "who"), ASSIGNMENT_WRONG_STATE)
def test_assignment_transition_wrong_state_is_409_and_changes_nothing(world, api, name, state, body, who):
    a = assignment_at(world, state)
    actor = a.reviewer if who == "assignee" else getattr(world, who)
    before = snapshot()

    r = api(actor).post(f"/api/assignments/{a.pk}/{name}/", body, format="json")

    assert r.status_code == 409
    assert r.json() == not_allowed(name, a, state)
    assert snapshot() == before


def test_assignment_available_transitions_per_role_and_state(world, api):
    a = clinician_assignment(world)
    url = f"/api/assignments/{a.pk}/"
    me, q = api(a.reviewer), api(world.quality)

    assert me.get(url).json()["available_transitions"] == ["open", "submit", "decline"]
    assert q.get(url).json()["available_transitions"] == ["expire", "reassign"]
    assert me.post(url + "open/").json()["available_transitions"] == ["submit", "decline"]
    assert q.get(url).json()["available_transitions"] == ["expire", "reassign"]
    submitted = me.post(url + "submit/", CLINICIAN_VERDICT, format="json").json()
    assert submitted["available_transitions"] == ["unblind"]
    assert q.get(url).json()["available_transitions"] == []
    assert me.post(url + "unblind/").json()["available_transitions"] == ["classify"]
    assert me.post(url + "classify/", CLASSIFICATION, format="json").json()["available_transitions"] == []
    assert q.get(url).json()["available_transitions"] == []


def test_assignment_list_carries_available_transitions(world, api):
    a = clinician_assignment(world)

    rows = api(a.reviewer).get("/api/assignments/").json()["results"]

    assert len(rows) == 2
    assert [row["available_transitions"] for row in rows] == [["open", "submit", "decline"]] * 2


# --- Validation --------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "extra"), [
    ({"label": "maybe"}, {"label": ["Choose one of: fracture, no_fracture."]}),
    ({"confidence": 3}, {"label": ["Choose one of: fracture, no_fracture."]}),
])
def test_clinician_verdict_with_bad_label_is_400_and_changes_nothing(world, api, body, extra):
    a = assignment_at(world, A.OPENED)
    before = snapshot()

    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/submit/", body, format="json")

    assert r.status_code == 400
    assert r.json() == {"code": "invalid", "detail": "The verdict is not complete.", "extra": extra}
    assert snapshot() == before


def test_clinician_verdict_with_confidence_out_of_range_is_400(world, api):
    a = assignment_at(world, A.OPENED)
    before = snapshot()

    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/submit/", {"label": "fracture", "confidence": 9},
                             format="json")

    assert r.status_code == 400
    assert r.json()["code"] == "invalid"
    assert list(r.json()["extra"]) == ["confidence"]
    assert snapshot() == before


def test_patient_rep_verdict_missing_fields_is_400_and_changes_nothing(world, api):
    a = assignment_at(world, A.ASSIGNED, kind="patient_rep")
    before = snapshot()

    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/submit/", {"patient_informed": "yes"}, format="json")

    assert r.status_code == 400
    assert r.json() == {
        "code": "invalid", "detail": "The review form is not complete.",
        "extra": {"information_understandable": ["Answer yes, no or cannot tell."],
                  "rights_respected": ["Answer yes, no or cannot tell."],
                  "equity_concern": ["Say whether you have an equity concern."]},
    }
    assert snapshot() == before


def test_patient_rep_verdict_with_unknown_choice_is_400(world, api):
    a = assignment_at(world, A.ASSIGNED, kind="patient_rep")
    before = snapshot()

    body = {**REP_VERDICT, "rights_respected": "perhaps"}

    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/submit/", body, format="json")

    assert r.status_code == 400
    assert list(r.json()["extra"]) == ["rights_respected"]
    assert snapshot() == before


@pytest.mark.parametrize(("name", "state", "body", "fields"), [
    ("decline", A.ASSIGNED, {}, ["reason"]),
    ("decline", A.ASSIGNED, {"reason": "   "}, ["reason"]),
    ("classify", A.UNBLINDED, {"discrepancy": "maybe", "would_have_changed": True}, ["discrepancy"]),
    ("classify", A.UNBLINDED, {"discrepancy": "concur"}, ["would_have_changed"]),
])
def test_assignment_input_errors_are_400_and_change_nothing(world, api, name, state, body, fields):
    a = assignment_at(world, state)
    before = snapshot()

    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/{name}/", body, format="json")

    assert r.status_code == 400
    assert r.json()["code"] == "invalid"
    assert r.json()["detail"] == "The request is not valid: see extra for each field."
    assert list(r.json()["extra"]) == fields
    assert snapshot() == before


# --- Decline and expiry reassign within the rules ---------------------------------------------

SIGNER = "DR-0042"


@pytest.fixture
def small_world(db):
    """One case from the emergency department, signed by clin0. Clinician readers: the chair,
    clin0 (signed it), clin1, clin2 and an emergency physician (own service): exactly three are
    eligible for two seats, so the one spare is known in advance."""
    world = build_world(n_cases=0, n_clinicians=3, n_patient_reps=2)
    world.clinicians[0].clinician_pseudonym = pseudonymize(SIGNER, namespace="clinician")
    world.clinicians[0].save()
    urgentiste = UserFactory(role=Role.CLINICIAN, username="urgentiste")
    MemberFactory(committee=world.committee, user=urgentiste, role=MemberRole.CLINICIAN, service="Urgences")
    world.urgentiste = urgentiste
    world.cases = [CaseFactory(ai_system=world.ai_system, service="Urgences",
                               clinician_pseudonym=pseudonymize(SIGNER, namespace="clinician"))]
    return world


def test_decline_reassigns_to_the_one_eligible_reviewer_left(small_world, api):
    w = small_world
    campaign = campaign_in(w, S.IN_REVIEW, sample_size=1)
    clinicians = Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician").order_by("pk")
    first = clinicians[0]
    readers = {a.reviewer_id for a in clinicians}
    spare = ({w.chair.pk, w.clinicians[1].pk, w.clinicians[2].pk} - readers).pop()

    body = {"reason": "Je connais le patient."}

    r = api(first.reviewer).post(f"/api/assignments/{first.pk}/decline/", body, format="json")

    assert r.status_code == 200
    assert r.json()["state"] == A.DECLINED
    first.refresh_from_db()
    assert first.decline_reason == "Je connais le patient."
    new = Assignment.objects.get(replaces=first)
    assert (new.reviewer_id, new.kind, new.state, new.campaign_case_id, new.due_date, new.display_order) == (
        spare, "clinician", A.ASSIGNED, first.campaign_case_id, dt.date(2026, 12, 31), 1)
    assert new.reviewer_id not in {first.reviewer_id, w.clinicians[0].pk, w.urgentiste.pk}
    assert AuditEvent.objects.get(action="assignment.reassign").data == {"replaces": first.pk}
    active = first.campaign_case.assignments.filter(kind="clinician", state__in=["assigned", "opened"])
    assert active.count() == 2


def test_decline_when_nobody_eligible_is_left_records_the_failure(small_world, api):
    w = small_world
    campaign = campaign_in(w, S.IN_REVIEW, sample_size=1)
    first = clinician_assignment(w, campaign)
    services.assignment_decline(actor=first.reviewer, assignment=first, reason="Conflit.")
    replacement = Assignment.objects.get(replaces=first)
    count = Assignment.objects.count()
    since = last_event_id()

    r = api(replacement.reviewer).post(f"/api/assignments/{replacement.pk}/decline/", {"reason": "Conflit."},
                                       format="json")

    assert r.status_code == 200
    assert Assignment.objects.count() == count
    assert new_events(since) == [
        ("assignment.decline", "reviews.assignment", str(replacement.pk)),
        ("assignment.reassignment_failed", "reviews.assignment", str(replacement.pk)),
    ]


def test_expire_reassigns_within_the_rules(small_world, api):
    w = small_world
    campaign = campaign_in(w, S.IN_REVIEW, sample_size=1)
    clinicians = list(Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician"))
    spare = ({w.chair.pk, w.clinicians[1].pk, w.clinicians[2].pk} - {a.reviewer_id for a in clinicians}).pop()

    r = api(w.quality).post(f"/api/assignments/{clinicians[0].pk}/expire/")

    assert r.status_code == 200
    assert r.json()["state"] == A.EXPIRED
    new = Assignment.objects.get(replaces=clinicians[0])
    assert (new.reviewer_id, new.kind, new.state) == (spare, "clinician", A.ASSIGNED)


def test_patient_rep_decline_goes_to_the_other_rep(small_world, api):
    w = small_world
    campaign = campaign_in(w, S.IN_REVIEW, sample_size=1)
    rep = Assignment.objects.get(campaign_case__campaign=campaign, kind="patient_rep")
    other = ({u.pk for u in w.patient_reps} - {rep.reviewer_id}).pop()

    api(rep.reviewer).post(f"/api/assignments/{rep.pk}/decline/", {"reason": "Indisponible."}, format="json")

    new = Assignment.objects.get(replaces=rep)
    assert (new.reviewer_id, new.kind, new.state) == (other, "patient_rep", A.ASSIGNED)


# --- Adjudication ------------------------------------------------------------------------------

@pytest.fixture
def split(world):
    """An adjudication-stage campaign: case 1 concordant, the other three need adjudication."""
    campaign = campaign_in(world, S.IN_REVIEW)
    disagreeing = _disagree_on_all_but_first(campaign)
    campaign = services.campaign_close_review(actor=world.quality, campaign=campaign)
    return campaign, CampaignCase.objects.get(pk=disagreeing[0]), CampaignCase.objects.filter(
        campaign=campaign).exclude(pk__in=disagreeing).get()


ADJUDICATION = {"label": "no_fracture", "reasoning": "Relu en séance : pas de trait.", "method": "consensus"}


def test_adjudicate_allowed_path(world, api, split):
    _, cc, _ = split
    since = last_event_id()

    r = api(world.chair).post(f"/api/campaign-cases/{cc.pk}/adjudicate/", ADJUDICATION, format="json")

    assert r.status_code == 200, r.json()
    body = r.json()
    assert {k: body[k] for k in ("decided_by", "method", "label", "reasoning")} == {
        "decided_by": "chair", "method": "consensus", "label": "no_fracture",
        "reasoning": "Relu en séance : pas de trait."}
    cc.refresh_from_db()
    assert (cc.state, cc.reference_label) == (CampaignCaseState.ADJUDICATED, "no_fracture")
    assert Adjudication.objects.get(campaign_case=cc).decided_by_id == world.chair.pk
    assert new_events(since) == [("campaign_case.adjudicate", "reviews.campaigncase", str(cc.pk))]
    assert AuditEvent.objects.get(pk__gt=since).data == {"label": "no_fracture", "method": "consensus"}


@pytest.mark.parametrize(("who", "status"), [
    ("secretary", 403), ("quality", 403), ("admin", 403),
    ("management", 404), ("dpo", 404), ("reader", 404), ("other_chair", 404),
])
def test_adjudicate_wrong_role_changes_nothing(world, api, split, who, status):
    _, cc, _ = split
    if who == "reader":
        actor = cc.assignments.filter(kind="clinician").exclude(reviewer=world.chair).first().reviewer
    elif who == "other_chair":
        actor = other_chair()
    else:
        actor = getattr(world, who)
    before = snapshot()

    r = api(actor).post(f"/api/campaign-cases/{cc.pk}/adjudicate/", ADJUDICATION, format="json")

    assert r.status_code == status
    assert r.json() == (NOT_FOUND if status == 404 else {
        "code": "permission_denied", "detail": "Only the committee chair can adjudicate.", "extra": {}})
    assert snapshot() == before


def test_adjudicate_wrong_state_changes_nothing(world, api, split):
    _, needing, concordant = split
    api(world.chair).post(f"/api/campaign-cases/{needing.pk}/adjudicate/", ADJUDICATION, format="json")
    before = snapshot()

    chair = api(world.chair)

    r1 = chair.post(f"/api/campaign-cases/{concordant.pk}/adjudicate/", ADJUDICATION, format="json")
    r2 = chair.post(f"/api/campaign-cases/{needing.pk}/adjudicate/", ADJUDICATION, format="json")

    assert (r1.status_code, r2.status_code) == (409, 409)
    assert r1.json() == not_allowed("adjudicate", concordant, "concordant")
    assert r2.json() == not_allowed("adjudicate", needing, "adjudicated")
    assert snapshot() == before


@pytest.mark.parametrize(("body", "fields"), [
    ({"label": "maybe", "reasoning": "Discuté."}, ["label"]),
    ({"label": "fracture"}, ["reasoning"]),
    ({"label": "fracture", "reasoning": "  "}, ["reasoning"]),
    ({"label": "fracture", "reasoning": "Discuté.", "method": "vote"}, ["method"]),
])
def test_adjudicate_validation_is_400_and_changes_nothing(world, api, split, body, fields):
    _, cc, _ = split
    before = snapshot()

    r = api(world.chair).post(f"/api/campaign-cases/{cc.pk}/adjudicate/", body, format="json")

    assert r.status_code == 400
    assert r.json()["code"] == "invalid"
    assert list(r.json()["extra"]) == fields
    assert snapshot() == before


def test_reassignment_keeps_every_queue_a_permutation(world, api):
    # Four cases, four clinician readers holding two cases each: every replacement lands in a
    # queue that already has items.
    campaign = campaign_in(world, S.IN_REVIEW)
    declined = list(Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician"))

    for a in declined:
        r = api(a.reviewer).post(f"/api/assignments/{a.pk}/decline/", {"reason": "Conflit."}, format="json")
        assert r.status_code == 200

    assert Assignment.objects.filter(replaces__in=declined).count() > 0
    in_campaign = Assignment.objects.filter(campaign_case__campaign=campaign)
    for uid in set(in_campaign.values_list("reviewer_id", flat=True)):
        orders = sorted(in_campaign.filter(reviewer_id=uid).values_list("display_order", flat=True))
        assert orders == list(range(1, len(orders) + 1))


@pytest.mark.parametrize(("name", "body", "who"), [
    ("open", None, "assignee"),
    ("submit", CLINICIAN_VERDICT, "assignee"),
    ("decline", {"reason": "Conflit."}, "assignee"),
    ("expire", None, "quality"),
])
def test_no_review_work_in_a_cancelled_campaign(world, api, name, body, who):
    campaign = campaign_in(world, S.IN_REVIEW)
    a = clinician_assignment(world, campaign)
    services.campaign_cancel(actor=world.quality, campaign=campaign, reason="Version retirée.")
    actor = a.reviewer if who == "assignee" else world.quality
    before = snapshot()

    r = api(actor).post(f"/api/assignments/{a.pk}/{name}/", body, format="json")

    # The cancellation withdrew the pending review: no review work is left to refuse but by state.
    assert Assignment.objects.get(pk=a.pk).state == A.WITHDRAWN
    assert r.status_code == 409
    assert r.json() == {
        "code": "transition_not_allowed",
        "detail": f"Cannot {name} this assignment: it is withdrawn.",
        "extra": {"state": "withdrawn", "transition": name},
    }
    assert snapshot() == before


def test_no_adjudication_in_a_cancelled_campaign(world, api, split):
    campaign, cc, _ = split
    services.campaign_cancel(actor=world.quality, campaign=campaign)
    before = snapshot()

    r = api(world.chair).post(f"/api/campaign-cases/{cc.pk}/adjudicate/", ADJUDICATION, format="json")

    assert r.status_code == 409
    assert r.json() == {
        "code": "transition_not_allowed",
        "detail": "Cannot adjudicate this campaign case: its campaign is cancelled.",
        "extra": {"campaign_state": "cancelled", "transition": "adjudicate"},
    }
    assert snapshot() == before
