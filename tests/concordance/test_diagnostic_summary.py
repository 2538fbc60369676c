"""Tests of concordance.accuracy.diagnostic_summary: counts, Wilson intervals, paired McNemar."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportion_confint

from concordance import diagnostic_summary

pytestmark = pytest.mark.unit


def test_diagnostic_summary_counts_and_wilson_intervals():
    ai = ["pos", "pos", "neg", "neg", "pos", None, "neg"]
    reference = ["pos", "neg", "neg", "pos", "pos", "pos", "neg"]

    summary = diagnostic_summary(ai, reference, positive="pos")

    assert summary["n"] == 6
    assert summary["confusion"] == {"neg": {"neg": 2, "pos": 1}, "pos": {"neg": 1, "pos": 2}}
    assert (summary["tp"], summary["fp"], summary["fn"], summary["tn"]) == (2, 1, 1, 2)
    assert summary["sensitivity"]["estimate"] == pytest.approx(2 / 3)
    low, high = proportion_confint(2, 3, method="wilson")
    assert summary["sensitivity"]["ci_low"] == pytest.approx(low, abs=1e-12)
    assert summary["sensitivity"]["ci_high"] == pytest.approx(high, abs=1e-12)
    assert summary["accuracy"]["x"] == 4 and summary["accuracy"]["n"] == 6
    assert "paired" not in summary


def test_diagnostic_summary_paired_mcnemar_matches_statsmodels_on_random_data():
    for seed in range(30):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(20, 300))
        reference = rng.choice(["pos", "neg"], size=n, p=[0.3, 0.7])
        ai = np.where(rng.random(n) < 0.8, reference, rng.choice(["pos", "neg"], size=n))
        clinician = np.where(rng.random(n) < 0.85, reference, rng.choice(["pos", "neg"], size=n))

        paired = diagnostic_summary(ai, reference, "pos", comparator=clinician, exact=False)["paired"]

        for name, keep in (("accuracy", np.ones(n, bool)), ("sensitivity", reference == "pos")):
            ai_ok, cl_ok = (ai == reference)[keep], (clinician == reference)[keep]
            table = sk_confusion_matrix(ai_ok, cl_ok, labels=[True, False])
            block = paired[name]
            assert (block["both_right"], block["test_only_right"]) == tuple(table[0])
            assert (block["comparator_only_right"], block["both_wrong"]) == tuple(table[1])
            if block["test_only_right"] + block["comparator_only_right"]:
                expected = sm_mcnemar(table, exact=False, correction=False)
                assert block["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
                assert block["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
            assert block["method"] == "chi-square without continuity correction"


def test_diagnostic_summary_paired_states_exact_test_and_skips_incomplete_cases():
    ai = ["a", "b", "a", "a", None]
    clinician = ["a", "a", "b", None, "a"]
    reference = ["a", "a", "a", "a", "a"]

    paired = diagnostic_summary(ai, reference, "a", comparator=clinician)["paired"]

    assert paired["accuracy"]["n"] == 3
    assert paired["accuracy"]["test_only_right"] == 1
    assert paired["accuracy"]["comparator_only_right"] == 1
    assert paired["accuracy"]["method"] == "exact binomial"
    assert paired["accuracy"]["p_value"] == 1.0
    assert paired["specificity"]["n"] == 0


def test_diagnostic_summary_empty_input():
    summary = diagnostic_summary([], [], positive="pos", comparator=[])

    assert summary["n"] == 0
    assert summary["sensitivity"]["estimate"] is None
    assert summary["paired"]["accuracy"]["n"] == 0


def test_diagnostic_summary_rejects_unequal_comparator():
    with pytest.raises(ValueError, match="same length"):
        diagnostic_summary(["a"], ["a"], "a", comparator=["a", "b"])
