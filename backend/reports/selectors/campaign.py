"""Reads of the dashboards: flat ``values_list`` queries into pandas, or aggregates in SQL.

Every dashboard reads a fixed number of queries whatever the number of cases or campaigns
(pinned by tests): case rows in one query, the clinicians' locked verdicts in another, then the
statistics of :mod:`concordance` on the DataFrames. Nothing here checks permissions: the views
call :mod:`reports.permissions` first; what a selector returns is chosen by its ``audience``
arguments (management never receives case-level data, so no per-case value and no AI version).
The one case-level read, :func:`discordant_cases`, is for callers with case-level access and is
never part of the figures a report freezes.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Exists, OuterRef

from concordance import (
    SMALL_SAMPLE,
    campaign_summary,
    case_reference,
    design_weighted_proportion,
    diagnostic_summary,
    gwet_ac1_two_raters,
    metric_indicators,
    patient_representative_findings,
    three_way_category,
    three_way_concordance,
    too_small,
)
from reviews.enums import LOCKED_STATES, AssignmentKind, CampaignCaseState, CampaignState
from reviews.models import Campaign, CampaignCase, Classification, Verdict
from sittings.agenda import ACTIVE_SESSION_STATES
from sittings.enums import AgendaItemState
from sittings.models import AgendaItem

from .oversight import oversight_figures
from .scores import score_figures

PUBLIC_MIN_CELL = 10
"""Public summaries suppress every count (and the rate drawn from it) under this many cases."""


def cell_disclosure(n: int, n_blind: int = 0) -> dict:
    """The one rule for a cell of cases in a breakdown (per month, site, service, version, or the
    AI system as a whole): under ``PUBLIC_MIN_CELL`` cases it is suppressed for everyone, and when
    it holds a case the reader still reads blind (``n_blind``, counted in the same query as the
    cell) it is withheld, whatever its size. ``shown`` only when neither: then, and only then, a
    figure drawn from the cell's AI outputs or final decisions may be given."""
    small = n < PUBLIC_MIN_CELL
    withheld = bool(n_blind)
    return {"small": small, "suppressed": small, "withheld": withheld, "shown": not (small or withheld)}

GROUPS = ("sex", "age_band", "site", "ai_version")
CASE_COLUMNS = ["campaign_case_id", "campaign_id", "ai_label", "final_label", "reference_label",
                "sex", "age_band", "site", "ai_version", "inclusion_probability", "stratum", "ai_score"]
CASE_FLAG_COLUMNS = ["case_id", "state", "possible_adverse_event", "agenda_pending", "agenda_decided"]
"""Case-level columns read only for the discordant-case list (``campaign_frame(with_case_flags=True)``)."""
PATIENT_QUESTIONS = ("patient_informed", "information_understandable", "rights_respected", "equity_concern")
"""Patient representatives' form fields (``Verdict``) read as yes/no/unknown questions."""
FIGURE_STATES = (CampaignState.ANALYSIS, CampaignState.PUBLISHED, CampaignState.ARCHIVED)
"""Campaigns whose figures enter the AI system's series: the review is over."""


def clean(value: Any) -> Any:
    """JSON-ready: NaN becomes None, NumPy scalars Python scalars, tuples lists, recursively."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def _as_list(series: pd.Series) -> list:
    """The values of a column, as ``list(series)`` gives them, read in one call."""
    return series.to_numpy(dtype=object).tolist()


def _blank_to_none(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.astype(object).ne(""), None)


def _case_flags() -> dict:
    """Annotations of a campaign case for the committee: a possible adverse event flagged by a
    reviewer after unblinding, and its place on a committee agenda (pending on a planned or open
    session, or already decided), as :mod:`sittings.agenda` reads them. Subqueries, so the case
    rows stay one query."""
    items = AgendaItem.objects.filter(campaign_case=OuterRef("pk"))
    return {
        "possible_adverse_event": Exists(Classification.objects.filter(
            assignment__campaign_case=OuterRef("pk"), possible_adverse_event=True)),
        "agenda_pending": Exists(items.filter(state=AgendaItemState.PENDING,
                                              session__state__in=ACTIVE_SESSION_STATES)),
        "agenda_decided": Exists(items.filter(state=AgendaItemState.DECIDED)),
    }


def campaign_frame(campaign_ids: Iterable[int], min_readers: dict[int, int], *,
                   with_case_flags: bool = False) -> pd.DataFrame:
    """One row per case of the campaigns, with the clinicians' reader labels and the reference.

    Two queries. The reference is :func:`concordance.case_reference` of the locked clinician
    verdicts, the recorded one first, with ``min_readers[campaign]`` readers. ``with_case_flags``
    adds the case-level columns of :data:`CASE_FLAG_COLUMNS` to the same case query (for callers
    with case-level access only)."""
    ids = list(campaign_ids)
    fields = ["id", "campaign_id", "case__ai_label", "case__final_label", "reference_label",
              "case__sex", "case__age_band", "case__site", "case__ai_version", "inclusion_probability", "stratum",
              "case__ai_score"]
    columns = list(CASE_COLUMNS)
    qs = CampaignCase.objects.filter(campaign_id__in=ids).order_by("campaign_id", "id")
    if with_case_flags:
        qs = qs.annotate(**_case_flags())
        fields += CASE_FLAG_COLUMNS
        columns += CASE_FLAG_COLUMNS
    cases = pd.DataFrame.from_records(list(qs.values_list(*fields)), columns=columns)
    readers: dict[int, list] = defaultdict(list)
    for campaign_case_id, label in Verdict.objects.filter(
        assignment__campaign_case__campaign_id__in=ids, assignment__kind=AssignmentKind.CLINICIAN,
        assignment__state__in=LOCKED_STATES,
    ).order_by("assignment__campaign_case_id", "assignment_id").values_list("assignment__campaign_case_id", "label"):
        readers[campaign_case_id].append(label)
    cases["reader_labels"] = [readers.get(i, []) for i in cases["campaign_case_id"].tolist()]
    for column in ("ai_label", "final_label", "reference_label", "sex", "age_band", "site", "ai_version"):
        cases[column] = _blank_to_none(cases[column])
    cases["reference_label"] = [
        case_reference(r, rec, min_readers.get(c, 1))
        for rec, r, c in zip(cases["reference_label"].tolist(), cases["reader_labels"].tolist(),
                             cases["campaign_id"].tolist(), strict=True)
    ]
    return cases


def campaign_dashboard_frame(campaign: Campaign, *, with_case_flags: bool = False) -> pd.DataFrame:
    """The campaign's case frame as its dashboard reads it (two queries, see :func:`campaign_frame`)."""
    return campaign_frame([campaign.pk], {campaign.pk: campaign.clinicians_per_case},
                          with_case_flags=with_case_flags)


def campaign_dashboard(campaign: Campaign, *, with_ai_version: bool, frame: pd.DataFrame | None = None) -> dict:
    """Every figure of a campaign's dashboard, JSON-serialisable (frozen as is in a report).

    Aggregates only: counts, proportions with their 95 % intervals, kappas, the confusion matrix
    and per-group tables. The AI-version subgroup names an AI version, a sealed field of the
    cases: only callers with case-level access get it (``with_ai_version``). ``frame`` is the
    frame of :func:`campaign_dashboard_frame` when the caller already read it (the dashboard view
    shares it with :func:`discordant_cases`); whatever case-level columns it holds, none of them
    reaches the figures."""
    ai = campaign.ai_system
    df = campaign_dashboard_frame(campaign) if frame is None else frame
    labels = list(ai.labels or [])
    positive = ai.positive_label or None
    summary = campaign_summary(
        df[["campaign_case_id", "ai_label", "final_label", "reader_labels", "reference_label"]].rename(
            columns={"campaign_case_id": "case_id"}),
        labels=labels or None, min_readers=campaign.clinicians_per_case,
    )
    two_read = [r for r in df["reader_labels"].tolist() if len(r) >= 2]
    ac1 = gwet_ac1_two_raters([r[0] for r in two_read], [r[1] for r in two_read], labels=summary["labels"] or None)
    ai_labels, final_labels, reference = (_as_list(df[c]) for c in ("ai_label", "final_label", "reference_label"))
    accuracy = None
    if positive is not None:
        accuracy = diagnostic_summary(ai_labels, reference, positive, labels=summary["labels"] or None)
        accuracy.pop("paired", None)
    three = three_way_concordance(ai_labels, final_labels, reference)
    three.pop("categories")  # per-case list: never leaves the selector
    metric = "sensitivity" if positive is not None else "agreement"
    groups = [g for g in GROUPS if with_ai_version or g != "ai_version"]
    patient = patient_findings(campaign)
    weighted = design_weighted(df, positive)
    oversight = oversight_figures(campaign, df, summary["labels"], positive, groups)
    # The equity table of the forest plot is that of the dashboard's first figure.
    equity = next(b["rows"] for b in oversight["equity_by_metric"] if b["metric"] == metric)
    return clean({
        "campaign": {"id": campaign.pk, "name": campaign.name, "ai_system": ai.name,
                     "period_start": campaign.period_start.isoformat(), "period_end": campaign.period_end.isoformat()},
        "positive": positive,
        "summary": summary,
        "readers_ac1": {"ac1": ac1.ac1, "ci_low": getattr(ac1, "ci_low", None),
                        "ci_high": getattr(ac1, "ci_high", None), "n": len(two_read)},
        "accuracy": accuracy,
        "three_way": three,
        "equity": {"metric": metric, "min_n": SMALL_SAMPLE, "rows": equity},
        "small_sample": too_small(summary["n_with_reference"]),
        "small_sample_threshold": SMALL_SAMPLE,
        "patient_findings": patient,
        "design_weighted": weighted,
        "scores": score_figures(df, ai),
        **oversight,
    })


DISCORDANT_FIRST = "ai_wrong_followed"
"""The three-way category the human guarantee exists to catch: listed first, with the cases
flagged as possible adverse events."""


def discordant_cases(frame: pd.DataFrame) -> list[dict]:
    """The campaign's discordant cases, for the committee: case-level data, so only for callers
    with case-level access (``reports.permissions.has_case_level_access``) and never frozen into
    a report. ``frame`` comes from ``campaign_dashboard_frame(campaign, with_case_flags=True)``:
    no query here, whatever the number of cases.

    A case is discordant when the AI output differs from the college's reference, when the
    clinician's final decision differs from it, or when the clinician readers disagreed (the case
    awaits adjudication or was adjudicated, or its locked readings differ). The reference is the
    dashboard's (recorded, else the readers' strict majority), so that the list and the
    three-way counts agree. Order: AI wrong but followed and flagged as a possible adverse event,
    then AI wrong but followed, then flagged, then the others; by campaign case within each."""
    if not len(frame):
        return []
    rows = []
    columns = ("campaign_case_id", "case_id", "ai_label", "final_label", "reference_label", "reader_labels", "state",
               "possible_adverse_event", "agenda_pending", "agenda_decided")
    for cc_id, case_id, ai, final, reference, readers, state, adverse, pending, decided in zip(
            *(_as_list(frame[c]) for c in columns), strict=True):
        ai, final, reference = clean(ai), clean(final), clean(reference)  # a missing label may read NaN
        readers_disagree = len(set(readers)) > 1 or state in (
            CampaignCaseState.NEEDS_ADJUDICATION, CampaignCaseState.ADJUDICATED)
        ai_differs = ai is not None and reference is not None and ai != reference
        final_differs = final is not None and reference is not None and final != reference
        if not (ai_differs or final_differs or readers_disagree):
            continue
        category = three_way_category(ai, final, reference)
        adverse = bool(adverse)
        # 0: wrong but followed and flagged, 1: wrong but followed, 2: flagged, 3: the others.
        rank = (0 if category == DISCORDANT_FIRST else 2) + (0 if adverse else 1)
        rows.append((rank, cc_id, {
            "campaign_case_id": cc_id, "case_id": case_id, "ai_label": ai, "final_label": final,
            "reference_label": reference, "awaiting_adjudication": state == CampaignCaseState.NEEDS_ADJUDICATION,
            "category": category, "readers_disagree": readers_disagree, "possible_adverse_event": adverse,
            "agenda": "decided" if decided else "pending" if pending else None,
        }))
    return [row for _rank, _cc, row in sorted(rows, key=lambda r: (r[0], r[1]))]


def patient_findings(campaign: Campaign) -> dict:
    """The patient representatives' locked answers (one query) as
    :func:`concordance.patient_representative_findings` reports them: for each question the
    share of "yes" among yes/no answers (Wilson interval) and the share of "unknown" among the
    answered (DESIGN §8). A blank answer counts as missing."""
    rows = Verdict.objects.filter(
        assignment__campaign_case__campaign=campaign, assignment__kind=AssignmentKind.PATIENT_REP,
        assignment__state__in=LOCKED_STATES).values_list(*PATIENT_QUESTIONS)
    answers = pd.DataFrame.from_records(list(rows), columns=list(PATIENT_QUESTIONS)).replace({"": None})
    return {"n_reviews": len(answers), "questions": patient_representative_findings(answers, PATIENT_QUESTIONS)}


def design_weighted(df: pd.DataFrame, positive) -> dict:
    """Population estimates weighted by the inverse inclusion probabilities (Hajek, stratified
    variance, Korn-Graubard interval): AI / reference agreement and, with a positive label,
    sensitivity and specificity; the override rate (final decision differs from the AI, on the
    cases with both) and the reliance on a wrong AI (final decision follows an AI output that
    differs from the reference), as :data:`concordance.METRICS` defines them. Only cases in a
    figure's domain count as successes or failures; the others stay in the sample (their
    stratum's size)."""
    if not len(df):
        return {}
    reference = df["reference_label"]
    has_ref = reference.notna().to_numpy()
    strata = [s or "" for s in _as_list(df["stratum"])]
    probs = df["inclusion_probability"].astype(float).clip(upper=1.0)
    ai = df["ai_label"]
    agreed = np.equal(ai.to_numpy(dtype=object), reference.to_numpy(dtype=object)).astype(bool)
    out = {"agreement": design_weighted_proportion(
        np.where(has_ref, agreed, None), probs, strata=strata).to_dict()}
    if positive is not None:
        ai_pos = (ai == positive).to_numpy(dtype=bool)
        ref_pos = (reference == positive).to_numpy(dtype=bool) & has_ref
        ref_neg = (reference != positive).to_numpy(dtype=bool) & has_ref
        out["sensitivity"] = design_weighted_proportion(ai_pos, probs, in_domain=ref_pos, strata=strata).to_dict()
        out["specificity"] = design_weighted_proportion(~ai_pos, probs, in_domain=ref_neg, strata=strata).to_dict()
    for metric in ("override_rate", "reliance_on_wrong_ai"):
        success, domain = metric_indicators(df, metric)
        out[metric] = design_weighted_proportion(success, probs, in_domain=domain, strata=strata).to_dict()
    return out


def _suppress(x: int | None, n: int | None) -> dict:
    """A public rate ``x / n``: shown when its cell (the ``n`` cases it is drawn from) passes
    :func:`cell_disclosure`, the one small-cell rule; suppressed otherwise, count and rate."""
    if n is None or x is None or not cell_disclosure(n)["shown"]:
        return {"suppressed": True, "x": None, "n": None, "estimate": None}
    return {"suppressed": False, "x": x, "n": n, "estimate": x / n}


PUBLIC_EQUITY_DIMENSIONS = ("sex", "age_band", "site")
"""The equity breakdowns a public summary may carry (never the AI version, a sealed field)."""


def public_equity(equity: dict | None) -> dict | None:
    """The dashboard's equity table (``figures["equity"]``) for the public: per dimension, each
    group's ``n`` and estimate when its cell passes :func:`cell_disclosure`, suppressed otherwise.
    When exactly one group of a dimension is suppressed, the smallest shown group is suppressed
    too, so that no suppressed cell can be recovered by subtraction from the others. No interval,
    no test, no count of successes. ``None`` when the dashboard had no equity table."""
    if not equity or not equity.get("rows"):
        return None
    dimensions = []
    for dimension in PUBLIC_EQUITY_DIMENSIONS:
        rows = [r for r in equity["rows"] if r.get("dimension") == dimension]
        if not rows:
            continue
        cells = [{"group": str(r["group"]), "n": r["n"], "estimate": r["estimate"],
                  "suppressed": r["estimate"] is None or not cell_disclosure(r["n"])["shown"]} for r in rows]
        shown = [c for c in cells if not c["suppressed"]]
        if len(cells) - len(shown) == 1 and shown:
            min(shown, key=lambda c: (c["n"], c["group"]))["suppressed"] = True
        for c in cells:
            if c["suppressed"]:
                c["n"] = c["estimate"] = None
        dimensions.append({"dimension": dimension, "groups": cells})
    return {"metric": equity["metric"], "dimensions": dimensions}


def public_summary(figures: dict) -> dict:
    """The public figures drawn from a dashboard: a handful of aggregates and the equity table by
    sex, age band and site, each figure drawn from fewer than ``PUBLIC_MIN_CELL`` cases suppressed
    (:func:`cell_disclosure`), so that no small group can be singled out."""
    summary = figures["summary"]
    agreement = summary["ai_vs_reference"]
    n = agreement.get("n") or 0
    agreed = round((agreement.get("percent_agreement") or 0) * n) if n else None
    three = figures["three_way"]
    counts = three["counts"]
    overridden_n = three["override_rate"]["n"]
    overridden_x = three["override_rate"]["x"]
    caught = counts.get("ai_wrong_overridden", 0)
    return {
        "campaign": figures["campaign"],
        "n_cases": summary["n_cases"] if cell_disclosure(summary["n_cases"])["shown"] else None,
        "agreement": _suppress(agreed, n),
        "override": _suppress(overridden_x, overridden_n),
        "ai_wrong_caught": _suppress(caught, three["n_complete"]),
        "equity": public_equity(figures.get("equity")),
        "min_cell": PUBLIC_MIN_CELL,
    }


# --- AI system: campaign after campaign -------------------------------------------------------
