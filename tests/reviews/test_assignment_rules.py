"""Assignment rules added for issue #4: specialty matching, own-site exclusion, structured
declared conflicts (AI system, vendor, service, site), and reassignment by the quality team."""

import datetime as dt

import pytest

from audit.models import AuditEvent
from committees.enums import ConflictKind, MemberRole
from committees.models import Member
from committees.services import conflict_declare
from common.exceptions import Forbidden, ValidationFailed
from reviews import services
from reviews.enums import AssignmentState
from reviews.models import Assignment, CampaignCase
from tests.factories import CaseFactory, MemberFactory, UserFactory
from tests.workflows import build_world

MARCH = dt.date(2026, 3, 10)


def reviewing(world, *, n=6, **kw):
    campaign = services.campaign_create(
        actor=world.quality, ai_system=world.ai_system, committee=world.committee, name="Règles",
        period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 6, 30), sample_size=n,
        review_deadline=dt.date(2026, 12, 31), seed=17, **kw)
    for step in (services.campaign_schedule, services.campaign_draw_sample, services.campaign_start_review):
        campaign = step(actor=world.quality, campaign=campaign)
    return campaign


def clinician_readers(campaign) -> set[int]:
    return set(Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician")
               .values_list("reviewer_id", flat=True))


@pytest.fixture
def rules(db):
    world = build_world(n_cases=6, n_clinicians=3, n_patient_reps=1)
    return world


def member(world, user) -> Member:
    return Member.objects.get(committee=world.committee, user=user, term_end__isnull=True)


def test_specialty_matching_keeps_other_specialties_off(rules):
    for u in rules.clinicians[:2]:
        Member.objects.filter(pk=member(rules, u).pk).update(specialty="Radiologie ostéo-articulaire")
    campaign = reviewing(rules, required_specialty="radiologie OSTÉO-articulaire")
    assert clinician_readers(campaign) == {rules.clinicians[0].pk, rules.clinicians[1].pk}
    assert campaign.protocol["required_specialty"] == "radiologie OSTÉO-articulaire"


def test_own_site_excluded_when_the_campaign_says_so(rules):
    # Cases are from Nord; the chair and clin0 work at Nord.
    for u in (rules.chair, rules.clinicians[0]):
        Member.objects.filter(pk=member(rules, u).pk).update(site="Nord")
    campaign = reviewing(rules, exclude_own_site=True)
    assert clinician_readers(campaign) == {rules.clinicians[1].pk, rules.clinicians[2].pk}
    allowed = reviewing_again(rules)
    assert rules.chair.pk in clinician_readers(allowed) or rules.clinicians[0].pk in clinician_readers(allowed)


def reviewing_again(world):
    CaseFactory.create_batch(6, ai_system=world.ai_system, exam_date=MARCH)
    return reviewing(world, exclude_own_site=False)


@pytest.mark.parametrize("kind", [ConflictKind.AI_SYSTEM, ConflictKind.VENDOR, ConflictKind.SERVICE,
                                  ConflictKind.SITE])
def test_declared_conflicts_keep_the_reader_off(rules, kind):
    clin = rules.clinicians[0]
    target = {ConflictKind.AI_SYSTEM: {"ai_system": rules.ai_system},
              ConflictKind.VENDOR: {"value": rules.ai_system.vendor.upper()},
              ConflictKind.SERVICE: {"value": "urgences"}, ConflictKind.SITE: {"value": "Nord"}}[kind]
    conflict_declare(actor=clin, member=member(rules, clin), kind=kind, **target)

    campaign = reviewing(rules)

    assert clinician_readers(campaign) == {rules.chair.pk, *(u.pk for u in rules.clinicians[1:])}
    assert AuditEvent.objects.filter(action="member.declare_conflict").count() == 1


def test_withdrawn_or_unrelated_conflicts_do_not_apply(rules):
    clin = rules.clinicians[0]
    c = conflict_declare(actor=rules.quality, member=member(rules, clin), kind=ConflictKind.SERVICE, value="Urgences")
    type(c).objects.filter(pk=c.pk).update(withdrawn_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    conflict_declare(actor=rules.quality, member=member(rules, clin), kind=ConflictKind.VENDOR, value="Autre SAS")
    campaign = reviewing(rules)
    assert clin.pk in clinician_readers(campaign)


def test_conflict_declaration_permissions_and_validation(rules):
    with pytest.raises(Forbidden):
        conflict_declare(actor=rules.clinicians[1], member=member(rules, rules.clinicians[0]),
                         kind=ConflictKind.SITE, value="Nord")
    with pytest.raises(ValidationFailed):
        conflict_declare(actor=rules.quality, member=member(rules, rules.clinicians[0]), kind=ConflictKind.SITE)
    with pytest.raises(ValidationFailed):
        conflict_declare(actor=rules.quality, member=member(rules, rules.clinicians[0]),
                         kind=ConflictKind.AI_SYSTEM, value="x")


# --- Reassignment by the quality team ------------------------------------------------------------

@pytest.fixture
def running(db):
    world = build_world(n_cases=3, n_clinicians=4, n_patient_reps=1)
    world.campaign = reviewing(world, n=3)
    return world


def pending(world) -> Assignment:
    return Assignment.objects.filter(campaign_case__campaign=world.campaign, kind="clinician").order_by("pk").first()


def test_reassign_by_quality_withdraws_and_reassigns(running, api):
    a = pending(running)
    readers = set(a.campaign_case.assignments.values_list("reviewer_id", flat=True))
    free = next(u for u in [running.chair, *running.clinicians] if u.pk not in readers)

    r = api(running.quality).post(f"/api/assignments/{a.pk}/reassign/",
                                  {"reason": "Absent", "reviewer_id": free.pk}, format="json")

    assert r.status_code == 200
    assert r.json()["state"] == "withdrawn"
    new = Assignment.objects.get(replaces=a)
    assert (new.reviewer_id, new.state, new.kind) == (free.pk, AssignmentState.ASSIGNED, "clinician")
    assert list(AuditEvent.objects.filter(action__in=["assignment.withdraw", "assignment.reassign"])
                .values_list("action", flat=True)) == ["assignment.withdraw", "assignment.reassign"]


def test_reassign_to_an_ineligible_reviewer_is_409_and_changes_nothing(running, api):
    a = pending(running)
    other = a.campaign_case.assignments.exclude(pk=a.pk).filter(kind="clinician").first()
    audit = AuditEvent.objects.count()

    r = api(running.quality).post(f"/api/assignments/{a.pk}/reassign/",
                                  {"reason": "Absent", "reviewer_id": other.reviewer_id}, format="json")

    assert r.status_code == 409
    assert r.json()["detail"] == ("Cannot reassign this assignment: the chosen reviewer is not eligible under "
                                  "the campaign's rules.")
    a.refresh_from_db()
    assert a.state == AssignmentState.ASSIGNED and AuditEvent.objects.count() == audit


@pytest.mark.parametrize("who", ["chair", "secretary", "management"])
def test_reassign_wrong_role_is_404_and_changes_nothing(running, api, who):
    a = pending(running)
    r = api(getattr(running, who)).post(f"/api/assignments/{a.pk}/reassign/", {"reason": "x"}, format="json")
    assert r.status_code == 404  # only the assignee and the quality team see an assignment
    a.refresh_from_db()
    assert a.state == AssignmentState.ASSIGNED


def test_reassign_by_the_reviewer_is_403(running, api):
    a = pending(running)
    r = api(a.reviewer).post(f"/api/assignments/{a.pk}/reassign/", {"reason": "x"}, format="json")
    assert r.status_code == 403
    a.refresh_from_db()
    assert a.state == AssignmentState.ASSIGNED


def test_reassign_submitted_is_409_and_unknown_is_404(running, api):
    a = pending(running)
    services.assignment_submit(actor=a.reviewer, assignment=a, data={"label": "fracture"})
    q = api(running.quality)
    r = q.post(f"/api/assignments/{a.pk}/reassign/", {"reason": "x"}, format="json")
    assert r.status_code == 409
    assert q.post("/api/assignments/999999/reassign/", {"reason": "x"}, format="json").status_code == 404
    assert q.post(f"/api/assignments/{a.pk}/reassign/", {}, format="json").status_code == 400


def test_reassign_without_eligible_reader_is_409(db, api):
    world = build_world(n_cases=1, n_clinicians=1, n_patient_reps=1)
    world.campaign = reviewing(world, n=1)
    a = pending(world)
    r = api(world.quality).post(f"/api/assignments/{a.pk}/reassign/", {"reason": "Absent"}, format="json")
    assert r.status_code == 409
    assert not Assignment.objects.filter(state="withdrawn").exists()
    assert CampaignCase.objects.count() == 1


def test_patient_reps_are_not_subject_to_specialty(db):
    world = build_world(n_cases=2, n_clinicians=2, n_patient_reps=1)
    for m in Member.objects.filter(committee=world.committee, role__in=[MemberRole.CLINICIAN, MemberRole.CHAIR]):
        Member.objects.filter(pk=m.pk).update(specialty="Urgences")
    extra = UserFactory(username="other_specialty")
    MemberFactory(committee=world.committee, user=extra, specialty="Cardiologie")
    campaign = reviewing(world, n=2, required_specialty="Urgences")
    assert extra.pk not in clinician_readers(campaign)
    assert Assignment.objects.filter(campaign_case__campaign=campaign, kind="patient_rep").count() == 2
