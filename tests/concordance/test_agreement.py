"""Tests of concordance.agreement: published values, scikit-learn and statsmodels, edge cases."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from statsmodels.stats import inter_rater

from concordance import (
    KappaResult,
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    majority_label,
    percent_agreement,
)

pytestmark = pytest.mark.unit

REFDATA = Path(__file__).resolve().parents[1] / "refdata"
SEEDS = range(60)
Z_975 = 1.959963984540054


def _expand_table(path: Path) -> tuple[list[str], list[str]]:
    """Expand a 2-way count table (rows rater A, columns rater B) into paired labels."""
    table = pd.read_csv(path, index_col=0)
    a, b = [], []
    for row_label, row in table.iterrows():
        for col_label, count in row.items():
            a += [row_label] * int(count)
            b += [col_label] * int(count)
    return a, b


def _random_ratings(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Two correlated raters on k categories, with varied n, k, imbalance and agreement."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    n = int(rng.integers(20, 400))
    concentration = float(rng.choice([0.3, 1.0, 5.0]))  # small: strongly imbalanced categories
    p_a = rng.dirichlet(np.full(k, concentration))
    p_b = 0.5 * p_a + 0.5 * rng.dirichlet(np.full(k, concentration))
    agreement = rng.uniform(0.0, 0.85)
    while True:  # redraw the rare samples where a rater used a single label (kappa undefined)
        a = rng.choice(k, size=n, p=p_a)
        b = np.where(rng.random(n) < agreement, a, rng.choice(k, size=n, p=p_b))
        if len(set(a)) > 1 and len(set(b)) > 1:
            return a, b, k


# --- published values -------------------------------------------------------------------------


def test_cohen_kappa_wikipedia_worked_example():
    a, b = _expand_table(REFDATA / "cohen_wikipedia_2x2.csv")
    assert len(a) == 50
    result = cohen_kappa(a, b)
    assert result.kappa == pytest.approx(0.40, abs=1e-12)
    assert result.observed_agreement == pytest.approx(0.70, abs=1e-12)
    assert result.expected_agreement == pytest.approx(0.50, abs=1e-12)
    assert result.n == 50
    assert result.weights is None
    assert percent_agreement(a, b) == pytest.approx(0.70, abs=1e-12)


def test_cohen_kappa_wikipedia_standard_error_by_hand():
    # p = [[.4, .1], [.2, .3]], rows (.5, .5), columns (.6, .4), kappa = .4, p_e = .5.
    # Fleiss-Cohen-Everitt: diagonal .4 (1 - 1.1 * .6)^2 + .3 (1 - .9 * .6)^2 = .04624 + .06348;
    # off-diagonal .6^2 [.1 (.6 + .5)^2 + .2 (.4 + .5)^2] = .36 * .283 = .10188; minus
    # (.4 - .5 * .6)^2 = .01; all over 50 * .25.
    a, b = _expand_table(REFDATA / "cohen_wikipedia_2x2.csv")
    result = cohen_kappa(a, b)
    variance = (0.04624 + 0.06348 + 0.10188 - 0.01) / (50 * 0.25)
    assert result.se == pytest.approx(math.sqrt(variance), abs=1e-12)
    assert result.ci_low == pytest.approx(0.4 - Z_975 * math.sqrt(variance), abs=1e-12)
    assert result.ci_high == pytest.approx(0.4 + Z_975 * math.sqrt(variance), abs=1e-12)


def test_fleiss_kappa_fleiss_1971_diagnoses():
    ratings = pd.read_csv(REFDATA / "fleiss1971_diagnoses.csv", index_col="subject")
    assert ratings.shape == (30, 6)
    assert round(fleiss_kappa(ratings), 4) == 0.4302
    assert round(fleiss_kappa(ratings.to_numpy()), 4) == 0.4302


# --- against scikit-learn and statsmodels -----------------------------------------------------


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", SEEDS)
def test_cohen_kappa_matches_sklearn(seed, weights):
    a, b, _ = _random_ratings(seed)
    expected = cohen_kappa_score(a, b, weights=weights)
    assert cohen_kappa(a, b, weights=weights).kappa == pytest.approx(expected, abs=1e-10)
    # the same with string labels and as pandas Series
    a_str, b_str = pd.Series([f"c{v}" for v in a]), pd.Series([f"c{v}" for v in b])
    assert cohen_kappa(a_str, b_str, weights=weights).kappa == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", SEEDS)
def test_cohen_kappa_matches_statsmodels_se_and_ci(seed, weights):
    a, b, k = _random_ratings(seed)
    labels = list(range(k))
    table = sk_confusion_matrix(a, b, labels=labels)
    expected = inter_rater.cohens_kappa(table, wt=weights)  # alpha 0.025 one-sided: a 95 % CI
    result = cohen_kappa(a, b, labels=labels, weights=weights)
    assert result.kappa == pytest.approx(expected.kappa, abs=1e-10)
    assert result.se == pytest.approx(expected.std_kappa, abs=1e-10)
    assert result.n == len(a)
    if len(a) >= 30 and expected.std_kappa > 0:
        # the large-sample Wald interval, unchanged except for the truncation to [-1, 1]
        assert result.ci_method == "wald"
        assert result.ci_low == pytest.approx(max(-1.0, expected.kappa_low), abs=1e-10)
        assert result.ci_high == pytest.approx(min(1.0, expected.kappa_upp), abs=1e-10)
    else:  # small or degenerate sample: see test_kappa_ci
        assert result.ci_method in ("goodness-of-fit", "dirichlet-posterior")
        assert -1.0 <= result.ci_low <= result.kappa <= result.ci_high <= 1.0
        assert result.ci_low < result.ci_high


@pytest.mark.parametrize("seed", SEEDS)
def test_cohen_kappa_alpha_sets_the_confidence_level(seed):
    a, b, k = _random_ratings(seed)
    table = sk_confusion_matrix(a, b, labels=list(range(k)))
    expected = inter_rater.cohens_kappa(table)
    expected["alpha"] = 0.005  # statsmodels' alpha is one-sided
    expected._initialize()
    result = cohen_kappa(a, b, labels=list(range(k)), alpha=0.01)
    if result.ci_method == "wald":
        assert result.ci_low == pytest.approx(max(-1.0, expected.kappa_low), abs=1e-10)
        assert result.ci_high == pytest.approx(min(1.0, expected.kappa_upp), abs=1e-10)
    else:  # a small sample: the 99 % interval contains the 95 % one
        wider, narrower = result, cohen_kappa(a, b, labels=list(range(k)))
        assert wider.ci_low < narrower.ci_low and narrower.ci_high <= wider.ci_high


@pytest.mark.parametrize("seed", SEEDS)
def test_confusion_matrix_matches_sklearn(seed):
    a, b, k = _random_ratings(seed)
    labels = list(range(k + 1))  # one label nobody used
    table = confusion_matrix(a, b, labels)
    np.testing.assert_array_equal(table.to_numpy(), sk_confusion_matrix(a, b, labels=labels))
    assert list(table.index) == labels
    assert list(table.columns) == labels
    assert table.to_numpy().sum() == len(a)


@pytest.mark.parametrize("seed", SEEDS)
def test_fleiss_kappa_matches_statsmodels(seed):
    rng = np.random.default_rng(1000 + seed)
    n_subjects, n_raters, k = int(rng.integers(5, 120)), int(rng.integers(2, 9)), int(rng.integers(2, 6))
    truth = rng.choice(k, size=n_subjects, p=rng.dirichlet(np.full(k, float(rng.choice([0.5, 2.0])))))
    noise = rng.choice(k, size=(n_subjects, n_raters))
    ratings = np.where(rng.random((n_subjects, n_raters)) < rng.uniform(0.2, 0.9), truth[:, None], noise)
    counts, _ = inter_rater.aggregate_raters(ratings)
    expected = inter_rater.fleiss_kappa(counts, method="fleiss")
    assert fleiss_kappa(ratings) == pytest.approx(expected, abs=1e-10)
    as_text = pd.DataFrame(ratings).map(lambda v: f"label {v}")
    assert fleiss_kappa(as_text) == pytest.approx(expected, abs=1e-10)


# --- properties and edge cases: Cohen's kappa -------------------------------------------------


def test_weighted_kappa_with_two_labels_equals_unweighted():
    a, b = _expand_table(REFDATA / "cohen_wikipedia_2x2.csv")
    unweighted = cohen_kappa(a, b).kappa
    assert cohen_kappa(a, b, weights="linear").kappa == pytest.approx(unweighted, abs=1e-12)
    assert cohen_kappa(a, b, weights="quadratic").kappa == pytest.approx(unweighted, abs=1e-12)


def test_weighted_kappa_uses_the_label_order_as_ordinal_scale():
    a = ["low", "low", "mid", "mid", "high", "high", "low", "high"]
    b = ["low", "mid", "mid", "high", "high", "mid", "high", "high"]
    scale = ["low", "mid", "high"]
    expected = cohen_kappa_score(a, b, labels=scale, weights="linear")
    assert cohen_kappa(a, b, labels=scale, weights="linear").kappa == pytest.approx(expected, abs=1e-12)
    # the default (alphabetical) order is a different scale and gives another value
    assert cohen_kappa(a, b, weights="linear").kappa != pytest.approx(expected, abs=1e-6)


def test_unused_label_changes_weighted_but_not_unweighted_kappa():
    a, b = [1, 1, 2, 2, 3, 3], [1, 2, 2, 3, 3, 3]
    assert cohen_kappa(a, b, labels=[1, 2, 3, 4]).kappa == pytest.approx(cohen_kappa(a, b).kappa, abs=1e-15)
    # an unused label at the end of the scale only rescales the distances: no change
    weighted = cohen_kappa(a, b, weights="quadratic").kappa
    padded = cohen_kappa(a, b, labels=[1, 2, 3, 4], weights="quadratic").kappa
    assert padded == pytest.approx(weighted, abs=1e-12)
    # an unused label inside the scale changes the relative distances
    scale = [1, 1.5, 2, 3]
    expected = cohen_kappa_score(a, b, labels=scale, weights="quadratic")
    result = cohen_kappa(a, b, labels=scale, weights="quadratic")
    assert result.kappa == pytest.approx(expected, abs=1e-12)
    assert result.kappa != pytest.approx(weighted, abs=1e-6)


def test_label_absent_from_one_rater():
    a = ["A", "B", "C", "A", "B", "C", "A"]
    b = ["A", "B", "B", "A", "B", "A", "A"]  # b never says "C"
    result = cohen_kappa(a, b)
    assert result.labels == ("A", "B", "C")
    assert result.kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    assert confusion_matrix(a, b, ["A", "B", "C"])["C"].tolist() == [0, 0, 0]


def test_all_same_label_gives_nan_kappa_without_error():
    result = cohen_kappa(["neg"] * 12, ["neg"] * 12)
    assert math.isnan(result.kappa)
    assert math.isnan(result.se) and math.isnan(result.ci_low) and math.isnan(result.ci_high)
    assert result.observed_agreement == 1.0
    assert result.expected_agreement == 1.0
    assert result.n == 12
    for weights in ("linear", "quadratic"):
        assert math.isnan(cohen_kappa(["neg"] * 5, ["neg"] * 5, labels=["neg", "pos"], weights=weights).kappa)


def test_each_rater_constant_on_different_labels_gives_zero_kappa():
    result = cohen_kappa(["pos"] * 4, ["neg"] * 4)
    assert result.kappa == 0.0
    assert result.observed_agreement == 0.0
    assert result.expected_agreement == 0.0
    # the zero standard error does not collapse the interval to [0, 0] (values in test_kappa_ci)
    assert result.se == 0.0
    assert result.ci_method == "goodness-of-fit"
    assert result.ci_low == -1.0 and result.ci_high == 0.0


def test_perfect_agreement():
    a = ["A", "B", "C", "A", "B"]
    result = cohen_kappa(a, a)
    assert result.kappa == 1.0
    assert result.se == 0.0
    # not the degenerate [1, 1] of the Wald interval (values in test_kappa_ci)
    assert result.ci_method == "dirichlet-posterior"
    assert result.ci_high == 1.0
    assert -1.0 < result.ci_low < 0.9


def test_empty_input():
    result = cohen_kappa([], [])
    assert result.n == 0
    assert all(math.isnan(v) for v in (result.kappa, result.observed_agreement, result.se, result.ci_low))
    assert math.isnan(percent_agreement([], []))
    empty = confusion_matrix([], [], ["A", "B"])
    assert empty.shape == (2, 2)
    assert empty.to_numpy().sum() == 0
    assert confusion_matrix([], []).shape == (0, 0)


def test_missing_values_are_dropped_pairwise():
    a = ["A", None, "B", "A", float("nan"), "B", pd.NA]
    b = ["A", "B", None, "B", "A", "B", "A"]
    kept_a, kept_b = ["A", "A", "B"], ["A", "B", "B"]
    assert percent_agreement(a, b) == pytest.approx(2 / 3, abs=1e-15)
    result = cohen_kappa(a, b)
    assert result.n == 3
    assert result.kappa == pytest.approx(cohen_kappa_score(kept_a, kept_b), abs=1e-12)
    assert confusion_matrix(a, b, ["A", "B"]).to_numpy().tolist() == [[1, 1], [0, 1]]
    only_missing = cohen_kappa([None, None], ["A", np.nan])
    assert only_missing.n == 0 and math.isnan(only_missing.kappa)


def test_numpy_float_labels_with_nan():
    a = np.array([1.0, 2.0, np.nan, 2.0])
    b = np.array([1.0, 2.0, 2.0, np.nan])
    assert percent_agreement(a, b) == 1.0
    assert cohen_kappa(a, b).labels == (1.0, 2.0)


def test_percent_agreement_exact():
    assert percent_agreement(["A", "B", "B", "C"], ["A", "B", "C", "C"]) == 0.75
    assert percent_agreement([1, 2], [2, 1]) == 0.0


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="same length"):
        cohen_kappa(["A", "B"], ["A"])
    with pytest.raises(ValueError, match="not in labels"):
        cohen_kappa(["A", "B"], ["A", "C"], labels=["A", "B"])
    with pytest.raises(ValueError, match="not in labels"):
        confusion_matrix(["A", "Z"], ["A", "B"], ["A", "B"])
    with pytest.raises(ValueError, match="duplicates"):
        cohen_kappa(["A"], ["A"], labels=["A", "A"])
    with pytest.raises(ValueError, match="weights"):
        cohen_kappa(["A"], ["A"], weights="cubic")
    with pytest.raises(ValueError, match="alpha"):
        cohen_kappa(["A"], ["A"], alpha=1.5)
    with pytest.raises(TypeError):
        percent_agreement("AB", "AB")


def test_kappa_result_is_frozen_and_serialisable():
    result = cohen_kappa(["A"] * 3, ["A"] * 3)
    assert isinstance(result, KappaResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.kappa = 0.5  # type: ignore[misc]
    data = result.to_dict()
    assert data["kappa"] is None and data["observed_agreement"] == 1.0 and data["labels"] == ["A"]


# --- Fleiss' kappa and majority label edge cases ----------------------------------------------


def test_fleiss_kappa_edge_cases():
    assert math.isnan(fleiss_kappa([["A", "A"], ["A", "A"]]))  # a single category: 0/0
    assert math.isnan(fleiss_kappa(np.empty((0, 3), dtype=object)))
    assert fleiss_kappa([["A", "A"], ["B", "B"]]) == 1.0
    with pytest.raises(ValueError, match="at least two"):
        fleiss_kappa([["A"], ["B"]])
    with pytest.raises(ValueError, match="two-dimensional"):
        fleiss_kappa(["A", "B"])


def test_fleiss_kappa_drops_subjects_with_a_missing_rating():
    complete = [["A", "A", "B"], ["B", "B", "B"], ["A", "B", "A"]]
    with_missing = [*complete, ["A", None, "B"], [np.nan, "A", "A"]]
    assert fleiss_kappa(with_missing) == fleiss_kappa(complete)


def test_fleiss_kappa_with_two_raters_is_scotts_pi():
    # Fleiss' kappa for m = 2 is Scott's pi: p_e from the pooled marginals.
    a, b = _expand_table(REFDATA / "cohen_wikipedia_2x2.csv")
    pooled_yes = (25 + 30) / 100
    p_e = pooled_yes**2 + (1 - pooled_yes) ** 2
    assert fleiss_kappa(np.column_stack([a, b])) == pytest.approx((0.7 - p_e) / (1 - p_e), abs=1e-12)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["A", "A", "B"], "A"),
        (["A", "B"], None),  # tie between two readers
        (["A", "A", "B", "B"], None),
        (["A", "A", "B", "C"], None),  # plurality, not a majority
        (["A", "B", "C"], None),
        (["A"], "A"),
        (["A", None, float("nan")], "A"),
        (["B", "A", "B", None], "B"),
        ([], None),
        ([None, np.nan], None),
        ([np.int64(2), 2, 3], 2),
    ],
)
def test_majority_label(labels, expected):
    assert majority_label(labels) == expected
    if expected is not None:
        assert type(majority_label(labels)) is type(expected)
