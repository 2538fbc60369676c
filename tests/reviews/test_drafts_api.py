"""The reviewer's draft through the API (``GET``/``PUT /api/assignments/{id}/draft/``): private to
the assigned reviewer, saved only while the reading is opened, gone once the verdict is locked.

Leak test in pretalx's manner: every reviewer of the world first saves a draft holding a sentinel
of their own, then every draft address is requested by every user of the world, and each answer
is asserted exactly."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from reviews import services
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment, AssignmentDraft
from tests.helpers import snapshot
from tests.workflows import build_world, campaign_in

A = AssignmentState
User = get_user_model()
pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def sentinel_of(a: Assignment) -> str:
    return f"DRAFTSEAL{a.pk:04d}Z"


@pytest.fixture
def drafted():
    """A campaign in review whose every reading is opened with a draft holding its sentinel."""
    world = build_world(n_cases=3, n_clinicians=3, n_patient_reps=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=3)
    assignments = list(Assignment.objects.filter(campaign_case__campaign=campaign).order_by("pk"))
    for a in assignments:
        services.assignment_open(actor=a.reviewer, assignment=a)
        field = "rationale" if a.kind == "clinician" else "comments"
        services.assignment_save_draft(actor=a.reviewer, assignment=a, data={field: sentinel_of(a)})
    return world, assignments


def test_draft_is_read_by_its_reviewer_only(drafted):
    world, assignments = drafted
    users = [*world.reviewers, world.quality, world.chair, world.secretary, world.management, world.admin,
             world.dpo]
    answers = {}
    for user in users:
        client = client_for(user)
        for a in assignments:
            r = client.get(f"/api/assignments/{a.pk}/draft/")
            answers[(user.username, a.pk)] = (r.status_code, sorted(
                a2.pk for a2 in assignments if sentinel_of(a2) in r.content.decode()))

    expected = {}
    for user in users:
        for a in assignments:
            if a.reviewer_id == user.pk:
                expected[(user.username, a.pk)] = (200, [a.pk])
            elif user in (world.quality, world.admin):  # they list every assignment: visible, refused
                expected[(user.username, a.pk)] = (403, [])
            else:
                expected[(user.username, a.pk)] = (404, [])
    assert answers == expected


def test_draft_round_trip_keeps_the_form_fields_of_the_kind(drafted):
    world, assignments = drafted
    a = next(x for x in assignments if x.kind == "clinician")
    client = client_for(a.reviewer)

    saved = client.put(f"/api/assignments/{a.pk}/draft/", {
        "label": "fracture", "confidence": 3, "rationale": "Hésitation", "comments": "not a clinician field",
    }, format="json")

    assert saved.status_code == 200
    assert saved.json() == {"assignment": a.pk, "data": {"label": "fracture", "confidence": "3",
                                                         "rationale": "Hésitation"}}
    assert client.get(f"/api/assignments/{a.pk}/draft/").json() == saved.json()


def test_draft_of_a_patient_representative(drafted):
    world, assignments = drafted
    a = next(x for x in assignments if x.kind == "patient_rep")

    saved = client_for(a.reviewer).put(f"/api/assignments/{a.pk}/draft/", {
        "patient_informed": "no", "equity_concern": True, "label": "fracture"}, format="json")

    assert saved.status_code == 200
    assert saved.json()["data"] == {"patient_informed": "no", "equity_concern": "True"}


def test_draft_is_gone_once_the_verdict_is_locked(drafted):
    world, assignments = drafted
    a = next(x for x in assignments if x.kind == "clinician")
    client = client_for(a.reviewer)

    assert client.post(f"/api/assignments/{a.pk}/submit/", {"label": "fracture"}, format="json").status_code == 200

    assert client.get(f"/api/assignments/{a.pk}/draft/").json() == {"assignment": a.pk, "data": {}}
    r = client.put(f"/api/assignments/{a.pk}/draft/", {"rationale": "trop tard"}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")
    assert not AssignmentDraft.objects.filter(assignment=a).exists()


def test_draft_before_opening_is_409_and_saves_nothing(db):
    world = build_world(n_cases=1, n_clinicians=3, n_patient_reps=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=1)
    a = Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician").first()
    before = snapshot()

    r = client_for(a.reviewer).put(f"/api/assignments/{a.pk}/draft/", {"rationale": "x"}, format="json")

    assert r.status_code == 409
    assert r.json()["extra"] == {"state": "assigned", "transition": "save_draft"}
    assert snapshot() == before


def test_draft_written_by_someone_else_is_refused_and_changes_nothing(drafted):
    world, assignments = drafted
    a = assignments[0]
    before = snapshot()

    by_quality = client_for(world.quality).put(f"/api/assignments/{a.pk}/draft/", {"rationale": "x"},
                                               format="json")
    other = next(u for u in world.clinicians if not Assignment.objects.filter(
        campaign_case=a.campaign_case, reviewer=u).exists() and u.pk != a.reviewer_id)
    by_other = client_for(other).put(f"/api/assignments/{a.pk}/draft/", {"rationale": "x"}, format="json")

    assert (by_quality.status_code, by_other.status_code) == (403, 404)
    assert snapshot() == before
    assert AssignmentDraft.objects.get(assignment=a).data == {"rationale": sentinel_of(a)}


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"rationale": "Patient joignable au 06 12 34 56 78."}, 400, "direct_identifier"),
    ({"confidence": 9}, 400, "invalid"),
    ({"rationale": "x" * 5001}, 400, "invalid"),
    ({"patient_informed": "peut-être"}, 400, "invalid"),
])
def test_bad_draft_is_400_and_keeps_the_saved_one(drafted, body, status, code):
    world, assignments = drafted
    a = next(x for x in assignments if x.kind == "clinician")

    r = client_for(a.reviewer).put(f"/api/assignments/{a.pk}/draft/", body, format="json")

    assert (r.status_code, r.json()["code"]) == (status, code)
    assert AssignmentDraft.objects.get(assignment=a).data == {"rationale": sentinel_of(a)}
