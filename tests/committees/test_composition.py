"""Composition through the services and the API: the quorum rule, ending a term, withdrawing a
conflict. Each write: the allowed path with its audit event, a wrong role (403, or 404 when the
committee is not visible), a wrong state (409), and nothing changed on refusal."""

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from committees import services
from committees.models import Committee, DeclaredConflict, Member
from common.exceptions import Forbidden, TransitionNotAllowed, ValidationFailed
from reviews.models import Assignment
from sittings.services import committee_set_quorum
from tests.factories import CommitteeFactory, MemberFactory, UserFactory
from tests.helpers import seat
from tests.sittings.flows import session_in
from tests.workflows import campaign_in

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def state() -> dict:
    """What a refused request must leave untouched."""
    return {
        "committees": list(Committee.objects.order_by("pk").values_list(
            "pk", "quorum_clinicians", "quorum_patient_reps")),
        "members": list(Member.objects.order_by("pk").values_list("pk", "term_start", "term_end")),
        "conflicts": list(DeclaredConflict.objects.order_by("pk").values_list("pk", "withdrawn_at")),
        "audit": AuditEvent.objects.count(),
    }


def events(action: str) -> list[dict]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk").values_list("data", flat=True))


# --- Services ----------------------------------------------------------------------------------

def test_committee_set_quorum_saves_and_audits(world):
    committee_set_quorum(actor=world.secretary, committee=world.committee, clinicians=3, patient_reps=0)
    world.committee.refresh_from_db()
    assert (world.committee.quorum_clinicians, world.committee.quorum_patient_reps) == (3, 0)
    assert events("committee.set_quorum") == [{"before": {"clinicians": 2, "patient_reps": 1},
                                              "after": {"clinicians": 3, "patient_reps": 0}}]


@pytest.mark.parametrize(("clinicians", "patient_reps", "field"), [
    (0, 1, "clinicians"), (2, -1, "patient_reps"), (100, 1, "clinicians"), (True, 1, "clinicians")])
def test_committee_set_quorum_validates_and_names_the_field(world, clinicians, patient_reps, field):
    before = state()
    with pytest.raises(ValidationFailed) as exc:
        committee_set_quorum(actor=world.quality, committee=world.committee, clinicians=clinicians,
                             patient_reps=patient_reps)
    assert list(exc.value.extra) == [field]
    assert state() == before


def test_committee_set_quorum_refused_to_a_reviewer_and_while_a_session_sits(world):
    before = state()
    with pytest.raises(Forbidden):
        committee_set_quorum(actor=world.clinicians[0], committee=world.committee, clinicians=1, patient_reps=0)
    assert state() == before
    session_in(world, "open", with_cases=False)
    before = state()
    with pytest.raises(TransitionNotAllowed):
        committee_set_quorum(actor=world.quality, committee=world.committee, clinicians=1, patient_reps=0)
    assert state() == before


def test_committee_create_takes_an_optional_quorum(world):
    default = services.committee_create(actor=world.quality, name="Collège A", hospital_group="GHT")
    assert (default.quorum_clinicians, default.quorum_patient_reps) == (2, 1)
    custom = services.committee_create(actor=world.quality, name="Collège B", hospital_group="GHT",
                                       quorum_clinicians=3, quorum_patient_reps=0)
    assert (custom.quorum_clinicians, custom.quorum_patient_reps) == (3, 0)
    assert events("committee.create")[-1]["quorum_clinicians"] == 3
    with pytest.raises(ValidationFailed) as exc:
        services.committee_create(actor=world.quality, name="Collège C", hospital_group="GHT", quorum_clinicians=0)
    assert list(exc.value.extra) == ["quorum_clinicians"]
    assert not Committee.objects.filter(name="Collège C").exists()


def test_member_end_term_keeps_the_row_and_refuses_an_ended_term(world):
    member = seat(world, world.clinicians[0])
    yesterday = TODAY() - dt.timedelta(days=1)
    services.member_end_term(actor=world.secretary, member=member, term_end=yesterday)
    member.refresh_from_db()
    assert member.term_end == yesterday
    assert events("member.end_term") == [{"term_end": yesterday.isoformat(), "previous_term_end": None}]
    before = state()
    with pytest.raises(TransitionNotAllowed):
        services.member_end_term(actor=world.secretary, member=member, term_end=TODAY())
    assert state() == before


def test_member_end_term_of_a_planned_end_and_its_errors(world):
    member = seat(world, world.clinicians[1])
    services.member_end_term(actor=world.quality, member=member, term_end=TODAY() + dt.timedelta(days=30))
    services.member_end_term(actor=world.quality, member=member, term_end=TODAY())  # still running: allowed
    before = state()
    with pytest.raises(ValidationFailed) as exc:
        services.member_end_term(actor=world.quality, member=member, term_end=member.term_start - dt.timedelta(1))
    assert list(exc.value.extra) == ["term_end"]
    with pytest.raises(Forbidden):
        services.member_end_term(actor=world.management, member=member, term_end=TODAY())
    assert state() == before


def test_member_end_term_with_pending_blind_reviews_says_nothing_sealed(world, api):
    campaign_in(world, "in_review")
    reader = next(a.reviewer for a in Assignment.objects.select_related("reviewer").filter(state="assigned"))
    member = Member.objects.get(committee=world.committee, user=reader, term_end__isnull=True)
    pending = list(Assignment.objects.filter(reviewer=reader).values_list("pk", "state"))
    r = api(world.secretary).post(f"/api/committees/{world.committee.pk}/end-term/",
                                  {"member": member.pk, "term_end": TODAY().isoformat()}, format="json")
    assert r.status_code == 200
    assert set(r.json()) == {"id", "committee", "user", "username", "display_name", "role", "specialty", "site",
                             "service", "term_start", "term_end", "is_current", "has_ended",
                             "declared_conflicts", "conflicts"}
    assert events("member.end_term") == [{"term_end": TODAY().isoformat(), "previous_term_end": None}]
    for sealed in ("ai_label", "ai_score", "final_label", "assignment", "case"):
        assert sealed not in r.content.decode()
    assert list(Assignment.objects.filter(reviewer=reader).values_list("pk", "state")) == pending


def test_conflict_withdraw_keeps_the_row_and_refuses_twice(world):
    member = seat(world, world.clinicians[0])
    conflict = services.conflict_declare(actor=world.quality, member=member, kind="vendor", value="Acme")
    before = state()
    with pytest.raises(Forbidden):
        services.conflict_withdraw(actor=world.clinicians[1], conflict=conflict)
    assert state() == before
    services.conflict_withdraw(actor=world.clinicians[0], conflict=conflict)  # the member themself
    conflict.refresh_from_db()
    assert conflict.withdrawn_at is not None
    assert events("member.withdraw_conflict") == [
        {"conflict": conflict.pk, "kind": "vendor", "ai_system": None, "value": "Acme"}]
    before = state()
    with pytest.raises(TransitionNotAllowed):
        services.conflict_withdraw(actor=world.quality, conflict=conflict)
    assert state() == before


# --- API ---------------------------------------------------------------------------------------

def test_api_quorum(world, api):
    url = f"/api/committees/{world.committee.pk}/quorum/"
    r = api(world.secretary).post(url, {"clinicians": 3, "patient_reps": 2}, format="json")
    assert r.status_code == 200
    assert (r.json()["quorum_clinicians"], r.json()["quorum_patient_reps"]) == (3, 2)
    before = state()
    r = api(world.quality).post(url, {"clinicians": 0, "patient_reps": 1}, format="json")
    assert (r.status_code, r.json()["code"], list(r.json()["extra"])) == (400, "invalid", ["clinicians"])
    assert api(world.management).post(url, {"clinicians": 1, "patient_reps": 1}, format="json").status_code == 403
    assert api(world.clinicians[0]).post(url, {"clinicians": 1, "patient_reps": 1},
                                         format="json").status_code == 404
    assert api(world.quality).post("/api/committees/999999/quorum/", {"clinicians": 1, "patient_reps": 1},
                                   format="json").status_code == 404
    assert state() == before
    session_in(world, "open", with_cases=False)
    before = state()
    r = api(world.quality).post(url, {"clinicians": 1, "patient_reps": 1}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")
    assert state() == before


def test_api_end_term_and_history(world, api):
    member = seat(world, world.clinicians[0])
    url = f"/api/committees/{world.committee.pk}/end-term/"
    yesterday = (TODAY() - dt.timedelta(days=1)).isoformat()
    before = state()
    assert api(world.management).post(url, {"member": member.pk, "term_end": yesterday},
                                      format="json").status_code == 403
    assert api(world.patient_reps[0]).post(url, {"member": member.pk, "term_end": yesterday},
                                           format="json").status_code == 404
    other = Member.objects.create(committee=Committee.objects.create(name="Autre", hospital_group="GHT"),
                                  user=world.clinicians[0], role="clinician", term_start=dt.date(2025, 1, 1))
    before = state()
    assert api(world.quality).post(url, {"member": other.pk, "term_end": yesterday},
                                   format="json").status_code == 404
    assert state() == before
    r = api(world.quality).post(url, {"member": member.pk, "term_end": yesterday}, format="json")
    assert r.status_code == 200
    assert (r.json()["term_end"], r.json()["is_current"], r.json()["has_ended"]) == (yesterday, False, True)
    before = state()
    r = api(world.quality).post(url, {"member": member.pk, "term_end": TODAY().isoformat()}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")
    assert state() == before
    # The history: the ended term is still listed, next to the current ones.
    rows = api(world.quality).get(f"/api/committees/{world.committee.pk}/members/").json()
    assert len(rows) == Member.objects.filter(committee=world.committee).count() == 7
    ended = [x for x in rows if x["has_ended"]]
    assert [(x["id"], x["is_current"]) for x in ended] == [(member.pk, False)]
    detail = api(world.quality).get(f"/api/committees/{world.committee.pk}/").json()
    assert member.pk in [x["id"] for x in detail["members"]]


def test_api_withdraw_conflict(world, api):
    member = seat(world, world.clinicians[0])
    conflict = services.conflict_declare(actor=world.quality, member=member, kind="site", value="Nord")
    url = f"/api/committees/{world.committee.pk}/withdraw-conflict/"
    before = state()
    assert api(world.management).post(url, {"conflict": conflict.pk}, format="json").status_code == 403
    assert api(world.clinicians[0]).post(url, {"conflict": conflict.pk}, format="json").status_code == 404
    assert api(world.quality).post(url, {"conflict": 999999}, format="json").status_code == 404
    assert state() == before
    r = api(world.secretary).post(url, {"conflict": conflict.pk}, format="json")
    assert r.status_code == 200 and r.json()["withdrawn_at"] is not None
    before = state()
    r = api(world.secretary).post(url, {"conflict": conflict.pk}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")
    assert state() == before
    listed = api(world.quality).get(f"/api/committees/{world.committee.pk}/members/").json()
    row = next(x for x in listed if x["id"] == member.pk)
    assert [(c["id"], c["withdrawn_at"] is not None) for c in row["conflicts"]] == [(conflict.pk, True)]


def test_api_create_with_quorum(world, api):
    r = api(world.quality).post("/api/committees/", {"name": "Collège Q", "hospital_group": "GHT",
                                                     "quorum_clinicians": 4, "quorum_patient_reps": 0},
                                format="json")
    assert r.status_code == 201
    assert (r.json()["quorum_clinicians"], r.json()["quorum_patient_reps"]) == (4, 0)
    r = api(world.quality).post("/api/committees/", {"name": "Collège R", "hospital_group": "GHT",
                                                     "quorum_clinicians": 0}, format="json")
    assert (r.status_code, list(r.json()["extra"])) == (400, ["quorum_clinicians"])


@pytest.mark.parametrize("n", [1, 3])
def test_api_members_list_query_count(db, api, django_assert_num_queries, n):
    committee = CommitteeFactory()
    for _ in range(n):
        m = MemberFactory(committee=committee, term_end=TODAY() - dt.timedelta(days=1))
        DeclaredConflict.objects.create(member=m, kind="site", value="Nord")
    client = api(UserFactory(role="quality"))
    with django_assert_num_queries(4):  # committee, AI systems, members+users, conflicts
        r = client.get(f"/api/committees/{committee.pk}/members/")
    assert len(r.json()) == n


@pytest.mark.parametrize("path", ["members/", "quorum/", "end-term/"])
def test_officer_of_another_committee_cannot_compose_this_one(world, api, path):
    outsider = UserFactory(role="chair", username="chair-elsewhere")
    MemberFactory(committee=CommitteeFactory(), user=outsider, role="chair")
    newcomer = UserFactory(role="clinician", username="newcomer")
    body = {"members/": {"user": newcomer.pk, "role": "clinician", "term_start": "2026-01-01"},
            "quorum/": {"clinicians": 1, "patient_reps": 0},
            "end-term/": {"member": seat(world, world.clinicians[0]).pk, "term_end": str(TODAY())}}[path]
    before = state()

    r = api(outsider).post(f"/api/committees/{world.committee.pk}/{path}", body, format="json")

    assert r.status_code == 404  # another committee is not visible to them at all
    assert state() == before


def test_an_officer_founds_a_new_committee_by_taking_the_first_seat(api):
    founder = UserFactory(role="chair", username="founder")
    committee = CommitteeFactory()
    other = UserFactory(role="clinician", username="first-reader")

    def client():  # each request loads its user afresh, as in production
        return api(type(founder).objects.get(pk=founder.pk))

    assert client().post(f"/api/committees/{committee.pk}/members/", {
        "user": founder.pk, "role": "chair", "term_start": "2026-01-01"}, format="json").status_code == 201
    assert client().post(f"/api/committees/{committee.pk}/members/", {
        "user": other.pk, "role": "clinician", "term_start": "2026-01-01"}, format="json").status_code == 201
    # Once seated, the committee is its own officers' to compose.
    outsider = UserFactory(role="secretary", username="outsider")
    assert api(outsider).post(f"/api/committees/{committee.pk}/quorum/", {
        "clinicians": 1, "patient_reps": 0}, format="json").status_code == 404
