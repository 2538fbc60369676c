"""Tests of concordance.oversight, each against a small dataset worked by hand (in the docstring)
or a published value from the reference data."""

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from concordance import ai_vs_clinician, discrepancy_distribution, reader_reliability, reader_table

pytestmark = pytest.mark.unit

REFDATA = Path(__file__).resolve().parents[1] / "refdata"


def test_ai_vs_clinician_mcnemar_by_hand():
    """Eight cases (AI, final decision, reference):
    1 P P P both right;  2 P N P AI only right;  3-5 N P P clinician only right (3 cases);
    6 P P N both wrong;  7 P - P no final decision: left out;  8 N N N both right.
    n = 7, b = 1, c = 3; b + c = 4 < 25: exact test, statistic min(b, c) = 1,
    p = 2 P(X <= 1), X ~ Bin(4, 1/2) = 2 (1 + 4) / 16 = 0.625.
    AI right 3/7, clinician right 5/7."""
    ai = ["P", "P", "N", "N", "N", "P", "P", "N"]
    final = ["P", "N", "P", "P", "P", "P", None, "N"]
    reference = ["P", "P", "P", "P", "P", "N", "P", "N"]
    result = ai_vs_clinician(ai, final, reference)
    assert (result["n"], result["both_right"], result["ai_only_right"], result["clinician_only_right"],
            result["both_wrong"]) == (7, 2, 1, 3, 1)
    assert result["method"] == "exact binomial"
    assert result["statistic"] == 1.0
    assert result["p_value"] == pytest.approx(0.625)
    assert (result["ai_accuracy"]["x"], result["clinician_accuracy"]["x"]) == (3, 5)
    assert result["too_small"] is True


def test_ai_vs_clinician_reproduces_agresti_mcnemar():
    """Agresti (1990): 794 / 150 / 86 / 570, chi-square 17.36 without continuity correction
    (236 discordant pairs: the chi-square form). Read as AI right / clinician right."""
    with (REFDATA / "agresti_mcnemar_2x2.csv").open() as f:
        rows = list(csv.reader(f))
    (a, b), (c, d) = [[int(v) for v in r[1:]] for r in rows[1:]]
    ai = ["y"] * (a + b) + ["n"] * (c + d)
    final = ["y"] * a + ["n"] * b + ["y"] * c + ["n"] * d
    reference = ["y"] * (a + b + c + d)
    result = ai_vs_clinician(ai, final, reference)
    assert (result["ai_only_right"], result["clinician_only_right"]) == (150, 86)
    assert round(result["statistic"], 2) == 17.36
    assert result["p_value"] == pytest.approx(3.1e-5, rel=0.01)  # 4.1e-5 is the corrected test's
    assert result["too_small"] is False


def test_reader_reliability_by_hand():
    """Cases read three times: [a a a], [a a b], [b b b], and one case read once [a].
    Fleiss (m = 3, N = 3): P_i = 1, 1/3, 1; mean 7/9; p_a = 5/9, p_b = 4/9, P_e = 41/81;
    kappa = (63/81 - 41/81) / (40/81) = 0.55. With the case read once, not every case read at all
    was read 3 times: no Fleiss (an unread case does not count). Krippendorff (nominal):
    o_aa = 3 + 1, o_ab = o_ba = 1, o_bb = 3; n_a = 5, n_b = 4, n = 9; D_o = 2/9,
    D_e = 2 * 5 * 4 / (9 * 8) = 5/9; alpha = 1 - 2/5 = 0.6 (the case read once
    is not pairable: same alpha)."""
    three = [["a", "a", "a"], ["a", "a", "b"], ["b", "b", "b"]]
    full = reader_reliability(three, labels=["a", "b"])
    assert full["alpha"] == pytest.approx(0.6)
    assert full["fleiss_kappa"] == pytest.approx(0.55)
    assert (full["fleiss_m"], full["n_fleiss"], full["n_units"], full["max_readers"]) == (3, 3, 3, 3)

    with_single = reader_reliability([*three, ["a"], []], labels=["a", "b"])
    assert with_single["alpha"] == pytest.approx(0.6)
    assert with_single["fleiss_kappa"] is None and with_single["fleiss_m"] is None


def test_reader_reliability_third_readers_and_fleiss_on_first_readings():
    """Two cases read by two clinicians and one with a third reading: alpha counts all of them;
    Fleiss needs 3 readings everywhere, so it is absent. Four readings on one case: Fleiss takes
    the first three of each (here [a a a], [a a b], [b b b] again: 0.55)."""
    two_and_three = reader_reliability([["a", "a"], ["a", "b", "b"], ["b", "b"]])
    assert two_and_three["fleiss_kappa"] is None
    assert two_and_three["max_readers"] == 3 and two_and_three["n_values"] == 7
    four = reader_reliability([["a", "a", "a", "b"], ["a", "a", "b"], ["b", "b", "b"]])
    assert four["fleiss_kappa"] == pytest.approx(0.55)


def test_reader_reliability_reproduces_fleiss_1971():
    """Fleiss (1971), 30 patients, 6 psychiatrists: kappa 0.4302."""
    ratings = pd.read_csv(REFDATA / "fleiss1971_diagnoses.csv", index_col="subject")
    result = reader_reliability(ratings.to_numpy().tolist())
    assert round(result["fleiss_kappa"], 4) == 0.4302
    assert result["fleiss_m"] == 6


def test_reader_reliability_ordinal_uses_the_label_order():
    """Ordinal alpha differs from nominal when the disagreements are between far grades."""
    data = [["1", "2"], ["1", "3"], ["2", "2"], ["3", "3"]]
    nominal = reader_reliability(data, labels=["1", "2", "3"])
    ordinal = reader_reliability(data, labels=["1", "2", "3"], ordinal=True)
    assert ordinal["level"] == "ordinal" and nominal["level"] == "nominal"
    assert not math.isclose(ordinal["alpha"], nominal["alpha"])


def test_discrepancy_distribution_by_hand():
    """Six graded readings (one missing grade dropped): concur 3, understandable 1,
    understandable_significant 1, clear_significant 1. Clinically significant: 2 / 6."""
    result = discrepancy_distribution(["concur", "concur", "concur", "understandable", "clear_significant",
                                       "understandable_significant", None])
    assert result["n"] == 6
    assert result["counts"] == {"concur": 3, "understandable": 1, "clear": 0, "understandable_significant": 1,
                                "clear_significant": 1}
    assert (result["significant"]["x"], result["significant"]["n"]) == (2, 6)
    assert result["significant"]["estimate"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="unknown discrepancy grade"):
        discrepancy_distribution(["concur", "major"])


def test_reader_table_by_hand():
    """r1: P/ref P concur, N/ref P clear_significant, P/no reference/not graded -> agreement 1/2,
    discrepancy 1/2, significant 1/2; r2: P/ref P, not graded -> agreement 1/1, nothing graded."""
    rows = reader_table([("r2", "P", "P", None), ("r1", "P", "P", "concur"), ("r1", "N", "P", "clear_significant"),
                         ("r1", "P", None, None)])
    assert [r["reader"] for r in rows] == ["r1", "r2"]
    r1, r2 = rows
    assert r1["n_readings"] == 3 and (r1["agreement"]["x"], r1["agreement"]["n"]) == (1, 2)
    assert (r1["n_graded"], r1["discrepancy"]["x"], r1["significant"]["x"]) == (2, 1, 1)
    assert (r2["agreement"]["x"], r2["agreement"]["n"], r2["n_graded"]) == (1, 1, 0)
    assert r2["discrepancy"]["estimate"] is None
