"""A reviewer's queue and case pages (blind, then unblinded after the lock)."""


from django.http import Http404
from django.utils import timezone

from cases.enums import Sex
from cases.labels import label_display
from reviews import selectors
from reviews.enums import (
    ACTIVE_STATES,
    BLIND_CASE_FIELDS,
    BLIND_STATES,
    LOCKED_STATES,
    PATIENT_REP_CASE_FIELDS,
    UNBLINDED_STATES,
    AssignmentKind,
    AssignmentState,
    CampaignState,
    Discrepancy,
    YesNoUnknown,
)
from reviews.models import Assignment

from ..labels import state_display

# --- Assignments -----------------------------------------------------------------------------

def assignment_for(user, pk: int) -> Assignment:
    """The assignment as the caller may see it (their own; every one for the quality team),
    else 404: an assignment someone else reads does not exist for the caller."""
    try:
        return selectors.assignment_list_for_user(user).get(pk=pk)
    except Assignment.DoesNotExist:
        raise Http404 from None


def reviewer_queue(user) -> list[dict]:
    """The caller's own assignments grouped by campaign: the campaigns under review first (then by
    deadline), each in the selector's order (due date, then the shuffled ``display_order``:
    nothing derived from the case orders the queue). A campaign under review lists all its rows
    (its progress); once it has left the review round, only what still asks something of the
    reviewer (a third reading, a clinician's classification), so that the queue empties when the
    campaign ends. One query whatever the number of assignments; no sealed field is copied."""
    groups: dict[int, dict] = {}
    today = timezone.localdate()
    for a in selectors.assignment_list_for_user(user).filter(reviewer=user):
        campaign = a.campaign_case.campaign
        todo = selectors.assignment_is_todo(a)
        if campaign.state != CampaignState.IN_REVIEW and not todo:
            continue
        group = groups.get(campaign.pk)
        if group is None:
            group = groups[campaign.pk] = {
                "campaign_id": campaign.pk, "name": campaign.name, "ai_system": campaign.ai_system.name,
                "deadline": campaign.review_deadline, "rows": [], "n_locked": 0, "n_total": 0,
                "in_review": campaign.state == CampaignState.IN_REVIEW, "next_id": None,
            }
        if a.state in ACTIVE_STATES:
            group["n_total"] += 1
            group["n_locked"] += a.state in LOCKED_STATES
        if todo and group["next_id"] is None:
            group["next_id"] = a.pk
        group["rows"].append({
            "id": a.pk, "position": a.display_order, "kind": AssignmentKind(a.kind).label,
            "state": a.state, "state_label": state_display(AssignmentState, a.state), "due_date": a.due_date,
            "needs_action": todo, "is_overdue": _is_overdue(a, today),
        })
    return sorted(groups.values(), key=lambda g: (not g["in_review"], g["deadline"]))


def next_assignment(user, *, after: Assignment) -> Assignment | None:
    """The caller's next case to work on after ``after`` (``selectors.next_assignment_for_user``)."""
    return selectors.next_assignment_for_user(user, after=after)


def next_assignment_id(user, *, after: Assignment) -> int | None:
    nxt = next_assignment(user, after=after)
    return nxt.pk if nxt else None


def _is_overdue(a: Assignment, today) -> bool:
    """Past its due date with the blind verdict still not locked."""
    return a.state in BLIND_STATES and a.due_date < today


def _assignment_summary(a: Assignment) -> dict:
    campaign = a.campaign_case.campaign
    return {
        "id": a.pk, "kind": a.kind, "kind_label": AssignmentKind(a.kind).label, "state": a.state,
        "state_label": state_display(AssignmentState, a.state), "due_date": a.due_date,
        "position": a.display_order, "campaign_id": campaign.pk, "campaign_name": campaign.name,
        "ai_system": campaign.ai_system.name, "decline_reason": a.decline_reason,
        "is_clinician": a.kind == AssignmentKind.CLINICIAN,
    }


def _safe_url(url: str) -> str:
    return url if url.startswith(("https://", "http://")) else ""


def blind_case(case) -> dict:
    values = {f: getattr(case, f) for f in BLIND_CASE_FIELDS}
    values["sex"] = state_display(Sex, values["sex"]) if values["sex"] else ""
    values["image_url"] = _safe_url(values["image_url"] or "")
    return values


def patient_rep_case(case) -> dict:
    """What the patient representative reads of a case: ``PATIENT_REP_CASE_FIELDS``, no more."""
    values = {f: getattr(case, f) for f in PATIENT_REP_CASE_FIELDS}
    values["sex"] = state_display(Sex, values["sex"]) if values["sex"] else ""
    return values


def _case_for(a: Assignment) -> dict:
    """The case as its reader reads it: blind clinical material for a clinician, the
    patient-facing material for a patient representative."""
    if a.kind == AssignmentKind.CLINICIAN:
        return blind_case(a.campaign_case.case)
    return patient_rep_case(a.campaign_case.case)


def _sealed_case(case) -> dict:
    """Only ever called for an unblinded assignment."""
    return {
        "ai_label": label_display(case.ai_label), "ai_score": case.ai_score, "ai_version": case.ai_version,
        "final_label": label_display(case.final_label),
    }


def _yes_no_unknown(value: str) -> str:
    return state_display(YesNoUnknown, value) if value else ""


def _verdict(verdict, kind: str) -> dict:
    if kind == AssignmentKind.CLINICIAN:
        return {"locked_at": verdict.locked_at, "label": label_display(verdict.label),
                "confidence": verdict.confidence, "rationale": verdict.rationale}
    return {
        "locked_at": verdict.locked_at,
        "patient_informed": _yes_no_unknown(verdict.patient_informed),
        "information_understandable": _yes_no_unknown(verdict.information_understandable),
        "rights_respected": _yes_no_unknown(verdict.rights_respected),
        "equity_concern": verdict.equity_concern, "comments": verdict.comments,
    }


def _other_verdicts(a: Assignment) -> list[dict]:
    """The fields of ``OtherVerdictSerializer``, no more (no rationale, no comment)."""
    return [
        {"kind": v.assignment.kind, "kind_label": AssignmentKind(v.assignment.kind).label,
         "label": label_display(v.label), "confidence": v.confidence, "equity_concern": v.equity_concern}
        for v in selectors.other_verdicts_for(a)
    ]


def _classification(c) -> dict:
    return {"created_at": c.created_at, "discrepancy": state_display(Discrepancy, c.discrepancy),
            "would_have_changed": c.would_have_changed, "possible_adverse_event": c.possible_adverse_event,
            "comment": c.comment}


def assignment_page(a: Assignment) -> dict:
    """The context of a reviewer's case page, by state. ``step`` tells the template which part
    to show: ``start`` (nothing of the case yet), ``verdict`` (the case as the reader reads it
    and the form), ``locked`` (that case and the own verdict), ``unblinded`` (everything, for a
    clinician reviewer), ``closed_out`` (declined, expired or withdrawn). A patient
    representative reads the patient-facing side of the case beside the AI system's patient
    information sheet, and their review ends with the lock: they are never shown the sealed
    output here nor asked to classify it."""
    ctx: dict = {"assignment": _assignment_summary(a)}
    case = a.campaign_case.case
    clinician = a.kind == AssignmentKind.CLINICIAN
    if not clinician:
        ctx["information_sheet"] = a.campaign_case.campaign.ai_system.patient_information
    if a.state == AssignmentState.ASSIGNED:
        ctx["step"] = "start"
    elif a.state == AssignmentState.OPENED:
        ctx |= {"step": "verdict", "case": _case_for(a)}
    elif a.state == AssignmentState.SUBMITTED or (a.state in UNBLINDED_STATES and not clinician):
        ctx |= {"step": "locked", "case": _case_for(a), "verdict": _verdict(a.verdict, a.kind)}
    elif a.state in UNBLINDED_STATES:
        classification = getattr(a, "classification", None)
        ctx |= {
            "step": "unblinded", "case": blind_case(case), "verdict": _verdict(a.verdict, a.kind),
            "sealed": _sealed_case(case), "other_verdicts": _other_verdicts(a),
            "classification": _classification(classification) if classification else None,
            "concur_allowed": a.verdict.label == case.ai_label,
        }
    else:
        ctx["step"] = "closed_out"
    return ctx


def assignment_staff_page(a: Assignment) -> dict:
    """What the quality team sees of one assignment: progress, no case and no verdict content
    (the fields of ``AssignmentStaffSerializer``)."""
    return {"assignment": _assignment_summary(a) | {
        "reviewer": a.reviewer.username, "campaign_case": a.campaign_case_id,
        "opened_at": a.opened_at, "submitted_at": a.submitted_at, "unblinded_at": a.unblinded_at,
    }}
