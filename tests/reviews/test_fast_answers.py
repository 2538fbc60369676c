"""The reviewer loop's fast paths answer exactly what the slow ones did: the slim queue rows are
the blind serializer's representation of the same assignments, and a transition answers with
the row its service locked and saved, equal to a fresh read of it."""

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient, APIRequestFactory

from reviews import selectors, services
from reviews.api.serializers import AssignmentBlindSerializer
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment
from tests.workflows import build_world, campaign_in

A = AssignmentState
User = get_user_model()
CLINICIAN_VERDICT = {"label": "fracture", "confidence": 4, "rationale": "Trait visible."}
REP_VERDICT = {"patient_informed": "yes", "information_understandable": "no", "rights_respected": "unknown",
               "equity_concern": True, "comments": "Information orale seulement."}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def verdict_for(a: Assignment) -> dict:
    return CLINICIAN_VERDICT if a.kind == "clinician" else REP_VERDICT


def bring_to(world, a: Assignment, state: str) -> None:
    """``a`` brought to ``state`` through the real services, by its reviewer (expiry: quality)."""
    me = a.reviewer
    if state == A.DECLINED:
        services.assignment_decline(actor=me, assignment=a, reason="Conflit d'intérêts.")
        return
    if state == A.EXPIRED:
        services.assignment_expire(actor=world.quality, assignment=a)
        return
    steps = [
        (A.OPENED, lambda: services.assignment_open(actor=me, assignment=a)),
        (A.SUBMITTED, lambda: services.assignment_submit(actor=me, assignment=a, data=verdict_for(a))),
        (A.UNBLINDED, lambda: services.assignment_unblind(actor=me, assignment=a)),
        (A.CLASSIFIED, lambda: services.assignment_classify(actor=me, assignment=a, discrepancy="understandable",
                                                            would_have_changed=False)),
    ]
    for target, step in steps:
        if state == A.ASSIGNED:
            return
        step()
        if target == state:
            return


@pytest.fixture
def world_in_every_state(db):
    """Every reviewer holds their assignments in every state the queue can show."""
    world = build_world(n_cases=14, n_clinicians=3, n_patient_reps=2)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=14)
    states = [A.ASSIGNED, A.OPENED, A.SUBMITTED, A.UNBLINDED, A.CLASSIFIED, A.DECLINED, A.EXPIRED]
    for reviewer in world.reviewers:
        if reviewer in world.patient_reps:  # a patient representative never classifies
            states = [A.ASSIGNED, A.OPENED, A.SUBMITTED, A.UNBLINDED, A.DECLINED, A.EXPIRED]
        mine = Assignment.objects.filter(campaign_case__campaign=campaign, reviewer=reviewer).order_by("pk")
        for a, state in zip(mine, states, strict=False):
            bring_to(world, a, state)
    return world


def test_queue_rows_equal_the_blind_serializer_in_every_state(world_in_every_state):
    world = world_in_every_state
    seen_states = set()
    for reviewer in world.reviewers:
        request = APIRequestFactory().get("/api/assignments/")
        request.user = reviewer
        expected = json.loads(json.dumps(AssignmentBlindSerializer(
            selectors.assignment_list_for_user(reviewer), many=True, context={"request": request}).data))

        rows = client_for(reviewer).get("/api/assignments/", {"limit": 200}).json()["results"]

        assert rows == expected
        seen_states |= {row["state"] for row in rows}
    assert seen_states >= {A.ASSIGNED, A.OPENED, A.SUBMITTED, A.UNBLINDED, A.CLASSIFIED, A.DECLINED, A.EXPIRED}


@pytest.mark.parametrize(("kind", "action", "payload", "state"), [
    ("clinician", "open", None, A.ASSIGNED),
    ("clinician", "submit", CLINICIAN_VERDICT, A.OPENED),
    ("patient_rep", "submit", REP_VERDICT, A.ASSIGNED),
    ("clinician", "unblind", None, A.SUBMITTED),
    ("patient_rep", "unblind", None, A.SUBMITTED),
    ("clinician", "classify", {"discrepancy": "understandable", "would_have_changed": True}, A.UNBLINDED),
    ("clinician", "decline", {"reason": "Conflit d'intérêts."}, A.OPENED),
    ("clinician", "expire", None, A.ASSIGNED),
    ("clinician", "reassign", {"reason": "Absence prolongée."}, A.OPENED),
])
def test_transition_answer_equals_a_fresh_read(db, kind, action, payload, state):
    world = build_world(n_cases=2, n_clinicians=4, n_patient_reps=2)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)
    a = Assignment.objects.filter(campaign_case__campaign=campaign, kind=kind).order_by("pk").first()
    # The other readers of the case locked first: the unblinded answer lists their verdicts.
    for other in Assignment.objects.filter(campaign_case=a.campaign_case).exclude(pk=a.pk):
        bring_to(world, other, A.SUBMITTED)
    bring_to(world, a, state)
    actor = world.quality if action in ("expire", "reassign") else a.reviewer
    client = client_for(actor)

    answer = client.post(f"/api/assignments/{a.pk}/{action}/", payload or {}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json() == client.get(f"/api/assignments/{a.pk}/").json()
