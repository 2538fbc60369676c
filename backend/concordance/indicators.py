"""Per-case success indicators of the product's proportion metrics, shared by equity, drift and design weights.

Every metric here is a proportion ``successes / cases in its domain``; :func:`metric_indicators`
turns a per-case DataFrame into the two boolean arrays ``success`` and ``in_domain`` so that the
same definition serves a subgroup table, a control chart and a design-weighted estimate.

Columns read (names fixed, one row per case): ``ai_label``, ``final_label`` (the clinician's
final decision) and ``reference_label`` (the college's blind reference). Missing values
(``pandas.isna``) take a case out of the domain of the metrics that need them.
"""

import itertools
import operator
from collections.abc import Hashable

import numpy as np
import pandas as pd

from .agreement import _missing_mask, _native, _natives

__all__ = ["METRICS", "metric_indicators"]

#: metric name -> (domain, success), in words; the code below is the definition.
METRICS: dict[str, str] = {
    "agreement": "cases with ai and reference; success ai == reference",
    "sensitivity": "cases whose reference is positive (ai present); success ai positive",
    "specificity": "cases whose reference is negative (ai present); success ai not positive",
    "ppv": "cases whose ai is positive (reference present); success reference positive",
    "npv": "cases whose ai is negative (reference present); success reference not positive",
    "clinician_agreement": "cases with final and reference; success final == reference",
    "override_rate": "cases with ai and final; success final != ai",
    "reliance_on_wrong_ai": "cases with ai != reference and final; success final == ai",
}
_NEEDS_POSITIVE = {"sensitivity", "specificity", "ppv", "npv"}


def _column(df: pd.DataFrame, name: str) -> tuple[list, np.ndarray]:
    if name not in df.columns:
        raise ValueError(f"metric needs the column {name!r}")
    values = _natives(df[name])
    return values, ~_missing_mask(values)


def metric_indicators(df: pd.DataFrame, metric: str, positive: Hashable | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(success, in_domain)`` boolean arrays, one entry per row of ``df``, for ``metric``.

    ``metric`` is a key of :data:`METRICS`; the accuracy metrics need the ``positive`` label
    (one-versus-rest). ``success`` is False outside the domain.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
    if metric in _NEEDS_POSITIVE and positive is None:
        raise ValueError(f"metric {metric!r} needs the positive label")
    positive = _native(positive)

    def equal(a: list, b: list) -> np.ndarray:
        return np.fromiter(map(operator.eq, a, b), dtype=bool, count=len(a))

    def is_positive(a: list) -> np.ndarray:
        return np.fromiter(map(operator.eq, a, itertools.repeat(positive, len(a))), dtype=bool, count=len(a))

    if metric in ("agreement", "sensitivity", "specificity", "ppv", "npv"):
        ai, ai_ok = _column(df, "ai_label")
        ref, ref_ok = _column(df, "reference_label")
        both = ai_ok & ref_ok
        if metric == "agreement":
            domain, success = both, equal(ai, ref)
        elif metric == "sensitivity":
            domain, success = both & is_positive(ref), is_positive(ai)
        elif metric == "specificity":
            domain, success = both & ~is_positive(ref), ~is_positive(ai)
        elif metric == "ppv":
            domain, success = both & is_positive(ai), is_positive(ref)
        else:
            domain, success = both & ~is_positive(ai), ~is_positive(ref)
    elif metric == "clinician_agreement":
        final, final_ok = _column(df, "final_label")
        ref, ref_ok = _column(df, "reference_label")
        domain, success = final_ok & ref_ok, equal(final, ref)
    elif metric == "override_rate":
        ai, ai_ok = _column(df, "ai_label")
        final, final_ok = _column(df, "final_label")
        domain, success = ai_ok & final_ok, ~equal(ai, final)
    else:  # reliance_on_wrong_ai
        ai, ai_ok = _column(df, "ai_label")
        final, final_ok = _column(df, "final_label")
        ref, ref_ok = _column(df, "reference_label")
        domain, success = ai_ok & final_ok & ref_ok & ~equal(ai, ref), equal(ai, final)
    return success & domain, domain
