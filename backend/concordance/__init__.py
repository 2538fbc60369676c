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
  without continuity correction unless ``correction=True``.
"""

from .accuracy import McNemarResult, diagnostic_accuracy, mcnemar
from .agreement import (
    KappaResult,
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    majority_label,
    percent_agreement,
)
from .proportions import Proportion, clopper_pearson_interval, proportion, wilson_interval
from .summary import campaign_summary

__all__ = [
    "KappaResult",
    "McNemarResult",
    "Proportion",
    "campaign_summary",
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
