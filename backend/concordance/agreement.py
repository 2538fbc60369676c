"""Agreement between raters on categorical labels.

Conventions shared by every function of this module:

* Ratings are paired **by position** (``a[i]`` with ``b[i]``); a pandas Series is read in its
  order, its index is ignored. ``a`` and ``b`` must have the same length.
* A value is *missing* when ``pandas.isna`` says so (``None``, ``NaN``, ``pd.NA``, ``NaT``). A pair
  with a missing value on either side is dropped (pairwise deletion): it is neither an agreement
  nor a disagreement.
* Labels are any hashable values compared with ``==``; NumPy scalars are converted to Python
  scalars. When ``labels`` is not given, the label set is the set of observed labels, sorted when
  they are mutually comparable, otherwise in order of first appearance.
* Agreement proportions are fractions in ``[0, 1]`` (``percent_agreement`` is 0.7, not 70).
"""

import math
import operator
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .kappa_ci import kappa_interval
from .proportions import _two_sided_z

__all__ = [
    "KappaResult",
    "cohen_kappa",
    "confusion_matrix",
    "fleiss_kappa",
    "majority_label",
    "percent_agreement",
]

KappaWeights = Literal["linear", "quadratic"] | None
KAPPA_WEIGHTS: tuple[str, ...] = ("linear", "quadratic")


# --------------------------------------------------------------------------------------------
# Input handling (private; also used by the other modules of the package)
# --------------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    """True for ``None``, ``NaN``, ``pd.NA`` and ``NaT``; False for any other value, containers included."""
    if value is None:
        return True
    if type(value) in _NEVER_MISSING:  # labels are mostly str: skip pandas' checks (the dashboards' hot path)
        return False
    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


_NEVER_MISSING = frozenset({str, bool, int})
_PLAIN_TYPES = frozenset({str, bool, int, float, type(None)})
"""Types that :func:`_native` leaves unchanged: a list holding only these needs no conversion."""


def _native(value: Any) -> Any:
    """Convert a NumPy scalar to the equivalent Python scalar; leave anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _natives(values: Iterable[Any]) -> list[Any]:
    """``[_native(v) for v in values]``, without the per-value call when nothing needs converting.

    A pandas Series or Index is read as by iteration (missing values stay ``NaN``/``None`` as
    stored); a NumPy array through ``tolist()``, which is ``.item()`` on every element."""
    dtype = getattr(values, "dtype", None) if isinstance(values, pd.Series | pd.Index) else None
    if isinstance(values, np.ndarray) and values.ndim == 1:
        out = values.tolist()
    elif isinstance(dtype, np.dtype) and dtype.kind in "biufO":  # NumPy-backed: not datetimes
        out = values.to_numpy().tolist()  # what iteration gives (``.item()`` of each), in one call
    elif isinstance(dtype, pd.StringDtype):
        out = values.to_numpy(dtype=object).tolist()  # the strings and the dtype's missing value
    else:
        out = list(values)
    if _PLAIN_TYPES.issuperset(map(type, out)):
        return out
    return [_native(v) for v in out]


def _object_array(values: list[Any]) -> np.ndarray:
    """One-dimensional object array of ``values`` (lists and tuples stay elements, never a new axis)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _missing_mask(values: list[Any]) -> np.ndarray:
    """``[_is_missing(v) for v in values]`` as a boolean array, computed by ``pandas.isna`` in one call."""
    if not values:
        return np.zeros(0, dtype=bool)
    return np.asarray(pd.isna(_object_array(values)), dtype=bool)


def _as_label_list(values: Iterable[Any], name: str) -> list[Any]:
    """A one-dimensional sequence of labels as a list of Python objects."""
    if isinstance(values, str | bytes | pd.DataFrame):
        raise TypeError(f"{name} must be a one-dimensional sequence of labels, got {type(values).__name__}")
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got an array of shape {values.shape}")
    return _natives(values)


def _complete_pairs(a: Iterable[Any], b: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """Pair ``a`` and ``b`` by position and drop the pairs with a missing value."""
    a_list, b_list = _as_label_list(a, "a"), _as_label_list(b, "b")
    if len(a_list) != len(b_list):
        raise ValueError(f"a and b must have the same length ({len(a_list)} != {len(b_list)})")
    missing = _missing_mask(a_list) | _missing_mask(b_list)
    if not missing.any():
        return a_list, b_list
    keep = ~missing
    return _object_array(a_list)[keep].tolist(), _object_array(b_list)[keep].tolist()


def _ordered_labels(values: Iterable[Any]) -> list[Any]:
    """Distinct non-missing values, sorted if they are comparable, else in order of first appearance."""
    natives = _natives(values)
    missing = _missing_mask(natives)
    present = _object_array(natives)[~missing].tolist() if missing.any() else natives
    distinct = list(dict.fromkeys(present))
    try:
        return sorted(distinct)
    except TypeError:
        return distinct


def _checked_labels(labels: Iterable[Hashable]) -> list[Any]:
    """Validate a user-supplied label list: no missing value, no duplicate."""
    label_list = _as_label_list(labels, "labels")
    if any(_is_missing(label) for label in label_list):
        raise ValueError("labels must not contain a missing value")
    if len(set(label_list)) != len(label_list):
        raise ValueError("labels must not contain duplicates")
    return label_list


def _codes(values: list[Any], index: dict[Any, int], name: str) -> np.ndarray:
    try:
        return np.fromiter(map(index.__getitem__, values), dtype=np.intp, count=len(values))
    except KeyError as exc:
        raise ValueError(f"{name} contains the label {exc.args[0]!r}, which is not in labels") from None


def _contingency(a: list[Any], b: list[Any], labels: list[Any]) -> np.ndarray:
    """k x k count table: rows are the labels of ``a``, columns those of ``b`` (complete pairs only)."""
    k = len(labels)
    index = {label: i for i, label in enumerate(labels)}
    flat = _codes(a, index, "a") * k + _codes(b, index, "b")
    return np.bincount(flat, minlength=k * k).reshape(k, k)


def _prepare(
    a: Iterable[Any], b: Iterable[Any], labels: Iterable[Hashable] | None
) -> tuple[list[Any], np.ndarray]:
    a_kept, b_kept = _complete_pairs(a, b)
    label_list = _ordered_labels(a_kept + b_kept) if labels is None else _checked_labels(labels)
    return label_list, _contingency(a_kept, b_kept, label_list)


# --------------------------------------------------------------------------------------------
# Percent agreement and confusion matrix
# --------------------------------------------------------------------------------------------


def percent_agreement(a: Iterable[Any], b: Iterable[Any]) -> float:
    """Proportion of complete pairs on which ``a`` and ``b`` give the same label.

    Returned as a fraction in ``[0, 1]`` (despite the name, not multiplied by 100). Pairs with a
    missing value are dropped; NaN when no complete pair remains.
    """
    a_kept, b_kept = _complete_pairs(a, b)
    if not a_kept:
        return math.nan
    return sum(map(operator.eq, a_kept, b_kept)) / len(a_kept)


def confusion_matrix(
    a: Iterable[Any], b: Iterable[Any], labels: Iterable[Hashable] | None = None
) -> pd.DataFrame:
    """Cross-tabulation of ``a`` (rows) against ``b`` (columns), as an integer DataFrame.

    Every label of ``labels`` appears as a row and a column, in the order given, even with zero
    counts; a non-missing value that is not in ``labels`` raises ``ValueError`` (rather than being
    silently ignored, as ``sklearn.metrics.confusion_matrix`` does). Without ``labels``, the
    observed labels are used. Pairs with a missing value are dropped.
    """
    label_list, table = _prepare(a, b, labels)
    return pd.DataFrame(
        table.astype(np.int64),
        index=pd.Index(label_list, dtype=object),
        columns=pd.Index(label_list, dtype=object),
    )


# --------------------------------------------------------------------------------------------
# Cohen's kappa
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KappaResult:
    """Cohen's kappa with its large-sample standard error and a confidence interval inside [-1, 1].

    ``observed_agreement`` and ``expected_agreement`` are the (weighted, when ``weights`` is set)
    observed and chance agreement proportions ``p_o`` and ``p_e``, so that
    ``kappa = (p_o - p_e) / (1 - p_e)``. ``n`` is the number of complete pairs. ``se`` is the
    Fleiss-Cohen-Everitt large-sample standard error. ``ci_low`` and ``ci_high`` bound the
    two-sided ``1 - alpha`` interval computed by the method named in ``ci_method`` (see
    :mod:`~concordance.kappa_ci`): ``"wald"`` (``kappa -/+ z_{1-alpha/2} se`` truncated to
    [-1, 1], for ``n >= 30`` with a positive ``se``), ``"goodness-of-fit"`` (Donner-Eliasziw,
    two categories, small or degenerate samples) or ``"dirichlet-posterior"`` (three or more
    categories or a weighted scale, small or degenerate samples); ``None`` when kappa is
    undefined. The interval always contains ``kappa``. ``weights`` is ``None``, ``"linear"`` or
    ``"quadratic"``; ``labels`` is the label order used (the ordinal scale of a weighted kappa).
    """

    kappa: float
    observed_agreement: float
    expected_agreement: float
    n: int
    se: float
    ci_low: float
    ci_high: float
    weights: str | None = None
    labels: tuple[Any, ...] = ()
    alpha: float = 0.05
    ci_method: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable dict; NaN values become ``None``, ``labels`` a list."""
        data = asdict(self)
        data["labels"] = list(self.labels)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in data.items()}


def _agreement_weights(k: int, weights: KappaWeights) -> np.ndarray:
    """Agreement weights ``w_ij`` (1 on the diagonal) for ``k`` ordered categories.

    Unweighted: identity. Linear: ``1 - |i - j| / (k - 1)`` (Cicchetti and Allison 1971).
    Quadratic: ``1 - (i - j)^2 / (k - 1)^2`` (Fleiss and Cohen 1973). These are one minus the
    disagreement weights of ``sklearn.metrics.cohen_kappa_score`` rescaled to [0, 1], and the
    weights of statsmodels ``cohens_kappa(wt="linear" | "quadratic")``.
    """
    if weights is None:
        return np.eye(k)
    if k <= 1:
        return np.ones((k, k))
    steps = np.arange(k)
    distance = np.abs(steps[:, None] - steps[None, :]) / (k - 1)
    return 1.0 - (distance if weights == "linear" else distance**2)


def _kappa_from_table(
    table: np.ndarray, weights: KappaWeights, alpha: float, labels: Sequence[Any]
) -> KappaResult:
    """Cohen's kappa and its Fleiss-Cohen-Everitt standard error from a k x k count table."""
    z = _two_sided_z(alpha)
    n = int(table.sum())
    nan = math.nan
    if n == 0:
        return KappaResult(nan, nan, nan, 0, nan, nan, nan, weights, tuple(labels), alpha)

    p = table / n
    row = p.sum(axis=1)  # p_i.
    col = p.sum(axis=0)  # p_.j
    w = _agreement_weights(table.shape[0], weights)
    p_o = float((w * p).sum())
    p_e = float((w * np.outer(row, col)).sum())

    # p_e = 1 exactly when both raters gave one and the same label to every subject (a single
    # non-empty cell, on the diagonal): kappa = 0/0 is undefined.
    nonzero = np.flatnonzero(table)
    if nonzero.size == 1 and nonzero[0] % (table.shape[0] + 1) == 0:
        return KappaResult(nan, p_o, p_e, n, nan, nan, nan, weights, tuple(labels), alpha)

    kappa = (p_o - p_e) / (1.0 - p_e)
    w_bar_row = w @ col  # w_i. = sum_j p_.j w_ij
    w_bar_col = row @ w  # w_.j = sum_i p_i. w_ij
    term = float((p * (w - (w_bar_row[:, None] + w_bar_col[None, :]) * (1.0 - kappa)) ** 2).sum())
    variance = (term - (kappa - p_e * (1.0 - kappa)) ** 2) / (n * (1.0 - p_e) ** 2)
    se = math.sqrt(max(variance, 0.0))
    low, high, method = kappa_interval(table, w, kappa, se, z, alpha, weighted=weights is not None)
    return KappaResult(
        kappa=kappa,
        observed_agreement=p_o,
        expected_agreement=p_e,
        n=n,
        se=se,
        ci_low=low,
        ci_high=high,
        weights=weights,
        labels=tuple(labels),
        alpha=alpha,
        ci_method=method,
    )


def cohen_kappa(
    a: Iterable[Any],
    b: Iterable[Any],
    labels: Iterable[Hashable] | None = None,
    weights: KappaWeights = None,
    alpha: float = 0.05,
) -> KappaResult:
    """Cohen's kappa between two raters, unweighted or weighted, with a ``1 - alpha`` interval.

    With ``p_ij`` the proportion of complete pairs rated ``i`` by ``a`` and ``j`` by ``b``,
    marginals ``p_i.`` and ``p_.j``, and agreement weights ``w_ij`` (identity when unweighted;
    see ``weights`` below)::

        p_o = sum_ij w_ij p_ij,   p_e = sum_ij w_ij p_i. p_.j,   kappa = (p_o - p_e) / (1 - p_e)

    (Cohen J, Educ Psychol Meas 1960;20:37-46; weighted: Cohen J, Psychol Bull 1968;70:213-220).

    Standard error: the large-sample (non-null) variance of Fleiss JL, Cohen J, Everitt BS,
    Psychol Bull 1969;72:323-327, eq. 13 (also Fleiss, Levin and Paik, *Statistical Methods for
    Rates and Proportions*, 3rd ed., eq. 18.15 and 18.18)::

        var = [ sum_ij p_ij (w_ij - (w_i. + w_.j)(1 - kappa))^2 - (kappa - p_e (1 - kappa))^2 ]
              / (n (1 - p_e)^2),
        w_i. = sum_j p_.j w_ij,   w_.j = sum_i p_i. w_ij,

    which for the unweighted kappa reduces to the well-known three-term formula. This is
    ``std_kappa`` of ``statsmodels.stats.inter_rater.cohens_kappa`` (not ``std_kappa0``, the
    standard error under the null hypothesis kappa = 0). A variance that rounds to a tiny
    negative number (perfect agreement) is set to 0.

    Interval (:mod:`~concordance.kappa_ci`, which gives the sources): with ``n >= 30`` complete
    pairs and a positive standard error, the Wald interval ``kappa -/+ z_{1-alpha/2} se``,
    truncated to [-1, 1] (statsmodels' ``kappa_low``/``kappa_upp`` where those lie inside).
    Below 30 pairs, or when the standard error is 0 (perfect agreement, raters constant on
    different labels), the Wald interval collapses or leaves [-1, 1], and a small-sample
    interval is used instead: Donner and Eliasziw's goodness-of-fit interval when two
    categories are in use (unweighted, or a weighted kappa on a two-label scale, which is the
    same), otherwise a Dirichlet posterior interval (Perks' prior). ``ci_method`` names the method
    used; the interval always lies in [-1, 1] and contains ``kappa``.

    Parameters
    ----------
    a, b:
        Labels of the two raters, paired by position; pairs with a missing value are dropped.
    labels:
        Label set and, for a weighted kappa, the ordinal scale (in this order). Labels that
        nobody used may be listed; they leave the unweighted kappa unchanged but, inside the
        scale, change the distances between the others in a weighted kappa: pass the full
        scale. A non-missing value absent from ``labels`` raises ``ValueError``. Default: the
        observed labels, sorted when comparable.
    weights:
        ``None`` (unweighted), ``"linear"`` (``w_ij = 1 - |i-j|/(k-1)``) or ``"quadratic"``
        (``w_ij = 1 - (i-j)^2/(k-1)^2``). Weighted kappa is invariant to rescaling the
        disagreement weights, so it equals ``sklearn.metrics.cohen_kappa_score(weights=...)``.
    alpha:
        ``1 - alpha`` is the confidence level of the interval.

    Degenerate cases (never raise)
    ------------------------------
    * No complete pair (``n = 0``): every statistic is NaN, ``n = 0``.
    * Expected agreement ``p_e = 1``, i.e. both raters gave the same single label to every
      subject: kappa is ``0/0`` and returned as NaN (as are ``se`` and the interval), while
      ``observed_agreement`` (1.0) and ``expected_agreement`` (1.0) are reported. Kappa measures
      agreement beyond chance, and a sample without any variation carries no information on it;
      NaN, rather than 1.0, keeps such a sample from being read as "perfect agreement".
    """
    if weights is not None and weights not in KAPPA_WEIGHTS:
        raise ValueError(f"weights must be None or one of {KAPPA_WEIGHTS}, got {weights!r}")
    _two_sided_z(alpha)  # validate alpha even when the sample turns out to be empty
    label_list, table = _prepare(a, b, labels)
    return _kappa_from_table(table, weights, float(alpha), label_list)


# --------------------------------------------------------------------------------------------
# Fleiss' kappa and majority label
# --------------------------------------------------------------------------------------------


def fleiss_kappa(ratings: pd.DataFrame | np.ndarray | Sequence[Sequence[Any]]) -> float:
    """Fleiss' kappa for a fixed number ``m >= 2`` of ratings per subject.

    ``ratings`` is a subject x rater table of labels (one row per subject). With ``n_ij`` the
    number of ratings of subject ``i`` in category ``j`` and ``N`` subjects (Fleiss JL, Psychol
    Bull 1971;76:378-382, eq. 1-2, 5, 9)::

        p_j   = sum_i n_ij / (N m)
        P_i   = (sum_j n_ij^2 - m) / (m (m - 1))
        kappa = (mean_i P_i - sum_j p_j^2) / (1 - sum_j p_j^2)

    Raters need not be the same people from one subject to the next. Subjects with a missing
    rating are dropped (complete-case analysis), since the formula needs the same ``m`` for every
    subject. Returns NaN when no complete subject remains or when a single category is used
    throughout (chance agreement 1: kappa is 0/0). Raises ``ValueError`` for fewer than two
    rater columns. Equals ``statsmodels.stats.inter_rater.fleiss_kappa(table, method="fleiss")``
    on the subject x category count table.
    """
    if isinstance(ratings, pd.DataFrame):
        matrix = ratings.to_numpy(dtype=object)
    else:
        matrix = np.asarray(ratings, dtype=object)
    if matrix.ndim != 2:
        raise ValueError(f"ratings must be a two-dimensional subject x rater table, got ndim={matrix.ndim}")
    m = matrix.shape[1]
    if m < 2:
        raise ValueError(f"Fleiss' kappa needs at least two ratings per subject, got {m}")

    rows = [[_native(v) for v in row] for row in matrix if not any(_is_missing(v) for v in row)]
    if not rows:
        return math.nan
    labels = _ordered_labels(v for row in rows for v in row)
    if len(labels) == 1:
        return math.nan
    index = {label: j for j, label in enumerate(labels)}
    counts = np.zeros((len(rows), len(labels)))
    for i, row in enumerate(rows):
        for value in row:
            counts[i, index[value]] += 1

    n_subjects = counts.shape[0]
    p_j = counts.sum(axis=0) / (n_subjects * m)
    p_i = ((counts * counts).sum(axis=1) - m) / (m * (m - 1.0))
    p_bar = float(p_i.mean())
    p_e = float((p_j * p_j).sum())
    return (p_bar - p_e) / (1.0 - p_e)


def majority_label(labels: Iterable[Any]) -> Any | None:
    """The label given by a strict majority (more than half) of the non-missing labels, else None.

    Missing values are ignored, so ``["A", "A", None]`` gives ``"A"`` and a single non-missing
    label is its own majority. Returns ``None`` for an empty input, a tie (``["A", "B"]``) and a
    plurality short of a majority (``["A", "A", "B", "C"]``).
    """
    return _strict_majority([_native(v) for v in labels if not _is_missing(v)])


def _strict_majority(present: list[Any]) -> Any | None:
    """:func:`majority_label` of labels already native and non-missing."""
    if len(present) <= 2:  # the usual one or two readers: no Counter needed
        if not present:
            return None
        if len(present) == 1 or present[0] == present[1]:
            return present[0]
        return None
    label, count = Counter(present).most_common(1)[0]
    return label if 2 * count > len(present) else None
