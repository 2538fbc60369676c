"""Tests of concordance.scores: AUC (DeLong and design-weighted), ROC points, Brier score,
calibration table and threshold what-if, on hand-checked examples and against scikit-learn."""

import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from concordance.scores import auc_with_ci, brier_score, calibration_table, roc_points, threshold_table

pytestmark = pytest.mark.unit

Z = 1.959963984540054


def _population(seed: int, n: int = 4000):
    """A population with a score that separates positives from negatives, and a rarer positive
    class in the stratum "low" (to weigh the strata differently)."""
    rng = np.random.default_rng(seed)
    stratum = np.where(rng.random(n) < 0.7, "low", "high")
    truth = rng.random(n) < np.where(stratum == "low", 0.1, 0.5)
    score = np.clip(rng.normal(np.where(truth, 0.65, 0.4), 0.18), 0.0, 1.0)
    return score, truth, stratum


# --- AUC -----------------------------------------------------------------------------------------

def test_auc_delong_hand_checked():
    """Positives 0.8, 0.6, 0.4; negatives 0.5, 0.2. Placement values V10 = (1, 1, 1/2) (0.4 beats
    0.2 only), V01 = (2/3, 1) (0.5 is beaten by 0.8 and 0.6). AUC = 2.5 / 3 = 5/6.
    S10 = ((1/6)^2 + (1/6)^2 + (1/3)^2) / 2 = 1/12, S01 = ((1/6)^2 + (1/6)^2) / 1 = 1/18,
    var = S10 / 3 + S01 / 2 = 1/36 + 1/36 = 1/18, se = 0.2357. On the logit scale: logit(5/6) =
    ln 5 = 1.6094, se / (AUC (1 - AUC)) = 0.2357 / (5/36) = 1.6971, 1.6094 -/+ 1.96 x 1.6971 =
    [-1.7169, 4.9357], back-transformed [0.1522, 0.9929]."""
    result = auc_with_ci([0.8, 0.6, 0.4, 0.5, 0.2], [True, True, True, False, False])

    assert result.auc == pytest.approx(5 / 6)
    assert result.se == pytest.approx(math.sqrt(1 / 18))
    half = Z * math.sqrt(1 / 18) * 36 / 5
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (1 / (1 + math.exp(half) / 5), 1 / (1 + math.exp(-half) / 5)))
    assert (result.ci_low, result.ci_high) == pytest.approx((0.1522, 0.9929), abs=1e-4)
    assert (result.n_positive, result.n_negative, result.method) == (3, 2, "delong")


def test_auc_weighted_with_equal_weights_hand_checked():
    """Same cases, every weight 1, one stratum. Influence values z = w (V - AUC) / W: positives
    (1 - 5/6) / 3 = 1/18, 1/18, (1/2 - 5/6) / 3 = -1/9; negatives (2/3 - 5/6) / 2 = -1/12,
    (1 - 5/6) / 2 = 1/12. Their mean is 0 and sum z^2 = 2/324 + 1/81 + 2/144 = 7/216;
    var = N / (N - 1) x 7/216 = 5/4 x 7/216 = 35/864."""
    result = auc_with_ci([0.8, 0.6, 0.4, 0.5, 0.2], [1, 1, 1, 0, 0], inclusion_probability=[1.0] * 5)

    assert result.auc == pytest.approx(5 / 6)
    assert result.se == pytest.approx(math.sqrt(35 / 864))
    assert result.method.startswith("hajek")


def test_auc_ties_count_one_half_hand_checked():
    """Positive 0.5 against negatives 0.5 and 0.1: one tie (1/2) and one win: AUC = 3/4."""
    assert auc_with_ci([0.5, 0.5, 0.1], [1, 0, 0]).auc == pytest.approx(0.75)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_auc_matches_sklearn_plain_and_weighted(seed):
    score, truth, stratum = _population(seed, n=300)
    score = score.round(2)  # ties
    probability = np.where(stratum == "low", 0.2, 0.8)

    assert auc_with_ci(score, truth).auc == pytest.approx(roc_auc_score(truth, score), abs=1e-12)
    assert auc_with_ci(score, truth, probability, stratum).auc == pytest.approx(
        roc_auc_score(truth, score, sample_weight=1 / probability), abs=1e-12)


def test_auc_delong_variance_matches_the_pairwise_definition():
    """DeLong's variance from the full m x n matrix of comparisons (the textbook form), against
    the sorted-placement computation of the module."""
    score, truth, _ = _population(7, n=150)
    score = score.round(2)
    x, y = score[truth], score[~truth]
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    auc = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    variance = ((v10 - auc) ** 2).sum() / (len(x) - 1) / len(x) + ((v01 - auc) ** 2).sum() / (len(y) - 1) / len(y)

    result = auc_with_ci(score, truth)

    assert result.auc == pytest.approx(auc)
    assert result.se == pytest.approx(math.sqrt(variance))


def test_auc_perfect_separation_gets_the_clopper_pearson_interval_of_the_smaller_group():
    """Positives 0.9, 0.8, 0.7 above negatives 0.3, 0.2: AUC 1, variance 0. Interval: the
    Clopper-Pearson one of 2 successes out of min(3, 2) = 2, [0.025^(1/2), 1] = [0.1581, 1]."""
    result = auc_with_ci([0.9, 0.8, 0.7, 0.3, 0.2], [1, 1, 1, 0, 0])
    assert (result.auc, result.se) == (1.0, 0.0)
    assert (result.ci_low, result.ci_high) == pytest.approx((0.025 ** 0.5, 1.0))
    reverse = auc_with_ci([0.1, 0.2, 0.7, 0.8], [1, 1, 0, 0])
    assert reverse.auc == 0.0 and (reverse.ci_low, reverse.ci_high) == pytest.approx((0.0, 1 - 0.025 ** 0.5))


def test_auc_missing_values_and_one_class_only():
    assert auc_with_ci([0.9, None, 0.2, 0.4], [1, 1, None, 0]).auc == pytest.approx(1.0)
    empty = auc_with_ci([0.9, 0.8], [1, 1])
    assert math.isnan(empty.auc) and (empty.ci_low, empty.ci_high) == (0.0, 1.0)
    assert empty.to_dict()["auc"] is None


def test_auc_refuses_bad_input():
    with pytest.raises(ValueError, match="same length"):
        auc_with_ci([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="numbers"):
        auc_with_ci(["high", 0.2], [1, 0])
    with pytest.raises(ValueError, match="finite"):
        auc_with_ci([math.inf, 0.2], [1, 0])
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        auc_with_ci([0.1, 0.2], [1, 0], inclusion_probability=[0.0, 1.0])


def test_weighted_auc_interval_covers_the_population_auc():
    """Seeded simulation: stratified samples (100 of the "low" stratum, 100 of the "high" one, so
    unequal weights) from a fixed population; the 95 % interval of the weighted AUC covers the
    population's AUC in about 95 % of the samples (94.5 % with this seed), and the weighted
    estimate is close to it on average."""
    score, truth, stratum = _population(11)
    target = roc_auc_score(truth, score)
    rng = np.random.default_rng(12)
    low, high = np.flatnonzero(stratum == "low"), np.flatnonzero(stratum == "high")
    pi = {"low": 100 / len(low), "high": 100 / len(high)}
    covered, estimates = 0, []
    runs = 400
    for _ in range(runs):
        pick = np.concatenate([rng.choice(low, 100, replace=False), rng.choice(high, 100, replace=False)])
        result = auc_with_ci(score[pick], truth[pick], [pi[s] for s in stratum[pick]], stratum[pick])
        covered += result.ci_low <= target <= result.ci_high
        estimates.append(result.auc)
    assert 0.93 <= covered / runs <= 0.97
    assert abs(np.mean(estimates) - target) < 0.01


# --- ROC points ----------------------------------------------------------------------------------

def test_roc_points_hand_checked():
    """Scores 0.9 (+), 0.7 (-), 0.4 (+), 0.2 (-): thresholds 0.9, 0.7, 0.4, 0.2 flag 1, 2, 3, 4
    cases: (fpr, tpr) = (0, 1/2), (1/2, 1/2), (1/2, 1), (1, 1); the trapezoids give 3/4."""
    points = roc_points([0.9, 0.7, 0.4, 0.2], [1, 0, 1, 0])

    assert points["fpr"] == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert points["tpr"] == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert points["threshold"] == [None, 0.9, 0.7, 0.4, 0.2]
    assert np.trapezoid(points["tpr"], points["fpr"]) == pytest.approx(
        auc_with_ci([0.9, 0.7, 0.4, 0.2], [1, 0, 1, 0]).auc)


def test_roc_points_match_sklearn_weighted():
    score, truth, stratum = _population(5, n=200)
    score = score.round(2)
    weights = np.where(stratum == "low", 5.0, 1.25)
    fpr, tpr, thresholds = roc_curve(truth, score, sample_weight=weights, drop_intermediate=False)

    points = roc_points(score, truth, 1 / weights)

    assert points["fpr"] == pytest.approx(fpr.tolist())
    assert points["tpr"] == pytest.approx(tpr.tolist())
    assert points["threshold"][1:] == pytest.approx(thresholds[1:].tolist())


def test_roc_points_empty_without_both_classes():
    assert roc_points([0.3, 0.4], [0, 0]) == {"fpr": [], "tpr": [], "threshold": []}


# --- Brier score and calibration ------------------------------------------------------------------

def test_brier_score_hand_checked():
    """(0.9 - 1)^2 + (0.2 - 0)^2 + (0.6 - 0)^2 = 0.01 + 0.04 + 0.36 = 0.41, over 3 cases: 0.13667.
    Influence values (b - B) / 3 with b = 0.01, 0.04, 0.36, and 0 for the case without a score,
    which stays in the sample (as in every design-weighted figure): mean 0, var = 4/3 x sum z^2."""
    result = brier_score([0.9, 0.2, 0.6, None], [1, 0, 0, 1])
    b = np.array([0.01, 0.04, 0.36])
    z = (b - b.mean()) / 3

    assert result.score == pytest.approx(0.41 / 3)
    assert result.n == 3
    assert result.se == pytest.approx(math.sqrt(4 / 3 * (z**2).sum()))


def test_brier_score_matches_sklearn_weighted():
    score, truth, stratum = _population(8, n=250)
    probability = np.where(stratum == "low", 0.25, 1.0)

    result = brier_score(score, truth, probability, stratum)

    assert result.score == pytest.approx(brier_score_loss(truth, score, sample_weight=1 / probability))


def test_calibration_needs_probabilities():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        brier_score([1.5, 0.2], [1, 0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibration_table([12.0, 3.0], [1, 0])
    with pytest.raises(ValueError, match="n_bins"):
        calibration_table([0.2], [1], n_bins=0)


def test_calibration_table_hand_checked():
    """Scores 0.05 (-), 0.15 (+), 0.12 (-), 0.3 (+, on an edge: bin [0.3, 0.4)), 1.0 (+, in the last
    bin): expected 0.05 / observed 0 of 1; expected (0.15 + 0.12) / 2 = 0.135 / observed 1 of 2;
    0.3 / 1 of 1; 1.0 / 1 of 1. A bin of one case has the Clopper-Pearson interval of 0/1 or 1/1
    ([0, 0.975] or [0.025, 1])."""
    rows = calibration_table([0.05, 0.15, 0.12, 0.3, 1.0, None], [0, 1, 0, 1, 1, 0])

    assert [(r["low"], r["high"], r["n"], r["n_positive"]) for r in rows] == [
        (0.0, 0.1, 1, 0), (0.1, 0.2, 2, 1), (0.3, 0.4, 1, 1), (0.9, 1.0, 1, 1)]
    assert [r["expected"] for r in rows] == pytest.approx([0.05, 0.135, 0.3, 1.0])
    assert [r["observed"] for r in rows] == pytest.approx([0.0, 0.5, 1.0, 1.0])
    assert (rows[0]["ci_low"], rows[0]["ci_high"]) == pytest.approx((0.0, 0.975))
    assert (rows[2]["ci_low"], rows[2]["ci_high"]) == pytest.approx((0.025, 1.0))


def test_calibration_table_matches_sklearn_calibration_curve():
    score, truth, _ = _population(9, n=500)
    score = np.clip(score, 0.001, 0.999)  # away from the edges, where the two conventions differ
    observed, expected = calibration_curve(truth, score, n_bins=10, strategy="uniform")

    rows = calibration_table(score, truth, n_bins=10)

    assert [r["observed"] for r in rows] == pytest.approx(observed.tolist())
    assert [r["expected"] for r in rows] == pytest.approx(expected.tolist())


# --- Threshold what-if -----------------------------------------------------------------------------

def test_threshold_table_hand_checked():
    """Scores 0.9 (+), 0.7 (-), 0.4 (+), 0.2 (-), 0.8 (no reference). At 0.5: flagged 0.9, 0.7,
    0.8: sensitivity 1/2, specificity 1/2, workload 3/5 (the case without a reference counts).
    At 0.1: everything flagged: sensitivity 1, specificity 0, workload 1."""
    rows = threshold_table([0.9, 0.7, 0.4, 0.2, 0.8], [1, 0, 1, 0, None], [0.5, 0.1])

    assert [r["threshold"] for r in rows] == [0.5, 0.1]
    first, second = rows
    assert (first["sensitivity"]["estimate"], first["specificity"]["estimate"], first["workload"]["estimate"]) \
        == pytest.approx((0.5, 0.5, 0.6))
    assert (first["sensitivity"]["n"], first["specificity"]["n"], first["workload"]["n"]) == (2, 2, 5)
    assert (second["sensitivity"]["estimate"], second["specificity"]["estimate"], second["workload"]["estimate"]) \
        == pytest.approx((1.0, 0.0, 1.0))


def test_threshold_table_weighted_hand_checked():
    """Weights 1 / pi: the two "low" cases (0.9 +, 0.2 -) weigh 4, the two "high" ones (0.7 -,
    0.4 +) weigh 1. At 0.5 (flags 0.9 and 0.7): sensitivity 4 / (4 + 1) = 0.8, specificity
    4 / (4 + 1) = 0.8 (0.2 cleared, 0.7 flagged), workload (4 + 1) / 10 = 0.5."""
    rows = threshold_table([0.9, 0.7, 0.4, 0.2], [1, 0, 1, 0], [0.5],
                           inclusion_probability=[0.25, 1.0, 1.0, 0.25], strata=["low", "high", "high", "low"])

    assert (rows[0]["sensitivity"]["estimate"], rows[0]["specificity"]["estimate"],
            rows[0]["workload"]["estimate"]) == pytest.approx((0.8, 0.8, 0.5))


def test_threshold_table_at_the_roc_points_gives_the_curve():
    score, truth, stratum = _population(4, n=120)
    score = score.round(2)
    probability = np.where(stratum == "low", 0.3, 0.9)
    points = roc_points(score, truth, probability)

    rows = threshold_table(score, truth, points["threshold"][1:], probability, stratum)

    assert [r["sensitivity"]["estimate"] for r in rows] == pytest.approx(points["tpr"][1:])
    assert [1 - r["specificity"]["estimate"] for r in rows] == pytest.approx(points["fpr"][1:])


def test_threshold_table_refuses_a_threshold_that_is_not_a_number():
    with pytest.raises(ValueError, match="finite"):
        threshold_table([0.2], [1], [math.nan])
