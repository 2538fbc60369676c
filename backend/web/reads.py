"""Reads of the web interface: the template contexts, built from the selectors.

Blinding rule (the same as ``reviews.api.serializers``): a page receives plain dictionaries,
never model instances, and a blind page's dictionaries are built from the case's blind fields
only (``BLIND_CASE_FIELDS``). The sealed fields (AI output, score, version, the clinician's final
decision) and the other reviewers' verdicts are read only for an assignment in
``UNBLINDED_STATES``, exactly where the API switches to ``AssignmentUnblindedSerializer``. So a
template cannot leak what its context does not hold.
"""

import datetime as dt

from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext, gettext_lazy

from accounts.enums import RESULTS_READER_ROLES
from cases.enums import Sex
from common.fsm import available_transitions
from reviews import permissions as perms
from reviews import selectors
from reviews.enums import (
    ACTIVE_STATES,
    LOCKED_STATES,
    UNBLINDED_STATES,
    AssignmentKind,
    AssignmentState,
    CampaignCaseState,
    CampaignState,
    Discrepancy,
    YesNoUnknown,
)
from reviews.models import Assignment, Campaign
from reviews.services import DEVIATION_STATES

from .labels import CAMPAIGN_ACTIONS, label_display, state_display

BLIND_CASE_FIELDS = (
    "exam_date", "site", "service", "sex", "age_band", "clinical_context", "report_text", "image_url",
)
"""What a blind reviewer may read of a case: the fields of ``BlindCaseSerializer``."""

SMALL_SAMPLE = 30
"""Below this many cases the page warns that the sample is too small to conclude."""


# --- Assignments -----------------------------------------------------------------------------

def assignment_for(user, pk: int) -> Assignment:
    """The assignment as the caller may see it (their own; every one for the quality team),
    else 404: an assignment someone else reads does not exist for the caller."""
    try:
        return selectors.assignment_list_for_user(user).get(pk=pk)
    except Assignment.DoesNotExist:
        raise Http404 from None


def reviewer_queue(user) -> list[dict]:
    """The caller's own assignments grouped by campaign, in the selector's order (due date,
    then the shuffled ``display_order``: nothing derived from the case orders the queue).
    One query whatever the number of assignments; no sealed field is copied."""
    groups: dict[int, dict] = {}
    today = timezone.localdate()
    for a in selectors.assignment_list_for_user(user).filter(reviewer=user):
        campaign = a.campaign_case.campaign
        group = groups.get(campaign.pk)
        if group is None:
            group = groups[campaign.pk] = {
                "campaign_id": campaign.pk, "name": campaign.name, "ai_system": campaign.ai_system.name,
                "deadline": campaign.review_deadline, "rows": [], "n_locked": 0, "n_total": 0,
            }
        if a.state in ACTIVE_STATES:
            group["n_total"] += 1
            group["n_locked"] += a.state in LOCKED_STATES
        group["rows"].append({
            "id": a.pk, "position": a.display_order, "kind": AssignmentKind(a.kind).label,
            "state": a.state, "state_label": state_display(AssignmentState, a.state), "due_date": a.due_date,
            "needs_action": a.state in (AssignmentState.ASSIGNED, AssignmentState.OPENED,
                                        AssignmentState.SUBMITTED, AssignmentState.UNBLINDED),
            "is_overdue": _is_overdue(a, today),
        })
    return list(groups.values())


def _is_overdue(a: Assignment, today) -> bool:
    """Past its due date with the blind verdict still not locked."""
    return a.state in (AssignmentState.ASSIGNED, AssignmentState.OPENED) and a.due_date < today


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
    to show: ``start`` (nothing of the case yet), ``verdict`` (blind case and form), ``locked``
    (blind case and own verdict), ``unblinded`` (everything, for this reviewer), ``closed_out``
    (declined or expired)."""
    ctx: dict = {"assignment": _assignment_summary(a)}
    case = a.campaign_case.case
    if a.state == AssignmentState.ASSIGNED:
        ctx["step"] = "start"
    elif a.state == AssignmentState.OPENED:
        ctx |= {"step": "verdict", "case": blind_case(case)}
    elif a.state == AssignmentState.SUBMITTED:
        ctx |= {"step": "locked", "case": blind_case(case), "verdict": _verdict(a.verdict, a.kind)}
    elif a.state in UNBLINDED_STATES:
        classification = getattr(a, "classification", None)
        ctx |= {
            "step": "unblinded", "case": blind_case(case), "verdict": _verdict(a.verdict, a.kind),
            "sealed": _sealed_case(case), "other_verdicts": _other_verdicts(a),
            "classification": _classification(classification) if classification else None,
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


# --- Campaigns -------------------------------------------------------------------------------

def sees_campaign_details(user) -> bool:
    """The audience of the API's full ``CampaignSerializer`` (seed, population, protocol);
    everyone else gets ``CampaignReviewerSerializer``'s fields."""
    return perms.is_campaign_manager(user) or user.role in RESULTS_READER_ROLES


def campaign_for(user, pk: int) -> Campaign:
    try:
        return selectors.campaign_get_for_user(user, pk)
    except Campaign.DoesNotExist:
        raise Http404 from None


def campaign_rows(user) -> list[dict]:
    return [
        {"id": c.pk, "name": c.name, "state_label": state_display(CampaignState, c.state),
         "ai_system": c.ai_system.name, "committee": c.committee.name, "period_start": c.period_start,
         "period_end": c.period_end, "review_deadline": c.review_deadline, "sample_size": c.sample_size,
         "n_cases": c.n_cases}
        for c in selectors.campaign_list_for_user(user)
    ]


def can_see_progress(user, campaign: Campaign) -> bool:
    """As the API's ``progress`` action: case states say whether readers agreed, so they are
    results-like and hidden from anyone who still reads blind in the campaign."""
    return perms.can_manage_campaign(user, campaign) or perms.can_view_campaign_results(user, campaign)


def progress_view(campaign: Campaign) -> dict:
    progress = selectors.campaign_progress(campaign)
    cases, assignments = progress["cases"], progress["assignments"]
    return {
        "campaign_id": campaign.pk,
        "cases": [(state_display(CampaignCaseState, s), cases[s])
                  for s in CampaignCaseState.values if cases.get(s)],
        "assignments": [(state_display(AssignmentState, s), assignments[s])
                        for s in AssignmentState.values if assignments.get(s)],
        "n_cases": sum(cases.values()),
        "n_locked": sum(n for s, n in assignments.items() if s in LOCKED_STATES),
        "n_active": sum(n for s, n in assignments.items() if s in ACTIVE_STATES),
    }


def _percent(fraction):
    return None if fraction is None else fraction * 100


def _agreement(block: dict, *, one_label_reason: str) -> dict:
    kappa = block.get("kappa")
    reason = ""
    if kappa is None:
        reason = "no_case" if not block.get("n") else one_label_reason
    return {
        "n": block.get("n") or 0, "percent": _percent(block.get("percent_agreement")), "kappa": kappa,
        "ci_low": block.get("kappa_ci_low"), "ci_high": block.get("kappa_ci_high"), "kappa_reason": reason,
    }


def results_view(results: dict) -> dict:
    """``selectors.campaign_results`` shaped for a page: percentages, the reason a kappa is not
    computable, and the confusion matrix as rows of display labels."""
    labels = results["labels"]
    confusion = results["confusion"]
    column_totals = [sum(confusion[row][col] for row in labels) for col in labels]
    return {
        "n_cases": results["n_cases"], "n_with_reference": results["n_with_reference"],
        "n_needs_adjudication": results["n_needs_adjudication"],
        "small_sample": results["n_cases"] < SMALL_SAMPLE, "small_sample_threshold": SMALL_SAMPLE,
        "ai_vs_reference": _agreement(results["ai_vs_reference"], one_label_reason="one_label"),
        "readers": _agreement(results["readers"], one_label_reason="one_label"),
        "ai_vs_final": _agreement(results["ai_vs_final"], one_label_reason="one_label"),
        "labels": [label_display(x) for x in labels],
        "confusion": [
            {"label": label_display(row), "counts": [confusion[row][col] for col in labels],
             "total": sum(confusion[row].values())}
            for row in labels
        ],
        "column_totals": column_totals, "grand_total": sum(column_totals),
    }


def campaign_page(user, campaign: Campaign) -> dict:
    """A campaign's summary. Reviewers get the fields of ``CampaignReviewerSerializer`` (name,
    state, AI system, deadline); progress and results follow the API's gates."""
    details = sees_campaign_details(user)
    ai = campaign.ai_system
    ctx = {
        "campaign": {
            "id": campaign.pk, "name": campaign.name, "state": campaign.state,
            "state_label": state_display(CampaignState, campaign.state),
            "ai_system": ai.name, "review_deadline": campaign.review_deadline,
        },
        "details": details,
        "progress": progress_view(campaign) if can_see_progress(user, campaign) else None,
        "results": None,
        "results_hidden": False,
        "transitions": [
            {"name": name, "label": CAMPAIGN_ACTIONS[name]}
            for name in available_transitions(campaign, user, perms.CAMPAIGN_TRANSITIONS)
        ],
    }
    if details:
        ctx["campaign"] |= {
            "ai_version": ai.version, "committee": campaign.committee.name,
            "period_start": campaign.period_start, "period_end": campaign.period_end,
            "sites": campaign.sites, "sample_size": campaign.sample_size,
            "population_size": campaign.population_size, "seed": campaign.seed,
            "population_hash": campaign.population_hash, "clinicians_per_case": campaign.clinicians_per_case,
            "patient_reps_per_case": campaign.patient_reps_per_case, "n_cases": campaign.n_cases,
        }
        if perms.can_view_campaign_results(user, campaign):
            ctx["results"] = results_view(selectors.campaign_results(campaign))
        else:
            ctx["results_hidden"] = "blind" if perms.has_blind_reviews_in(user, campaign) else "role"
    return ctx


# --- Progress board (quality team) ---------------------------------------------------------------

def can_see_board(user, campaign: Campaign) -> bool:
    """The quality team, minus anyone who still reads blind in the campaign (a quality member
    may also sit on the committee): the board names reviewers and their pace, never a stratum,
    an AI output or a verdict, but it is an operator's page and stays with operators."""
    return perms.is_campaign_manager(user) and not perms.has_blind_reviews_in(user, campaign)


def _row_ref(a: Assignment) -> dict:
    return {"id": a.pk, "reviewer": a.reviewer.username, "kind_label": AssignmentKind(a.kind).label,
            "campaign_case": a.campaign_case_id, "due_date": a.due_date, "reason": a.decline_reason,
            "state_label": state_display(AssignmentState, a.state)}


def board_view(campaign: Campaign) -> dict:
    """Per reviewer: active (assigned), opened, locked and overdue counts, in one aggregate
    query; then the pending, declined, expired and withdrawn reviews (one query each, reviewer
    joined). Counts and names only: no case content, stratum, AI output or verdict."""
    today = timezone.localdate()
    per_reviewer = selectors.campaign_board_rows(campaign, today=today)
    assignments = Assignment.objects.filter(campaign_case__campaign=campaign).select_related("reviewer")
    blind = [AssignmentState.ASSIGNED, AssignmentState.OPENED]
    pending = [_row_ref(a) | {"is_overdue": a.due_date < today}
               for a in assignments.filter(state__in=blind).order_by("due_date", "reviewer__username", "pk")]
    closed = list(assignments.filter(
        state__in=[AssignmentState.DECLINED, AssignmentState.EXPIRED, AssignmentState.WITHDRAWN]
    ).order_by("-updated_at", "pk"))
    return {
        "campaign_id": campaign.pk,
        "reviewers": per_reviewer,
        "pending": pending,
        "declined": [_row_ref(a) for a in closed if a.state == AssignmentState.DECLINED],
        "expired": [_row_ref(a) for a in closed if a.state == AssignmentState.EXPIRED],
        "withdrawn": [_row_ref(a) for a in closed if a.state == AssignmentState.WITHDRAWN],
        "can_reassign": campaign.state == CampaignState.IN_REVIEW,
    }


# --- Frozen protocol and its deviations (quality team and committee officers) --------------------
# The protocol may name strata built on the AI output: shown only to ``can_view_deviations``
# callers (never reviewers, never management), like the deviations themselves.

_DESIGN_TYPES = {"simple_random": gettext_lazy("Simple random"), "stratified": gettext_lazy("Stratified")}
_STRATA_BY = {"ai_label": gettext_lazy("AI output"), "score_band": gettext_lazy("AI confidence band"),
              "site": gettext_lazy("Site"), "override": gettext_lazy("Clinician override")}
_ALLOCATIONS = {"proportional": gettext_lazy("Proportional"), "equal": gettext_lazy("Equal per stratum"),
                "set": gettext_lazy("Set per stratum")}
_THRESHOLDS = {"agreement": gettext_lazy("Agreement AI / reference"), "sensitivity": gettext_lazy("Sensitivity"),
               "specificity": gettext_lazy("Specificity"), "ppv": gettext_lazy("Positive predictive value"),
               "npv": gettext_lazy("Negative predictive value")}


def _named(mapping: dict, key: str) -> str:
    return str(mapping.get(key, key))


def _design_rows(design: dict) -> list[tuple[str, str]]:
    rows = [(gettext("Sampling design"), _named(_DESIGN_TYPES, design.get("type", "")))]
    if design.get("type") == "stratified":
        rows += [
            (gettext("Strata"), ", ".join(_named(_STRATA_BY, s) for s in design.get("strata_by", []))),
            (gettext("Allocation to strata"), _named(_ALLOCATIONS, design.get("allocation", ""))),
        ]
        if design.get("sizes"):
            rows.append((gettext("Sample size per stratum"),
                         "; ".join(f"{k} : {v}" for k, v in design["sizes"].items())))
        if design.get("oversample"):
            rows.append((gettext("Over-sampling weights"),
                         "; ".join(f"{k} : {_num(v)}" for k, v in design["oversample"].items())))
    return rows


def _num(value) -> str:
    """A frozen number as typed (2, not 2.0), with the locale's decimal separator."""
    return number_format(f"{value:g}") if isinstance(value, int | float) else str(value)


def _on_off(value) -> str:
    return gettext("yes") if value else gettext("no")


def protocol_view(protocol: dict) -> list[tuple[str, str]] | None:
    """The protocol frozen at ``schedule`` (``campaign.protocol``) as (label, value) rows, or
    None while the campaign is a draft (nothing frozen yet). Values are read from the frozen
    copy, never from the campaign's current fields: a deviation shows against what was frozen."""
    if not protocol:
        return None
    ai = protocol.get("ai_system") or {}
    period = protocol.get("period") or ["", ""]
    thresholds = protocol.get("acceptance_thresholds") or {}
    return [
        *_design_rows(protocol.get("design") or {}),
        (gettext("Sample size"), str(protocol.get("sample_size", ""))),
        (gettext("Period"), " – ".join(date_format(dt.date.fromisoformat(d)) for d in period if d)),
        (gettext("Sites"), ", ".join(protocol.get("sites") or []) or gettext("all sites")),
        (gettext("Readers per case"), gettext("%(c)s clinician(s), %(p)s patient representative(s)") % {
            "c": protocol.get("clinicians_per_case", ""), "p": protocol.get("patient_reps_per_case", "")}),
        (gettext("Required specialty"), protocol.get("required_specialty") or gettext("any specialty")),
        (gettext("Exclude reviewers of the case's own service"), _on_off(protocol.get("exclude_own_service"))),
        (gettext("Exclude reviewers of the case's own site"), _on_off(protocol.get("exclude_own_site"))),
        (gettext("Review deadline"),
         date_format(dt.date.fromisoformat(protocol["review_deadline"])) if protocol.get("review_deadline") else ""),
        (gettext("Reminders (days before the deadline)"),
         ", ".join(str(d) for d in protocol.get("reminder_days") or []) or "—"),
        (gettext("AI system"), f"{ai.get('name', '')} {ai.get('version', '')}".strip()),
        (gettext("Acceptance thresholds"),
         "; ".join(f"{_named(_THRESHOLDS, k)} ≥ {_num(v)}" for k, v in thresholds.items()) or "—"),
    ]


def deviations_view(user, campaign: Campaign) -> dict | None:
    """The "Protocol deviations" section of the campaign page, or None for whoever may not see
    it (``can_view_deviations``). One query: the deviations with their author."""
    if not perms.can_view_deviations(user, campaign):
        return None
    return {
        "protocol": protocol_view(campaign.protocol),
        "rows": [
            {"created_at": d.created_at, "author": d.recorded_by.display_name,
             "state_label": state_display(CampaignState, d.campaign_state), "item": d.item,
             "description": d.description, "reason": d.reason}
            for d in selectors.protocol_deviation_list(campaign)
        ],
        "can_record": perms.can_manage_campaign(user, campaign) and campaign.state in DEVIATION_STATES,
    }


# --- Committees: sessions, actions, vigilance, re-identification --------------------------------
# Case-level committee work is for the quality team and the officers sitting on the committee;
# anyone else gets 404. A case item is withheld (no reasons, no decision, no link) from someone
# who still reads that case blind (``committees.permissions.can_view_item``): the set of such
# cases is read once per page (``blind_case_ids``), never once per item.

def blind_case_ids(user) -> frozenset[int]:
    """Campaign cases the caller still reads blind: one query."""
    from reviews.enums import BLIND_STATES

    if not user.is_authenticated:
        return frozenset()
    return frozenset(Assignment.objects.filter(reviewer=user, state__in=BLIND_STATES)
                     .values_list("campaign_case_id", flat=True))


def committees_for(user):
    """Committees whose sessions the caller may see: all for the quality team, the ones they sit
    on for an officer, none for anyone else."""
    from accounts.enums import CAMPAIGN_MANAGER_ROLES, COMMITTEE_OFFICER_ROLES
    from committees.models import Committee

    if not user.is_authenticated:
        return Committee.objects.none()
    if user.role in CAMPAIGN_MANAGER_ROLES:
        return Committee.objects.all()
    if user.role in COMMITTEE_OFFICER_ROLES:
        return Committee.objects.filter(pk__in=perms.committee_ids_of(user))
    return Committee.objects.none()


def committee_for(user, pk: int):
    from committees.models import Committee
    from committees.permissions import can_view_sessions

    committee = Committee.objects.filter(pk=pk).first()
    if committee is None or not can_view_sessions(user, committee.pk):
        raise Http404
    return committee


def session_for(user, pk: int, *, for_update: bool = False):
    from committees.models import Session
    from committees.permissions import can_view_sessions

    session = Session.objects.select_related("committee", "signed_by").filter(pk=pk).first()
    if session is None or not can_view_sessions(user, session.committee_id):
        raise Http404
    return session


def item_for(user, session, item_pk: int):
    """An agenda item of ``session`` the caller may see (404 for a case they read blind)."""
    from committees.models import AgendaItem
    from committees.permissions import can_view_item

    item = AgendaItem.objects.select_related("campaign_case__campaign__ai_system").filter(
        pk=item_pk, session=session).first()
    if item is None or not can_view_item(user, item):
        raise Http404
    return item


def action_for(user, pk: int):
    from committees.models import Action
    from committees.permissions import can_view_action

    action = Action.objects.select_related("committee", "owner", "decision__item__session").filter(pk=pk).first()
    if action is None or not can_view_action(user, action):
        raise Http404
    return action


def vigilance_for(user, pk: int):
    from vigilance.models import VigilanceReport
    from vigilance.permissions import can_view_report

    report = VigilanceReport.objects.select_related("committee", "ai_system", "campaign_case", "declared_by").filter(
        pk=pk).first()
    if report is None or not can_view_report(user, report):
        raise Http404
    return report


def vigilance_list_for(user):
    """Reports of the committees the caller handles, minus those of a case they read blind. The
    art. 73 clock is computed per row from the row itself: no query per report."""
    from django.db.models import Exists, OuterRef

    from reviews.enums import BLIND_STATES
    from vigilance.models import VigilanceReport

    blind = Assignment.objects.filter(reviewer=user, state__in=BLIND_STATES,
                                      campaign_case_id=OuterRef("campaign_case_id"))
    return (VigilanceReport.objects.filter(committee__in=committees_for(user))
            .annotate(blind=Exists(blind)).filter(blind=False)
            .select_related("committee", "ai_system").order_by("state", "aware_at", "id"))


def vigilance_clock(report, now=None) -> dict:
    clock = report.clock(now)
    days_left = clock["days_left"]
    return clock | {
        "days_left_whole": None if days_left is None else int(days_left) if days_left >= 0 else None,
        "days_late": None if days_left is None or days_left >= 0 else int(-days_left) + 1,
    }


def reid_for(user, pk: int):
    from reidentification.models import ReidentificationRequest
    from reidentification.permissions import can_view_request

    request = (ReidentificationRequest.objects.select_related(
        "campaign_case__campaign__committee", "campaign_case__case", "requested_by", "decided_by")
        .filter(pk=pk).first())
    if request is None or not can_view_request(user, request):
        raise Http404
    return request


def case_context_for(user, campaign_pk: int, cc_pk: int):
    """A case of a campaign as the committee discusses it (AI output, readers' labels), for the
    quality team and the committee's officers, never for someone still reading it blind."""
    from committees.permissions import can_view_sessions
    from reviews.models import CampaignCase

    cc = (CampaignCase.objects.select_related("campaign__ai_system", "campaign__committee", "case")
          .filter(pk=cc_pk, campaign_id=campaign_pk).first())
    if cc is None or not can_view_sessions(user, cc.campaign.committee_id) or perms.has_blind_review_of(user, cc):
        raise Http404
    return cc


def adjudication_rows(user, campaign: Campaign) -> list[dict]:
    """Cases of ``campaign`` whose readers disagree, for whoever already sees the campaign's board
    or results and its committee's sessions (never someone reading in it blind; 404 otherwise),
    with whether the caller may ask for a third reading of each."""
    from committees.permissions import can_view_sessions

    if not (can_see_board(user, campaign) or (perms.can_view_campaign_results(user, campaign)
                                               and can_view_sessions(user, campaign.committee_id))):
        raise Http404
    rows = []
    ccs = list(campaign.campaign_cases.filter(state=CampaignCaseState.NEEDS_ADJUDICATION).order_by("pk"))
    pending = set(Assignment.objects.filter(campaign_case__in=ccs, is_third_reading=True,
                                            state__in=[AssignmentState.ASSIGNED, AssignmentState.OPENED])
                  .values_list("campaign_case_id", flat=True))
    for cc in ccs:
        cc.campaign = campaign
        rows.append({"id": cc.pk, "case_id": cc.case_id, "third_reading_pending": cc.pk in pending,
                     "can_request": perms.can_request_third_reading(user, cc)})
    return rows
