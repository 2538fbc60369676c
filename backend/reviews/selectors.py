"""Reads for campaigns, cases in campaigns and assignments, already scoped to the caller.

Blinding lives here as much as in the serializers: a reviewer's querysets only ever contain
their own assignments, and staff querysets of case-level data exclude any case on which the
caller still has a blind review pending.
"""

import pandas as pd
from django.db.models import Case as SqlCase
from django.db.models import Count, Prefetch, Q, QuerySet, Value, When

from accounts.enums import COMMITTEE_OFFICER_ROLES, Role
from cases.models import AISystem
from committees.permissions import committee_ids_of, is_officer_of
from common.cache import cached
from concordance import campaign_summary

from . import permissions as perms
from . import planner
from .enums import (
    ACTIVE_STATES,
    BLIND_CASE_FIELDS,
    BLIND_STATES,
    LOCKED_STATES,
    RUNNING_CAMPAIGN_STATES,
    AssignmentKind,
    AssignmentState,
    CampaignState,
)
from .models import Assignment, Campaign, CampaignCase, ProtocolDeviation, Verdict
from .sampling import Design, allocation_for, campaign_population, population_for, stratum_counts


def campaign_list_for_user(user) -> QuerySet[Campaign]:
    """Managers and management see every campaign; chair and secretary those of their
    committees; reviewers those in which they have an assignment."""
    qs = Campaign.objects.select_related("ai_system", "committee").annotate(
        n_cases=Count("campaign_cases", distinct=True)
    )
    if perms.is_campaign_manager(user) or user.role == Role.MANAGEMENT:
        return qs
    if user.role in COMMITTEE_OFFICER_ROLES:
        return qs.filter(
            Q(committee_id__in=committee_ids_of(user)) | Q(campaign_cases__assignments__reviewer=user)
        ).distinct()
    return qs.filter(campaign_cases__assignments__reviewer=user).distinct()


def figures_campaign_list_for_user(user) -> QuerySet[Campaign]:
    """The campaigns whose dashboard the caller may look for: those of ``campaign_list_for_user``
    and, for a member in office of a committee (any seat), that committee's campaigns. Whether
    the figures show is ``perms.can_view_campaign_results`` (never while reading blind)."""
    seats = committee_ids_of(user) if perms.reads_member_figures(user) else frozenset()
    if not seats or perms.is_campaign_manager(user) or user.role == Role.MANAGEMENT:
        return campaign_list_for_user(user)
    qs = Campaign.objects.select_related("ai_system", "committee").annotate(
        n_cases=Count("campaign_cases", distinct=True))
    return qs.filter(Q(committee_id__in=seats) | Q(campaign_cases__assignments__reviewer=user)).distinct()


def campaign_get_for_user(user, pk: int) -> Campaign:
    return campaign_list_for_user(user).get(pk=pk)


def can_list_campaign_cases(user, campaign: Campaign) -> bool:
    """Case-level rows carry each case's stratum and inclusion probability (the design): never
    for a caller who reads the campaign blind, whatever their role."""
    return _lists_cases_by_role(user, campaign) and not perms.reads_campaign_blind(user, campaign)


def _lists_cases_by_role(user, campaign: Campaign) -> bool:
    return perms.is_campaign_manager(user) or is_officer_of(user, campaign.committee_id)


def campaign_case_list_for_user(user, campaign: Campaign | None = None) -> QuerySet[CampaignCase]:
    """Case-level rows, with the sealed data, for the quality team and the officers of the
    campaign's committee; never for management, and never a case of a campaign in which the
    caller still reads some case blind (its strata and inclusion probabilities are the design)."""
    qs = CampaignCase.objects.all()
    if campaign is not None:
        if not _lists_cases_by_role(user, campaign):  # blindness: the subquery below, in the same query
            return qs.none()
        qs = qs.filter(campaign=campaign)
    elif not perms.is_campaign_manager(user):
        if user.role not in COMMITTEE_OFFICER_ROLES:
            return qs.none()
        qs = qs.filter(campaign__committee_id__in=committee_ids_of(user))
    return (
        qs.exclude(perms.reads_blind_in_campaign(user))
        .select_related("case", "campaign__ai_system", "adjudication__decided_by")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.select_related("reviewer", "verdict").order_by("kind", "id"),
            )
        )
        .order_by("id")
    )


def assignment_scope_for_user(user) -> QuerySet[Assignment]:
    """The assignments the caller may reach: a reviewer's own; every one for the quality team
    (who never review). Nobody else. No join and no order: what an action on one assignment needs
    to answer 404 for the others (its service then locks the row with its joins)."""
    if perms.is_campaign_manager(user):
        return Assignment.objects.all()
    return Assignment.objects.filter(reviewer=user)


def assignment_list_for_user(user) -> QuerySet[Assignment]:
    """``assignment_scope_for_user`` with everything their serializers read joined: a reviewer's
    in their shuffled order, the quality team's by campaign and case."""
    qs = assignment_scope_for_user(user).select_related(
        "campaign_case__case", "campaign_case__campaign__ai_system", "verdict", "classification", "reviewer"
    )
    if perms.is_campaign_manager(user):
        return qs.order_by("campaign_case__campaign_id", "campaign_case_id", "id")
    return qs.order_by("due_date", "display_order")


def assignment_todo_q() -> Q:
    """The assignments that still ask something of their reviewer: a blind reading in a campaign
    under review (a third reading also during adjudication), or, for a clinician, the
    classification after their lock while the campaign runs. A patient representative's work
    ends with their locked form; nothing is asked in an ended campaign."""
    campaign_state = "campaign_case__campaign__state"
    return (
        Q(state__in=BLIND_STATES, **{campaign_state: CampaignState.IN_REVIEW})
        | Q(state__in=BLIND_STATES, is_third_reading=True, **{campaign_state: CampaignState.ADJUDICATION})
        | Q(kind=AssignmentKind.CLINICIAN, state__in=[AssignmentState.SUBMITTED, AssignmentState.UNBLINDED],
            **{f"{campaign_state}__in": RUNNING_CAMPAIGN_STATES})
    )


def assignment_is_todo(a: Assignment) -> bool:
    """``assignment_todo_q`` for one assignment whose campaign is loaded."""
    campaign_state = a.campaign_case.campaign.state
    if a.state in BLIND_STATES:
        return campaign_state == CampaignState.IN_REVIEW or (
            a.is_third_reading and campaign_state == CampaignState.ADJUDICATION)
    return (a.kind == AssignmentKind.CLINICIAN and campaign_state in RUNNING_CAMPAIGN_STATES
            and a.state in (AssignmentState.SUBMITTED, AssignmentState.UNBLINDED))


def next_assignment_for_user(user, *, after: Assignment | None = None) -> Assignment | None:
    """The reviewer's next case to work on (one query): in the campaign of ``after`` first, then
    the campaigns under review, each in the queue's order (due date, then the shuffled
    ``display_order``); never ``after`` itself. None when nothing is left to do."""
    qs = Assignment.objects.filter(assignment_todo_q(), reviewer=user)
    first = Value(0)
    if after is not None:
        qs = qs.exclude(pk=after.pk)
        first = SqlCase(When(campaign_case__campaign_id=after.campaign_case.campaign_id, then=Value(0)),
                     default=Value(1))
    running = SqlCase(When(campaign_case__campaign__state=CampaignState.IN_REVIEW, then=Value(0)), default=Value(1))
    return qs.order_by(first, running, "due_date", "display_order", "id").first()


QUEUE_VERDICT_FIELDS = ("locked_at", "label", "confidence", "rationale", "patient_informed",
                        "information_understandable", "rights_respected", "equity_concern", "comments")
"""The reviewer's own verdict as the queue shows it (``VerdictSerializer``'s fields)."""


def assignment_queue_for_user(user):
    """A reviewer's own assignments in their queue order (``assignment_list_for_user``), as flat
    rows in one query: the assignment, its campaign and AI system, the blind fields of its case
    (``BLIND_CASE_FIELDS``, nothing sealed) and the reviewer's own verdict once locked. The slim
    queue serializer (``api.serializers.queue_rows``) shapes them without building six model
    instances per row."""
    return (
        Assignment.objects.filter(reviewer=user)
        .order_by("due_date", "display_order")
        .values(
            "id", "kind", "state", "due_date", "display_order", "opened_at", "submitted_at", "unblinded_at",
            "campaign_case__campaign_id", "campaign_case__campaign__name", "campaign_case__campaign__state",
            "campaign_case__campaign__review_deadline", "campaign_case__campaign__ai_system__name",
            "campaign_case__campaign__ai_system__labels", "campaign_case__case_id", "verdict__id",
            *(f"campaign_case__case__{f}" for f in BLIND_CASE_FIELDS),
            *(f"verdict__{f}" for f in QUEUE_VERDICT_FIELDS),
        )
    )


def other_verdicts_for(assignment: Assignment) -> list[Verdict]:
    """The other reviewers' locked verdicts on the same case: only ever called for an unblinded
    assignment (the serializer that calls it exists only for those)."""
    return list(
        Verdict.objects.filter(assignment__campaign_case_id=assignment.campaign_case_id,
                               assignment__state__in=LOCKED_STATES)
        .exclude(assignment_id=assignment.pk)
        .select_related("assignment")
        .order_by("assignment__kind", "assignment_id")
    )


def campaign_progress(campaign: Campaign) -> dict:
    """Counts per case state and per assignment state: no sealed content."""
    cases = dict(campaign.campaign_cases.values_list("state").annotate(n=Count("id")).order_by())
    assignments = dict(
        Assignment.objects.filter(campaign_case__campaign=campaign)
        .values_list("state").annotate(n=Count("id")).order_by()
    )
    return {"cases": cases, "assignments": assignments}


def campaign_revision(campaign: Campaign, *, with_cases: bool = True) -> tuple:
    """A value that changes with every committed change to what the campaign's board, progress and
    figures derive from, for cache keys (``common.cache``): the campaign's identity and state, and
    the number of its assignments (and, ``with_cases``, of its cases) per state, in one or two
    aggregate queries. Why it is enough: assignments and cases in a campaign change only through
    their state machines, which are acyclic, so any set of committed transitions changes the
    counts; a new assignment (reassignment, third reading) adds one; verdicts, classifications
    and adjudications are written with a transition and never edited; case rows in a campaign are
    not updated by imports; due dates are set at creation."""
    assignments = tuple(sorted(
        Assignment.objects.filter(campaign_case__campaign=campaign)
        .values_list("state").annotate(n=Count("id")).order_by()
    ))
    cases = tuple(sorted(
        campaign.campaign_cases.values_list("state").annotate(n=Count("id")).order_by()
    )) if with_cases else ()
    return (campaign.pk, campaign.created_at.isoformat(), campaign.state, assignments, cases)


def campaign_results(campaign: Campaign) -> dict:
    """The campaign's concordance summary (AI vs the clinicians' reference, between clinicians,
    AI vs the final decision), cached under the campaign's revision (one key for every audience:
    callers check ``perms.can_view_campaign_results`` first)."""
    return cached(("campaign_results", campaign.pk), lambda: _campaign_results(campaign),
                  revision=campaign_revision(campaign))


def _campaign_results(campaign: Campaign) -> dict:
    """``campaign_results`` computed from two flat queries into pandas."""
    rows = pd.DataFrame.from_records(
        campaign.campaign_cases.values_list(
            "id", "case__ai_label", "case__final_label", "reference_label"
        ),
        columns=["case_id", "ai_label", "final_label", "reference_label"],
    )
    verdicts = pd.DataFrame.from_records(
        Verdict.objects.filter(
            assignment__campaign_case__campaign=campaign, assignment__kind=AssignmentKind.CLINICIAN,
            assignment__state__in=LOCKED_STATES,
        )
        .order_by("assignment__campaign_case_id", "assignment_id")
        .values_list("assignment__campaign_case_id", "label"),
        columns=["case_id", "label"],
    )
    readers = verdicts.groupby("case_id")["label"].agg(list) if len(verdicts) else pd.Series(dtype=object)
    if rows.empty:
        rows["reader_labels"] = []
    else:
        rows["reader_labels"] = rows["case_id"].map(readers).apply(lambda v: v if isinstance(v, list) else [])
        rows["final_label"] = rows["final_label"].replace("", None)
        # The recorded reference (unanimous clinicians, or the adjudication) overrides the majority.
        rows["reference_label"] = rows["reference_label"].replace("", None)
    return campaign_summary(
        rows[["case_id", "ai_label", "final_label", "reader_labels", "reference_label"]],
        labels=campaign.ai_system.labels,
        min_readers=campaign.clinicians_per_case,
    )


def protocol_deviation_list(campaign: Campaign) -> QuerySet[ProtocolDeviation]:
    return campaign.deviations.select_related("recorded_by").order_by("created_at", "id")


def campaign_plan(*, target: str = "agreement", expected: float | None = None, half_width: float = 0.05,
                  confidence: float = 0.95, prevalence: float | None = None, sample_size: int | None = None,
                  ai_system: AISystem | None = None, period_start=None, period_end=None,
                  sites: list[str] | None = None, design: dict | None = None) -> dict:
    """Preview for the campaign wizard: the sample size a precision target needs (finite
    population correction when the population is given), and, for a population, its size and
    the allocation of the sample to the strata of ``design`` with each stratum's inclusion
    probability. Counts only, computed in the database; strata may be built on the AI output:
    callers are campaign managers. Raises ``ValueError`` for an invalid design."""
    checked = Design.from_dict(design)
    population = None
    if ai_system is not None:
        qs = population_for(ai_system_id=ai_system.pk, period_start=period_start, period_end=period_end,
                            sites=sites or [])
        counts = stratum_counts(qs, checked)
        population = sum(counts.values())
    out: dict = {"target": target, "confidence": confidence, "half_width": half_width,
                 "population_size": population}
    if target == "sensitivity":
        se = 0.9 if expected is None else expected
        infinite = planner.n_for_sensitivity(se, half_width, prevalence, confidence)
        plan = planner.n_for_sensitivity(se, half_width, prevalence, confidence, population)
        out |= {"expected": se, "prevalence": prevalence, "diseased_needed": infinite.diseased,
                "required_without_fpc": infinite.total, "required": plan.total}
    else:
        p = 0.5 if expected is None else expected
        out |= {"expected": p, "required_without_fpc": planner.n_for_proportion(p, half_width, confidence),
                "required": planner.n_for_proportion(p, half_width, confidence, population)}
    out["design"] = checked.as_dict()
    n = sample_size or out["required"]
    if checked.type == "stratified" and checked.allocation == "set":
        n = sum(checked.sizes.values())
    out["sample_size"] = n
    out["strata"] = None
    if population is not None:
        quotas = allocation_for(checked, n, counts)
        out["sample_size"] = sum(quotas.values())
        out["strata"] = [
            {"stratum": s, "population": counts[s], "sample": quotas.get(s, 0),
             "inclusion_probability": (quotas.get(s, 0) / counts[s]) if counts[s] else 0.0}
            for s in counts
        ]
    return out


def campaign_board_rows(campaign: Campaign, *, today) -> list[dict]:
    """One row per reviewer of the campaign: active, opened, locked and overdue review counts
    (one aggregate query). Counts of states only: nothing about cases, strata or verdicts."""
    blind = list(BLIND_STATES)
    return list(
        Assignment.objects.filter(campaign_case__campaign=campaign)
        .values("reviewer_id", "reviewer__username")
        .annotate(
            assigned=Count("id", filter=Q(state__in=ACTIVE_STATES)),
            opened=Count("id", filter=Q(opened_at__isnull=False, state__in=ACTIVE_STATES)),
            locked=Count("id", filter=Q(state__in=LOCKED_STATES)),
            overdue=Count("id", filter=Q(state__in=blind, due_date__lt=today)),
            declined=Count("id", filter=Q(state=AssignmentState.DECLINED)),
            expired=Count("id", filter=Q(state=AssignmentState.EXPIRED)),
        )
        .order_by("reviewer__username")
    )


def campaign_population_exists(campaign: Campaign) -> bool:
    """Whether the campaign's population holds at least one case to draw (one EXISTS query):
    the page offers "draw the sample" only then, as the draw refuses an empty population."""
    return campaign_population(campaign).exists()


def board_pending_list(campaign: Campaign) -> QuerySet[Assignment]:
    """The campaign's reviews still pending (blind), which the board may reassign."""
    return Assignment.objects.filter(campaign_case__campaign=campaign, state__in=list(BLIND_STATES)).order_by("pk")
