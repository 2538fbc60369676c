"""Writes and workflows of review campaigns.

Every service: runs in one transaction, locks the rows it transitions (``select_for_update``,
evaluated inside the transaction), checks the caller's permission itself (403) before the state
(409), saves with ``update_fields`` and appends an audit event in the same transaction.
"""

import secrets
from collections import Counter
from datetime import date, timedelta
from functools import partial
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from cases.models import AISystem
from committees.models import Committee
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from common.fsm import apply_transition, save_transitioned

from . import permissions as perms
from .assignment import reader_pools
from .enums import (
    ACTIVE_STATES,
    BLIND_STATES,
    LOCKED_STATES,
    AdjudicationMethod,
    AssignmentKind,
    AssignmentState,
    CampaignCaseState,
    CampaignState,
)
from .models import (
    Adjudication,
    Assignment,
    AssignmentDraft,
    Campaign,
    CampaignCase,
    Classification,
    ProtocolDeviation,
    Verdict,
)
from .sampling import Design, draw_campaign_sample

READER_NOUNS = {AssignmentKind.CLINICIAN: "clinician reviewers", AssignmentKind.PATIENT_REP: "patient representatives"}


def _locked(model, pk: int):
    return model.objects.select_for_update(of=("self",)).get(pk=pk)


# --- Campaigns -------------------------------------------------------------------------------

def campaign_create(
    *, actor, ai_system: AISystem, committee: Committee, name: str, period_start: date, period_end: date,
    sample_size: int, review_deadline: date, sites: list[str] | None = None, clinicians_per_case: int = 2,
    patient_reps_per_case: int = 1, exclude_own_service: bool = True, seed: int | None = None,
    design: dict | None = None, exclude_own_site: bool = False, required_specialty: str = "",
    reminder_days: list[int] | None = None,
) -> Campaign:
    """Create a draft campaign. The AI system must be one the committee oversees. ``design`` is
    validated (``reviews.sampling.Design``); with a set allocation the sample size is the sum of
    the sizes set per stratum."""
    ensure(perms.can_create_campaign(actor), "Only the quality team can create campaigns.")
    if period_end < period_start:
        raise ValidationFailed("The period ends before it starts.", extra={"period_end": ["before period_start"]})
    try:
        checked = Design.from_dict(design)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"The sampling design is not valid: {exc}", extra={"design": [str(exc)]}) from exc
    if checked.allocation == "set" and checked.type == "stratified":
        sample_size = sum(checked.sizes.values())
    reminder_days = sorted({int(d) for d in (reminder_days if reminder_days is not None else [7, 1])}, reverse=True)
    if any(d < 1 or d > 60 for d in reminder_days):
        raise ValidationFailed("Reminders are sent 1 to 60 days before the deadline.",
                               extra={"reminder_days": ["between 1 and 60"]})
    if not committee.ai_systems.filter(pk=ai_system.pk).exists():
        raise ValidationFailed(
            f"The committee '{committee}' does not oversee the AI system '{ai_system.name}'.",
            extra={"ai_system": ["not overseen by this committee"]},
        )
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name, ai_system=ai_system, committee=committee, created_by=actor,
            period_start=period_start, period_end=period_end, sites=sorted(sites or []),
            sample_size=sample_size, review_deadline=review_deadline,
            clinicians_per_case=clinicians_per_case, patient_reps_per_case=patient_reps_per_case,
            exclude_own_service=exclude_own_service, seed=seed, design=checked.as_dict(),
            exclude_own_site=exclude_own_site, required_specialty=required_specialty.strip(),
            reminder_days=reminder_days,
        )
        audit_record(actor=actor, action="campaign.create", target=campaign, data={"name": name})
    return campaign


def _transition_campaign(actor, campaign: Campaign, name: str, predicate, *, fields=(), data=None,
                         guard=None) -> Campaign:
    """Permission (403), then state (409), then the transition's own precondition ``guard``."""
    with transaction.atomic():
        campaign = _locked(Campaign, campaign.pk)
        ensure(predicate(actor, campaign))
        apply_transition(campaign, name)
        if guard is not None:
            guard(campaign)
        save_transitioned(campaign, "updated_at", *fields)
        audit_record(actor=actor, action=f"campaign.{name}", target=campaign,
                     data={"state": campaign.state, **(data or {})})
    return campaign


def campaign_schedule(*, actor, campaign: Campaign) -> Campaign:
    """Freeze the protocol (design, size, readers per case, deadline, AI version and labels) and
    fix the seed, so that the campaign stays comparable with the next ones."""
    with transaction.atomic():
        campaign = _locked(Campaign, campaign.pk)
        ensure(perms.can_manage_campaign(actor, campaign))
        apply_transition(campaign, "schedule")
        if campaign.seed is None:
            campaign.seed = secrets.randbits(48)
        ai = campaign.ai_system
        campaign.protocol = {
            "design": Design.from_dict(campaign.design).as_dict(),
            "sample_size": campaign.sample_size,
            "period": [campaign.period_start.isoformat(), campaign.period_end.isoformat()],
            "sites": campaign.sites,
            "clinicians_per_case": campaign.clinicians_per_case,
            "patient_reps_per_case": campaign.patient_reps_per_case,
            "exclude_own_service": campaign.exclude_own_service,
            "exclude_own_site": campaign.exclude_own_site,
            "required_specialty": campaign.required_specialty,
            "review_deadline": campaign.review_deadline.isoformat(),
            "reminder_days": campaign.reminder_days,
            "seed": campaign.seed,
            "ai_system": {"id": ai.pk, "name": ai.name, "version": ai.version, "labels": ai.labels},
            "acceptance_thresholds": ai.acceptance_thresholds,
        }
        save_transitioned(campaign, "seed", "protocol", "scheduled_at", "updated_at")
        audit_record(actor=actor, action="campaign.schedule", target=campaign, data={"protocol": campaign.protocol})
    return campaign


def campaign_draw_sample(*, actor, campaign: Campaign) -> Campaign:
    """Draw the sample under the frozen design (in the database: see ``reviews.sampling``) and
    record the seed, population size and population hash. Writes one ``CampaignCase`` per drawn
    case with its stratum and inclusion probability."""
    with transaction.atomic():
        campaign = _locked(Campaign, campaign.pk)
        ensure(perms.can_manage_campaign(actor, campaign))
        apply_transition(campaign, "draw_sample")
        sample = draw_campaign_sample(campaign, seed=campaign.seed)
        if not sample.case_ids:
            raise TransitionNotAllowed(
                "The population is empty: no case of this AI system in the period and scope can be sampled."
            )
        CampaignCase.objects.bulk_create(
            (CampaignCase(campaign=campaign, case_id=u.case_id, stratum=u.stratum,
                          inclusion_probability=u.inclusion_probability) for u in sample.units),
            batch_size=1000,
        )
        campaign.population_size = sample.population_size
        campaign.population_hash = sample.population_hash
        save_transitioned(campaign, "population_size", "population_hash", "updated_at")
        data = {"seed": campaign.seed, "population_size": sample.population_size,
                "population_hash": sample.population_hash, "sample_size": len(sample.units)}
        if len(sample.strata) > 1 or "" not in sample.strata:
            data["strata"] = {s: list(v) for s, v in sample.strata.items()}
        audit_record(actor=actor, action="campaign.draw_sample", target=campaign, data=data)
    return campaign


def campaign_start_review(*, actor, campaign: Campaign) -> Campaign:
    """Assign every sampled case to its clinician reviewers and patient representatives and open
    the review. Fails as a whole (409, naming the case) if any case cannot be fully staffed."""
    with transaction.atomic():
        campaign = _locked(Campaign, campaign.pk)
        ensure(perms.can_manage_campaign(actor, campaign))
        apply_transition(campaign, "start_review")
        rng = np.random.Generator(np.random.PCG64(campaign.seed or 0))
        pools = reader_pools(campaign, rng=rng)
        wanted = {AssignmentKind.CLINICIAN: campaign.clinicians_per_case,
                  AssignmentKind.PATIENT_REP: campaign.patient_reps_per_case}
        ccases = list(
            CampaignCase.objects.select_for_update(of=("self",)).filter(campaign=campaign)
            .select_related("case").order_by("id")
        )
        pending: list[tuple[CampaignCase, int, str]] = []
        for cc in ccases:
            for kind, k in wanted.items():
                if not k:
                    continue
                chosen = pools[kind].pick(case_id=cc.case_id, service=cc.case.service, site=cc.case.site,
                                          signer=cc.case.clinician_pseudonym, k=k, exclude=set())
                if not chosen:
                    raise TransitionNotAllowed(
                        f"Not enough eligible {READER_NOUNS[kind]} for sampled case {cc.case_id}: "
                        f"{k} needed after conflict-of-interest rules. Add members to the committee.",
                        extra={"case": cc.case_id, "kind": kind},
                    )
                pending.extend((cc, uid, kind) for uid in chosen)
        orders = _shuffled_orders(rng, [uid for _, uid, _ in pending])
        Assignment.objects.bulk_create(
            Assignment(campaign_case=cc, reviewer_id=uid, kind=kind, due_date=campaign.review_deadline,
                       display_order=orders.pop((uid, i)))
            for i, (cc, uid, kind) in enumerate(pending)
        )
        for cc in ccases:
            apply_transition(cc, "start_review")
            save_transitioned(cc)
        save_transitioned(campaign, "updated_at")
        audit_record(actor=actor, action="campaign.start_review", target=campaign,
                     data={"assignments": len(pending), "cases": len(ccases)})
    return campaign


def _shuffled_orders(rng: np.random.Generator, reviewer_ids: list[int]) -> dict[tuple[int, int], int]:
    """A random queue position per (reviewer, pending index), independent for each reviewer."""
    by_reviewer: dict[int, list[int]] = {}
    for i, uid in enumerate(reviewer_ids):
        by_reviewer.setdefault(uid, []).append(i)
    orders = {}
    for uid, indexes in by_reviewer.items():
        for pos, i in enumerate(rng.permutation(indexes).tolist()):
            orders[(uid, i)] = pos + 1
    return orders


def _no_case_in_review(campaign: Campaign) -> None:
    waiting = campaign.campaign_cases.filter(state=CampaignCaseState.IN_REVIEW).count()
    if waiting:
        raise TransitionNotAllowed(
            f"{waiting} case(s) still have reviews pending: the review cannot close yet.",
            extra={"cases_pending": waiting},
        )


def campaign_close_review(*, actor, campaign: Campaign) -> Campaign:
    """End the review round; refused while any case still waits for a locked verdict."""
    return _transition_campaign(actor, campaign, "close_review", perms.can_manage_campaign, guard=_no_case_in_review)


def campaign_start_analysis(*, actor, campaign: Campaign) -> Campaign:
    """Close every resolved case and every classified assignment, then move to analysis. Refused
    while a case still waits for adjudication."""
    with transaction.atomic():
        campaign = _locked(Campaign, campaign.pk)
        ensure(perms.can_manage_campaign(actor, campaign))
        apply_transition(campaign, "start_analysis")
        waiting = campaign.campaign_cases.filter(state=CampaignCaseState.NEEDS_ADJUDICATION).count()
        if waiting:
            raise TransitionNotAllowed(
                f"{waiting} case(s) still need adjudication.", extra={"cases_pending": waiting}
            )
        for cc in campaign.campaign_cases.select_for_update(of=("self",)).filter(
            state__in=[CampaignCaseState.CONCORDANT, CampaignCaseState.ADJUDICATED]
        ):
            apply_transition(cc, "close")
            save_transitioned(cc)
        for a in Assignment.objects.select_for_update(of=("self",)).filter(
            campaign_case__campaign=campaign, state=AssignmentState.CLASSIFIED
        ):
            apply_transition(a, "close")
            save_transitioned(a, "updated_at")
        save_transitioned(campaign, "updated_at")
        audit_record(actor=actor, action="campaign.start_analysis", target=campaign, data={"state": campaign.state})
    return campaign


def campaign_publish(*, actor, campaign: Campaign) -> Campaign:
    return _transition_campaign(actor, campaign, "publish", perms.can_publish_campaign, fields=("published_at",))


def campaign_archive(*, actor, campaign: Campaign) -> Campaign:
    return _transition_campaign(actor, campaign, "archive", perms.can_manage_campaign)


def campaign_cancel(*, actor, campaign: Campaign, reason: str = "") -> Campaign:
    return _transition_campaign(actor, campaign, "cancel", perms.can_manage_campaign, data={"reason": reason})


# --- Assignments -----------------------------------------------------------------------------

def _ensure_campaign_in(obj, name: str, campaign: Campaign, states=(CampaignState.IN_REVIEW,)) -> None:
    """Review work happens while the campaign runs: never in a cancelled (or finished) campaign,
    where it would write verdicts, reassignments or references nobody will use (409)."""
    if campaign.state not in states:
        raise TransitionNotAllowed(
            f"Cannot {name} this {obj._meta.verbose_name_raw}: its campaign is {campaign.state}.",
            extra={"campaign_state": campaign.state, "transition": name},
        )


def _lock_assignment(pk: int) -> Assignment:
    """The assignment row locked (only this row), with its campaign, case and AI system joined."""
    return Assignment.objects.select_for_update(of=("self",)).select_related(
        "campaign_case__campaign__ai_system", "campaign_case__case").get(pk=pk)


def _assignment_for_reviewer(actor, assignment: Assignment, name: str) -> Assignment:
    assignment = _lock_assignment(assignment.pk)
    ensure(perms.is_assignee(actor, assignment), "Only the assigned reviewer can do this.")
    apply_transition(assignment, name)
    if name in ("open", "submit"):  # unblinding and classifying one's own locked verdict stay open
        _ensure_campaign_in(assignment, name, assignment.campaign_case.campaign, _review_states(assignment))
    return assignment


def _review_states(assignment: Assignment) -> tuple[str, ...]:
    """A third reading is done while the campaign is in review or in adjudication."""
    if assignment.is_third_reading:
        return (CampaignState.IN_REVIEW, CampaignState.ADJUDICATION)
    return (CampaignState.IN_REVIEW,)


def _enqueue_for_committee(cc: CampaignCase) -> None:
    """The case is now a subject for the committee: after commit, put it on the next agenda."""
    from committees.services import enqueue_case

    transaction.on_commit(partial(enqueue_case, cc.pk))


def assignment_open(*, actor, assignment: Assignment) -> Assignment:
    with transaction.atomic():
        assignment = _assignment_for_reviewer(actor, assignment, "open")
        save_transitioned(assignment, "opened_at", "updated_at")
        audit_record(actor=actor, action="assignment.open", target=assignment)
    return assignment


def _validate_verdict(assignment: Assignment, data: dict[str, Any]) -> dict[str, Any]:
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


def assignment_save_draft(*, actor, assignment: Assignment, data: dict[str, Any]) -> AssignmentDraft:
    """Save the reviewer's unfinished verdict form on an opened assignment, without locking.

    Only the form's own fields are kept, as strings cut to the form's maximum length; nothing is
    validated (a draft may be incomplete). Permission (the assigned reviewer, 403) and state
    (opened, in a campaign under review, 409) are checked as for ``assignment_submit``.

    Not audited, by design: a draft changes no record of the committee (it is overwritten at
    will and deleted when the verdict is locked), the audit trail is append-only and
    hash-chained, so one event per save would copy unlocked opinions into a permanent log that
    auditors read. The decision that counts, the lock, is audited."""
    fields = DRAFT_FIELDS[AssignmentKind(assignment.kind)]
    clean = {f: str(data[f])[:DRAFT_MAX_CHARS] for f in fields if data.get(f) not in (None, "")}
    with transaction.atomic():
        assignment = _lock_assignment(assignment.pk)
        ensure(perms.is_assignee(actor, assignment), "Only the assigned reviewer can do this.")
        if assignment.state != AssignmentState.OPENED:
            raise TransitionNotAllowed(f"Cannot save a draft of this assignment: it is {assignment.state}.",
                                       extra={"state": assignment.state, "transition": "save_draft"})
        _ensure_campaign_in(assignment, "save_draft", assignment.campaign_case.campaign)
        draft, _ = AssignmentDraft.objects.update_or_create(assignment=assignment, defaults={"data": clean})
    return draft


def assignment_draft_data(assignment: Assignment) -> dict[str, str]:
    """The saved draft of an assignment (empty when none). Callers show it to its reviewer only."""
    draft = AssignmentDraft.objects.filter(assignment=assignment).values_list("data", flat=True).first()
    return draft or {}


def assignment_submit(*, actor, assignment: Assignment, data: dict[str, Any]) -> Assignment:
    """Lock the reviewer's blind verdict. Once every active reviewer of the case has locked, the
    case becomes reviewed, then concordant (clinicians agree: their label is the reference) or
    needs adjudication. Locks the campaign case row so that two last verdicts cannot both miss
    each other."""
    with transaction.atomic():
        assignment = _assignment_for_reviewer(actor, assignment, "submit")
        # Lock the case row before the first audit event: the audit chain head is always the
        # last lock taken, so that no two transactions wait on each other.
        cc = _locked(CampaignCase, assignment.campaign_case_id)
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
        _enqueue_for_committee(cc)


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
    label, votes = Counter(v.label for v in verdicts).most_common(1)[0]
    if votes * 2 <= len(verdicts):
        audit_record(actor=actor, action="campaign_case.third_reading_no_majority", target=cc,
                     data={"readers": len(verdicts)})
        return
    reader = third[-1]
    reasoning = (f"Majority of the blind readers: {votes} of {len(verdicts)} gave {label!r}, the third reader "
                 f"included." + (f" Third reader's rationale: {reader.rationale}" if reader.rationale else ""))
    apply_transition(cc, "adjudicate", label)
    Adjudication.objects.create(campaign_case=cc, decided_by=reader.assignment.reviewer,
                                method=AdjudicationMethod.THIRD_READER, label=label, reasoning=reasoning)
    save_transitioned(cc, "reference_label")
    audit_record(actor=actor, action="campaign_case.adjudicate", target=cc,
                 data={"label": label, "method": AdjudicationMethod.THIRD_READER})
    if label != cc.case.ai_label:
        _enqueue_for_committee(cc)


def assignment_unblind(*, actor, assignment: Assignment) -> Assignment:
    with transaction.atomic():
        assignment = _assignment_for_reviewer(actor, assignment, "unblind")
        save_transitioned(assignment, "unblinded_at", "updated_at")
        audit_record(actor=actor, action="assignment.unblind", target=assignment)
    return assignment


def assignment_classify(*, actor, assignment: Assignment, discrepancy: str, would_have_changed: bool,
                        possible_adverse_event: bool = False, comment: str = "") -> Assignment:
    """Record the post-unblinding classification. The locked verdict is not touched."""
    from vigilance.services import vigilance_open_for_case

    with transaction.atomic():
        assignment = _assignment_for_reviewer(actor, assignment, "classify")
        cc = _locked(CampaignCase, assignment.campaign_case_id) if possible_adverse_event else None
        Classification.objects.create(
            assignment=assignment, discrepancy=discrepancy, would_have_changed=would_have_changed,
            possible_adverse_event=possible_adverse_event, comment=comment,
        )
        save_transitioned(assignment, "updated_at")
        audit_record(actor=actor, action="assignment.classify", target=assignment, data={
            "discrepancy": discrepancy, "would_have_changed": would_have_changed,
            "possible_adverse_event": possible_adverse_event})
        if cc is not None:
            vigilance_open_for_case(actor=actor, campaign_case=cc)
            _enqueue_for_committee(cc)
    return assignment


def _reassign(actor, old: Assignment, *, only: int | None = None) -> Assignment | None:
    """Give a declined or expired case to another eligible reader of the same kind; the queue
    position is random among the new reviewer's items, and the items behind it move down one
    place, so that each reviewer's queue stays a permutation 1..n (no ties in the list order)."""
    cc = old.campaign_case
    campaign = cc.campaign
    rng = np.random.Generator(np.random.PCG64([campaign.seed or 0, old.pk]))
    pool = reader_pools(campaign, rng=rng)[old.kind]
    loads = Counter(Assignment.objects.filter(campaign_case__campaign=campaign, state__in=ACTIVE_STATES)
                    .values_list("reviewer_id", flat=True))
    for reader in pool.readers:
        reader.load = loads.get(reader.user_id, 0)
    tried = set(cc.assignments.values_list("reviewer_id", flat=True))
    chosen = pool.pick(case_id=cc.case_id, service=cc.case.service, site=cc.case.site,
                       signer=cc.case.clinician_pseudonym, k=1, exclude=tried, only=only)
    if not chosen:
        audit_record(actor=actor, action="assignment.reassignment_failed", target=old,
                     data={"reason": "no eligible reviewer left"})
        return None
    queue = Assignment.objects.filter(reviewer_id=chosen[0], campaign_case__campaign=campaign)
    position = int(rng.integers(1, queue.count() + 2))
    queue.filter(display_order__gte=position).update(display_order=F("display_order") + 1)
    new = Assignment.objects.create(
        campaign_case=cc, reviewer_id=chosen[0], kind=old.kind, is_third_reading=old.is_third_reading,
        due_date=old.due_date if old.is_third_reading else campaign.review_deadline,
        display_order=position, replaces=old,
    )
    audit_record(actor=actor, action="assignment.reassign", target=new, data={"replaces": old.pk})
    return new


def assignment_decline(*, actor, assignment: Assignment, reason: str) -> Assignment:
    """Decline (e.g. conflict of interest) and reassign within the rules."""
    if not reason.strip():
        raise ValidationFailed("Give a reason for declining.", extra={"reason": ["required"]})
    with transaction.atomic():
        assignment = _lock_assignment(assignment.pk)
        ensure(perms.is_assignee(actor, assignment), "Only the assigned reviewer can decline.")
        apply_transition(assignment, "decline", reason.strip())
        _ensure_campaign_in(assignment, "decline", assignment.campaign_case.campaign, _review_states(assignment))
        AssignmentDraft.objects.filter(assignment=assignment).delete()
        save_transitioned(assignment, "decline_reason", "updated_at")
        audit_record(actor=actor, action="assignment.decline", target=assignment, data={"reason": reason.strip()})
        _reassign(actor, assignment)
    return assignment


def assignment_expire(*, actor, assignment: Assignment, by_system: bool = False) -> Assignment:
    """Expire a review left unanswered and reassign it within the rules. ``by_system``: the
    periodic deadline job (``send_review_reminders``), which acts without a user."""
    with transaction.atomic():
        assignment = _lock_assignment(assignment.pk)
        ensure(by_system or perms.can_expire_assignment(actor, assignment))
        apply_transition(assignment, "expire")
        _ensure_campaign_in(assignment, "expire", assignment.campaign_case.campaign, _review_states(assignment))
        AssignmentDraft.objects.filter(assignment=assignment).delete()
        save_transitioned(assignment, "updated_at")
        audit_record(actor=actor, action="assignment.expire", target=assignment)
        _reassign(actor, assignment)
    return assignment


def assignment_reassign(*, actor, assignment: Assignment, reason: str, reviewer_id: int | None = None) -> Assignment:
    """The quality team withdraws a pending review and gives the case to another reader within
    the rules (``reviewer_id``: that reader, who must be eligible). Refused with 409, changing
    nothing, when no eligible reader is left or the chosen one is not eligible."""
    if not reason.strip():
        raise ValidationFailed("Give a reason for the reassignment.", extra={"reason": ["required"]})
    with transaction.atomic():
        assignment = _lock_assignment(assignment.pk)
        ensure(perms.can_reassign_assignment(actor, assignment), "Only the quality team can reassign reviews.")
        apply_transition(assignment, "reassign", reason.strip())
        _ensure_campaign_in(assignment, "reassign", assignment.campaign_case.campaign, _review_states(assignment))
        AssignmentDraft.objects.filter(assignment=assignment).delete()
        save_transitioned(assignment, "decline_reason", "updated_at")
        audit_record(actor=actor, action="assignment.withdraw", target=assignment,
                     data={"reason": reason.strip(), "requested_reviewer": reviewer_id})
        if _reassign(actor, assignment, only=reviewer_id) is None:
            who = "the chosen reviewer is not eligible" if reviewer_id else "no eligible reviewer is left"
            raise TransitionNotAllowed(f"Cannot reassign this assignment: {who} under the campaign's rules.",
                                       extra={"reviewer": reviewer_id})
    return assignment


# --- Protocol deviations -----------------------------------------------------------------------

DEVIATION_STATES = (CampaignState.SCHEDULED, CampaignState.SAMPLED, CampaignState.IN_REVIEW,
                    CampaignState.ADJUDICATION, CampaignState.ANALYSIS)


def protocol_deviation_record(*, actor, campaign: Campaign, item: str, description: str,
                              reason: str) -> ProtocolDeviation:
    """Record a departure from the frozen protocol with its reason. Only once the protocol is
    frozen (scheduled) and before publication: a draft is still edited, a published campaign is
    corrected by a new report version (409). Locks the campaign row."""
    errors = {k: ["required"] for k, v in (("item", item), ("description", description), ("reason", reason))
              if not v.strip()}
    if errors:
        raise ValidationFailed("A deviation needs the protocol item, what changed and why.", extra=errors)
    with transaction.atomic():
        campaign = _locked(Campaign, campaign.pk)
        ensure(perms.can_manage_campaign(actor, campaign), "Only the quality team records protocol deviations.")
        if campaign.state not in DEVIATION_STATES:
            raise TransitionNotAllowed(
                f"Cannot record a protocol deviation: the campaign is {campaign.state}.",
                extra={"campaign_state": campaign.state})
        deviation = ProtocolDeviation.objects.create(
            campaign=campaign, recorded_by=actor, campaign_state=campaign.state, item=item.strip(),
            description=description.strip(), reason=reason.strip())
        audit_record(actor=actor, action="campaign.protocol_deviation", target=campaign, data={
            "deviation": deviation.pk, "item": deviation.item, "description": deviation.description,
            "reason": deviation.reason})
    return deviation


# --- Adjudication ----------------------------------------------------------------------------

THIRD_READING_DAYS = 14


def third_reading_request(*, actor, campaign_case: CampaignCase, due_date: date | None = None) -> Assignment:
    """Ask one more clinician, chosen under the campaign's rules (conflicts, own service or site,
    specialty, never a reader of the case already), for a blind reading of a case whose readers
    disagree. When it is locked, the majority label becomes the reference. The chair or the
    quality team asks; 409 when the case does not need adjudication, a third reading is already
    pending, or nobody eligible is left."""
    with transaction.atomic():
        cc = CampaignCase.objects.select_for_update(of=("self",)).select_related(
            "campaign__ai_system", "case").get(pk=campaign_case.pk)
        ensure(perms.can_request_third_reading(actor, cc), "Only the committee chair or the quality team can ask "
                                                           "for a third reading.")
        if cc.state != CampaignCaseState.NEEDS_ADJUDICATION:
            raise TransitionNotAllowed(f"Cannot ask for a third reading: the case is {cc.state}.",
                                       extra={"state": cc.state})
        _ensure_campaign_in(cc, "ask for a third reading of", cc.campaign,
                            (CampaignState.IN_REVIEW, CampaignState.ADJUDICATION))
        if cc.assignments.filter(is_third_reading=True, state__in=BLIND_STATES).exists():
            raise TransitionNotAllowed("A third reading of this case is already pending.",
                                       extra={"state": cc.state})
        due = due_date or timezone.localdate() + timedelta(days=THIRD_READING_DAYS)
        if due < timezone.localdate():
            raise ValidationFailed("The due date is in the past.", extra={"due_date": ["in the past"]})
        campaign = cc.campaign
        rng = np.random.Generator(np.random.PCG64([campaign.seed or 0, cc.pk, cc.assignments.count()]))
        pool = reader_pools(campaign, rng=rng)[AssignmentKind.CLINICIAN]
        loads = Counter(Assignment.objects.filter(campaign_case__campaign=campaign, state__in=ACTIVE_STATES)
                        .values_list("reviewer_id", flat=True))
        for reader in pool.readers:
            reader.load = loads.get(reader.user_id, 0)
        chosen = pool.pick(case_id=cc.case_id, service=cc.case.service, site=cc.case.site,
                           signer=cc.case.clinician_pseudonym, k=1,
                           exclude=set(cc.assignments.values_list("reviewer_id", flat=True)))
        if not chosen:
            raise TransitionNotAllowed("No eligible clinician is left for a third reading of this case under the "
                                       "campaign's rules: decide it in session.", extra={"case": cc.case_id})
        position = Assignment.objects.filter(reviewer_id=chosen[0], campaign_case__campaign=campaign).count() + 1
        assignment = Assignment.objects.create(
            campaign_case=cc, reviewer_id=chosen[0], kind=AssignmentKind.CLINICIAN, is_third_reading=True,
            due_date=due, display_order=position)
        audit_record(actor=actor, action="assignment.third_reading", target=assignment,
                     data={"campaign_case": cc.pk, "due_date": due.isoformat()})
    return assignment


def adjudication_record(*, actor, campaign_case: CampaignCase, label: str, reasoning: str,
                        method: str = AdjudicationMethod.CONSENSUS) -> Adjudication:
    """Set the reference label of a case whose clinicians disagreed, with the reasoning. A third
    reading still pending on the case is withdrawn (its reader is told by their queue)."""
    with transaction.atomic():
        cc = CampaignCase.objects.select_for_update(of=("self",)).select_related(
            "campaign__ai_system", "case").get(pk=campaign_case.pk)
        ensure(perms.can_adjudicate(actor, cc), "Only the committee chair can adjudicate.")
        labels = cc.campaign.ai_system.labels
        if label not in labels:
            raise ValidationFailed("Unknown label.", extra={"label": [f"Choose one of: {', '.join(labels)}."]})
        if not reasoning.strip():
            raise ValidationFailed("Give the reasoning of the adjudication.", extra={"reasoning": ["required"]})
        if method not in AdjudicationMethod.values:
            raise ValidationFailed("Unknown method.", extra={"method": [f"One of {AdjudicationMethod.values}"]})
        apply_transition(cc, "adjudicate", label)
        _ensure_campaign_in(cc, "adjudicate", cc.campaign, (CampaignState.IN_REVIEW, CampaignState.ADJUDICATION))
        adjudication = Adjudication.objects.create(
            campaign_case=cc, decided_by=actor, method=method, label=label, reasoning=reasoning.strip())
        save_transitioned(cc, "reference_label")
        withdrawn = []
        for pending in cc.assignments.select_for_update(of=("self",)).filter(is_third_reading=True,
                                                                                state__in=BLIND_STATES):
            apply_transition(pending, "reassign", "Adjudicated by the committee before the third reading.")
            AssignmentDraft.objects.filter(assignment=pending).delete()
            save_transitioned(pending, "decline_reason", "updated_at")
            withdrawn.append(pending.pk)
        data = {"label": label, "method": method} | ({"third_readings_withdrawn": withdrawn} if withdrawn else {})
        audit_record(actor=actor, action="campaign_case.adjudicate", target=cc, data=data)
        if label != cc.case.ai_label:
            _enqueue_for_committee(cc)
    return adjudication
