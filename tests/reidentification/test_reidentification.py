"""Re-identification requests through the API: request by the chair, decision by the
data-protection officer, one reveal each, then completed; every transition's allowed path, wrong
role and wrong state; 503 without the key; the plain reference never in the audit trail."""

import json

import pytest

from audit.models import AuditEvent
from reidentification import services
from reidentification.enums import RequestState
from reidentification.models import ReidentificationRequest
from tests.factories import MemberFactory, UserFactory
from tests.helpers import snapshot
from tests.sittings.flows import SOURCE_REFERENCE, give_source_reference, last_event_id, new_actions
from tests.sittings.flows import user_of as _user_of
from tests.workflows import disagreeing_campaign

pytestmark = pytest.mark.django_db

JUSTIFICATION = "L'IA a manqué une fracture du scaphoïde que le clinicien n'a pas vue : rappel du patient."


@pytest.fixture
def case(world):
    cc = disagreeing_campaign(world, sample_size=2).campaign_cases.order_by("pk").first()
    give_source_reference(cc)
    return cc


@pytest.fixture
def people(world):
    """Besides the world: a second chair of the committee and a second officer."""
    chair2 = UserFactory(role="chair", username="chair2")
    MemberFactory(committee=world.committee, user=chair2, role="chair")
    return {"chair2": chair2, "dpo2": UserFactory(role="dpo", username="dpo2")}


def who(world, people, key):
    return people[key] if key in people else _user_of(world, key)


def request_in(world, cc, state: str) -> ReidentificationRequest:
    req = services.reidentification_request(actor=world.chair, campaign_case=cc, justification=JUSTIFICATION)
    if state == "requested":
        return req
    if state == "withdrawn":
        return services.reidentification_withdraw(actor=world.chair, request=req)
    if state == "refused":
        return services.reidentification_refuse(actor=world.dpo, request=req, comment="Pas justifié.")
    req = services.reidentification_approve(actor=world.dpo, request=req, comment="Justifié.")
    if state == "approved":
        return req
    if state == "revealed_once":
        services.reidentification_reveal(actor=world.chair, request=req)
        return ReidentificationRequest.objects.get(pk=req.pk)
    assert state == "completed"
    services.reidentification_reveal(actor=world.chair, request=req)
    services.reidentification_reveal(actor=world.dpo, request=req)
    return ReidentificationRequest.objects.get(pk=req.pk)


def test_reidentification_full_workflow_through_the_api(world, api, case):
    since = last_event_id()
    created = api(world.chair).post("/api/reidentification-requests/",
                                    {"campaign_case": case.pk, "justification": JUSTIFICATION}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert api(world.dpo).get(f"/api/reidentification-requests/{pk}/").json()["available_transitions"] == [
        "approve", "refuse"]

    approved = api(world.dpo).post(f"/api/reidentification-requests/{pk}/approve/", {"comment": "Justifié."},
                                   format="json")
    first = api(world.chair).post(f"/api/reidentification-requests/{pk}/reveal/")
    after_first = api(world.chair).get(f"/api/reidentification-requests/{pk}/").json()
    second = api(world.dpo).post(f"/api/reidentification-requests/{pk}/reveal/")

    assert approved.json()["state"] == "approved"
    assert (first.status_code, first.json(), first["Cache-Control"]) == (
        200, {"source_reference": SOURCE_REFERENCE}, "no-store, max-age=0, no-cache, must-revalidate, private")
    assert (after_first["state"], after_first["available_transitions"]) == ("approved", [])
    assert (second.status_code, second.json()) == (200, {"source_reference": SOURCE_REFERENCE})
    req = ReidentificationRequest.objects.get(pk=pk)
    assert req.state == RequestState.COMPLETED
    assert req.requester_revealed_at and req.officer_revealed_at and req.decided_by_id == world.dpo.pk
    assert new_actions(since) == ["reidentification.request", "reidentification.approve",
                                  "reidentification.reveal", "reidentification.reveal"]


@pytest.mark.parametrize("revealer", ["chair", "dpo"])
def test_reidentification_reveal_once_per_person_then_409(world, api, case, revealer):
    req = request_in(world, case, "approved")
    user = getattr(world, revealer)
    assert api(user).post(f"/api/reidentification-requests/{req.pk}/reveal/").status_code == 200
    before = snapshot()

    again = api(user).post(f"/api/reidentification-requests/{req.pk}/reveal/")

    assert (again.status_code, again.json()["code"]) == (409, "already_revealed")
    assert SOURCE_REFERENCE not in again.content.decode()
    assert snapshot() == before


def test_reidentification_reveal_503_when_the_key_is_missing(world, api, case, settings):
    req = request_in(world, case, "approved")
    settings.SOURCE_KEY = ""
    settings.SOURCE_KEY_FILE = None
    before = snapshot()

    r = api(world.chair).post(f"/api/reidentification-requests/{req.pk}/reveal/")

    assert (r.status_code, r.json()["code"]) == (503, "key_unavailable")
    assert snapshot() == before


def test_reidentification_reveal_503_with_another_key(world, api, case, settings):
    req = request_in(world, case, "approved")
    settings.SOURCE_KEY_ID = "rotated"

    r = api(world.dpo).post(f"/api/reidentification-requests/{req.pk}/reveal/")

    assert r.status_code == 503
    assert ReidentificationRequest.objects.get(pk=req.pk).officer_revealed_at is None


def test_reidentification_audit_never_holds_the_plain_reference(world, api, case):
    request_in(world, case, "completed")

    trail = json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)

    assert AuditEvent.objects.filter(action__startswith="reidentification.").count() == 4
    assert SOURCE_REFERENCE not in trail
    assert JUSTIFICATION in trail


ALLOWED = [  # transition, source, who, payload, target
    ("approve", "requested", "dpo", {"comment": "Justifié."}, RequestState.APPROVED),
    ("approve", "requested", "dpo2", {}, RequestState.APPROVED),
    ("refuse", "requested", "dpo", {"comment": "Pas nécessaire."}, RequestState.REFUSED),
    ("withdraw", "requested", "chair", {}, RequestState.WITHDRAWN),
    ("reveal", "approved", "chair", {}, RequestState.APPROVED),
    ("reveal", "approved", "dpo", {}, RequestState.APPROVED),
    ("reveal", "revealed_once", "dpo", {}, RequestState.COMPLETED),
]


@pytest.mark.parametrize(("name", "source", "user", "payload", "target"), ALLOWED)
def test_reidentification_transition_allowed_path(world, api, case, people, name, source, user, payload, target):
    req = request_in(world, case, source)
    since = last_event_id()

    r = api(who(world, people, user)).post(f"/api/reidentification-requests/{req.pk}/{name}/", payload,
                                           format="json")

    assert r.status_code == 200, r.json()
    assert ReidentificationRequest.objects.get(pk=req.pk).state == target
    assert new_actions(since) == [f"reidentification.{name}"]


WRONG_ROLE = [  # 403 for those who may see requests (chairs, officers); 404 for every other role
    ("approve", "requested", "chair", 403), ("approve", "requested", "chair2", 403),
    ("approve", "requested", "quality", 404), ("approve", "requested", "admin", 404),
    ("refuse", "requested", "chair", 403), ("refuse", "requested", "secretary", 404),
    ("withdraw", "requested", "dpo", 403), ("withdraw", "requested", "chair2", 403),
    ("withdraw", "requested", "clin0", 404),
    ("reveal", "approved", "chair2", 403), ("reveal", "approved", "dpo2", 403),
    ("reveal", "approved", "admin", 404), ("reveal", "approved", "quality", 404),
    ("reveal", "approved", "management", 404), ("reveal", "approved", "secretary", 404),
]


@pytest.mark.parametrize(("name", "source", "user", "status"), WRONG_ROLE)
def test_reidentification_transition_wrong_role_changes_nothing(world, api, case, people, name, source, user,
                                                                 status):
    req = request_in(world, case, source)
    before = snapshot()

    r = api(who(world, people, user)).post(f"/api/reidentification-requests/{req.pk}/{name}/",
                                           {"comment": "Non."}, format="json")

    assert r.status_code == status, r.json()
    assert SOURCE_REFERENCE not in r.content.decode()
    assert snapshot() == before


WRONG_STATE = [
    ("approve", "approved", "dpo"), ("approve", "refused", "dpo"), ("approve", "withdrawn", "dpo"),
    ("refuse", "approved", "dpo"), ("refuse", "completed", "dpo"),
    ("withdraw", "approved", "chair"), ("withdraw", "refused", "chair"),
    ("reveal", "requested", "chair"), ("reveal", "refused", "dpo"), ("reveal", "withdrawn", "chair"),
    ("reveal", "completed", "chair"), ("reveal", "completed", "dpo"),
]


@pytest.mark.parametrize(("name", "state", "user"), WRONG_STATE)
def test_reidentification_transition_wrong_state_409_changes_nothing(world, api, case, name, state, user):
    req = request_in(world, case, state)
    before = snapshot()

    r = api(getattr(world, user)).post(f"/api/reidentification-requests/{req.pk}/{name}/",
                                       {"comment": "Encore."}, format="json")

    assert r.status_code == 409, r.json()
    assert SOURCE_REFERENCE not in r.content.decode()
    assert snapshot() == before


def test_reidentification_request_rules(world, api, case, people):
    url = "/api/reidentification-requests/"
    payload = {"campaign_case": case.pk, "justification": JUSTIFICATION}

    assert api(world.secretary).post(url, payload, format="json").status_code == 403
    assert api(world.dpo).post(url, payload, format="json").status_code == 403
    assert api(world.chair).post(url, {**payload, "justification": "Court."}, format="json").status_code == 400
    assert api(world.chair).post(url, payload, format="json").status_code == 201
    second = api(people["chair2"]).post(url, payload, format="json")
    assert (second.status_code, second.json()["code"]) == (409, "transition_not_allowed")
    assert ReidentificationRequest.objects.count() == 1


def test_reidentification_refused_without_a_source_reference(world, api):
    cc = disagreeing_campaign(world, sample_size=2).campaign_cases.order_by("pk").first()
    r = api(world.chair).post("/api/reidentification-requests/",
                              {"campaign_case": cc.pk, "justification": JUSTIFICATION}, format="json")
    assert (r.status_code, list(r.json()["extra"])) == (400, ["campaign_case"])


def test_reidentification_visible_to_chairs_of_the_committee_and_officers_only(world, api, case, people):
    req = request_in(world, case, "approved")
    for user in (world.chair, people["chair2"], world.dpo, people["dpo2"]):
        assert [r["id"] for r in api(user).get("/api/reidentification-requests/").json()["results"]] == [req.pk]
    for user in (world.quality, world.admin, world.secretary, world.management, world.clinicians[0],
                 world.patient_reps[0]):
        assert api(user).get("/api/reidentification-requests/").json()["results"] == []
        assert api(user).get(f"/api/reidentification-requests/{req.pk}/").status_code == 404
    body = api(world.dpo).get(f"/api/reidentification-requests/{req.pk}/").json()
    assert "source_reference" not in json.dumps(body)
    assert case.case.source_reference not in json.dumps(body)
