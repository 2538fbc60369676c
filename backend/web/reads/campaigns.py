"""Campaign pages: list, summary and results, progress board, frozen protocol and deviations."""

import datetime as dt

from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext, gettext_lazy

from cases.labels import label_display
from committees.enums import MemberRole
from committees.selectors import member_list_for_committee
from common.fsm import available_transitions
from concordance import SMALL_SAMPLE, too_small
from reviews import permissions as perms
from reviews import selectors
from reviews.enums import (
    ACTIVE_STATES,
    BLIND_STATES,
    LOCKED_STATES,
    AssignmentKind,
    AssignmentState,
    CampaignCaseState,
    CampaignState,
)
from reviews.models import Assignment, Campaign
from reviews.services import DEVIATION_STATES

from ..labels import CAMPAIGN_ACTIONS, CAMPAIGN_CONSEQUENCES, state_display, stratum_display

# --- Campaigns -------------------------------------------------------------------------------

def sees_campaign_details(user, campaign: Campaign, *, blind_campaign_ids: frozenset[int] | None = None) -> bool:
    """The audience of the API's full ``CampaignSerializer`` (seed, population, protocol) for this
    campaign (``perms.can_view_campaign_design``: never while reading it blind); everyone else
    gets ``CampaignReviewerSerializer``'s fields."""
    return perms.can_view_campaign_design(user, campaign, blind_campaign_ids=blind_campaign_ids)


def campaign_for(user, pk: int) -> Campaign:
    try:
        return selectors.campaign_get_for_user(user, pk)
    except Campaign.DoesNotExist:
        raise Http404 from None


def figures_campaign_for(user, pk: int) -> Campaign:
    """A campaign whose dashboard the caller may look for (a member in office: their committee's
    campaigns too); 404 otherwise."""
    campaign = selectors.figures_campaign_list_for_user(user).filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


def campaign_rows(user) -> list[dict]:
    """One row per visible campaign; the period, committee and sizes only on the rows whose design
    the caller may see (one query for the campaigns the caller reads blind)."""
    blind = perms.blind_campaign_ids_of(user)
    rows = []
    for c in selectors.campaign_list_for_user(user):
        row = {"id": c.pk, "name": c.name, "state_label": state_display(CampaignState, c.state),
               "ai_system": c.ai_system.name, "review_deadline": c.review_deadline,
               "details": sees_campaign_details(user, c, blind_campaign_ids=blind)}
        if row["details"]:
            row |= {"committee": c.committee.name, "period_start": c.period_start, "period_end": c.period_end,
                    "sample_size": c.sample_size, "n_cases": c.n_cases}
        rows.append(row)
    return rows


def can_see_progress(user, campaign: Campaign) -> bool:
    """As the API's ``progress`` action: case states say whether readers agreed, so they are
    results-like and hidden from anyone who still reads blind in the campaign."""
    return perms.can_view_campaign_progress(user, campaign)


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
        "too_small": too_small(block.get("n") or 0),  # the dashboard's rule, figure by figure
    }


def results_view(results: dict) -> dict:
    """``selectors.campaign_results`` shaped for a page: percentages, the reason a kappa is not
    computable, the dashboard's "too small to conclude" warning (counted on the cases with a
    reference), and the confusion matrix as rows of display labels."""
    labels = results["labels"]
    confusion = results["confusion"]
    column_totals = [sum(confusion[row][col] for row in labels) for col in labels]
    return {
        "n_cases": results["n_cases"], "n_with_reference": results["n_with_reference"],
        "n_needs_adjudication": results["n_needs_adjudication"],
        "small_sample": too_small(results["n_with_reference"]), "small_sample_threshold": SMALL_SAMPLE,
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
    details = sees_campaign_details(user, campaign)
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
            {"name": name, "label": CAMPAIGN_ACTIONS[name], "consequence": CAMPAIGN_CONSEQUENCES[name]}
            for name in available_transitions(campaign, user, perms.CAMPAIGN_TRANSITIONS)
        ],
        "blocked": [],
    }
    # The sample can be drawn only from a population that holds cases: the button is not offered
    # when the draw would be refused, and the page says why instead.
    if any(t["name"] == "draw_sample" for t in ctx["transitions"]) and not selectors.campaign_population_exists(
            campaign):
        ctx["transitions"] = [t for t in ctx["transitions"] if t["name"] != "draw_sample"]
        ctx["blocked"].append(gettext("No case of this AI system in the campaign's period and scope can be sampled: "
                                "import cases or change the period before drawing the sample."))
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
            ctx["results_hidden"] = "role"
    elif perms.reads_campaign_figures(user) and perms.reads_campaign_blind(user, campaign):
        ctx["results_hidden"] = "blind"  # a role that would see the results is told why it does not
    return ctx


# --- Progress board (quality team) ---------------------------------------------------------------

def can_see_board(user, campaign: Campaign) -> bool:
    """The board names reviewers and their pace, never a stratum, an AI output or a verdict, but
    it is an operator's page: ``perms.can_operate_campaign``."""
    return perms.can_operate_campaign(user, campaign)


_BOARD_ROW_FIELDS = ("id", "reviewer__username", "kind", "campaign_case_id", "due_date", "decline_reason", "state")
_ID_MARK = 987654321  # stands for a row's id in an address reversed once per board


def _board_rows(rows, campaign: Campaign, *, today: dt.date | None) -> list[dict]:
    """Board rows from flat ``_BOARD_ROW_FIELDS`` rows, with what the template shows already
    formatted (addresses, titles, due date, labels), each formatted once per distinct value: a
    board lists thousands of reviews, and a template tag per cell costs more than the query.
    ``today``: mark overdue rows (pending list only)."""
    review_url = reverse("web:assignment", args=[_ID_MARK])
    reassign_url = reverse("web:assignment_reassign", args=[campaign.pk, _ID_MARK])
    review_no, reassign_no = gettext("Review no. %(n)s"), gettext("Reassign review no. %(n)s")
    kinds = {k: str(label) for k, label in AssignmentKind.choices}
    states = {s: state_display(AssignmentState, s) for s in AssignmentState.values}
    dates: dict[dt.date, str] = {}
    out = []
    for r in rows:
        pk, due = r["id"], r["due_date"]
        if due not in dates:
            dates[due] = date_format(due, "SHORT_DATE_FORMAT")
        row = {"id": pk, "reviewer": r["reviewer__username"], "kind_label": kinds[r["kind"]],
               "campaign_case": r["campaign_case_id"], "due_date": due, "due_date_display": dates[due],
               "reason": r["decline_reason"], "state": r["state"], "state_label": states[r["state"]],
               "title": review_no % {"n": pk}, "reassign_title": reassign_no % {"n": pk},
               "url": review_url.replace(str(_ID_MARK), str(pk)),
               "reassign_url": reassign_url.replace(str(_ID_MARK), str(pk))}
        if today is not None:
            row["is_overdue"] = due < today
        out.append(row)
    return out


def board_view(campaign: Campaign, *, today: dt.date | None = None) -> dict:
    """Per reviewer: active (assigned), opened, locked and overdue counts, in one aggregate
    query; then the pending, declined, expired and withdrawn reviews (one flat query each,
    reviewer joined). Counts and names only: no case content, stratum, AI output or verdict.
    ``today`` decides what is overdue (default: the local date)."""
    today = today or timezone.localdate()
    per_reviewer = selectors.campaign_board_rows(campaign, today=today)
    assignments = Assignment.objects.filter(campaign_case__campaign=campaign).values(*_BOARD_ROW_FIELDS)
    pending = _board_rows(
        assignments.filter(state__in=BLIND_STATES).order_by("due_date", "reviewer__username", "pk"), campaign,
        today=today)
    closed = _board_rows(assignments.filter(
        state__in=[AssignmentState.DECLINED, AssignmentState.EXPIRED, AssignmentState.WITHDRAWN]
    ).order_by("-updated_at", "pk"), campaign, today=None)
    by_state = {s: [r for r in closed if r["state"] == s]
                for s in (AssignmentState.DECLINED, AssignmentState.EXPIRED, AssignmentState.WITHDRAWN)}
    return {
        "campaign_id": campaign.pk,
        "reviewers": per_reviewer,
        "pending": pending,
        "declined": by_state[AssignmentState.DECLINED],
        "expired": by_state[AssignmentState.EXPIRED],
        "withdrawn": by_state[AssignmentState.WITHDRAWN],
        "can_reassign": campaign.state == CampaignState.IN_REVIEW,
        "bulk_url": reverse("web:board_reassign", args=[campaign.pk]),
        "reviewer_choices": board_reviewer_choices(campaign, today),
    }


def board_reviewer_choices(campaign: Campaign, today: dt.date | None = None) -> list[dict]:
    """The committee's readers in office, for the board's "give to" list (one query). Whether
    one may take a given review (seat, conflicts of interest, own service or site, already a
    reader of the case) is the reassignment service's check, row by row."""
    today = today or timezone.localdate()
    seats = {s: str(label) for s, label in MemberRole.choices}
    members = member_list_for_committee(campaign.committee_id, with_conflicts=False).filter(
        role__in=[MemberRole.CLINICIAN, MemberRole.CHAIR, MemberRole.PATIENT_REP], user__is_active=True,
    ).active_on(today).order_by("user__username", "role")
    out, seen = [], set()
    for m in members:
        if m.user_id not in seen:
            seen.add(m.user_id)
            out.append({"id": m.user_id, "label": f"{m.user.display_name} ({m.user.username}) · {seats[m.role]}"})
    return out


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
                         "; ".join(f"{stratum_display(k)} → {v}" for k, v in design["sizes"].items())))
        if design.get("oversample"):
            rows.append((gettext("Over-sampling weights"),
                         "; ".join(f"{stratum_display(k)} → {_num(v)}" for k, v in design["oversample"].items())))
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
