"""Tests of concordance.proportions: Newcombe (1998), statsmodels, edge cases."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from concordance import Proportion, clopper_pearson_interval, proportion, wilson_interval

pytestmark = pytest.mark.unit

REFDATA = Path(__file__).resolve().parents[1] / "refdata"
NEWCOMBE = pd.read_csv(REFDATA / "newcombe1998_single_proportion_ci.csv")
SEEDS = range(60)


def _random_count(seed: int) -> tuple[int, int, float]:
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 5, 10, 30, 100, 1000, 5000]) + rng.integers(0, 20))
    x = int(rng.binomial(n, rng.choice([0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 1.0])))
    alpha = float(rng.choice([0.01, 0.05, 0.10, 0.20]))
    return x, n, alpha


@pytest.mark.parametrize("row", list(NEWCOMBE.itertuples(index=False)), ids=lambda r: f"{r.x}/{r.n}")
def test_newcombe_1998_limits(row):
    low, high = wilson_interval(row.x, row.n)
    assert (round(low, 4), round(high, 4)) == (row.wilson_low, row.wilson_high)
    low, high = clopper_pearson_interval(row.x, row.n)
    assert (round(low, 4), round(high, 4)) == (row.cp_low, row.cp_high)


@pytest.mark.parametrize("seed", SEEDS)
def test_wilson_matches_statsmodels(seed):
    x, n, alpha = _random_count(seed)
    expected = proportion_confint(x, n, alpha=alpha, method="wilson")
    assert wilson_interval(x, n, alpha) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_clopper_pearson_matches_statsmodels(seed):
    x, n, alpha = _random_count(seed)
    expected = proportion_confint(x, n, alpha=alpha, method="beta")
    assert clopper_pearson_interval(x, n, alpha) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("x", [0, 1, 2, 7, 13, 19, 20])
def test_clopper_pearson_tails_are_alpha_over_two(x):
    # Definition: P(X >= x | p_low) = alpha/2 and P(X <= x | p_high) = alpha/2, X ~ Bin(20, p).
    n = 20
    low, high = clopper_pearson_interval(x, n)

    def pmf(k, p):
        return math.comb(n, k) * p**k * (1 - p) ** (n - k)

    if x > 0:
        assert sum(pmf(k, low) for k in range(x, n + 1)) == pytest.approx(0.025, abs=1e-12)
    if x < n:
        assert sum(pmf(k, high) for k in range(0, x + 1)) == pytest.approx(0.025, abs=1e-12)


def test_boundaries_are_exact():
    assert wilson_interval(0, 25)[0] == 0.0
    assert wilson_interval(25, 25)[1] == 1.0
    assert clopper_pearson_interval(0, 25)[0] == 0.0
    assert clopper_pearson_interval(25, 25)[1] == 1.0
    # Clopper-Pearson at x = 0 has the closed form 1 - (alpha/2)^(1/n)
    assert clopper_pearson_interval(0, 25)[1] == pytest.approx(1 - 0.025 ** (1 / 25), abs=1e-14)


def test_zero_denominator():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert clopper_pearson_interval(0, 0) == (0.0, 1.0)
    empty = proportion(0, 0)
    assert math.isnan(empty.estimate)
    assert (empty.ci_low, empty.ci_high) == (0.0, 1.0)
    assert empty.to_dict()["estimate"] is None


def test_proportion_constructor():
    p = proportion(81, 263)
    assert isinstance(p, Proportion)
    assert (p.x, p.n, p.method, p.alpha) == (81, 263, "wilson", 0.05)
    assert p.estimate == 81 / 263
    assert (p.ci_low, p.ci_high) == wilson_interval(81, 263)
    exact = proportion(np.int64(81), 263.0, alpha=0.1, method="clopper-pearson")
    assert (exact.x, exact.n) == (81, 263) and type(exact.x) is int
    assert (exact.ci_low, exact.ci_high) == clopper_pearson_interval(81, 263, 0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 1  # type: ignore[misc]
    assert p.to_dict() == {
        "x": 81,
        "n": 263,
        "estimate": 81 / 263,
        "ci_low": p.ci_low,
        "ci_high": p.ci_high,
        "method": "wilson",
        "alpha": 0.05,
    }


@pytest.mark.parametrize(
    ("x", "n", "alpha"),
    [(5, 4, 0.05), (-1, 4, 0.05), (1, -4, 0.05), (1.5, 4, 0.05), (1, 4, 0.0), (1, 4, 1.0), (1, 4, -0.1)],
)
def test_invalid_arguments_raise(x, n, alpha):
    for function in (wilson_interval, clopper_pearson_interval, proportion):
        with pytest.raises(ValueError):
            function(x, n, alpha)


def test_invalid_types_and_method_raise():
    with pytest.raises(TypeError):
        wilson_interval(True, 4)
    with pytest.raises(ValueError):
        wilson_interval("3", 4)
    with pytest.raises(ValueError, match="method"):
        proportion(1, 4, method="wald")
