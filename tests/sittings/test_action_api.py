"""Corrective actions through the API: creation (alone or from a decision), scoping (the
committee's managers and the owner), every transition with its allowed path, wrong role and wrong
state, and ``is_overdue``."""

import datetime as dt

import pytest
from django.utils import timezone

from sittings.enums import ActionState
from sittings.models import Action
from tests.helpers import snapshot
from tests.sittings.flows import action_in, last_event_id, new_actions, session_in, user_of

pytestmark = pytest.mark.django_db

IN_30_DAYS = (timezone.localdate() + dt.timedelta(days=30)).isoformat()


def _create_payload(world, **extra) -> dict:
    return {"committee": world.committee.pk, "kind": "change_threshold", "title": "Relever le seuil",
            "owner": world.clinicians[0].pk, "due_date": IN_30_DAYS, **extra}


def test_action_create_201(world, api):
    r = api(world.secretary).post("/api/actions/", _create_payload(world), format="json")

    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["state"], body["kind"], body["owner"], body["is_overdue"], body["decision"]) == (
        "open", "change_threshold", world.clinicians[0].pk, False, None)
    assert body["available_transitions"] == ["start", "complete", "cancel"]


def test_action_create_from_a_decision_takes_its_ai_system_and_session(world, api):
    session = session_in(world, "open")
    item = session.items.order_by("position").first()
    decided = api(world.chair).post(f"/api/agenda-items/{item.pk}/decide/",
                                    {"summary": "s", "text": "t", "votes_for": 3, "reference_label": "fracture"},
                                    format="json").json()

    r = api(world.chair).post("/api/actions/", _create_payload(world, decision=decided["decision"]["id"]),
                              format="json")

    assert r.status_code == 201, r.json()
    assert (r.json()["decision"], r.json()["session"], r.json()["ai_system"]) == (
        decided["decision"]["id"], session.pk, world.ai_system.pk)


@pytest.mark.parametrize(("who", "status"), [("clin0", 403), ("management", 403), ("dpo", 403), ("rep0", 403)])
def test_action_create_wrong_role(world, api, who, status):
    r = api(user_of(world, who)).post("/api/actions/", _create_payload(world), format="json")
    assert r.status_code == status
    assert not Action.objects.exists()


def test_action_create_validation(world, api):
    r = api(world.quality).post("/api/actions/", _create_payload(world, kind="nonsense", due_date="2020-01-01"),
                                format="json")
    assert (r.status_code, sorted(r.json()["extra"])) == (400, ["due_date", "kind"])


def test_action_list_scoped_to_managers_and_owner(world, api):
    mine = action_in(world, "open", owner=world.clinicians[0])
    other = action_in(world, "open", owner=world.quality)

    def ids(user):
        return [row["id"] for row in api(user).get("/api/actions/").json()["results"]]

    assert ids(world.secretary) == ids(world.quality) == ids(world.chair) == [mine.pk, other.pk]
    assert ids(world.clinicians[0]) == [mine.pk]
    assert ids(world.clinicians[1]) == ids(world.management) == ids(world.dpo) == []
    assert api(world.clinicians[1]).get(f"/api/actions/{mine.pk}/").status_code == 404


ALLOWED = [  # transition, source, who, payload, target, audit
    ("start", "open", "clin0", {}, ActionState.IN_PROGRESS),
    ("start", "open", "secretary", {}, ActionState.IN_PROGRESS),
    ("complete", "in_progress", "clin0", {"outcome": "Formation faite le 3 mai."}, ActionState.DONE),
    ("complete", "open", "quality", {"outcome": "Fait."}, ActionState.DONE),
    ("cancel", "open", "secretary", {"reason": "Sans objet."}, ActionState.CANCELLED),
    ("cancel", "in_progress", "chair", {"reason": "Remplacée."}, ActionState.CANCELLED),
]


@pytest.mark.parametrize(("name", "source", "who", "payload", "target"), ALLOWED)
def test_action_transition_allowed_path(world, api, name, source, who, payload, target):
    action = action_in(world, source)
    since = last_event_id()

    r = api(user_of(world, who)).post(f"/api/actions/{action.pk}/{name}/", payload, format="json")

    assert r.status_code == 200, r.json()
    assert r.json()["state"] == target == Action.objects.get(pk=action.pk).state
    assert new_actions(since) == [f"action.{name}"]


WRONG_ROLE = [  # 403: may see the action (its owner), 404: may not see it
    ("start", "open", "clin1", 404),
    ("start", "open", "management", 404),
    ("complete", "in_progress", "dpo", 404),
    ("complete", "in_progress", "rep0", 404),
    ("cancel", "open", "clin0", 403),
    ("cancel", "in_progress", "clin0", 403),
    ("cancel", "open", "management", 404),
]


@pytest.mark.parametrize(("name", "source", "who", "status"), WRONG_ROLE)
def test_action_transition_wrong_role_changes_nothing(world, api, name, source, who, status):
    action = action_in(world, source)
    before = snapshot()

    r = api(user_of(world, who)).post(f"/api/actions/{action.pk}/{name}/",
                                      {"outcome": "x", "reason": "x"}, format="json")

    assert r.status_code == status, r.json()
    assert snapshot() == before


WRONG_STATE = [
    ("start", "in_progress"), ("start", "done"), ("start", "cancelled"),
    ("complete", "done"), ("complete", "cancelled"),
    ("cancel", "done"), ("cancel", "cancelled"),
]


@pytest.mark.parametrize(("name", "state"), WRONG_STATE)
def test_action_transition_wrong_state_is_409_and_changes_nothing(world, api, name, state):
    action = action_in(world, state)
    before = snapshot()

    r = api(world.secretary).post(f"/api/actions/{action.pk}/{name}/", {"outcome": "x", "reason": "x"},
                                  format="json")

    assert r.status_code == 409, r.json()
    assert r.json() == {"code": "transition_not_allowed",
                        "detail": f"Cannot {name} this corrective action: it is {state}.",
                        "extra": {"state": state, "transition": name}}
    assert snapshot() == before


def test_action_complete_needs_an_outcome(world, api):
    action = action_in(world, "in_progress")
    r = api(world.clinicians[0]).post(f"/api/actions/{action.pk}/complete/", {"outcome": "  "}, format="json")
    assert r.status_code == 400
    assert Action.objects.get(pk=action.pk).state == ActionState.IN_PROGRESS


def test_action_is_overdue_once_its_due_date_passed_while_open(world, api):
    late = action_in(world, "in_progress")
    done = action_in(world, "done")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Action.objects.filter(pk__in=[late.pk, done.pk]).update(due_date=yesterday)  # the calendar moved on

    rows = {row["id"]: row["is_overdue"] for row in api(world.quality).get("/api/actions/").json()["results"]}

    assert rows == {late.pk: True, done.pk: False}


def test_action_available_transitions_per_caller(world, api):
    action = action_in(world, "in_progress")
    assert api(world.clinicians[0]).get(f"/api/actions/{action.pk}/").json()["available_transitions"] == [
        "complete"]
    assert api(world.secretary).get(f"/api/actions/{action.pk}/").json()["available_transitions"] == [
        "complete", "cancel"]
