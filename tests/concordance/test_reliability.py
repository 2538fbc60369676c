"""Tests of concordance.reliability: Krippendorff's alpha and Gwet's AC1 against published values and oracles."""

import math

import krippendorff
import numpy as np
import pandas as pd
import pytest

from concordance import AC1Result, AlphaResult, gwet_ac1, gwet_ac1_two_raters, krippendorff_alpha

pytestmark = pytest.mark.unit

NAN = math.nan
# Krippendorff K, "Computing Krippendorff's Alpha-Reliability" (2011), example C: 4 coders
# (rows A-D) x 12 units, missing ratings. The same data are irrCAC's ``cac.raw4raters``
# (Gwet, Handbook of Inter-Rater Reliability, 4th ed., p. 120), transposed.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)
# irrCAC vignette, ``cont3x3abstractors`` (2 abstractors, 100 ectopic-pregnancy charts).
ABSTRACTORS = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]


def _expand(table: list[list[int]]) -> tuple[list[int], list[int]]:
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [i] * count
            b += [j] * count
    return a, b


def _random_sparse_ratings(seed: int) -> np.ndarray:
    """Units x raters, 2-7 raters, 2-6 categories, correlated ratings, 0-50 % missing."""
    rng = np.random.default_rng(seed)
    units, raters, k = int(rng.integers(5, 80)), int(rng.integers(2, 8)), int(rng.integers(2, 7))
    truth = rng.integers(1, k + 1, size=units)
    noise = rng.integers(1, k + 1, size=(units, raters))
    ratings = np.where(rng.random((units, raters)) < rng.uniform(0.2, 0.9), truth[:, None], noise).astype(float)
    ratings[rng.random((units, raters)) < rng.uniform(0.0, 0.5)] = NAN
    return ratings


# --- Krippendorff's alpha: published values ------------------------------------------------------


def test_krippendorff_alpha_nominal_reproduces_krippendorff_2011_example():
    result = krippendorff_alpha(KRIPPENDORFF_2011.T, level="nominal")

    assert round(result.alpha, 3) == 0.743
    assert result.n_units == 11  # unit 12 has one rating only: not pairable
    assert result.n_values == 40
    assert result.percent_agreement == pytest.approx(0.8, abs=1e-12)


def test_krippendorff_alpha_ordinal_example_matches_oracle():
    result = krippendorff_alpha(KRIPPENDORFF_2011.T, level="ordinal")

    assert round(result.alpha, 3) == 0.815
    assert result.alpha == pytest.approx(
        krippendorff.alpha(KRIPPENDORFF_2011, level_of_measurement="ordinal"), abs=1e-10
    )


# --- Krippendorff's alpha: oracle on random sparse data -------------------------------------------


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_krippendorff_alpha_matches_krippendorff_package_with_missing_data(level):
    checked = 0
    for seed in range(60):
        ratings = _random_sparse_ratings(seed)
        result = krippendorff_alpha(ratings, level=level)
        if math.isnan(result.alpha):
            continue
        expected = krippendorff.alpha(ratings.T, level_of_measurement=level)
        assert result.alpha == pytest.approx(expected, abs=1e-10), seed
        checked += 1
    assert checked >= 50


def test_krippendorff_alpha_ordinal_ignores_unused_categories_and_follows_label_order():
    ratings = [[1, 2], [2, 2], [3, 3], [1, 1], [3, 2]]

    widened = krippendorff_alpha(ratings, level="ordinal", labels=[0, 1, 2, 3, 4])
    reversed_scale = krippendorff_alpha(ratings, level="ordinal", labels=[3, 2, 1])
    shuffled = krippendorff_alpha(ratings, level="ordinal", labels=[2, 1, 3])

    base = krippendorff_alpha(ratings, level="ordinal").alpha
    assert widened.alpha == pytest.approx(base, abs=1e-12)
    assert reversed_scale.alpha == pytest.approx(base, abs=1e-12)
    assert shuffled.alpha != pytest.approx(base, abs=1e-6)


def test_krippendorff_alpha_accepts_string_labels_in_a_dataframe():
    df = pd.DataFrame({"clinician": ["a", "b", None, "a"], "patient_rep": ["a", "b", "b", None]})

    result = krippendorff_alpha(df)

    assert result.alpha == pytest.approx(1.0)
    assert result.n_units == 2


# --- Krippendorff's alpha: edge cases -------------------------------------------------------------


def test_krippendorff_alpha_empty_and_all_missing_are_nan():
    empty = krippendorff_alpha(np.empty((0, 3)))
    all_missing = krippendorff_alpha([[None, None], [NAN, None]])

    for result in (empty, all_missing):
        assert math.isnan(result.alpha)
        assert (result.n_units, result.n_values) == (0, 0)
    assert all_missing.to_dict()["alpha"] is None


def test_krippendorff_alpha_single_category_is_nan_with_full_agreement():
    result = krippendorff_alpha([["x", "x"], ["x", "x"], ["x", None]])

    assert math.isnan(result.alpha)
    assert result.percent_agreement == 1.0
    assert result.n_units == 2


def test_krippendorff_alpha_rejects_bad_input():
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha([[1, 2]], level="interval")
    with pytest.raises(ValueError, match="not in labels"):
        krippendorff_alpha([[1, 2]], labels=[1])
    with pytest.raises(ValueError, match="two-dimensional"):
        krippendorff_alpha([1, 2, 3])


def test_alpha_result_is_frozen():
    result = krippendorff_alpha([[1, 1], [2, 2]])
    assert isinstance(result, AlphaResult)
    with pytest.raises(AttributeError):
        result.alpha = 0.0


# --- Gwet's AC1: published values -----------------------------------------------------------------


def test_gwet_ac1_multi_rater_reproduces_gwet_handbook_example():
    # irrCAC gwet.ac1.raw(cac.raw4raters): pa 0.818, pe 0.190, AC1 0.775, se 0.143, CI (0.461, 1).
    result = gwet_ac1(KRIPPENDORFF_2011.T)

    assert round(result.percent_agreement, 7) == 0.8181818
    assert round(result.chance_agreement, 7) == 0.1903212
    assert round(result.ac1, 5) == 0.77544
    assert round(result.se, 5) == 0.14295
    assert round(result.ci_low, 3) == 0.461
    assert result.ci_high == 1.0
    assert (result.n_units, result.n_units_paired) == (12, 11)


def test_gwet_ac1_two_raters_reproduces_irrcac_abstractors_example():
    # irrCAC vignette: gwet.ac1.table(cont3x3abstractors) = 0.8493305, se 0.04321747; pa2 0.89.
    a, b = _expand(ABSTRACTORS)

    result = gwet_ac1_two_raters(a, b)

    assert round(result.ac1, 7) == 0.8493305
    assert result.percent_agreement == pytest.approx(0.89)
    # the contingency-table variance divides by n^2, the raw-data one (used here) by n (n - 1)
    assert round(result.se * math.sqrt((result.n_units - 1) / result.n_units), 7) == 0.0432175


def test_gwet_ac1_stays_high_where_kappa_collapses_on_a_rare_category():
    # Gwet's paradox table: 118 agree "no", 5 + 2 disagree, 0 agree "yes" (hand computation:
    # pa = 0.944, pi_yes = 0.028, pe = 2 * 0.972 * 0.028 = 0.054432, AC1 = 0.94078...).
    a, b = _expand([[118, 5], [2, 0]])

    result = gwet_ac1_two_raters(a, b)

    assert result.chance_agreement == pytest.approx(0.054432, abs=1e-12)
    assert result.ac1 == pytest.approx((0.944 - 0.054432) / (1 - 0.054432), abs=1e-12)


def test_gwet_ac1_point_estimate_matches_closed_form_on_random_pairs():
    for seed in range(40):
        rng = np.random.default_rng(seed)
        k, n = int(rng.integers(2, 6)), int(rng.integers(10, 200))
        a = rng.integers(0, k, n)
        b = np.where(rng.random(n) < 0.6, a, rng.integers(0, k, n))
        labels = list(range(k))
        table = pd.crosstab(a, b).reindex(index=labels, columns=labels, fill_value=0).to_numpy() / n
        pi = (table.sum(axis=0) + table.sum(axis=1)) / 2
        pe = (pi * (1 - pi)).sum() / (k - 1)
        expected = (np.trace(table) - pe) / (1 - pe)

        result = gwet_ac1_two_raters(a, b, labels=labels)

        assert result.ac1 == pytest.approx(expected, abs=1e-12), seed


def test_gwet_ac1_depends_on_the_declared_number_of_categories():
    a, b = ["x", "x", "y", "x"], ["x", "y", "y", "x"]

    observed = gwet_ac1_two_raters(a, b)
    declared = gwet_ac1_two_raters(a, b, labels=["x", "y", "z"])

    assert observed.labels == ("x", "y")
    assert declared.chance_agreement == pytest.approx(observed.chance_agreement / 2)


# --- Gwet's AC1: edge cases -----------------------------------------------------------------------


def test_gwet_ac1_edge_cases_are_nan_not_errors():
    empty = gwet_ac1(np.empty((0, 2)))
    single_category = gwet_ac1([["a", "a"], ["a", "a"]])
    no_pair = gwet_ac1([["a", None], [None, "b"]])

    for result in (empty, single_category, no_pair):
        assert math.isnan(result.ac1)
        assert isinstance(result, AC1Result)
    assert no_pair.n_units == 2 and no_pair.n_units_paired == 0
    assert single_category.percent_agreement == 1.0
    assert single_category.to_dict()["ac1"] is None


def test_gwet_ac1_two_raters_requires_equal_lengths():
    with pytest.raises(ValueError, match="same length"):
        gwet_ac1_two_raters([1, 2], [1])
