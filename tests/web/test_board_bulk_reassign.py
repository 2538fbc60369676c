"""The progress board reassigns several pending reviews at once: ticked rows, one target reader
(or any eligible one), one reason, one confirmation; each row goes through the reassignment
service and its rules, and a refused row is reported on its own without stopping the others."""

import pytest

from audit.models import AuditEvent
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment
from tests.helpers import html
from tests.login import login
from tests.workflows import build_world, campaign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def board():
    world = build_world(n_cases=2, n_clinicians=4, n_patient_reps=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=1)
    return world, campaign


def _pending(campaign, kind):
    return list(Assignment.objects.filter(campaign_case__campaign=campaign, kind=kind,
                                          state__in=[AssignmentState.ASSIGNED, AssignmentState.OPENED]))


def _state(a) -> str:
    return Assignment.objects.get(pk=a.pk).state


def test_board_offers_one_form_with_a_box_per_pending_review_and_the_committee_readers(board):
    world, campaign = board
    body = html(login(world.quality).get(f"/campaigns/{campaign.pk}/board/"))
    pending = Assignment.objects.filter(campaign_case__campaign=campaign).count()
    assert body.count('name="assignments"') == pending
    assert body.count(f'action="/campaigns/{campaign.pk}/board/reassign/"') == 1
    assert 'name="reason" id="reason-' not in body  # no inline form per row any more
    for clinician in world.clinicians:
        assert f'<option value="{clinician.pk}">' in body
    assert f'<option value="{world.quality.pk}">' not in body  # not a reader of the committee


def test_ticked_reviews_go_to_the_chosen_reader(board):
    world, campaign = board
    rows = _pending(campaign, "clinician")
    readers = {a.reviewer_id for a in rows}
    target = next(c for c in world.clinicians if c.pk not in readers)
    client = login(world.quality)
    r = client.post(f"/campaigns/{campaign.pk}/board/reassign/", {
        "assignments": [rows[0].pk], "reviewer": target.pk, "reason": "Congé", "confirm": "on"}, follow=True)
    assert r.status_code == 200
    assert _state(rows[0]) == AssignmentState.WITHDRAWN
    assert Assignment.objects.filter(campaign_case=rows[0].campaign_case, reviewer=target,
                                     state=AssignmentState.ASSIGNED).exists()
    assert f"1 relecture réaffectée : n° {rows[0].pk}." in html(r)
    assert AuditEvent.objects.filter(action="assignment.reassign").count() == 1


def test_a_refused_row_is_reported_on_its_own_and_the_others_go_through(board):
    world, campaign = board
    clinician_row = _pending(campaign, "clinician")[0]
    rep_row = _pending(campaign, "patient_rep")[0]
    readers = {a.reviewer_id for a in _pending(campaign, "clinician")}
    target = next(c for c in world.clinicians if c.pk not in readers)  # a clinician: not for a patient's side
    r = login(world.quality).post(f"/campaigns/{campaign.pk}/board/reassign/", {
        "assignments": [clinician_row.pk, rep_row.pk], "reviewer": target.pk, "reason": "Congé",
        "confirm": "on"}, follow=True)
    body = html(r)
    assert _state(clinician_row) == AssignmentState.WITHDRAWN
    assert _state(rep_row) != AssignmentState.WITHDRAWN  # refused, unchanged
    assert f"1 relecture réaffectée : n° {clinician_row.pk}." in body
    assert f"Relecture n° {rep_row.pk} non réaffectée :" in body


@pytest.mark.parametrize("missing, field", [("confirm", "confirm"), ("reason", "reason"),
                                            ("assignments", "assignments")])
def test_an_incomplete_reassignment_is_a_400_naming_the_field_and_changes_nothing(board, missing, field):
    world, campaign = board
    row = _pending(campaign, "clinician")[0]
    data = {"assignments": [row.pk], "reviewer": "", "reason": "Congé", "confirm": "on"}
    data.pop(missing)
    r = login(world.quality).post(f"/campaigns/{campaign.pk}/board/reassign/", data)
    assert r.status_code == 400
    assert f"{field} :" in html(r)
    assert _state(row) != AssignmentState.WITHDRAWN
    assert not AuditEvent.objects.filter(action="assignment.withdraw").exists()


def test_a_review_of_another_campaign_or_a_stranger_as_target_is_refused(board):
    world, campaign = board
    row = _pending(campaign, "clinician")[0]
    client = login(world.quality)
    r = client.post(f"/campaigns/{campaign.pk}/board/reassign/", {
        "assignments": [row.pk + 10_000], "reason": "Congé", "confirm": "on"})
    assert r.status_code == 400
    r = client.post(f"/campaigns/{campaign.pk}/board/reassign/", {
        "assignments": [row.pk], "reviewer": world.management.pk, "reason": "Congé", "confirm": "on"})
    assert r.status_code == 400
    assert _state(row) != AssignmentState.WITHDRAWN


def test_only_the_quality_team_reassigns(board):
    world, campaign = board
    row = _pending(campaign, "clinician")[0]
    r = login(world.management).post(f"/campaigns/{campaign.pk}/board/reassign/", {
        "assignments": [row.pk], "reason": "Congé", "confirm": "on"})
    assert r.status_code == 403
    assert _state(row) != AssignmentState.WITHDRAWN
