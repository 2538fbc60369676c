"""Reads of the oversight figures of a campaign dashboard: AI against clinician, reliability across
all the clinician readers, the discrepancy grades and automation bias given after unblinding,
equity of every headline figure, and the per-reader table of the quality team.

One query (the classifications) on top of the dashboard's case frame; the per-reader table one
more, and only for the quality team (the view checks ``reports.permissions.can_view_reader_table``):
it names readers, so it never enters the figures a report freezes.
"""

from collections.abc import Iterable

import pandas as pd

from cases.enums import OutputType
from concordance import (
    SMALL_SAMPLE,
    ai_vs_clinician,
    automation_bias,
    cohen_kappa,
    discrepancy_distribution,
    equity_table,
    reader_reliability,
    reader_table,
)
from reviews.enums import LOCKED_STATES, AssignmentKind
from reviews.models import Campaign, Classification, Verdict

WEIGHTS = "linear"
"""The agreement weights of the weighted kappa of ordinal outputs: ``1 - |i - j| / (k - 1)``."""

EQUITY_METRICS = ("agreement", "sensitivity", "specificity", "ppv", "npv", "clinician_agreement", "override_rate",
                  "reliance_on_wrong_ai")
"""Every headline proportion, in the order of the dashboard; the accuracy ones need a positive label."""


def _classifications(campaign: Campaign) -> pd.DataFrame:
    """The clinician readers' post-unblinding answers: blind label, AI output, grade, "would have
    changed" (one query)."""
    rows = Classification.objects.filter(
        assignment__campaign_case__campaign=campaign, assignment__kind=AssignmentKind.CLINICIAN,
    ).order_by("assignment_id").values_list(
        "assignment__verdict__label", "assignment__campaign_case__case__ai_label", "discrepancy",
        "would_have_changed")
    frame = pd.DataFrame.from_records(list(rows), columns=["verdict", "ai_label", "discrepancy", "would_change"])
    return frame.replace({"": None})


def oversight_figures(campaign: Campaign, df: pd.DataFrame, labels: list, positive, groups: Iterable[str]) -> dict:
    """The oversight figures of the campaign's dashboard (aggregates only), from its case frame
    ``df`` (:func:`reports.selectors.campaign_dashboard_frame`) and one query."""
    ai, final, reference = (df[c].to_numpy(dtype=object).tolist() for c in ("ai_label", "final_label",
                                                                              "reference_label"))
    ordinal = campaign.ai_system.output_type == OutputType.ORDINAL
    weighted = None
    if ordinal:
        weighted = cohen_kappa(ai, reference, labels=labels or None, weights=WEIGHTS).to_dict()
    answers = _classifications(campaign)
    bias = automation_bias(answers, verdict="verdict", ai_label="ai_label", would_change="would_change")
    groups = list(groups)
    metrics = [m for m in EQUITY_METRICS if positive is not None or m not in ("sensitivity", "specificity", "ppv",
                                                                              "npv")]
    return {
        "ai_vs_clinician": ai_vs_clinician(ai, final, reference),
        "weighted_kappa": weighted,
        "reliability": reader_reliability(df["reader_labels"].tolist(), labels=labels or None, ordinal=ordinal),
        "discrepancies": discrepancy_distribution(answers["discrepancy"].tolist()),
        "automation_bias": bias,
        "equity_by_metric": [{"metric": m, "rows": rows} for m, rows in equity_table(
            df, groups, metrics, positive, min_n=SMALL_SAMPLE).items()],
    }


def reader_rows(campaign: Campaign, frame: pd.DataFrame) -> list[dict]:
    """The per-reader table (one query): for each clinician reader of the campaign, agreement of
    their locked readings with the case's reference (the dashboard's, from ``frame``) and the
    discrepancy grades they gave after unblinding (:func:`concordance.reader_table`). For the
    quality team only: never in a report, never for management."""
    reference = dict(zip(frame["campaign_case_id"].tolist(), frame["reference_label"].tolist(), strict=True))
    rows = Verdict.objects.filter(
        assignment__campaign_case__campaign=campaign, assignment__kind=AssignmentKind.CLINICIAN,
        assignment__state__in=LOCKED_STATES,
    ).order_by("assignment_id").values_list("assignment__reviewer__username", "assignment__campaign_case_id", "label",
                                            "assignment__classification__discrepancy")
    return reader_table((reader, label or None, reference.get(cc), grade or None)
                        for reader, cc, label, grade in rows)
