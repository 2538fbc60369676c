"""Tests of concordance.accuracy: Agresti's McNemar example, statsmodels, scikit-learn, edge cases."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from concordance import McNemarResult, diagnostic_accuracy, mcnemar, proportion, wilson_interval

pytestmark = pytest.mark.unit

REFDATA = Path(__file__).resolve().parents[1] / "refdata"
SEEDS = range(60)


def _agresti_discordant() -> tuple[int, int]:
    table = pd.read_csv(REFDATA / "agresti_mcnemar_2x2.csv", index_col=0)
    return int(table.loc["approve", "disapprove"]), int(table.loc["disapprove", "approve"])


def _random_discordant(seed: int) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    total = int(rng.choice([1, 3, 10, 24, 25, 60, 200, 2000]) + rng.integers(0, 10))
    b = int(rng.binomial(total, rng.uniform(0.05, 0.95)))
    return b, total - b


# --- McNemar ----------------------------------------------------------------------------------


def test_mcnemar_agresti_presidential_approval():
    b, c = _agresti_discordant()
    assert (b, c) == (150, 86)
    plain = mcnemar(b, c, exact=False)
    assert round(plain.statistic, 2) == 17.36
    assert plain.statistic == 64**2 / 236
    assert plain.method == "chi-square without continuity correction"
    corrected = mcnemar(b, c, exact=False, correction=True)
    assert round(corrected.statistic, 2) == 16.82
    assert corrected.statistic == 63**2 / 236
    assert f"{corrected.p_value:.1e}" == "4.1e-05"
    assert corrected.method == "chi-square with continuity correction"
    # z = 64 / sqrt(236) = 4.166: two-sided normal p of 3.1e-5 without the correction
    assert f"{plain.p_value:.1e}" == "3.1e-05"
    # the default: chi-square (236 discordant pairs), without correction
    assert mcnemar(b, c) == plain


@pytest.mark.parametrize("correction", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_mcnemar_chi_square_matches_statsmodels(seed, correction):
    b, c = _random_discordant(seed)
    result = mcnemar(b, c, exact=False, correction=correction)
    if b == c:  # statsmodels gives (0 - 1)^2 / (b + c) with the correction; we floor |b - c| - 1 at 0
        assert result.statistic == 0.0 and result.p_value == 1.0
        return
    expected = sm_mcnemar([[0, b], [c, 0]], exact=False, correction=correction)
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-10)
    assert result.p_value == pytest.approx(expected.pvalue, abs=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_mcnemar_exact_matches_statsmodels(seed):
    b, c = _random_discordant(seed)
    expected = sm_mcnemar([[7, b], [c, 3]], exact=True)
    result = mcnemar(b, c, exact=True)
    assert result.method == "exact binomial"
    assert result.statistic == expected.statistic
    assert result.p_value == pytest.approx(expected.pvalue, abs=1e-10)


@pytest.mark.parametrize(("b", "c"), [(0, 5), (1, 9), (3, 4), (2, 12), (10, 14)])
def test_mcnemar_exact_against_binomial_sum(b, c):
    n, smaller = b + c, min(b, c)
    tail = sum(math.comb(n, k) for k in range(smaller + 1)) / 2**n
    assert mcnemar(b, c, exact=True).p_value == pytest.approx(min(1.0, 2 * tail), rel=1e-12)


def test_mcnemar_default_switches_to_exact_below_25_discordant_pairs():
    assert mcnemar(4, 20).method == "exact binomial"
    assert mcnemar(5, 20).method == "chi-square without continuity correction"
    assert mcnemar(5, 20, correction=True).method == "chi-square with continuity correction"
    assert mcnemar(4, 20, exact=False) != mcnemar(4, 20)


def test_mcnemar_edge_cases():
    exact = mcnemar(0, 0)
    assert (exact.statistic, exact.p_value, exact.method) == (0.0, 1.0, "exact binomial")
    chi2 = mcnemar(0, 0, exact=False)
    assert math.isnan(chi2.statistic) and math.isnan(chi2.p_value)
    assert mcnemar(6, 6, exact=True).p_value == 1.0
    assert mcnemar(np.int64(150), 86.0, exact=False) == mcnemar(150, 86, exact=False)
    with pytest.raises(ValueError):
        mcnemar(-1, 3)
    with pytest.raises(ValueError):
        mcnemar(1.5, 3)
    result = mcnemar(1, 3)
    assert isinstance(result, McNemarResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.p_value = 0.0  # type: ignore[misc]


# --- diagnostic accuracy ----------------------------------------------------------------------


def test_diagnostic_accuracy_by_hand():
    # tp = 3, fp = 1, fn = 2, tn = 4, plus two incomplete pairs that are dropped
    test = ["pos"] * 3 + ["pos"] + ["neg"] * 2 + ["neg"] * 4 + [None, "pos"]
    reference = ["pos"] * 3 + ["neg"] + ["pos"] * 2 + ["neg"] * 4 + ["pos", float("nan")]
    result = diagnostic_accuracy(test, reference, positive="pos")
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (3, 1, 2, 4)
    assert result["sensitivity"].estimate == 3 / 5
    assert result["specificity"].estimate == 4 / 5
    assert result["ppv"].estimate == 3 / 4
    assert result["npv"].estimate == 4 / 6
    assert result["sensitivity"] == proportion(3, 5)
    assert (result["npv"].ci_low, result["npv"].ci_high) == wilson_interval(4, 6)
    exact = diagnostic_accuracy(test, reference, positive="pos", alpha=0.1, method="clopper-pearson")
    assert exact["specificity"] == proportion(4, 5, alpha=0.1, method="clopper-pearson")


def test_diagnostic_accuracy_is_one_versus_rest():
    test = ["A", "B", "C", "A", "C"]
    reference = ["A", "C", "B", "B", "A"]
    result = diagnostic_accuracy(test, reference, positive="A")
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (1, 1, 1, 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_diagnostic_accuracy_counts_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    reference = rng.random(n) < rng.uniform(0.01, 0.99)
    flip = rng.random(n) < rng.uniform(0.0, 0.5)
    test = np.where(flip, ~reference, reference)
    tn, fp, fn, tp = sk_confusion_matrix(reference, test, labels=[False, True]).ravel()
    result = diagnostic_accuracy(test, reference, positive=True)
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (tp, fp, fn, tn)
    assert result["sensitivity"].n == tp + fn and result["ppv"].n == tp + fp


def test_diagnostic_accuracy_empty_cells_give_nan_estimates():
    result = diagnostic_accuracy(["neg", "neg"], ["neg", "neg"], positive="pos")
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (0, 0, 0, 2)
    for key in ("sensitivity", "ppv"):
        assert math.isnan(result[key].estimate)
        assert (result[key].ci_low, result[key].ci_high) == (0.0, 1.0)
    assert result["specificity"].estimate == 1.0
    empty = diagnostic_accuracy([], [], positive="pos")
    assert empty["tp"] + empty["fp"] + empty["fn"] + empty["tn"] == 0
