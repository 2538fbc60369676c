"""Adjudication of a case whose clinician readers disagree: a third blind reading or the
committee's consensus."""

from datetime import date, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from common.fsm import apply_transition, save_transitioned

from .. import hooks
from .. import permissions as perms
from ..enums import (
    BLIND_STATES,
    AdjudicationMethod,
    AssignmentKind,
    CampaignCaseState,
    CampaignState,
)
from ..models import (
    Adjudication,
    Assignment,
    AssignmentDraft,
    CampaignCase,
)
from .common import ensure_campaign_in, one_more_reader

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
        ensure_campaign_in(cc, "ask for a third reading of", cc.campaign,
                            (CampaignState.IN_REVIEW, CampaignState.ADJUDICATION))
        if cc.assignments.filter(is_third_reading=True, state__in=BLIND_STATES).exists():
            raise TransitionNotAllowed("A third reading of this case is already pending.",
                                       extra={"state": cc.state})
        due = due_date or timezone.localdate() + timedelta(days=THIRD_READING_DAYS)
        if due < timezone.localdate():
            raise ValidationFailed("The due date is in the past.", extra={"due_date": ["in the past"]})
        campaign = cc.campaign
        rng = np.random.Generator(np.random.PCG64([campaign.seed or 0, cc.pk, cc.assignments.count()]))
        reader = one_more_reader(cc, AssignmentKind.CLINICIAN, rng)
        if reader is None:
            raise TransitionNotAllowed("No eligible clinician is left for a third reading of this case under the "
                                       "campaign's rules: decide it in session.", extra={"case": cc.case_id})
        position = Assignment.objects.filter(reviewer_id=reader, campaign_case__campaign=campaign).count() + 1
        assignment = Assignment.objects.create(
            campaign_case=cc, reviewer_id=reader, kind=AssignmentKind.CLINICIAN, is_third_reading=True,
            due_date=due, display_order=position)
        audit_record(actor=actor, action="assignment.third_reading", target=assignment,
                     data={"campaign_case": cc.pk, "due_date": due.isoformat()})
    return assignment


def adjudication_record(*, actor, campaign_case: CampaignCase, label: str, reasoning: str,
                        method: str = AdjudicationMethod.CONSENSUS) -> Adjudication:
    """Set the reference label of a case whose clinicians disagreed, with the reasoning. A third
    reading still pending on the case is withdrawn (its reader is told by their queue)."""
    ensure_no_identifiers(fields={"reasoning": reasoning})
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
        ensure_campaign_in(cc, "adjudicate", cc.campaign, (CampaignState.IN_REVIEW, CampaignState.ADJUDICATION))
        adjudication = Adjudication.objects.create(
            campaign_case=cc, decided_by=actor, method=method, label=label, reasoning=reasoning.strip())
        save_transitioned(cc, "reference_label")
        audit_record(actor=actor, action="campaign_case.adjudicate", target=cc, data={"label": label, "method": method})
        reason = "Adjudicated by the committee before the third reading."
        for pending in cc.assignments.select_for_update(of=("self",)).filter(is_third_reading=True,
                                                                                state__in=BLIND_STATES):
            apply_transition(pending, "withdraw", reason)
            AssignmentDraft.objects.filter(assignment=pending).delete()
            save_transitioned(pending, "decline_reason", "updated_at")
            audit_record(actor=actor, action="assignment.withdraw", target=pending, data={"reason": reason})
        if label != cc.case.ai_label:
            hooks.case_to_committee(cc)
    return adjudication
