"""Outputs of an AI that gives a score: discrimination (ROC curve, AUC), calibration (Brier score,
calibration table) and the threshold what-if (sensitivity, specificity and workload at other
thresholds), plain and design-weighted.

Conventions of this module:

* ``scores`` are the AI's scores, higher meaning "more likely positive"; a case is *flagged*
  (called positive) at threshold ``t`` when ``score >= t``, the rule the case import applies to a
  score output;
* ``truth`` is the reference, as booleans (``True``: the reference is the positive label);
  ``None``/NaN when the case has no reference yet;
* a missing score or a missing truth takes the case out of a figure that needs it, but a
  design-weighted figure keeps every sampled case in its stratum's sample size (as
  :func:`concordance.design.design_weighted_proportion` does);
* ``inclusion_probability`` (optional) weighs each case by ``w = 1 / pi`` (Hajek estimators,
  population figures); ``strata`` gives the sampling strata for the variance. Without
  probabilities every case weighs 1.
"""

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .agreement import _missing_mask, _natives, _object_array
from .design import design_weighted_proportion
from .proportions import _check_alpha, _two_sided_z

__all__ = [
    "AUCResult",
    "BrierResult",
    "auc_with_ci",
    "brier_score",
    "calibration_table",
    "roc_points",
    "threshold_table",
]

AUC_DELONG = "delong"
AUC_LINEARIZED = "hajek-weighted mann-whitney, stratified linearization (weighted delong)"
BRIER_LINEARIZED = "hajek-weighted mean, stratified linearization, normal interval"


@dataclass(frozen=True, slots=True)
class AUCResult:
    """Area under the ROC curve with its standard error and a logit-scale interval.

    ``n_positive`` and ``n_negative`` count the sampled cases with a score and a reference;
    ``auc`` is NaN (and the interval (0, 1)) unless both are at least 1."""

    auc: float
    se: float
    ci_low: float
    ci_high: float
    n_positive: int
    n_negative: int
    method: str
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class BrierResult:
    """Brier score (mean squared difference between the score and the 0/1 reference)."""

    score: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    method: str = BRIER_LINEARIZED
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Sample:
    score: np.ndarray  # float, NaN when missing
    truth: np.ndarray  # float: 1.0, 0.0, NaN when missing
    weight: np.ndarray  # 1 / pi
    strata: list[Hashable]
    probability: np.ndarray


def _sample(scores: Iterable[Any], truth: Iterable[Any], inclusion_probability: Iterable[float] | None,
            strata: Iterable[Hashable] | None) -> _Sample:
    score_values = _natives(scores)
    truth_values = _natives(truth)
    n = len(score_values)
    if len(truth_values) != n:
        raise ValueError("scores and truth must have the same length")
    score_missing = _missing_mask(score_values)
    score = np.full(n, np.nan)
    if n:
        kept = _object_array(score_values)[~score_missing]
        try:
            score[~score_missing] = kept.astype(float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"scores must be numbers: {exc}") from None
    if not np.all(np.isfinite(score[~score_missing])):
        raise ValueError("scores must be finite numbers")
    truth_missing = _missing_mask(truth_values)
    truth_array = np.full(n, np.nan)
    if n:
        truth_array[~truth_missing] = _object_array(truth_values)[~truth_missing].astype(bool).astype(float)
    if inclusion_probability is None:
        probability = np.ones(n)
    else:
        probability = np.fromiter(map(float, inclusion_probability), dtype=float)
        if probability.shape != (n,):
            raise ValueError("inclusion_probability must have the same length as scores")
        if n and not (np.all(probability > 0) and np.all(probability <= 1)):
            raise ValueError("inclusion probabilities must lie in (0, 1]")
    labels = [None] * n if strata is None else _natives(strata)
    if len(labels) != n:
        raise ValueError("strata must have the same length as scores")
    return _Sample(score, truth_array, 1.0 / probability, labels, probability)


def _stratified_variance(z: np.ndarray, strata: Sequence[Hashable]) -> float:
    """``sum_h n_h / (n_h - 1) sum_{i in h} (z_i - mean_h z)^2``: the with-replacement
    linearization variance of :func:`concordance.design.design_weighted_proportion` (no
    finite-population correction; a stratum of one case contributes nothing)."""
    groups: dict[Hashable, list[int]] = {}
    for i, label in enumerate(strata):
        groups.setdefault(label, []).append(i)
    variance = 0.0
    for members in groups.values():
        n_h = len(members)
        if n_h < 2:
            continue
        zh = z[members]
        variance += n_h / (n_h - 1.0) * float(((zh - zh.mean()) ** 2).sum())
    return variance


def _wald(estimate: float, se: float, alpha: float) -> tuple[float, float]:
    z = _two_sided_z(alpha)
    return max(0.0, estimate - z * se), min(1.0, estimate + z * se)


def _logit_interval(auc: float, se: float, k: int, alpha: float) -> tuple[float, float]:
    """Wald interval on the logit scale, back-transformed: ``logit(AUC) -/+ z se / (AUC (1 - AUC))``
    (delta method; Pepe MS, *The Statistical Evaluation of Medical Tests*, 2003, section 5.2.2).
    At AUC 0 or 1 the logit is infinite and the variance 0: the interval is then the
    Clopper-Pearson one of ``k = min(m, n)`` successes (or failures) out of ``k``."""
    if auc >= 1.0:
        return (alpha / 2.0) ** (1.0 / k), 1.0
    if auc <= 0.0:
        return 0.0, 1.0 - (alpha / 2.0) ** (1.0 / k)
    centre = math.log(auc / (1.0 - auc))
    half = _two_sided_z(alpha) * se / (auc * (1.0 - auc))
    return 1.0 / (1.0 + math.exp(-(centre - half))), 1.0 / (1.0 + math.exp(-(centre + half)))


# --------------------------------------------------------------------------------------------
# Discrimination
# --------------------------------------------------------------------------------------------


def _placements(pos_score: np.ndarray, pos_weight: np.ndarray, neg_score: np.ndarray,
                neg_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted placement values: for each positive, the weighted share of negatives it outranks
    (ties count one half); for each negative, the weighted share of positives that outrank it.
    Sorted cumulative sums: O((m + n) log(m + n)), no m x n matrix."""
    def share_below(values: np.ndarray, ref_score: np.ndarray, ref_weight: np.ndarray) -> np.ndarray:
        order = np.argsort(ref_score, kind="stable")
        sorted_score = ref_score[order]
        cumulative = np.concatenate([[0.0], np.cumsum(ref_weight[order])])
        below = cumulative[np.searchsorted(sorted_score, values, side="left")]
        upto = cumulative[np.searchsorted(sorted_score, values, side="right")]
        return (below + 0.5 * (upto - below)) / cumulative[-1]

    v_pos = share_below(pos_score, neg_score, neg_weight)
    # For a negative: share of positives strictly above plus half the ties = 1 - share below-or-half.
    v_neg = 1.0 - share_below(neg_score, pos_score, pos_weight)
    return v_pos, v_neg


def auc_with_ci(scores: Iterable[Any], truth: Iterable[Any], inclusion_probability: Iterable[float] | None = None,
                strata: Iterable[Hashable] | None = None, alpha: float = 0.05) -> AUCResult:
    """Area under the ROC curve (the probability that a positive case scores above a negative
    one, ties counting one half) with a ``1 - alpha`` interval.

    Without inclusion probabilities: the Mann-Whitney estimate and **DeLong's** variance
    (DeLong ER, DeLong DM, Clarke-Pearson DL, Biometrics 1988;44:837-845; as ``pROC::ci.auc(method
    = "delong")``). With ``m`` positives, ``n`` negatives, ``psi(x, y) = 1`` if ``x > y``, 1/2 if
    equal, 0 otherwise, the placement values ``V10_i = mean_j psi(X_i, Y_j)`` and ``V01_j =
    mean_i psi(X_i, Y_j)``::

        AUC = mean_i V10_i = mean_j V01_j
        var = S10 / m + S01 / n,   S10 = sum_i (V10_i - AUC)^2 / (m - 1),  S01 likewise

    (a term is 0 when its group holds a single case). Chosen over Hanley-McNeil (Radiology
    1982;143:29-36), whose variance assumes exponential score distributions.

    With inclusion probabilities (``w = 1 / pi``): the Hajek-weighted Mann-Whitney estimate
    ``AUC = sum_i sum_j w_i w_j psi_ij / (W+ W-)`` (the area under the weighted ROC curve, what
    ``sklearn.metrics.roc_auc_score(..., sample_weight=w)`` computes), and its Taylor
    linearization, whose influence values are the weighted placement values::

        z_i = w_i (V_i - AUC) / W+   for a positive,   V_i = sum_j w_j psi_ij / W-
        z_j = w_j (U_j - AUC) / W-   for a negative,   U_j = sum_i w_i psi_ij / W+
        var = sum_h n_h / (n_h - 1) sum_{i in h} (z_i - mean_h z)^2

    over every sampled case (``z = 0`` for a case without a score or a reference), strata as in
    :func:`concordance.design.design_weighted_proportion`. With equal weights and one stratum this
    is DeLong's variance up to the factors ``(m - 1) / m`` and ``N / (N - 1)``.

    The interval is Wald's on the logit scale, back-transformed (it stays inside (0, 1) and is
    asymmetric near 1, where the AUC's sampling distribution is skewed): in the seeded
    stratified simulation of the tests it covered the population AUC 94.5 % of the time with 100
    cases per stratum, against 93 % for the plain Wald interval (92 % against 90.5 % with 40
    and 60 cases). At AUC 0 or 1, see :func:`_logit_interval`. Example (DeLong): positives
    scoring 0.8, 0.6, 0.4 and negatives 0.5, 0.2 give ``V10 = (1, 1, 1/2)``, ``V01 = (2/3, 1)``,
    ``AUC = 5/6``, ``S10 = 1/12``, ``S01 = 1/18``, ``var = 1/36 + 1/36 = 1/18``.
    """
    alpha = _check_alpha(alpha)
    sample = _sample(scores, truth, inclusion_probability, strata)
    usable = ~np.isnan(sample.score) & ~np.isnan(sample.truth)
    positive = usable & (sample.truth == 1.0)
    negative = usable & (sample.truth == 0.0)
    m, n = int(positive.sum()), int(negative.sum())
    weighted = inclusion_probability is not None
    method = AUC_LINEARIZED if weighted else AUC_DELONG
    if m == 0 or n == 0:
        return AUCResult(math.nan, math.nan, 0.0, 1.0, m, n, method, alpha)
    w = sample.weight
    v_pos, v_neg = _placements(sample.score[positive], w[positive], sample.score[negative], w[negative])
    w_pos, w_neg = w[positive].sum(), w[negative].sum()
    auc = float((w[positive] * v_pos).sum() / w_pos)
    if weighted:
        z = np.zeros(len(w))
        z[positive] = w[positive] * (v_pos - auc) / w_pos
        z[negative] = w[negative] * (v_neg - auc) / w_neg
        variance = _stratified_variance(z, sample.strata)
    else:
        s10 = float(((v_pos - auc) ** 2).sum() / (m - 1)) if m > 1 else 0.0
        s01 = float(((v_neg - auc) ** 2).sum() / (n - 1)) if n > 1 else 0.0
        variance = s10 / m + s01 / n
    se = math.sqrt(variance)
    low, high = _logit_interval(auc, se, min(m, n), alpha)
    return AUCResult(auc, se, low, high, m, n, method, alpha)


def roc_points(scores: Iterable[Any], truth: Iterable[Any],
               inclusion_probability: Iterable[float] | None = None) -> dict[str, list]:
    """The (weighted) empirical ROC curve: for each distinct score ``t``, from the highest down,
    the share of positives flagged (``score >= t``: sensitivity, ``tpr``) and the share of
    negatives flagged (``1 - specificity``, ``fpr``), each case weighing ``1 / pi``.

    Returns ``{"fpr": [...], "tpr": [...], "threshold": [...]}`` starting at (0, 0) (threshold
    ``None``: nothing flagged) and ending at (1, 1); the trapezoids under it add up to
    :func:`auc_with_ci`'s estimate. Same points as ``sklearn.metrics.roc_curve(...,
    sample_weight=w, drop_intermediate=False)``. Empty lists when positives or negatives are
    missing. The thresholds are the cases' scores: keep them out of anything shown to a reader
    without case-level access.
    """
    sample = _sample(scores, truth, inclusion_probability, None)
    usable = ~np.isnan(sample.score) & ~np.isnan(sample.truth)
    score, truth_kept, w = sample.score[usable], sample.truth[usable], sample.weight[usable]
    positive_total, negative_total = float((w * truth_kept).sum()), float((w * (1 - truth_kept)).sum())
    if positive_total == 0 or negative_total == 0:
        return {"fpr": [], "tpr": [], "threshold": []}
    order = np.argsort(-score, kind="stable")
    score, truth_kept, w = score[order], truth_kept[order], w[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(w * truth_kept)[last_of_each]
    fps = np.cumsum(w * (1 - truth_kept))[last_of_each]
    return {"fpr": [0.0, *(fps / negative_total).tolist()], "tpr": [0.0, *(tps / positive_total).tolist()],
            "threshold": [None, *score[last_of_each].tolist()]}


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------


def _check_probabilities(score: np.ndarray) -> None:
    present = score[~np.isnan(score)]
    if len(present) and (present.min() < 0.0 or present.max() > 1.0):
        raise ValueError("calibration needs scores that are probabilities, in [0, 1]")


def brier_score(scores: Iterable[Any], truth: Iterable[Any], inclusion_probability: Iterable[float] | None = None,
                strata: Iterable[Hashable] | None = None, alpha: float = 0.05) -> BrierResult:
    """Brier score ``B = sum w_i (s_i - y_i)^2 / sum w_i`` over the cases with a score and a
    reference (Brier GW, Monthly Weather Review 1950;78:1-3): 0 is perfect, 0.25 is what a
    constant 0.5 scores. Equals ``sklearn.metrics.brier_score_loss(y, s, sample_weight=w)``.

    The scores must be probabilities in [0, 1] (``ValueError`` otherwise). Standard error by the
    linearization of the Hajek mean (``z_i = w_i (b_i - B) / sum w``, stratified as in
    :func:`concordance.design.design_weighted_proportion`), normal interval clipped to [0, 1].
    Example: scores 0.9, 0.2, 0.6 against references 1, 0, 0 give ``(0.01 + 0.04 + 0.36) / 3 =
    0.1367``.
    """
    alpha = _check_alpha(alpha)
    sample = _sample(scores, truth, inclusion_probability, strata)
    _check_probabilities(sample.score)
    usable = ~np.isnan(sample.score) & ~np.isnan(sample.truth)
    n = int(usable.sum())
    if n == 0:
        return BrierResult(math.nan, math.nan, 0.0, 1.0, 0, alpha=alpha)
    w = sample.weight * usable
    squared = np.where(usable, (np.nan_to_num(sample.score) - np.nan_to_num(sample.truth)) ** 2, 0.0)
    total = float(w.sum())
    brier = float((w * squared).sum() / total)
    variance = _stratified_variance(w * (squared - brier) / total, sample.strata)
    se = math.sqrt(variance)
    low, high = _wald(brier, se, alpha)
    return BrierResult(brier, se, low, high, n, alpha=alpha)


def calibration_table(scores: Iterable[Any], truth: Iterable[Any],
                      inclusion_probability: Iterable[float] | None = None,
                      strata: Iterable[Hashable] | None = None, n_bins: int = 10,
                      alpha: float = 0.05) -> list[dict[str, Any]]:
    """Observed against expected, by bins of equal width of the score on [0, 1].

    Bin ``k`` holds the scores in ``[k / n_bins, (k + 1) / n_bins)`` (the last bin includes 1.0),
    so that a score on an edge falls where the threshold rule ``score >= t`` puts it; away from the
    edges these are the bins of ``sklearn.calibration.calibration_curve(strategy="uniform")``,
    which puts an edge in the bin below. For each bin with
    at least one case with a score and a reference: ``expected`` is the (weighted) mean score,
    ``observed`` the (weighted) share of positive references, with its Korn-Graubard interval
    (:func:`concordance.design.design_weighted_proportion`, the bin as its domain; with equal
    weights the estimate is the plain share). A calibrated AI has ``observed`` close to
    ``expected`` in every bin. Empty bins are left out.

    Example: scores 0.05, 0.15, 0.12 with references 0, 1, 0 and 10 bins give the bin
    [0, 0.1) with expected 0.05 and observed 0/1, and the bin [0.1, 0.2) with expected 0.135
    and observed 1/2.
    """
    alpha = _check_alpha(alpha)
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    sample = _sample(scores, truth, inclusion_probability, strata)
    _check_probabilities(sample.score)
    usable = ~np.isnan(sample.score) & ~np.isnan(sample.truth)
    n_bins = int(n_bins)
    bins = np.full(len(sample.score), -1)
    bins[usable] = np.minimum(np.floor(sample.score[usable] * n_bins + 1e-9), n_bins - 1).astype(int)
    rows = []
    success = np.where(usable, sample.truth == 1.0, None)
    for k in range(n_bins):
        in_bin = bins == k
        n = int(in_bin.sum())
        if n == 0:
            continue
        w = sample.weight[in_bin]
        expected = float((w * sample.score[in_bin]).sum() / w.sum())
        observed = design_weighted_proportion(success, sample.probability, in_domain=in_bin,
                                              strata=sample.strata, alpha=alpha)
        rows.append({"low": round(k / n_bins, 12), "high": round((k + 1) / n_bins, 12), "n": n, "expected": expected,
                     "observed": observed.estimate, "ci_low": observed.ci_low, "ci_high": observed.ci_high,
                     "n_positive": int((sample.truth[in_bin] == 1.0).sum())})
    return rows


# --------------------------------------------------------------------------------------------
# Threshold what-if
# --------------------------------------------------------------------------------------------


def threshold_table(scores: Iterable[Any], truth: Iterable[Any], thresholds: Iterable[float],
                    inclusion_probability: Iterable[float] | None = None,
                    strata: Iterable[Hashable] | None = None, alpha: float = 0.05) -> list[dict[str, Any]]:
    """What the AI would have done at other thresholds, in the population the sample stands for.

    For each threshold ``t`` (in the order given), a case is flagged when ``score >= t``:

    * ``sensitivity``: weighted share of the cases with a positive reference that are flagged;
    * ``specificity``: weighted share of the cases with a negative reference that are not;
    * ``workload``: weighted share of the cases with a score that are flagged, i.e. the expected
      share of the population the AI would send for action (cases without a reference count:
      the workload does not depend on the reference).

    Each is a :func:`concordance.design.design_weighted_proportion` (Hajek estimate,
    Korn-Graubard interval) as a dict; with equal weights the estimates are the plain shares.
    Example: scores 0.9, 0.7, 0.4, 0.2 with references 1, 0, 1, 0 at ``t = 0.5`` flag the first
    two: sensitivity 1/2, specificity 1/2, workload 2/4.
    """
    alpha = _check_alpha(alpha)
    sample = _sample(scores, truth, inclusion_probability, strata)
    has_score = ~np.isnan(sample.score)
    has_truth = ~np.isnan(sample.truth)
    positive = has_score & has_truth & (sample.truth == 1.0)
    negative = has_score & has_truth & (sample.truth == 0.0)
    rows = []
    for threshold in thresholds:
        t = float(threshold)
        if not math.isfinite(t):
            raise ValueError(f"thresholds must be finite numbers, got {threshold!r}")
        flagged = has_score & (np.nan_to_num(sample.score, nan=-np.inf) >= t)
        rows.append({
            "threshold": t,
            "sensitivity": design_weighted_proportion(flagged, sample.probability, in_domain=positive,
                                                      strata=sample.strata, alpha=alpha).to_dict(),
            "specificity": design_weighted_proportion(~flagged, sample.probability, in_domain=negative,
                                                      strata=sample.strata, alpha=alpha).to_dict(),
            "workload": design_weighted_proportion(flagged, sample.probability, in_domain=has_score,
                                                   strata=sample.strata, alpha=alpha).to_dict(),
        })
    return rows
