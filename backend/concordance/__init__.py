"""Concordance statistics for the collège de garantie humaine (no Django, no ORM).

Agreement between the AI output and blind human re-readings, agreement between readers,
diagnostic accuracy and proportions with confidence intervals. Pure Python, NumPy and pandas.

Conventions, stated once (each function's docstring gives its formula and source):

* missing values (``None``, ``NaN``, ``pd.NA``) are dropped pairwise;
* agreement "percentages" are fractions in [0, 1];
* Cohen's kappa standard error: large-sample formula of Fleiss, Cohen and Everitt (1969), as
  ``std_kappa`` of statsmodels; Wald interval ``kappa -/+ z se``; kappa is NaN when undefined;
* weighted kappa: linear or quadratic agreement weights over the label order given;
* proportions: Wilson score interval by default, Clopper-Pearson on request; ``n = 0`` gives a
  NaN estimate and the interval (0, 1);
* McNemar: exact binomial below 25 discordant pairs unless told otherwise, else chi-square
  without continuity correction unless ``correction=True``;
* rating tables for Krippendorff's alpha and Gwet's AC1 are units x raters with missing cells;
  AC1 intervals use Student's t with n - 1 degrees of freedom, truncated to [-1, 1] (irrCAC);
* design-weighted proportions: Hajek estimator, stratified linearization variance,
  Korn-Graubard interval (Clopper-Pearson with the effective sample size);
* equity: pooled two-proportion z test of each group against the rest, Holm-adjusted;
* drift: p-chart with 3-sigma per-point limits; threshold alerts from Wilson intervals.
"""

from .accuracy import McNemarResult, diagnostic_accuracy, diagnostic_summary, mcnemar
from .agreement import (
    KappaResult,
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    majority_label,
    percent_agreement,
)
from .design import WeightedProportion, design_weighted_proportion
from .drift import metric_series, p_chart, threshold_alerts
from .equity import equity_by_group, equity_table, two_proportion_z_test
from .indicators import METRICS, metric_indicators
from .oversight import (
    DISCREPANCY_GRADES,
    SIGNIFICANT_GRADES,
    ai_vs_clinician,
    discrepancy_distribution,
    reader_reliability,
    reader_table,
)
from .patient import patient_representative_findings
from .proportions import Proportion, clopper_pearson_interval, proportion, wilson_interval
from .reliability import AC1Result, AlphaResult, gwet_ac1, gwet_ac1_two_raters, krippendorff_alpha
from .sample import SMALL_SAMPLE, too_small
from .summary import campaign_summary, case_reference
from .threeway import THREE_WAY_CATEGORIES, automation_bias, three_way_category, three_way_concordance

__all__ = [
    "AC1Result",
    "DISCREPANCY_GRADES",
    "SIGNIFICANT_GRADES",
    "ai_vs_clinician",
    "discrepancy_distribution",
    "reader_reliability",
    "reader_table",
    "AlphaResult",
    "METRICS",
    "SMALL_SAMPLE",
    "THREE_WAY_CATEGORIES",
    "WeightedProportion",
    "automation_bias",
    "design_weighted_proportion",
    "diagnostic_summary",
    "equity_by_group",
    "equity_table",
    "gwet_ac1",
    "gwet_ac1_two_raters",
    "krippendorff_alpha",
    "metric_indicators",
    "metric_series",
    "p_chart",
    "patient_representative_findings",
    "three_way_category",
    "too_small",
    "three_way_concordance",
    "threshold_alerts",
    "two_proportion_z_test",
    "KappaResult",
    "McNemarResult",
    "Proportion",
    "campaign_summary",
    "case_reference",
    "clopper_pearson_interval",
    "cohen_kappa",
    "confusion_matrix",
    "diagnostic_accuracy",
    "fleiss_kappa",
    "majority_label",
    "mcnemar",
    "percent_agreement",
    "proportion",
    "wilson_interval",
]
