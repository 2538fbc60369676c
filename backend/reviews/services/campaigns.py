"""Campaigns: creation, the protocol frozen at scheduling, the draw, the start of the review
(assignment of every case), the end of the round, analysis and publication; protocol deviations."""

import secrets
from datetime import date

import numpy as np
from django.db import transaction

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from cases.models import AISystem
from committees.models import Committee
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from common.fsm import apply_transition, save_transitioned

from .. import permissions as perms
from ..eligibility import reader_pools
from ..enums import (
    BLIND_STATES,
    AssignmentKind,
    AssignmentState,
    CampaignCaseState,
    CampaignState,
)
from ..models import (
    Assignment,
    AssignmentDraft,
    Campaign,
    CampaignCase,
    ProtocolDeviation,
)
from ..sampling import Design, draw_campaign_sample
from .common import READER_NOUNS, locked_row


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
    ensure_no_identifiers(fields={"name": name, "required_specialty": required_specialty})
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
        campaign = locked_row(Campaign, campaign.pk)
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
        campaign = locked_row(Campaign, campaign.pk)
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
        campaign = locked_row(Campaign, campaign.pk)
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
        campaign = locked_row(Campaign, campaign.pk)
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
                                          signer=cc.case.clinician_pseudonym, signer_key_id=cc.case.key_id,
                                          k=k, exclude=set())
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
    """``close_review``'s guard: no case may still wait for a locked verdict (409 with the count)."""
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
        campaign = locked_row(Campaign, campaign.pk)
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
    """Publish the analysed campaign: the quality team or the chair of its committee (403), from
    analysis only (409). Locks the campaign row; records ``published_at``; audit event
    ``campaign.publish``. Frozen report versions are the reports app's, not this service's."""
    return _transition_campaign(actor, campaign, "publish", perms.can_publish_campaign, fields=("published_at",))


def campaign_archive(*, actor, campaign: Campaign) -> Campaign:
    """Archive a published campaign (quality team, 403; from published only, 409). Locks the
    campaign row; audit event ``campaign.archive``."""
    return _transition_campaign(actor, campaign, "archive", perms.can_manage_campaign)


def campaign_cancel(*, actor, campaign: Campaign, reason: str = "") -> Campaign:
    """Cancel a campaign before publication (quality team, 403; 409 once published). The reason
    is scanned for direct identifiers first. Locks the campaign row, then its pending (blind)
    assignments, in id order; audit event ``campaign.cancel`` with the reason. Every pending
    review is taken back with the assignments' ``withdraw`` transition (audit event
    ``assignment.withdraw`` each, its draft deleted), so that no reviewer's queue keeps work that
    nobody will use; no review work is accepted in a cancelled campaign (``ensure_campaign_in``)."""
    ensure_no_identifiers(fields={"reason": reason})
    with transaction.atomic():
        campaign = locked_row(Campaign, campaign.pk)
        ensure(perms.can_manage_campaign(actor, campaign))
        apply_transition(campaign, "cancel")
        # Every row lock before the first audit event: the audit chain head is the last lock.
        pending = list(Assignment.objects.select_for_update(of=("self",)).filter(
            campaign_case__campaign=campaign, state__in=BLIND_STATES).order_by("id"))
        save_transitioned(campaign, "updated_at")
        audit_record(actor=actor, action="campaign.cancel", target=campaign,
                     data={"state": campaign.state, "reason": reason})
        withdrawal = "Campaign cancelled" + (f": {reason.strip()}" if reason.strip() else ".")
        AssignmentDraft.objects.filter(assignment__in=pending).delete()
        for a in pending:
            apply_transition(a, "withdraw", withdrawal)
            save_transitioned(a, "decline_reason", "updated_at")
            audit_record(actor=actor, action="assignment.withdraw", target=a,
                         data={"reason": withdrawal, "campaign_cancelled": True})
    return campaign


DEVIATION_STATES = (CampaignState.SCHEDULED, CampaignState.SAMPLED, CampaignState.IN_REVIEW,
                    CampaignState.ADJUDICATION, CampaignState.ANALYSIS)


def protocol_deviation_record(*, actor, campaign: Campaign, item: str, description: str,
                              reason: str) -> ProtocolDeviation:
    """Record a departure from the frozen protocol with its reason. Only once the protocol is
    frozen (scheduled) and before publication: a draft is still edited, a published campaign is
    corrected by a new report version (409). Locks the campaign row."""
    ensure_no_identifiers(fields={"item": item, "description": description, "reason": reason})
    errors = {k: ["required"] for k, v in (("item", item), ("description", description), ("reason", reason))
              if not v.strip()}
    if errors:
        raise ValidationFailed("A deviation needs the protocol item, what changed and why.", extra=errors)
    with transaction.atomic():
        campaign = locked_row(Campaign, campaign.pk)
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
