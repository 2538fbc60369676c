"""A case as the committee discusses it (AI output, the readers' labels, the reference) and the
request for a third blind reading of a case whose readers disagree."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from cases.labels import label_display
from common.exceptions import Forbidden
from reidentification import permissions as rperms
from reviews import permissions as perms
from reviews import services
from reviews.enums import AssignmentKind, CampaignCaseState
from sittings.selectors import campaign_case_get_for_campaign, case_reading_list

from .. import reads
from ..labels import state_display
from .committee_common import committee_errors


@login_required
@require_safe
@committee_errors("case")
def case_context(request, pk: int, campaign_case_pk: int):
    """The evidence the committee weighs, for the chair, the quality team and every member of the
    committee who does not read this case blind (404 otherwise): clinical context, report text,
    image link, and every reader's label, confidence, rationale, discrepancy class and
    adverse-event flag. Three queries whatever the number of readers."""
    cc = reads.case_context_for(request.user, pk, campaign_case_pk)
    # a member who sees the evidence is never drawn to read this case blind afterwards
    services.evidence_seen(user=request.user, case_ids=[cc.case_id])
    readers = []
    for a in case_reading_list(cc):
        verdict = getattr(a, "verdict", None)
        classification = getattr(a, "classification", None)
        readers.append({
            "kind_label": AssignmentKind(a.kind).label, "state_label": a.get_state_display(),
            "label": label_display(verdict.label if verdict else ""),
            "confidence": verdict.confidence if verdict else None,
            "rationale": (verdict.rationale or verdict.comments) if verdict else "",
            "discrepancy": classification.get_discrepancy_display() if classification else "",
            "adverse_event": classification.possible_adverse_event if classification else None,
            "third": a.is_third_reading})
    return render(request, "committees/case.html", {
        "cc": cc, "campaign": cc.campaign, "case": cc.case,
        "state_label": state_display(CampaignCaseState, cc.state),
        "ai_label": label_display(cc.case.ai_label), "final_label": label_display(cc.case.final_label),
        "reference_label": label_display(cc.reference_label), "readers": readers,
        "can_third_reading": cc.state == CampaignCaseState.NEEDS_ADJUDICATION
        and perms.can_request_third_reading(request.user, cc),
        "can_request_reid": rperms.can_request(request.user, cc) and bool(cc.case.source_reference),
    })


@login_required
@require_safe
@committee_errors("case")
def adjudication_list(request, pk: int):
    """The campaign's cases whose readers disagree, each with its third-reading button."""
    campaign = reads.campaign_for(request.user, pk)
    return render(request, "committees/adjudication_list.html", {
        "campaign": campaign, "rows": reads.adjudication_rows(request.user, campaign)})


@login_required
@require_POST
@committee_errors("case", "third_reading")
def third_reading(request, pk: int, campaign_case_pk: int):
    campaign = reads.campaign_for(request.user, pk)
    cc = campaign_case_get_for_campaign(campaign, campaign_case_pk)
    if cc is None:
        raise Http404
    if not perms.can_request_third_reading(request.user, cc):
        raise Forbidden("Only the committee chair or the quality team can ask for a third reading.")
    services.third_reading_request(actor=request.user, campaign_case=cc)
    messages.success(request, _("A third reader is asked to read case %(case)s blind.") % {"case": cc.case_id})
    if request.POST.get("next") == "case":
        return redirect("web:case_context", pk=campaign.pk, campaign_case_pk=cc.pk)
    return redirect("web:adjudication_list", pk=campaign.pk)
