"""Reads across an AI system's campaigns and cases: the series of campaign figures (control
charts), population monitoring aggregated in the database, its corrective actions and vigilance
reports. Aggregates only."""

import math
from collections import Counter
from typing import Any

import pandas as pd
from django.db.models import Case as SqlCase
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.enums import Role
from cases.models import AISystem, Case
from committees.permissions import committee_ids_of
from concordance import (
    metric_series,
    p_chart,
    threshold_alerts,
)
from reviews.enums import BLIND_STATES
from reviews.models import Assignment, Campaign
from sittings.enums import OPEN_ACTION_STATES
from sittings.models import Action
from vigilance.enums import VigilanceState
from vigilance.models import VigilanceReport

from .campaign import FIGURE_STATES, campaign_frame, cell_disclosure, clean


def campaigns_in_series(user, ai_system: AISystem) -> list[Campaign]:
    """The finished campaigns of the AI system whose figures ``user`` may read: chair and
    secretary only their committees'; nobody a campaign where they still review blind. Two
    queries at most (the committee ids are cached on the user)."""
    qs = Campaign.objects.filter(ai_system=ai_system, state__in=FIGURE_STATES)
    if user.role in (Role.CHAIR, Role.SECRETARY):
        qs = qs.filter(committee_id__in=committee_ids_of(user))
    blind = Assignment.objects.filter(reviewer=user, state__in=BLIND_STATES).values("campaign_case__campaign_id")
    return list(qs.exclude(pk__in=blind).order_by("period_start", "id"))


def ai_system_series(ai_system: AISystem, campaigns: list[Campaign]) -> dict:
    """Per campaign: agreement and (with a positive label) sensitivity, on a p-chart with
    3-sigma limits, and the alerts of the AI system's ``acceptance_thresholds``
    (``{"sensitivity": 0.9, ...}``, read as minimums). Campaign-level counts only."""
    positive = ai_system.positive_label or None
    names = {c.pk: c.name for c in campaigns}
    df = campaign_frame(names, {c.pk: c.clinicians_per_case for c in campaigns})
    metrics = ["agreement"] + (["sensitivity", "specificity"] if positive is not None else [])
    out: dict[str, Any] = {"campaigns": [{"id": c.pk, "name": c.name, "period_start": c.period_start.isoformat()}
                                         for c in campaigns], "metrics": {}}
    order = {c.pk: i for i, c in enumerate(campaigns)}
    for metric in metrics:
        series = metric_series(df, "campaign_id", metric, positive) if len(df) else pd.DataFrame(
            columns=["period", "x", "n"])
        by_id = {int(r.period): (int(r.x), int(r.n)) for r in series.itertuples()}
        ordered = sorted(names, key=order.get)
        xs = [by_id.get(i, (0, 0))[0] for i in ordered]
        ns = [by_id.get(i, (0, 0))[1] for i in ordered]
        labels = [names[i] for i in ordered]
        chart = p_chart(xs, ns, labels) if ordered else {"centre": None, "points": [], "n_out": 0, "sigma": 3.0}
        threshold = (ai_system.acceptance_thresholds or {}).get(metric)
        alerts = threshold_alerts(xs, ns, float(threshold), labels) if threshold is not None and ordered else []
        out["metrics"][metric] = {"chart": chart, "threshold": threshold, "alerts": alerts}
    return clean(out)


# --- Population monitoring, aggregated in the database ----------------------------------------

def population_by_month_and_site(ai_system: AISystem, user=None) -> QuerySet:
    """Every imported case of the AI system (opted-out patients excluded), grouped by month and
    site in SQL: cases, AI positives, cases with a final decision and overrides (final ≠ AI), and
    how many of the cell's cases ``user`` still reads blind. One aggregate query."""
    positive = ai_system.positive_label
    one = Value(1, output_field=IntegerField())
    zero = Value(0, output_field=IntegerField())
    decided = ~Q(final_label="")
    if user is not None and getattr(user, "pk", None):
        blind = Exists(Assignment.objects.filter(campaign_case__case=OuterRef("pk"), reviewer=user,
                                                 state__in=BLIND_STATES))
        n_blind = Sum(SqlCase(When(blind, then=one), default=zero))
    else:
        n_blind = Value(0, output_field=IntegerField())
    return (
        Case.objects.filter(ai_system=ai_system, is_opted_out=False)
        .annotate(month=TruncMonth("exam_date"))
        .values("month", "site")
        .annotate(
            n=Count("id"),
            ai_positive=Sum(SqlCase(When(ai_label=positive, then=one), default=zero)),
            n_decided=Sum(SqlCase(When(decided, then=one), default=zero)),
            overridden=Sum(SqlCase(When(decided & ~Q(final_label=F("ai_label")), then=one), default=zero)),
            n_blind=n_blind,
        )
        .order_by("month", "site")
    )


def population_table(ai_system: AISystem, user=None) -> list[dict]:
    """The population cells. A cell of fewer than ``PUBLIC_MIN_CELL`` cases is suppressed for
    everyone (no figure, and the table has no total or margin to recompute it by subtraction); a
    cell holding a case ``user`` still reads blind is withheld (no figure, and nothing said of
    which case or how many)."""
    rows = []
    for r in population_by_month_and_site(ai_system, user):
        n, decided = r["n"], r["n_decided"] or 0
        cell = cell_disclosure(n, r["n_blind"])
        row = {"month": r["month"].strftime("%Y-%m") if r["month"] else None, "site": r["site"], "n": n,
               "small": cell["small"], "suppressed": cell["suppressed"], "withheld": cell["withheld"],
               "ai_positive": None, "ai_positive_rate": None, "n_decided": None, "overridden": None,
               "override_rate": None}
        if cell["shown"]:
            row |= {"ai_positive": r["ai_positive"] or 0, "ai_positive_rate": (r["ai_positive"] or 0) / n,
                    "n_decided": decided, "overridden": r["overridden"] or 0,
                    "override_rate": (r["overridden"] or 0) / decided if decided else None}
        rows.append(row)
    return rows


# --- AI system: corrective actions and vigilance, for management -------------------------------

def ai_system_actions(ai_system: AISystem, *, today=None) -> dict:
    """The corrective actions decided for the AI system, one query: counts (open, overdue, by
    state) and the table of actions (kind, title, owner, due date, state). No case-level data:
    an action names what is to be done, never a case."""
    today = today or timezone.localdate()
    rows = list(Action.objects.filter(ai_system=ai_system).order_by("due_date", "id").values_list(
        "id", "kind", "title", "owner__first_name", "owner__last_name", "due_date", "state", "completed_at"))
    actions = [{
        "id": pk, "kind": kind, "title": title, "owner": f"{first} {last}".strip(), "due_date": due, "state": state,
        "is_open": state in OPEN_ACTION_STATES, "is_overdue": state in OPEN_ACTION_STATES and due < today,
        "days_overdue": (today - due).days if state in OPEN_ACTION_STATES and due < today else None,
        "completed_at": completed,
    } for pk, kind, title, first, last, due, state, completed in rows]
    return {
        "n": len(actions), "n_open": sum(a["is_open"] for a in actions),
        "n_overdue": sum(a["is_overdue"] for a in actions),
        "by_state": dict(sorted(Counter(a["state"] for a in actions).items())), "rows": actions,
    }


def ai_system_vigilance(ai_system: AISystem, *, now=None) -> dict:
    """Vigilance reports of the AI system, one query: counts by state and, for each report, the
    art. 73 clock (deadline, days left or overdue, declared in time or late). No description, no
    case: management sees the clocks, never the event."""
    now = now or timezone.now()
    rows = list(VigilanceReport.objects.filter(ai_system=ai_system).order_by("aware_at", "id").values_list(
        "id", "state", "seriousness", "aware_at", "declared_at", "closed_at"))
    reports = []
    for pk, state, seriousness, aware_at, declared_at, closed_at in rows:
        clock = VigilanceReport(seriousness=seriousness, aware_at=aware_at, declared_at=declared_at).clock(now)
        days_left = clock["days_left"]
        reports.append({
            "id": pk, "state": state, "seriousness": seriousness, "aware_at": aware_at, "declared_at": declared_at,
            "closed_at": closed_at, "deadline": clock["deadline"], "is_open": state != VigilanceState.CLOSED,
            "days_left": math.floor(days_left) if days_left is not None and days_left >= 0 else None,
            "days_overdue": math.ceil(-days_left) if days_left is not None and days_left < 0 else None,
            "is_late": clock["is_late"], "declared_in_time": clock["declared_in_time"],
        })
    by_state = {s: 0 for s in VigilanceState.values} | dict(Counter(r["state"] for r in reports))
    return {"n": len(reports), "by_state": by_state, "rows": reports,
            "open": [r for r in reports if r["is_open"]]}
