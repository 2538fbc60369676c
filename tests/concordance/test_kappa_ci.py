"""Tests of the kappa confidence intervals: in range, not collapsing, hand-checked, with their coverage."""

import math

import numpy as np
import pytest
from numpy.polynomial import Polynomial
from statsmodels.stats import inter_rater

from concordance import cohen_kappa
from concordance.agreement import _agreement_weights, _kappa_from_table
from concordance.kappa_ci import dirichlet_posterior_interval
from concordance.sample import SMALL_SAMPLE

pytestmark = pytest.mark.unit

Z_975 = 1.959963984540054


def _pairs(n11: int, n12: int, n21: int, n22: int) -> tuple[list[str], list[str]]:
    a = ["pos"] * (n11 + n12) + ["neg"] * (n21 + n22)
    b = ["pos"] * n11 + ["neg"] * n12 + ["pos"] * n21 + ["neg"] * n22
    return a, b


def _gof_bounds_from_the_cubic(n11: int, n12: int, n21: int, n22: int, z: float) -> tuple[float, float]:
    """Donner-Eliasziw bounds as roots of their cubic, written out independently of the library.

    X^2(k) = sum_l (n_l - n P_l)^2 / (n P_l) = z^2, multiplied by P_1 P_2 P_3, is a cubic in k; the
    bounds are its roots on each side of the intraclass estimate, or the ends of the model's
    parameter space when no root lies there.
    """
    n = n11 + n12 + n21 + n22
    observed = (n11, n12 + n21, n22)
    pi = (2 * n11 + n12 + n21) / (2 * n)
    s = pi * (1 - pi)
    cells = [Polynomial([pi * pi, s]), Polynomial([2 * s, -2 * s]), Polynomial([(1 - pi) ** 2, s])]
    cubic = -z * z * cells[0] * cells[1] * cells[2]
    for i, (o, cell) in enumerate(zip(observed, cells, strict=True)):
        others = [c for j, c in enumerate(cells) if j != i]
        cubic = cubic + (o - n * cell) ** 2 / n * others[0] * others[1]
    estimate = 1 - (n12 + n21) / (2 * n * s)
    lowest = max(-pi / (1 - pi), -(1 - pi) / pi)
    roots = [r.real for r in cubic.roots() if abs(r.imag) < 1e-9 and lowest - 1e-12 <= r.real <= 1 + 1e-12]
    below = [r for r in roots if r < estimate]
    above = [r for r in roots if r > estimate]
    return (max(below) if below else lowest), (min(above) if above else 1.0)


# --- goodness-of-fit interval (two categories): hand-checked values ------------------------------


@pytest.mark.parametrize("n", [6, 8, 12, 20, 28, 200])
def test_perfect_agreement_interval_is_closed_form_not_collapsed(n):
    # Balanced perfect agreement: pi = 1/2, counts n/2, 0, n/2. X^2(k) = n (1 - k) / (1 + k), so the
    # lower bound is (n - z^2) / (n + z^2) and the upper bound 1 (X^2(1) = 0). At n = 200 the
    # standard error is 0 and the Wald interval would be [1, 1]: the switch rule applies too.
    result = cohen_kappa(*_pairs(n // 2, 0, 0, n // 2))
    assert result.kappa == 1.0 and result.se == 0.0
    assert result.ci_method == "goodness-of-fit"
    assert result.ci_low == pytest.approx((n - Z_975**2) / (n + Z_975**2), abs=1e-12)
    assert result.ci_high == 1.0


def test_perfect_agreement_on_eight_cases():
    result = cohen_kappa(*_pairs(4, 0, 0, 4))
    assert round(result.ci_low, 4) == 0.3512
    assert result.ci_high == 1.0


@pytest.mark.parametrize("n", [4, 8, 20])
def test_total_disagreement_interval_is_closed_form(n):
    # Balanced total disagreement: kappa -1, X^2(k) = n (1 + k) / (1 - k): [-1, (z^2 - n) / (z^2 + n)].
    result = cohen_kappa(*_pairs(0, n // 2, n // 2, 0))
    assert result.kappa == -1.0
    assert result.ci_method == "goodness-of-fit"
    assert result.ci_low == -1.0
    assert result.ci_high == pytest.approx((Z_975**2 - n) / (Z_975**2 + n), abs=1e-12)


def test_raters_constant_on_different_labels_do_not_collapse_to_zero():
    # Table [[0, 8], [0, 0]]: Cohen's kappa is 0 with a zero standard error (Wald: [0, 0]). The
    # goodness-of-fit interval is that of total disagreement, [-1, (z^2 - 8) / (z^2 + 8)] =
    # [-1, -0.351], for the intraclass kappa (-1); it is widened to contain Cohen's kappa, 0.
    result = cohen_kappa(["pos"] * 8, ["neg"] * 8)
    assert (result.kappa, result.se) == (0.0, 0.0)
    assert (result.ci_low, result.ci_high) == (-1.0, 0.0)


@pytest.mark.parametrize(
    "cells",
    [(3, 1, 2, 4), (9, 2, 1, 1), (1, 1, 1, 12), (5, 0, 3, 2), (2, 4, 3, 1), (10, 1, 0, 17), (0, 3, 2, 5)],
)
def test_goodness_of_fit_bounds_match_the_cubic(cells):
    n11, n12, n21, n22 = cells
    expected_low, expected_high = _gof_bounds_from_the_cubic(*cells, Z_975)
    result = cohen_kappa(*_pairs(*cells))
    assert result.n < SMALL_SAMPLE
    assert result.ci_method == "goodness-of-fit"
    assert result.ci_low == pytest.approx(min(expected_low, result.kappa), abs=1e-9)
    assert result.ci_high == pytest.approx(max(expected_high, result.kappa), abs=1e-9)


def test_goodness_of_fit_respects_alpha():
    cells = (6, 2, 1, 5)
    z_995 = 2.5758293035489004
    low, high = _gof_bounds_from_the_cubic(*cells, z_995)
    result = cohen_kappa(*_pairs(*cells), alpha=0.01)
    assert (result.ci_low, result.ci_high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))


def test_weighted_kappa_on_two_labels_uses_the_same_interval():
    a, b = _pairs(5, 1, 2, 4)
    unweighted = cohen_kappa(a, b)
    for weights in ("linear", "quadratic"):
        weighted = cohen_kappa(a, b, weights=weights)
        assert weighted.ci_method == "goodness-of-fit"
        assert (weighted.ci_low, weighted.ci_high) == (unweighted.ci_low, unweighted.ci_high)


# --- switch rule -----------------------------------------------------------------------------------


def test_switch_rule_at_thirty_pairs():
    # 29 pairs: small-sample interval; 30 pairs with a positive standard error: Wald, as statsmodels.
    small = cohen_kappa(*_pairs(12, 3, 2, 12))
    large = cohen_kappa(*_pairs(12, 3, 3, 12))
    assert (small.n, small.ci_method) == (29, "goodness-of-fit")
    expected = inter_rater.cohens_kappa(np.array([[12, 3], [3, 12]]))
    assert (large.n, large.ci_method) == (30, "wald")
    assert large.ci_low == pytest.approx(expected.kappa_low, abs=1e-12)
    assert large.ci_high == pytest.approx(expected.kappa_upp, abs=1e-12)


def test_large_sample_wald_interval_is_truncated_at_one():
    # 40 pairs, one disagreement: kappa 0.95 with se 0.049; statsmodels' Wald upper bound is above 1.
    table = np.array([[20, 1], [0, 19]])
    expected = inter_rater.cohens_kappa(table)
    assert expected.kappa_upp > 1.0
    result = cohen_kappa(*_pairs(20, 1, 0, 19))
    assert result.ci_method == "wald"
    assert result.ci_low == pytest.approx(expected.kappa_low, abs=1e-12)
    assert result.ci_high == 1.0


def test_unused_labels_do_not_change_the_unweighted_interval():
    a, b = _pairs(4, 1, 2, 5)
    padded, plain = cohen_kappa(a, b, labels=["neg", "pos", "unsure"]), cohen_kappa(a, b, labels=["neg", "pos"])
    assert (padded.ci_method, padded.ci_low, padded.ci_high) == ("goodness-of-fit", plain.ci_low, plain.ci_high)


# --- posterior interval (three or more categories, weighted scales) -------------------------------


def _independent_posterior_interval(table: np.ndarray, w: np.ndarray, draws: int, seed: int) -> tuple[float, float]:
    """The Dirichlet(table + 1/k^2) posterior interval of kappa by straightforward Monte Carlo."""
    k = table.shape[0]
    rng = np.random.default_rng(seed)
    kappas = []
    for p in rng.dirichlet(table.ravel() + 1.0 / k**2, size=draws):
        cells = p.reshape(k, k)
        p_o = (w * cells).sum()
        p_e = (w * np.outer(cells.sum(axis=1), cells.sum(axis=0))).sum()
        kappas.append((p_o - p_e) / (1 - p_e))
    return tuple(np.quantile(kappas, [0.025, 0.975]))


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_posterior_interval_matches_an_independent_monte_carlo(weights):
    a = ["low", "mid", "high", "low", "mid", "high", "low", "mid", "high", "low", "mid", "high"]
    b = ["low", "mid", "high", "low", "low", "high", "mid", "mid", "high", "low", "high", "high"]
    scale = ["low", "mid", "high"]
    result = cohen_kappa(a, b, labels=scale, weights=weights)
    table = np.array([[3, 1, 0], [1, 2, 1], [0, 0, 4]])
    low, high = _independent_posterior_interval(table, _agreement_weights(3, weights), 40_000, seed=2024)
    assert result.ci_method == "dirichlet-posterior"
    # Monte Carlo standard errors of both estimates are below 0.006: a tolerance of 0.025 is > 3 of them.
    assert result.ci_low == pytest.approx(low, abs=0.025)
    assert result.ci_high == pytest.approx(high, abs=0.025)


def test_posterior_interval_at_perfect_agreement_reaches_one_without_collapsing():
    labels = ["A", "B", "C"] * 3
    result = cohen_kappa(labels, labels)
    table = np.diag([3, 3, 3])
    low, high = _independent_posterior_interval(table, np.eye(3), 40_000, seed=7)
    assert high < 1.0  # the posterior's upper quantile: widened to the estimate, 1
    assert result.ci_high == 1.0
    assert result.ci_low == pytest.approx(low, abs=0.025)
    assert 0.2 < result.ci_low < 0.9


def test_posterior_interval_is_reproducible():
    a, b = list("abcabcabcab"), list("abcabcaacbb")
    first, second = cohen_kappa(a, b), cohen_kappa(list(a), list(b))
    assert first.ci_method == "dirichlet-posterior"
    assert (first.ci_low, first.ci_high) == (second.ci_low, second.ci_high)


# --- coverage ---------------------------------------------------------------------------------------


def _two_by_two_tables(n: int):
    for n11 in range(n + 1):
        for n12 in range(n + 1 - n11):
            for n21 in range(n + 1 - n11 - n12):
                yield n11, n12, n21, n - n11 - n12 - n21


@pytest.mark.parametrize("n", [10, 20])
def test_small_sample_binary_interval_coverage_exact(n):
    # Exact coverage (every 2 x 2 table enumerated, no simulation error) of the 95 % interval under
    # the common-correlation model with equal rater margins, where Cohen's and the intraclass kappa
    # coincide. A table where kappa is undefined (one label throughout) counts as a miss.
    intervals = {}
    for cells in _two_by_two_tables(n):
        result = _kappa_from_table(np.array(cells).reshape(2, 2), None, 0.05, ["pos", "neg"])
        intervals[cells] = None if math.isnan(result.kappa) else (result.ci_low, result.ci_high)
    for kappa in (0.4, 0.6, 0.8):
        for pi in (0.3, 0.5):
            s = pi * (1 - pi)
            p = (pi * pi + s * kappa, s * (1 - kappa), s * (1 - kappa), (1 - pi) ** 2 + s * kappa)
            coverage = 0.0
            for cells, bounds in intervals.items():
                if bounds is not None and bounds[0] <= kappa <= bounds[1]:
                    terms = (q**c / math.factorial(c) for q, c in zip(p, cells, strict=True))
                    coverage += math.factorial(n) * math.prod(terms)
            assert 0.90 <= coverage <= 0.99, (n, kappa, pi, coverage)


def test_small_sample_multicategory_interval_coverage_simulated():
    # Seeded simulation: 3 categories, 150 tables per setting, true kappa 0.4 and 0.8 under the
    # common-correlation model (margins 0.5, 0.3, 0.2), n = 10 and 20; 95 % posterior interval
    # (1 000 draws per table here, for speed), widened to the estimate as in the library. The band
    # allows for the simulation error (standard error of a coverage near 0.93: 0.021).
    rng = np.random.default_rng(20240917)
    margins = np.array([0.5, 0.3, 0.2])
    w = np.eye(3)
    for n in (10, 20):
        for kappa in (0.4, 0.8):
            probabilities = (kappa * np.diag(margins) + (1 - kappa) * np.outer(margins, margins)).ravel()
            covered = defined = 0
            while defined < 150:
                table = rng.multinomial(n, probabilities).reshape(3, 3)
                estimate = _kappa_from_table(table, None, 0.05, ["a", "b", "c"]).kappa
                if math.isnan(estimate):
                    continue
                defined += 1
                used = (table.sum(axis=0) + table.sum(axis=1)) > 0
                low, high = dirichlet_posterior_interval(table[np.ix_(used, used)], w[np.ix_(used, used)], 0.05, 1000)
                covered += min(low, estimate) <= kappa <= max(high, estimate)
            assert 0.85 <= covered / defined <= 0.99, (n, kappa, covered / defined)
