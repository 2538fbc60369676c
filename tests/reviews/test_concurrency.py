"""Concurrent writes: a stale row is a 409, never a silent double write.

The threaded tests need real row locks and concurrent connections, so they run on PostgreSQL
only (``scripts/with_postgres.sh``); the two-copies test of ``ConcurrentTransitionMixin`` runs on
both databases.
"""

import os
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from rest_framework.test import APIClient

from audit.models import AuditEvent
from common.api import exception_handler
from common.exceptions import ConcurrentUpdate
from common.fsm import apply_transition, save_transitioned
from reviews import services
from reviews.enums import CampaignCaseState, CampaignState
from reviews.models import Assignment, Campaign, CampaignCase, Verdict
from tests.workflows import build_world, campaign_in

ON_POSTGRES = os.environ.get("CGH_DB_ENGINE") == "postgres"
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL row locks and concurrent "
                                    "connections (CGH_DB_ENGINE=postgres)")
User = get_user_model()
VERDICT = {"label": "fracture", "confidence": 3, "rationale": "Trait visible."}
REP_VERDICT = {"patient_informed": "yes", "information_understandable": "yes", "rights_respected": "yes",
               "equity_concern": False}


def race(calls: list) -> list:
    """Run each ``(user_id, url, body)`` POST in its own thread, all released at once by a
    barrier; each thread uses (and closes) its own database connection. Returns the responses
    in the order of ``calls``."""
    barrier = threading.Barrier(len(calls), timeout=10)
    results: list = [None] * len(calls)

    def run(i, user_id, url, body):
        try:
            client = APIClient()
            client.force_authenticate(User.objects.get(pk=user_id))
            barrier.wait()
            response = client.post(url, body, format="json")
            results[i] = (response.status_code, response.json())
        except BaseException as exc:  # reported to the main thread below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (lock wait?)"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submits_of_the_same_verdict_lock_it_once():
    world = build_world()
    campaign = campaign_in(world, CampaignState.IN_REVIEW)
    a = Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician").order_by("pk").first()
    url = f"/api/assignments/{a.pk}/submit/"

    results = race([(a.reviewer_id, url, VERDICT), (a.reviewer_id, url, VERDICT)])

    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409]
    refused = next(body for status, body in results if status == 409)
    assert refused["code"] in ("transition_not_allowed", "concurrent_update")
    assert set(refused) == {"code", "detail", "extra"}
    assert Verdict.objects.filter(assignment=a).count() == 1
    assert AuditEvent.objects.filter(action="assignment.submit", object_id=str(a.pk)).count() == 1
    a.refresh_from_db()
    assert a.state == "submitted"


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_last_two_readers_submitting_together_settle_the_case_once():
    world = build_world()
    campaign = campaign_in(world, CampaignState.IN_REVIEW)
    cc = CampaignCase.objects.filter(campaign=campaign).order_by("pk").first()
    rep = cc.assignments.get(kind="patient_rep")
    services.assignment_submit(actor=rep.reviewer, assignment=rep, data=REP_VERDICT)
    readers = list(cc.assignments.filter(kind="clinician").order_by("pk"))

    results = race([(a.reviewer_id, f"/api/assignments/{a.pk}/submit/", VERDICT) for a in readers])

    assert [status for status, _ in results] == [200, 200]
    cc.refresh_from_db()
    assert (cc.state, cc.reference_label) == (CampaignCaseState.CONCORDANT, "fracture")
    assert AuditEvent.objects.filter(action="campaign_case.concordant", object_id=str(cc.pk)).count() == 1


@pytest.mark.django_db
def test_stale_copy_of_a_campaign_cannot_be_saved_over_a_transition():
    world = build_world(n_cases=1)
    campaign = campaign_in(world, CampaignState.DRAFT)
    mine, theirs = Campaign.objects.get(pk=campaign.pk), Campaign.objects.get(pk=campaign.pk)
    with transaction.atomic():
        apply_transition(mine, "schedule")
        save_transitioned(mine, "scheduled_at")

    with pytest.raises(ConcurrentUpdate) as caught, transaction.atomic():
        apply_transition(theirs, "cancel")
        save_transitioned(theirs)

    response = exception_handler(caught.value, {})
    assert response.status_code == 409
    assert response.data == {
        "code": "concurrent_update",
        "detail": "This campaign was changed by someone else meanwhile; "
                  "reload and try again.",
        "extra": {},
    }
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SCHEDULED


@pytest.mark.django_db
def test_stale_copy_of_an_assignment_cannot_lock_a_second_verdict_state():
    world = build_world(n_cases=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=1)
    a = Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician").first()
    stale = Assignment.objects.get(pk=a.pk)
    services.assignment_open(actor=a.reviewer, assignment=a)

    with pytest.raises(ConcurrentUpdate), transaction.atomic():
        apply_transition(stale, "decline", "Conflit.")
        save_transitioned(stale, "decline_reason")

    a.refresh_from_db()
    assert (a.state, a.decline_reason) == ("opened", "")
