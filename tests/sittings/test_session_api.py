"""Sessions and agenda items through the API: every transition (allowed path, a wrong role, a
wrong state, and nothing changed when refused), the agenda's blinding, quorum and minutes."""

import hashlib

import pytest

from reviews.enums import CampaignCaseState
from reviews.models import CampaignCase
from sittings import services
from sittings.enums import AgendaItemState, SessionState
from sittings.models import AgendaItem, Decision, Session
from tests.factories import CommitteeFactory, MemberFactory, UserFactory
from tests.helpers import snapshot
from tests.sittings.flows import flag_adverse_event, last_event_id, new_actions, plan, session_in, user_of
from tests.workflows import disagreeing_campaign, present_quorum

pytestmark = pytest.mark.django_db

SEALED_FIELDS = {"ai_label", "final_label", "ai_score", "score", "ai_version"}
DECISION = {"summary": "Discussion du cas.", "text": "Fracture retenue.", "votes_for": 4,
            "reference_label": "fracture"}


def _keys(node) -> set[str]:
    if isinstance(node, dict):
        return set(node) | set().union(*(_keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_keys(v) for v in node)) if node else set()
    return set()


# --- Session transitions -------------------------------------------------------------------------

SESSION_ALLOWED = [  # transition, source state, who, payload, target state
    ("start", "planned", "secretary", {}, SessionState.OPEN),
    ("start", "planned", "quality", {}, SessionState.OPEN),
    ("close", "open", "secretary", {}, SessionState.CLOSED),
    ("close", "open", "chair", {}, SessionState.CLOSED),
    ("sign", "closed", "chair", {}, SessionState.SIGNED),
    ("cancel", "planned", "secretary", {"reason": "Quorum impossible."}, SessionState.CANCELLED),
]


@pytest.mark.parametrize(("name", "source", "who", "payload", "target"), SESSION_ALLOWED)
def test_session_transition_allowed_path(world, api, name, source, who, payload, target):
    session = session_in(world, source)
    since = last_event_id()

    r = api(user_of(world, who)).post(f"/api/sessions/{session.pk}/{name}/", payload, format="json")

    assert r.status_code == 200, r.json()
    assert r.json()["state"] == target
    assert Session.objects.get(pk=session.pk).state == target
    assert new_actions(since)[-1] == f"session.{name}"


SESSION_WRONG_ROLE = [  # transition, source state, who, status (403: may see the session; 404: may not)
    ("start", "planned", "clin0", 403),
    ("start", "planned", "management", 404),
    ("close", "open", "rep0", 403),
    ("sign", "closed", "secretary", 403),
    ("sign", "closed", "quality", 403),
    ("sign", "closed", "dpo", 404),
    ("cancel", "planned", "management", 404),
    ("cancel", "planned", "clin1", 403),
]


@pytest.mark.parametrize(("name", "source", "who", "status"), SESSION_WRONG_ROLE)
def test_session_transition_wrong_role_changes_nothing(world, api, name, source, who, status):
    session = session_in(world, source)
    before = snapshot()

    r = api(user_of(world, who)).post(f"/api/sessions/{session.pk}/{name}/", {"reason": "Non."}, format="json")

    assert r.status_code == status, r.json()
    assert r.json()["code"] == {403: "permission_denied", 404: "not_found"}[status]
    assert snapshot() == before


SESSION_WRONG_STATE = [  # transition, state it is refused in, who
    ("start", "open", "secretary"),
    ("start", "cancelled", "secretary"),
    ("close", "planned", "secretary"),
    ("close", "signed", "secretary"),
    ("sign", "open", "chair"),
    ("sign", "signed", "chair"),
    ("cancel", "open", "secretary"),
    ("cancel", "closed", "secretary"),
]


@pytest.mark.parametrize(("name", "state", "who"), SESSION_WRONG_STATE)
def test_session_transition_wrong_state_is_409_and_changes_nothing(world, api, name, state, who):
    session = session_in(world, state)
    before = snapshot()

    r = api(user_of(world, who)).post(f"/api/sessions/{session.pk}/{name}/", {"reason": "Non."}, format="json")

    assert r.status_code == 409, r.json()
    assert r.json() == {"code": "transition_not_allowed",
                        "detail": f"Cannot {name} this session: it is {state}.",
                        "extra": {"state": state, "transition": name}}
    assert snapshot() == before


SESSION_EDITS = [  # action, payload builder, source state where it is allowed
    ("refresh-agenda", lambda s: {}),
    ("add-item", lambda s: {"title": "Questions diverses"}),
    ("attendance", lambda s: {"member": s.attendances.first().member_id, "status": "excused"}),
]


@pytest.mark.parametrize(("action", "payload"), SESSION_EDITS, ids=[a for a, _ in SESSION_EDITS])
@pytest.mark.parametrize(("state", "who", "status"), [
    ("open", "secretary", 200), ("open", "chair", 200), ("open", "clin0", 403), ("open", "management", 404),
    ("closed", "secretary", 409), ("signed", "quality", 409), ("cancelled", "secretary", 409),
])
def test_session_agenda_and_attendance_edits(world, api, action, payload, state, who, status):
    session = session_in(world, state)
    before = snapshot()
    since = last_event_id()

    r = api(user_of(world, who)).post(f"/api/sessions/{session.pk}/{action}/", payload(session), format="json")

    expected = 201 if (action == "add-item" and status == 200) else status
    assert r.status_code == expected, r.json()
    if status == 200:
        event = {"refresh-agenda": "session.refresh_agenda", "add-item": "session.add_item",
                 "attendance": "session.attendance"}[action]
        assert new_actions(since) == [event]
    else:
        assert snapshot() == before


def test_session_attendance_in_a_planned_session_is_409(world, api):
    session = session_in(world, "planned")
    before = snapshot()

    r = api(world.secretary).post(f"/api/sessions/{session.pk}/attendance/",
                                  {"member": session.attendances.first().member_id, "status": "present"},
                                  format="json")

    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")
    assert snapshot() == before


# --- Agenda item transitions ---------------------------------------------------------------------

def _first_item(session) -> AgendaItem:
    return session.items.order_by("position").first()


def test_item_decide_allowed_records_decision_and_consensus_adjudication(world, api):
    session = session_in(world, "open")
    item = _first_item(session)
    since = last_event_id()

    r = api(world.chair).post(f"/api/agenda-items/{item.pk}/decide/", {**DECISION, "votes_against": 1,
                                                                        "dissent": "Trait douteux."},
                              format="json")

    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["state"], body["decision"]["votes_for"], body["decision"]["votes_against"]) == ("decided", 4, 1)
    assert body["decision"]["reference_label"] == "fracture"
    cc = CampaignCase.objects.get(pk=item.campaign_case_id)
    assert (cc.state, cc.reference_label) == (CampaignCaseState.ADJUDICATED, "fracture")
    assert "session.decision" in new_actions(since)
    assert _keys(body).isdisjoint(SEALED_FIELDS)


def test_item_defer_allowed(world, api):
    session = session_in(world, "open")
    item = _first_item(session)

    r = api(world.secretary).post(f"/api/agenda-items/{item.pk}/defer/", {}, format="json")

    assert (r.status_code, r.json()["state"]) == (200, AgendaItemState.DEFERRED)
    assert AgendaItem.objects.get(pk=item.pk).state == AgendaItemState.DEFERRED


@pytest.mark.parametrize(("name", "who", "status"), [
    ("decide", "secretary", 403), ("decide", "quality", 403), ("decide", "clin0", 403),
    ("decide", "management", 404), ("defer", "clin0", 403), ("defer", "rep1", 403), ("defer", "dpo", 404),
])
def test_item_transition_wrong_role_changes_nothing(world, api, name, who, status):
    session = session_in(world, "open")
    item = _first_item(session)
    before = snapshot()

    r = api(user_of(world, who)).post(f"/api/agenda-items/{item.pk}/{name}/", DECISION, format="json")

    assert r.status_code == status, r.json()
    assert snapshot() == before


@pytest.mark.parametrize(("name", "who", "setup"), [
    ("decide", "chair", "deferred"),     # the item itself is no longer pending
    ("decide", "chair", "decided"),
    ("decide", "chair", "planned"),      # the session does not sit
    ("decide", "chair", "no_quorum"),
    ("defer", "secretary", "decided"),
    ("defer", "secretary", "closed"),    # deferred at closing, and the session no longer sits
])
def test_item_transition_wrong_state_is_409_and_changes_nothing(world, api, name, who, setup):
    session = session_in(world, "planned" if setup in ("planned", "no_quorum") else "open")
    item = _first_item(session)
    if setup == "no_quorum":
        services.session_start(actor=world.secretary, session=session)
    elif setup == "deferred":
        api(world.secretary).post(f"/api/agenda-items/{item.pk}/defer/", {}, format="json")
    elif setup == "decided":
        assert api(world.chair).post(f"/api/agenda-items/{item.pk}/decide/", DECISION,
                                     format="json").status_code == 200
    elif setup == "closed":
        api(world.secretary).post(f"/api/sessions/{session.pk}/close/", {}, format="json")
    before = snapshot()

    r = api(user_of(world, who)).post(f"/api/agenda-items/{item.pk}/{name}/", DECISION, format="json")

    assert r.status_code == 409, r.json()
    assert r.json()["code"] == ("quorum_not_met" if setup == "no_quorum" else "transition_not_allowed")
    assert snapshot() == before


def test_item_decide_validation_errors_are_400(world, api):
    session = session_in(world, "open")
    item = _first_item(session)

    r = api(world.chair).post(f"/api/agenda-items/{item.pk}/decide/", {**DECISION, "votes_against": 2},
                              format="json")

    assert (r.status_code, set(r.json()["extra"])) == (400, {"dissent"})
    assert not Decision.objects.exists()


# --- Reads -----------------------------------------------------------------------------------------

def test_session_create_201_builds_agenda(world, api):
    campaign = disagreeing_campaign(world, sample_size=2)
    payload = {"committee": world.committee.pk, "title": "Séance d'avril", "scheduled_at": "2027-04-02T14:00:00Z",
               "place": "Salle du conseil"}

    r = api(world.secretary).post("/api/sessions/", payload, format="json")

    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["state"], body["title"], body["committee"]) == ("planned", "Séance d'avril", world.committee.pk)
    assert {i["campaign_case"] for i in body["items"]} == set(campaign.campaign_cases.values_list("pk", flat=True))
    assert body["available_transitions"] == ["start", "cancel"]
    assert len(body["attendances"]) == world.committee.members.count()


@pytest.mark.parametrize(("who", "status"), [("clin0", 403), ("management", 403), ("dpo", 403)])
def test_session_create_wrong_role_403(world, api, who, status):
    payload = {"committee": world.committee.pk, "title": "Séance", "scheduled_at": "2027-04-02T14:00:00Z",
               "place": "Salle"}

    r = api(user_of(world, who)).post("/api/sessions/", payload, format="json")

    assert r.status_code == status
    assert not Session.objects.exists()


def test_session_create_needs_a_place_or_a_link(world, api):
    r = api(world.secretary).post("/api/sessions/", {"committee": world.committee.pk, "title": "Séance",
                                                     "scheduled_at": "2027-04-02T14:00:00Z"}, format="json")
    assert (r.status_code, list(r.json()["extra"])) == (400, ["place"])


def test_session_detail_quorum_attendance_items_and_no_sealed_field(world, api):
    session = session_in(world, "open")
    item = _first_item(session)
    api(world.chair).post(f"/api/agenda-items/{item.pk}/decide/", DECISION, format="json")

    body = api(world.secretary).get(f"/api/sessions/{session.pk}/").json()

    assert body["quorum"] == {"clinicians_present": 4, "clinicians_needed": 2, "patient_reps_present": 2,
                              "patient_reps_needed": 1, "present": 6, "needed": 3, "is_met": True,
                              "description": "4 of 2 clinicians and 2 of 1 patient representatives present"}
    assert {a["status"] for a in body["attendances"]} == {"present"}
    decided = next(i for i in body["items"] if i["id"] == item.pk)
    assert (decided["state"], decided["decision"]["text"], decided["is_withheld"]) == (
        "decided", "Fracture retenue.", False)
    assert decided["available_transitions"] == []
    assert body["available_transitions"] == ["close"]
    assert _keys(body).isdisjoint(SEALED_FIELDS)
    assert api(world.chair).get(f"/api/sessions/{session.pk}/").json()["available_transitions"] == ["close"]


def test_session_invisible_to_other_roles_and_other_committees(world, api):
    session = session_in(world, "planned", with_cases=False)
    outsider = UserFactory(role="chair")
    MemberFactory(committee=CommitteeFactory(), user=outsider, role="chair")

    for user in (world.management, world.dpo, outsider):
        assert api(user).get(f"/api/sessions/{session.pk}/").status_code == 404
        assert api(user).get("/api/sessions/").json()["results"] == []
    for member in (world.clinicians[0], world.patient_reps[0]):  # members in office read their committee's
        assert api(member).get(f"/api/sessions/{session.pk}/").status_code == 200
        assert [s["id"] for s in api(member).get("/api/sessions/").json()["results"]] == [session.pk]
    assert api(None).get("/api/sessions/").status_code == 403


def test_session_case_item_withheld_from_a_chair_who_reads_it_blind(world, api):
    cc = flag_adverse_event(world, spare_chair=True)
    session = plan(world)
    session_start_and_quorum(world, session)
    item = AgendaItem.objects.get(session=session, campaign_case=cc)
    before = snapshot()

    detail = api(world.chair).get(f"/api/sessions/{session.pk}/").json()
    single = api(world.chair).get(f"/api/agenda-items/{item.pk}/").json()
    decide = api(world.chair).post(f"/api/agenda-items/{item.pk}/decide/", {**DECISION, "reference_label": ""},
                                   format="json")
    minutes = api(world.chair).get(f"/api/sessions/{session.pk}/minutes/")

    withheld = {"id": item.pk, "session": session.pk, "position": item.position, "kind": "case",
                "is_withheld": True}
    assert next(i for i in detail["items"] if i["id"] == item.pk) == withheld
    assert single == withheld
    assert decide.status_code == 403
    assert (minutes.status_code, minutes.json()["withheld_passages"]) == (200, 1)
    assert f'data-case="{cc.pk}"' not in minutes.json()["minutes_html"]
    assert f"Cas {cc.case_id} —" not in minutes.json()["minutes_html"]
    assert snapshot() == before
    secretary_view = api(world.secretary).get(f"/api/agenda-items/{item.pk}/").json()
    assert (secretary_view["is_withheld"], secretary_view["reasons"]) == (False, ["possible_adverse_event"])


def session_start_and_quorum(world, session):
    services.session_start(actor=world.secretary, session=session)
    present_quorum(session, world.secretary)


def test_session_minutes_draft_then_frozen(world, api):
    session = session_in(world, "open")
    api(world.chair).post(f"/api/agenda-items/{_first_item(session).pk}/decide/", DECISION, format="json")

    draft = api(world.secretary).get(f"/api/sessions/{session.pk}/minutes/").json()
    api(world.secretary).post(f"/api/sessions/{session.pk}/close/", {}, format="json")
    api(world.chair).post(f"/api/sessions/{session.pk}/sign/", {}, format="json")
    signed = api(world.secretary).get(f"/api/sessions/{session.pk}/minutes/").json()

    assert (draft["is_draft"], draft["minutes_sha256"], draft["signed_at"]) == (True, None, None)
    assert "Fracture retenue." in draft["minutes_html"]
    stored = Session.objects.get(pk=session.pk)
    assert signed["is_draft"] is False
    assert signed["minutes_html"] == stored.minutes_html
    assert signed["minutes_sha256"] == hashlib.sha256(stored.minutes_html.encode()).hexdigest()
    member_view = api(world.clinicians[0]).get(f"/api/sessions/{session.pk}/minutes/").json()
    assert (member_view["minutes_html"], member_view["withheld_passages"]) == (stored.minutes_html, 0)
