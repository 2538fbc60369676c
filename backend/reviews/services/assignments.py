"""Assignments: a reviewer's blind reading (drafts, lock), unblinding, classification, decline,
expiry and reassignment within the rules; the case settles once every reader has locked.

The reviewer's own steps (open, draft, submit, unblind, classify) take an optional ``scope``: the
assignments the caller may reach. The API passes it instead of looking the row up first, so
that one query finds the row in that scope (404 outside it), locks it and joins what the answer
shows."""

from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from common.fsm import apply_transition, save_transitioned
from concordance import majority_label

from .. import hooks
from .. import permissions as perms
from ..enums import (
    ACTIVE_STATES,
    LOCKED_STATES,
    AdjudicationMethod,
    AssignmentKind,
    AssignmentState,
    CampaignCaseState,
    CampaignState,
    Discrepancy,
)
from ..models import (
    Adjudication,
    Assignment,
    AssignmentDraft,
    CampaignCase,
    Classification,
    Verdict,
)
from .common import ensure_campaign_in, locked_row, one_more_reader


def _lock_assignment(pk: int, scope: QuerySet[Assignment] | None = None) -> Assignment:
    """The assignment row locked (only this row), with its campaign, case, AI system, reviewer,
    verdict and classification joined: the services return it, and the API represents it as it
    is (no second read). ``scope``: the assignments the caller may reach
    (``selectors.assignment_scope_for_user``), for a caller that has not looked the row up: a row
    outside it is a 404, found in the same query as the lock."""
    rows = Assignment.objects if scope is None else scope
    try:
        return rows.select_for_update(of=("self",)).select_related(
            "campaign_case__campaign__ai_system", "campaign_case__case", "reviewer", "verdict", "classification",
        ).get(pk=pk)
    except Assignment.DoesNotExist:
        raise Http404("No assignment matches the given query.") from None


def _assignment_for_reviewer(actor, assignment: Assignment, name: str,
                             scope: QuerySet[Assignment] | None = None) -> Assignment:
    """The assignment locked (404 outside ``scope``), its reviewer checked (403), transition
    ``name`` applied (409); opening and locking also need the campaign still under review (409).
    Caller is inside the transaction and saves."""
    assignment = _lock_assignment(assignment.pk, scope)
    ensure(perms.is_assignee(actor, assignment), "Only the assigned reviewer can do this.")
    apply_transition(assignment, name)
    if name in ("open", "submit"):  # unblinding and classifying one's own locked verdict stay open
        ensure_campaign_in(assignment, name, assignment.campaign_case.campaign, _review_states(assignment))
    return assignment


def _review_states(assignment: Assignment) -> tuple[str, ...]:
    """A third reading is done while the campaign is in review or in adjudication."""
    if assignment.is_third_reading:
        return (CampaignState.IN_REVIEW, CampaignState.ADJUDICATION)
    return (CampaignState.IN_REVIEW,)


def assignment_open(*, actor, assignment: Assignment, scope: QuerySet[Assignment] | None = None) -> Assignment:
    """The reviewer starts the blind reading (only the assigned reviewer, 403; from assigned, in a
    campaign under review, 409). Locks the assignment row; records ``opened_at``; audit event
    ``assignment.open``."""
    with transaction.atomic():
        assignment = _assignment_for_reviewer(actor, assignment, "open", scope)
        save_transitioned(assignment, "opened_at", "updated_at")
        audit_record(actor=actor, action="assignment.open", target=assignment)
    return assignment


def _validate_verdict(assignment: Assignment, data: dict[str, Any]) -> dict[str, Any]:
    """The verdict's fields, checked for the kind of review (400 with the field errors): a
    clinician's label among the AI system's labels and a confidence from 1 to 5, or a patient
    representative's yes/no/cannot-tell answers and equity concern."""
    if assignment.kind == AssignmentKind.CLINICIAN:
        labels = assignment.campaign_case.campaign.ai_system.labels
        errors = {}
        if data.get("label") not in labels:
            errors["label"] = [f"Choose one of: {', '.join(labels)}."]
        confidence = data.get("confidence")
        if confidence not in (None, ""):
            try:
                confidence = int(confidence)
            except (TypeError, ValueError):
                confidence = 0
            if not 1 <= confidence <= 5:
                errors["confidence"] = ["Confidence is from 1 to 5."]
        else:
            confidence = None
        if errors:
            raise ValidationFailed("The verdict is not complete.", extra=errors)
        return {"label": data["label"], "confidence": confidence, "rationale": data.get("rationale") or ""}
    fields = ("patient_informed", "information_understandable", "rights_respected")
    errors = {f: ["Answer yes, no or cannot tell."] for f in fields if data.get(f) not in ("yes", "no", "unknown")}
    if data.get("equity_concern") is None:
        errors["equity_concern"] = ["Say whether you have an equity concern."]
    if errors:
        raise ValidationFailed("The review form is not complete.", extra=errors)
    return {f: data[f] for f in fields} | {
        "equity_concern": bool(data["equity_concern"]), "comments": data.get("comments") or ""}


DRAFT_FIELDS = {
    AssignmentKind.CLINICIAN: ("label", "confidence", "rationale"),
    AssignmentKind.PATIENT_REP: ("patient_informed", "information_understandable", "rights_respected",
                                 "equity_concern", "comments"),
}
DRAFT_MAX_CHARS = 5000


def assignment_save_draft(*, actor, assignment: Assignment, data: dict[str, Any],
                          scope: QuerySet[Assignment] | None = None) -> AssignmentDraft:
    """Save the reviewer's unfinished verdict form on an opened assignment, without locking.

    Only the form's own fields are kept, as strings cut to the form's maximum length; nothing is
    validated (a draft may be incomplete). Permission (the assigned reviewer, 403) and state
    (opened, in a campaign under review, 409) are checked as for ``assignment_submit``.

    Not audited, by design: a draft changes no record of the committee (it is overwritten at
    will and deleted when the verdict is locked), the audit trail is append-only and
    hash-chained, so one event per save would copy unlocked opinions into a permanent log that
    auditors read. The decision that counts, the lock, is audited."""
    ensure_no_identifiers(fields={f: data.get(f) for f in ("rationale", "comments")})
    with transaction.atomic():
        assignment = _lock_assignment(assignment.pk, scope)
        ensure(perms.is_assignee(actor, assignment), "Only the assigned reviewer can do this.")
        fields = DRAFT_FIELDS[AssignmentKind(assignment.kind)]
        clean = {f: str(data[f])[:DRAFT_MAX_CHARS] for f in fields if data.get(f) not in (None, "")}
        if assignment.state != AssignmentState.OPENED:
            raise TransitionNotAllowed(f"Cannot save a draft of this assignment: it is {assignment.state}.",
                                       extra={"state": assignment.state, "transition": "save_draft"})
        ensure_campaign_in(assignment, "save_draft", assignment.campaign_case.campaign)
        draft, _ = AssignmentDraft.objects.update_or_create(assignment=assignment, defaults={"data": clean})
    return draft


def assignment_draft_data(assignment: Assignment) -> dict[str, str]:
    """The saved draft of an assignment (empty when none). Callers show it to its reviewer only."""
    draft = AssignmentDraft.objects.filter(assignment=assignment).values_list("data", flat=True).first()
    return draft or {}


def assignment_submit(*, actor, assignment: Assignment, data: dict[str, Any],
                      scope: QuerySet[Assignment] | None = None) -> Assignment:
    """Lock the reviewer's blind verdict. Once every active reviewer of the case has locked, the
    case becomes reviewed, then concordant (clinicians agree: their label is the reference) or
    needs adjudication. Locks the campaign case row so that two last verdicts cannot both miss
    each other."""
    ensure_no_identifiers(fields={f: data.get(f) for f in ("rationale", "comments")})
    with transaction.atomic():
        assignment = _assignment_for_reviewer(actor, assignment, "submit", scope)
        # Lock the case row before the first audit event: the audit chain head is always the
        # last lock taken, so that no two transactions wait on each other.
        cc = locked_row(CampaignCase, assignment.campaign_case_id)
        clean = _validate_verdict(assignment, data)
        Verdict.objects.create(assignment=assignment, **clean)
        AssignmentDraft.objects.filter(assignment=assignment).delete()
        save_transitioned(assignment, "submitted_at", "updated_at")
        audit_record(actor=actor, action="assignment.submit", target=assignment, data={"kind": assignment.kind})
        _settle_case(actor, cc)
    return assignment


def _settle_case(actor, cc: CampaignCase) -> None:
    """Caller holds the campaign case's row lock."""
    if cc.state == CampaignCaseState.NEEDS_ADJUDICATION:
        _settle_third_reading(actor, cc)
        return
    if cc.state != CampaignCaseState.IN_REVIEW:
        return
    states = list(cc.assignments.filter(state__in=ACTIVE_STATES).values_list("kind", "state"))
    if any(state not in LOCKED_STATES for _, state in states):
        return
    apply_transition(cc, "mark_reviewed")
    labels = list(
        Verdict.objects.filter(assignment__campaign_case=cc, assignment__kind=AssignmentKind.CLINICIAN,
                               assignment__state__in=LOCKED_STATES).values_list("label", flat=True)
    )
    if labels and len(set(labels)) == 1:
        apply_transition(cc, "mark_concordant", labels[0])
        outcome = "concordant"
    else:
        apply_transition(cc, "require_adjudication")
        outcome = "needs_adjudication"
    save_transitioned(cc, "reference_label")
    audit_record(actor=actor, action=f"campaign_case.{outcome}", target=cc, data={"readers": len(labels)})
    if outcome == "needs_adjudication" or cc.reference_label != cc.case.ai_label:
        hooks.case_to_committee(cc)


def _settle_third_reading(actor, cc: CampaignCase) -> None:
    """A third blind reading has been locked on a case whose readers disagreed: the label held by a
    strict majority of the clinician readers becomes the reference (method: third reader). With
    no majority (three different labels) the case stays for the committee to decide by consensus.
    Caller holds the campaign case's row lock."""
    verdicts = list(
        Verdict.objects.filter(assignment__campaign_case=cc, assignment__kind=AssignmentKind.CLINICIAN,
                               assignment__state__in=LOCKED_STATES)
        .select_related("assignment__reviewer").order_by("assignment__is_third_reading", "assignment_id")
    )
    third = [v for v in verdicts if v.assignment.is_third_reading]
    if not third:
        return
    label = majority_label([v.label for v in verdicts])
    if label is None:
        audit_record(actor=actor, action="campaign_case.third_reading_no_majority", target=cc,
                     data={"readers": len(verdicts)})
        return
    reader = third[-1]
    votes = sum(v.label == label for v in verdicts)
    reasoning = (f"Majority of the blind readers: {votes} of {len(verdicts)} gave {label!r}, the third reader "
                 f"included." + (f" Third reader's rationale: {reader.rationale}" if reader.rationale else ""))
    apply_transition(cc, "adjudicate", label)
    Adjudication.objects.create(campaign_case=cc, decided_by=reader.assignment.reviewer,
                                method=AdjudicationMethod.THIRD_READER, label=label, reasoning=reasoning)
    save_transitioned(cc, "reference_label")
    audit_record(actor=actor, action="campaign_case.adjudicate", target=cc,
                 data={"label": label, "method": AdjudicationMethod.THIRD_READER})
    if label != cc.case.ai_label:
        hooks.case_to_committee(cc)


def assignment_unblind(*, actor, assignment: Assignment, scope: QuerySet[Assignment] | None = None) -> Assignment:
    """The reviewer asks to see the AI output and the final decision once their own verdict is
    locked (assigned reviewer, 403; from submitted, 409; allowed in any campaign state, as it
    writes nothing of the review). Locks the assignment row; records ``unblinded_at``; audit
    event ``assignment.unblind``."""
    with transaction.atomic():
        assignment = _assignment_for_reviewer(actor, assignment, "unblind", scope)
        save_transitioned(assignment, "unblinded_at", "updated_at")
        audit_record(actor=actor, action="assignment.unblind", target=assignment)
    return assignment


CLINICIANS_ONLY_CODE = "classification_clinicians_only"
CONCUR_CONTRADICTS_CODE = "concur_contradicts_reading"


def _ensure_classifiable(assignment: Assignment, discrepancy: str) -> None:
    """The classification's own rules, checked under the assignment's row lock: a clinical
    discrepancy is classified by a clinician reviewer only (a patient representative judges the
    patient's information and rights, never the reading: 409, ``classification_clinicians_only``),
    and "concur" says the reviewer's own locked reading is the AI output's: refused when they
    differ (400, ``concur_contradicts_reading``)."""
    if assignment.kind != AssignmentKind.CLINICIAN:
        raise TransitionNotAllowed(
            "Only a clinician reviewer classifies a clinical discrepancy; a patient representative's "
            "review ends with their locked form.",
            code=CLINICIANS_ONLY_CODE, extra={"kind": assignment.kind, "transition": "classify"})
    if discrepancy not in Discrepancy.values:
        raise ValidationFailed("Unknown discrepancy grade.", extra={"discrepancy": [
            f"Choose one of: {', '.join(Discrepancy.values)}."]})
    if discrepancy == Discrepancy.CONCUR and assignment.verdict.label != assignment.campaign_case.case.ai_label:
        raise ValidationFailed(
            "Your locked reading differs from the AI output: choose the grade of the discrepancy, not "
            "\"concur\".", code=CONCUR_CONTRADICTS_CODE,
            extra={"discrepancy": ["Your reading differs from the AI output: “concur” is not possible."]})


def assignment_classify(*, actor, assignment: Assignment, discrepancy: str, would_have_changed: bool,
                        possible_adverse_event: bool = False, comment: str = "",
                        scope: QuerySet[Assignment] | None = None) -> Assignment:
    """Record the post-unblinding classification (the assigned clinician reviewer, 403; from
    unblinded, 409; see ``_ensure_classifiable`` for the patient representative's 409 and the
    contradicted "concur"'s 400). The locked verdict is not touched. A possible adverse event
    locks the campaign case, opens its vigilance report in this transaction and puts the case
    before the committee after commit (both through ``hooks``)."""
    ensure_no_identifiers(fields={"comment": comment})
    with transaction.atomic():
        assignment = _assignment_for_reviewer(actor, assignment, "classify", scope)
        _ensure_classifiable(assignment, discrepancy)
        cc = locked_row(CampaignCase, assignment.campaign_case_id) if possible_adverse_event else None
        Classification.objects.create(
            assignment=assignment, discrepancy=discrepancy, would_have_changed=would_have_changed,
            possible_adverse_event=possible_adverse_event, comment=comment,
        )
        save_transitioned(assignment, "updated_at")
        audit_record(actor=actor, action="assignment.classify", target=assignment, data={
            "discrepancy": discrepancy, "would_have_changed": would_have_changed,
            "possible_adverse_event": possible_adverse_event})
        if cc is not None:
            hooks.adverse_event_flagged(actor=actor, campaign_case=cc)
            hooks.case_to_committee(cc)
    return assignment


def _reassign(actor, old: Assignment, *, only: int | None = None) -> Assignment | None:
    """Give a declined or expired case to another eligible reader of the same kind; the queue
    position is random among the new reviewer's items, and the items behind it move down one
    place, so that each reviewer's queue stays a permutation 1..n (no ties in the list order)."""
    cc = old.campaign_case
    campaign = cc.campaign
    rng = np.random.Generator(np.random.PCG64([campaign.seed or 0, old.pk]))
    reader = one_more_reader(cc, old.kind, rng, only=only)
    if reader is None:
        audit_record(actor=actor, action="assignment.reassignment_failed", target=old,
                     data={"reason": "no eligible reviewer left"})
        return None
    queue = Assignment.objects.filter(reviewer_id=reader, campaign_case__campaign=campaign)
    position = int(rng.integers(1, queue.count() + 2))
    queue.filter(display_order__gte=position).update(display_order=F("display_order") + 1)
    new = Assignment.objects.create(
        campaign_case=cc, reviewer_id=reader, kind=old.kind, is_third_reading=old.is_third_reading,
        due_date=old.due_date if old.is_third_reading else campaign.review_deadline,
        display_order=position, replaces=old,
    )
    audit_record(actor=actor, action="assignment.reassign", target=new, data={"replaces": old.pk})
    return new


def assignment_decline(*, actor, assignment: Assignment, reason: str) -> Assignment:
    """The reviewer declines a pending review (e.g. a conflict of interest; a reason is required,
    400, scanned for direct identifiers) and the case goes to another eligible reader of the same
    kind (``_reassign``). Assigned reviewer only (403); from assigned or opened, in a campaign
    under review (409). Locks the assignment row; deletes the draft; audit events
    ``assignment.decline`` then ``assignment.reassign`` (or ``assignment.reassignment_failed``
    when nobody eligible is left: the decline stands)."""
    ensure_no_identifiers(fields={"reason": reason})
    if not reason.strip():
        raise ValidationFailed("Give a reason for declining.", extra={"reason": ["required"]})
    with transaction.atomic():
        assignment = _lock_assignment(assignment.pk)
        ensure(perms.is_assignee(actor, assignment), "Only the assigned reviewer can decline.")
        apply_transition(assignment, "decline", reason.strip())
        ensure_campaign_in(assignment, "decline", assignment.campaign_case.campaign, _review_states(assignment))
        AssignmentDraft.objects.filter(assignment=assignment).delete()
        save_transitioned(assignment, "decline_reason", "updated_at")
        audit_record(actor=actor, action="assignment.decline", target=assignment, data={"reason": reason.strip()})
        _reassign(actor, assignment)
    return assignment


def assignment_expire(*, actor, assignment: Assignment, by_system: bool = False) -> Assignment:
    """Expire a review left unanswered and reassign it within the rules. ``by_system``: the
    periodic deadline job (``send_review_reminders``), which acts without a user; otherwise the
    quality team (403). From assigned or opened (409). Locks the assignment row; deletes the
    draft; audit events ``assignment.expire`` then ``assignment.reassign`` (or
    ``assignment.reassignment_failed``)."""
    with transaction.atomic():
        assignment = _lock_assignment(assignment.pk)
        ensure(by_system or perms.can_expire_assignment(actor, assignment))
        apply_transition(assignment, "expire")
        ensure_campaign_in(assignment, "expire", assignment.campaign_case.campaign, _review_states(assignment))
        AssignmentDraft.objects.filter(assignment=assignment).delete()
        save_transitioned(assignment, "updated_at")
        audit_record(actor=actor, action="assignment.expire", target=assignment)
        _reassign(actor, assignment)
    return assignment


def assignment_reassign(*, actor, assignment: Assignment, reason: str, reviewer_id: int | None = None) -> Assignment:
    """The quality team withdraws a pending review and gives the case to another reader within
    the rules (``reviewer_id``: that reader, who must be eligible). Refused with 409, changing
    nothing, when no eligible reader is left or the chosen one is not eligible. Fires the
    ``withdraw`` transition (state ``withdrawn``; the API action and errors say ``reassign``).
    Quality team only (403); reason required (400, scanned for direct identifiers). Locks the
    assignment row; deletes the draft; audit events ``assignment.withdraw`` and
    ``assignment.reassign``."""
    ensure_no_identifiers(fields={"reason": reason})
    if not reason.strip():
        raise ValidationFailed("Give a reason for the reassignment.", extra={"reason": ["required"]})
    with transaction.atomic():
        assignment = _lock_assignment(assignment.pk)
        ensure(perms.can_reassign_assignment(actor, assignment), "Only the quality team can reassign reviews.")
        apply_transition(assignment, "withdraw", reason.strip(), action="reassign")
        ensure_campaign_in(assignment, "reassign", assignment.campaign_case.campaign, _review_states(assignment))
        AssignmentDraft.objects.filter(assignment=assignment).delete()
        save_transitioned(assignment, "decline_reason", "updated_at")
        audit_record(actor=actor, action="assignment.withdraw", target=assignment,
                     data={"reason": reason.strip(), "requested_reviewer": reviewer_id})
        if _reassign(actor, assignment, only=reviewer_id) is None:
            who = "the chosen reviewer is not eligible" if reviewer_id else "no eligible reviewer is left"
            raise TransitionNotAllowed(f"Cannot reassign this assignment: {who} under the campaign's rules.",
                                       extra={"reviewer": reviewer_id})
    return assignment
