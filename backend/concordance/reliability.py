"""Reliability of the human reference with missing ratings: Krippendorff's alpha and Gwet's AC1.

Input convention shared by both coefficients: ``ratings`` is a **units x raters** table (one row
per case, one column per rater: a DataFrame, a 2-D array or a list of rows). A cell is missing
when ``pandas.isna`` says so: clinicians and patient representatives rate different things, so
most tables are sparse. Labels are any hashable values compared with ``==``; ``labels`` fixes
the category set and, for an ordinal alpha, its order (default: the observed labels, sorted
when comparable). Unused categories leave alpha unchanged but change AC1, whose chance
agreement divides by ``q - 1`` with ``q`` the number of categories: pass the full scale.

Both results carry the percent agreement and ``n`` so that a coefficient is never reported
alone.
"""

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .agreement import _checked_labels, _missing_mask, _natives, _object_array, _ordered_labels
from .proportions import _check_alpha, _two_sided_t

__all__ = ["AC1Result", "AlphaResult", "gwet_ac1", "gwet_ac1_two_raters", "krippendorff_alpha"]

AlphaLevel = Literal["nominal", "ordinal"]
ALPHA_LEVELS: tuple[str, ...] = ("nominal", "ordinal")


def _nan_to_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in data.items()}


def _count_matrix(
    ratings: pd.DataFrame | np.ndarray | Sequence[Sequence[Any]], labels: Iterable[Hashable] | None
) -> tuple[np.ndarray, list[Any]]:
    """Units x categories count table ``r_ik`` (how many raters put unit ``i`` in category ``k``)."""
    if isinstance(ratings, pd.DataFrame):
        matrix = ratings.to_numpy(dtype=object)
    else:
        matrix = np.asarray(ratings, dtype=object)
    if matrix.ndim != 2:
        raise ValueError(f"ratings must be a two-dimensional units x raters table, got ndim={matrix.ndim}")
    n_units, n_raters = matrix.shape
    # Row-major over the table, as the units are read: the first unknown label reported is the
    # same as a unit-by-unit reading would report.
    values = _natives(matrix.ravel(order="C"))
    present = ~_missing_mask(values)
    kept = _object_array(values)[present].tolist() if not present.all() else values
    unit = np.repeat(np.arange(n_units), n_raters)[present]
    label_list = _ordered_labels(kept) if labels is None else _checked_labels(labels)
    index = {label: k for k, label in enumerate(label_list)}
    try:
        codes = np.fromiter(map(index.__getitem__, kept), dtype=np.intp, count=len(kept))
    except KeyError as exc:
        raise ValueError(f"ratings contain the label {exc.args[0]!r}, which is not in labels") from None
    q = len(label_list)
    counts = np.bincount(unit * q + codes, minlength=n_units * q).reshape(n_units, q).astype(float)
    return counts, label_list


# --------------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlphaResult:
    """Krippendorff's alpha, ``1 - D_o / D_e``, with what it was computed from.

    ``percent_agreement`` is the share of pairable values matched within their unit
    (``sum_c o_cc / n``, i.e. ``1 - D_o`` for nominal data); ``n_units`` counts the pairable units
    (two or more ratings) and ``n_values`` the pairable values ``n..``. ``alpha`` is NaN when no
    unit is pairable or when a single category is used throughout (``D_e = 0``).
    """

    alpha: float
    level: str
    observed_disagreement: float
    expected_disagreement: float
    percent_agreement: float
    n_units: int
    n_values: int
    labels: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable dict; NaN becomes ``None``, ``labels`` a list."""
        data = asdict(self)
        data["labels"] = list(self.labels)
        return _nan_to_none(data)


def _ordinal_delta2(n_c: np.ndarray) -> np.ndarray:
    """Ordinal metric ``delta^2_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2`` (Krippendorff 2011, p. 6)."""
    cumulative = np.concatenate(([0.0], np.cumsum(n_c)))
    q = len(n_c)
    c, k = np.meshgrid(np.arange(q), np.arange(q), indexing="ij")
    low, high = np.minimum(c, k), np.maximum(c, k)
    between = cumulative[high + 1] - cumulative[low]
    return (between - (n_c[c] + n_c[k]) / 2.0) ** 2


def krippendorff_alpha(
    ratings: pd.DataFrame | np.ndarray | Sequence[Sequence[Any]],
    level: AlphaLevel = "nominal",
    labels: Iterable[Hashable] | None = None,
) -> AlphaResult:
    """Krippendorff's alpha for a units x raters table with missing ratings, nominal or ordinal.

    Krippendorff K, "Computing Krippendorff's Alpha-Reliability" (2011), section C: a unit rated
    ``m_u >= 2`` times contributes to the coincidence matrix ``o_ck = sum_u (number of c-k
    pairs of different raters in u) / (m_u - 1)``; units rated fewer than twice are not
    pairable and are ignored. With ``n_c = sum_k o_ck`` and ``n = sum_c n_c``::

        D_o = sum_ck o_ck delta^2_ck / n
        D_e = sum_ck n_c n_k delta^2_ck / (n (n - 1))
        alpha = 1 - D_o / D_e

    ``delta^2_ck`` is 0 on the diagonal and 1 elsewhere (``"nominal"``), or the ordinal metric
    ``(sum_{g=c..k} n_g - (n_c + n_k) / 2)^2`` over the order of ``labels`` (``"ordinal"``).
    Reproduces the paper's worked example (4 coders, 12 units, nominal alpha 0.743) and the
    ``krippendorff`` PyPI package (which takes raters x units). No confidence interval:
    Krippendorff recommends a bootstrap, not a normal approximation.
    """
    if level not in ALPHA_LEVELS:
        raise ValueError(f"level must be one of {ALPHA_LEVELS}, got {level!r}")
    counts, label_list = _count_matrix(ratings, labels)
    m_u = counts.sum(axis=1)
    pairable = counts[m_u >= 2]
    nan = math.nan
    if pairable.shape[0] == 0:
        return AlphaResult(nan, level, nan, nan, nan, 0, 0, tuple(label_list))
    weights = 1.0 / (pairable.sum(axis=1) - 1.0)
    coincidence = (pairable.T * weights) @ pairable - np.diag((pairable.T * weights).sum(axis=1))
    n_c = coincidence.sum(axis=1)
    n = float(n_c.sum())
    q = len(label_list)
    delta2 = 1.0 - np.eye(q) if level == "nominal" else _ordinal_delta2(n_c)
    d_o = float((coincidence * delta2).sum()) / n
    d_e = float((np.outer(n_c, n_c) * delta2).sum()) / (n * (n - 1.0))
    alpha = 1.0 - d_o / d_e if d_e > 0 else nan
    return AlphaResult(
        alpha=alpha,
        level=level,
        observed_disagreement=d_o,
        expected_disagreement=d_e,
        percent_agreement=float(np.trace(coincidence)) / n,
        n_units=int(pairable.shape[0]),
        n_values=round(n),
        labels=tuple(label_list),
    )


# --------------------------------------------------------------------------------------------
# Gwet's AC1
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AC1Result:
    """Gwet's AC1 with its standard error and a ``1 - alpha`` interval.

    ``percent_agreement`` is Gwet's ``p_a`` and ``chance_agreement`` his ``p_e``;
    ``n_units`` counts the units with at least one rating (they enter the category
    prevalences) and ``n_units_paired`` those with two or more (they enter ``p_a``). The
    interval is ``ac1 -/+ t_{1-alpha/2, n_units-1} se`` truncated to AC1's range
    ``[-1/(q-1), 1]`` with ``q`` the number of categories (see :func:`gwet_ac1`); with two
    categories this is the ``[-1, 1]`` truncation of Gwet's ``irrCAC``.
    """

    ac1: float
    percent_agreement: float
    chance_agreement: float
    n_units: int
    n_units_paired: int
    se: float
    ci_low: float
    ci_high: float
    labels: tuple[Any, ...] = ()
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable dict; NaN becomes ``None``, ``labels`` a list."""
        data = asdict(self)
        data["labels"] = list(self.labels)
        return _nan_to_none(data)


def gwet_ac1(
    ratings: pd.DataFrame | np.ndarray | Sequence[Sequence[Any]],
    labels: Iterable[Hashable] | None = None,
    alpha: float = 0.05,
) -> AC1Result:
    """Gwet's AC1 for any number of raters and missing ratings (units x raters table).

    Gwet KL, Br J Math Stat Psychol 2008;61:29-48, and *Handbook of Inter-Rater Reliability*,
    4th ed. (2014), ch. 5, as implemented in his R package ``irrCAC::gwet.ac1.raw``
    (unweighted, no finite-population correction). With ``r_ik`` raters putting unit ``i`` in
    category ``k``, ``r_i = sum_k r_ik``, ``q`` categories, ``n`` units with ``r_i >= 1`` and
    ``n'`` units with ``r_i >= 2``::

        p_a   = (1/n') sum_{i: r_i>=2} sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))
        pi_k  = (1/n) sum_i r_ik / r_i
        p_e   = sum_k pi_k (1 - pi_k) / (q - 1)
        AC1   = (p_a - p_e) / (1 - p_e)

    Variance by linearization (Gwet 2014, eq. 5.11 and 5.12)::

        ac1_i  = (n/n') (p_a|i - p_e 1[r_i>=2]) / (1 - p_e)
                 - 2 (1 - AC1) (p_e|i - p_e) / (1 - p_e),
        p_e|i  = sum_k (r_ik / r_i) (1 - pi_k) / (q - 1),
        var    = sum_i (ac1_i - AC1)^2 / (n (n - 1)).

    Interval: ``AC1 -/+ t_{1-alpha/2, n-1} se`` (irrCAC), a Wald-type interval that knows
    nothing of AC1's range, so it is truncated to it: ``p_e <= 1/q`` (``sum_k pi_k^2 >= 1/q``),
    hence ``AC1 >= -p_e / (1 - p_e) >= -1/(q - 1)``, the bound reached when no unit has two
    matching ratings and the categories are equally used; the upper bound is 1. irrCAC
    truncates to [-1, 1], which is the same for two categories and looser beyond.

    NaN (never raises) when no unit has two ratings, ``q < 2`` (a single category: chance
    agreement is undefined; ``percent_agreement`` is still reported), or ``p_e = 1``. Unlike
    kappa, AC1 does not collapse when one category is rare (Gwet 2008; Wongpakaran et al.,
    BMC Med Res Methodol 2013;13:61), which is why the product shows it beside kappa.
    """
    alpha = _check_alpha(alpha)
    counts, label_list = _count_matrix(ratings, labels)
    counts = counts[counts.sum(axis=1) >= 1]
    r_i = counts.sum(axis=1)
    n = counts.shape[0]
    paired = r_i >= 2
    n_paired = int(paired.sum())
    q = len(label_list)
    nan = math.nan
    if n_paired == 0:
        return AC1Result(nan, nan, nan, n, n_paired, nan, nan, nan, tuple(label_list), alpha)

    denominator = np.where(paired, r_i * (r_i - 1.0), 1.0)
    pa_i = np.where(paired, (counts * (counts - 1.0)).sum(axis=1) / denominator, 0.0)
    p_a = float(pa_i.sum()) / n_paired
    if q < 2:
        return AC1Result(nan, p_a, nan, n, n_paired, nan, nan, nan, tuple(label_list), alpha)
    share = counts / r_i[:, None]
    pi_k = share.mean(axis=0)
    p_e = float((pi_k * (1.0 - pi_k)).sum()) / (q - 1.0)
    if p_e >= 1.0:
        return AC1Result(nan, p_a, p_e, n, n_paired, nan, nan, nan, tuple(label_list), alpha)
    ac1 = (p_a - p_e) / (1.0 - p_e)

    if n >= 2:
        pe_i = share @ (1.0 - pi_k) / (q - 1.0)
        ac1_i = (n / n_paired) * (pa_i - p_e * paired) / (1.0 - p_e)
        ac1_i = ac1_i - 2.0 * (1.0 - ac1) * (pe_i - p_e) / (1.0 - p_e)
        se = math.sqrt(float(((ac1_i - ac1) ** 2).sum()) / (n * (n - 1.0)))
        t = _two_sided_t(alpha, n - 1.0)
        low, high = max(-1.0 / (q - 1.0), ac1 - t * se), min(1.0, ac1 + t * se)
    else:
        se = low = high = nan
    return AC1Result(ac1, p_a, p_e, n, n_paired, se, low, high, tuple(label_list), alpha)


def gwet_ac1_two_raters(
    a: Iterable[Any], b: Iterable[Any], labels: Iterable[Hashable] | None = None, alpha: float = 0.05
) -> AC1Result:
    """Gwet's AC1 between two raters paired by position (see :func:`gwet_ac1`).

    Unlike the kappas of :mod:`~concordance.agreement`, a unit rated by one rater only is not
    dropped: it enters the category prevalences ``pi_k`` (Gwet's treatment of missing ratings),
    but not ``p_a``. With complete pairs this is Gwet's (2008) two-rater AC1,
    ``p_e = sum_k pi_k (1 - pi_k) / (q - 1)`` with ``pi_k = (p_k. + p_.k) / 2``.
    """
    a_list, b_list = _natives(a), _natives(b)
    if len(a_list) != len(b_list):
        raise ValueError(f"a and b must have the same length ({len(a_list)} != {len(b_list)})")
    table = np.empty((len(a_list), 2), dtype=object)
    table[:, 0], table[:, 1] = a_list, b_list
    return gwet_ac1(table, labels=labels, alpha=alpha)
