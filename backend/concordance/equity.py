"""Equity: a proportion metric by subgroup (sex, age band, site, AI version), each group against the rest."""

import math
from collections.abc import Hashable, Iterable
from typing import Literal

import numpy as np
import pandas as pd

from .agreement import _missing_mask, _natives, _object_array, _ordered_labels
from .indicators import metric_indicators
from .proportions import _check_alpha, proportion
from .sample import SMALL_SAMPLE, too_small

__all__ = ["CORRECTIONS", "adjust_p_values", "equity_by_group", "equity_table", "two_proportion_z_test"]

Correction = Literal["holm", "bonferroni", "none"]
CORRECTIONS: tuple[str, ...] = ("holm", "bonferroni", "none")
MIN_EXPECTED = 5


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z test, two-sided: ``(z, p_value)``.

    ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with the pooled ``p = (x1 + x2) / (n1 + n2)``;
    ``z^2`` is Pearson's chi-square on the 2 x 2 table without continuity correction, and this is
    ``statsmodels.stats.proportion.proportions_ztest`` with its default pooled variance. NaN when
    a group is empty or the pooled proportion is 0 or 1 (no variation: nothing to test).
    """
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return math.nan, math.nan
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    return z, math.erfc(abs(z) / math.sqrt(2.0))


def adjust_p_values(p_values: list[float], correction: Correction = "holm") -> list[float]:
    """Holm's step-down (Holm S, Scand J Stat 1979;6:65-70), Bonferroni, or no adjustment.

    NaN p-values are left NaN and do not count in the family size. Same values as
    ``statsmodels.stats.multitest.multipletests(method="holm" | "bonferroni")``.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    finite = [(p, i) for i, p in enumerate(p_values) if not math.isnan(p)]
    adjusted = [math.nan] * len(p_values)
    m = len(finite)
    if correction == "none":
        return list(p_values)
    if correction == "bonferroni":
        for p, i in finite:
            adjusted[i] = min(1.0, p * m)
        return adjusted
    running = 0.0
    for rank, (p, i) in enumerate(sorted(finite)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def equity_by_group(
    df: pd.DataFrame,
    group: str,
    metric: str,
    positive: Hashable | None = None,
    min_n: int = SMALL_SAMPLE,
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> pd.DataFrame:
    """Per-group estimate of ``metric`` with Wilson interval, and a test of each group against the rest.

    ``df`` has one row per case with the columns that ``metric`` reads (see
    :data:`~concordance.indicators.METRICS`: ``agreement``, ``sensitivity``, ``specificity``,
    ``ppv``, ``npv``, ``clinician_agreement``, ``override_rate``, ``reliance_on_wrong_ai``;
    the accuracy ones need ``positive``) and the grouping column ``group``. Rows with a missing
    group are left out (their number is in ``df.attrs["n_missing_group"]`` of the result).

    For every group ``g``: ``x`` successes out of ``n`` cases in the metric's domain, the
    estimate and its Wilson interval; the same for all other groups pooled (``rest_*``); the
    pooled two-proportion z test of ``g`` against the rest (:func:`two_proportion_z_test`) and
    its p-value adjusted for the number of groups tested, by Holm's method by default
    (family-wise error rate, valid under any dependence). ``differs`` is True when the adjusted
    p-value is below ``alpha``.

    ``too_small`` warns that the comparison cannot be trusted: ``n < min_n``
    (:func:`~concordance.sample.too_small`), or an expected
    count below 5 in the group-vs-rest 2 x 2 table (Cochran's rule for the chi-square
    approximation). ``differs`` is still computed there, but ``warning`` says why not to
    conclude. Rows are sorted by group label.
    """
    alpha = _check_alpha(alpha)
    if group not in df.columns:
        raise ValueError(f"equity_by_group: no column {group!r}")
    success, domain = metric_indicators(df, metric, positive)
    labels, code, has_group = _group_codes(df, group)
    rows = _equity_rows(success, domain, labels, code, has_group, min_n, alpha, correction)
    columns = [
        "group", "x", "n", "estimate", "ci_low", "ci_high", "rest_x", "rest_n", "rest_estimate",
        "difference", "z", "p_value", "p_adjusted", "differs", "too_small", "warning",
    ]  # fmt: skip
    result = pd.DataFrame(rows, columns=columns)
    result.attrs.update(
        metric=metric,
        group_column=group,
        test="pooled two-proportion z test, group vs rest",
        correction=correction,
        interval="wilson",
        n_missing_group=int((~has_group).sum()),
    )
    return result


def equity_table(
    df: pd.DataFrame,
    groups: Iterable[str],
    metrics: Iterable[str],
    positive: Hashable | None = None,
    min_n: int = SMALL_SAMPLE,
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> dict[str, list[dict]]:
    """:func:`equity_by_group` of every ``metric`` by every grouping column, as plain rows:
    ``{metric: [{"dimension": group, **row}, ...]}``, rows in ``groups`` order then by group
    label, each row as a record of :func:`equity_by_group` (same values: the Holm family is
    still one metric by one grouping column). Each metric's indicators and each column's group
    codes are computed once, for a dashboard that shows every figure by every subgroup."""
    alpha = _check_alpha(alpha)
    groups = list(groups)
    missing = [g for g in groups if g not in df.columns]
    if missing:
        raise ValueError(f"equity_table: no column(s) {missing}")
    codes = {g: _group_codes(df, g) for g in groups}
    out = {}
    for metric in metrics:
        success, domain = metric_indicators(df, metric, positive)
        out[metric] = [{"dimension": g, **row} for g in groups
                       for row in _equity_rows(success, domain, *codes[g], min_n, alpha, correction)]
    return out


def _group_codes(df: pd.DataFrame, group: str) -> tuple[list, np.ndarray, np.ndarray]:
    """The sorted group labels, each case's group as a position in them (``len(labels)`` when
    missing), and the mask of cases with a group."""
    groups = _natives(df[group])
    has_group = ~_missing_mask(groups)
    present = _object_array(groups)[has_group].tolist()
    labels = _ordered_labels(present)
    # Each case's group as a position in ``labels`` (every present value equals one label), so
    # that the counts of all groups come from one pass instead of one comparison per group.
    position = {label: i for i, label in enumerate(labels)}
    code = np.full(len(groups), len(labels), dtype=np.intp)
    code[has_group] = np.fromiter(map(position.__getitem__, present), dtype=np.intp, count=len(present))
    return labels, code, has_group


def _equity_rows(success: np.ndarray, domain: np.ndarray, labels: list, code: np.ndarray, has_group: np.ndarray,
                 min_n: int, alpha: float, correction: Correction) -> list[dict]:
    """The rows of :func:`equity_by_group` from the metric's indicators and the group codes."""
    keep = domain & has_group
    total_x, total_n = int((success & keep).sum()), int(keep.sum())
    n_by_group = np.bincount(code[keep], minlength=len(labels) + 1)
    x_by_group = np.bincount(code[success & keep], minlength=len(labels) + 1)

    rows = []
    for i, label in enumerate(labels):
        x, n = int(x_by_group[i]), int(n_by_group[i])
        rest_x, rest_n = total_x - x, total_n - n
        own, rest = proportion(x, n, alpha), proportion(rest_x, rest_n, alpha)
        z, p_value = two_proportion_z_test(x, n, rest_x, rest_n)
        pooled = total_x / total_n if total_n else math.nan
        expected = [n * pooled, n * (1 - pooled), rest_n * pooled, rest_n * (1 - pooled)]
        small_expected = total_n == 0 or min(expected) < MIN_EXPECTED
        reasons = []
        if too_small(n, min_n):
            reasons.append(f"n = {n} < {min_n}")
        if small_expected:
            reasons.append(f"expected count below {MIN_EXPECTED}")
        rows.append(
            {
                "group": label,
                "x": x,
                "n": n,
                "estimate": own.estimate,
                "ci_low": own.ci_low,
                "ci_high": own.ci_high,
                "rest_x": rest_x,
                "rest_n": rest_n,
                "rest_estimate": rest.estimate,
                "difference": own.estimate - rest.estimate,
                "z": z,
                "p_value": p_value,
                "too_small": bool(reasons),
                "warning": ("too small to conclude: " + ", ".join(reasons)) if reasons else "",
            }
        )
    adjusted = adjust_p_values([row["p_value"] for row in rows], correction)
    for row, p_adj in zip(rows, adjusted, strict=True):
        row["p_adjusted"] = p_adj
        row["differs"] = bool(not math.isnan(p_adj) and p_adj < alpha)
    return rows
