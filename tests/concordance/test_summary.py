"""Tests of concordance.summary.campaign_summary on hand-built campaigns."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from concordance import campaign_summary

pytestmark = pytest.mark.unit

Z_975 = 1.959963984540054


def _campaign() -> pd.DataFrame:
    rows = [
        # case, AI, final decision, blind readings      -> reference
        (1, "pos", "pos", ["pos", "pos"]),  # pos
        (2, "pos", "pos", ["pos", "neg"]),  # tie: needs adjudication
        (3, "neg", "neg", ["neg", "neg"]),  # neg
        (4, "neg", "pos", ["pos", "pos", "neg"]),  # pos (2 of 3)
        (5, "pos", None, ["neg", "neg"]),  # neg
        (6, "neg", "neg", ["neg"]),  # neg (a single reading)
        (7, None, "neg", []),  # none, not read yet
        (8, "pos", "pos", [None, "pos", "pos"]),  # pos (missing reading ignored)
    ]
    return pd.DataFrame(rows, columns=["case_id", "ai_label", "final_label", "reader_labels"])


def test_campaign_summary_by_hand():
    summary = campaign_summary(_campaign())

    assert summary["n_cases"] == 8
    assert summary["n_with_reference"] == 6  # cases 1, 3, 4, 5, 6, 8
    assert summary["n_needs_adjudication"] == 1  # case 2
    assert summary["labels"] == ["neg", "pos"]

    # AI x reference on cases 1, 3, 4, 5, 6, 8: [[neg-neg 2, neg-pos 1], [pos-neg 1, pos-pos 2]].
    # p_o = 4/6, p_e = .5 * .5 + .5 * .5 = 1/2, kappa = (2/3 - 1/2) / (1/2) = 1/3.
    # Fleiss-Cohen-Everitt variance: diagonal 2 * 1/3 * (1 - 1 * 2/3)^2 = 2/27; off-diagonal
    # (2/3)^2 * 2 * 1/6 * (1/2 + 1/2)^2 = 4/27; minus (1/3 - 1/2 * 2/3)^2 = 0; over 6 * (1/2)^2:
    # var = (6/27) / (3/2) = 4/27.
    # The Wald interval 1/3 -/+ 1.96 sqrt(4/27) would be [-0.42, 1.09], beyond 1. Six cases are a
    # small sample: Donner-Eliasziw goodness of fit, pooled positive rate pi = 1/2, so
    # P1 = P3 = (1 + k) / 4 and P2 = (1 - k) / 2 with observed counts 2, 2, 2:
    # X^2 = 2 (2 - 6 P1)^2 / (6 P1) + (2 - 6 P2)^2 / (6 P2) = 2 (3k - 1)^2 / (3 (1 - k^2)).
    # X^2 = z^2 is the quadratic (18 + 3 z^2) k^2 - 12 k + (2 - 3 z^2) = 0.
    ai_ref = summary["ai_vs_reference"]
    a, b, c = 18 + 3 * Z_975**2, -12.0, 2 - 3 * Z_975**2
    root = math.sqrt(b * b - 4 * a * c)
    assert ai_ref["n"] == 6
    assert ai_ref["percent_agreement"] == pytest.approx(2 / 3, abs=1e-15)
    assert ai_ref["kappa"] == pytest.approx(1 / 3, abs=1e-15)
    assert ai_ref["kappa_ci_low"] == pytest.approx((-b - root) / (2 * a), abs=1e-12)
    assert ai_ref["kappa_ci_high"] == pytest.approx((-b + root) / (2 * a), abs=1e-12)
    assert round(ai_ref["kappa_ci_low"], 4) == -0.4000 and round(ai_ref["kappa_ci_high"], 4) == 0.8065
    assert summary["confusion"] == {"neg": {"neg": 2, "pos": 1}, "pos": {"neg": 1, "pos": 2}}

    # First two readers, on cases 1, 2, 3, 4, 5, 8: pos-pos 3, pos-neg 1, neg-neg 2.
    # p_o = 5/6; reader 1 (neg 1/3, pos 2/3), reader 2 (1/2, 1/2): p_e = 1/2, kappa = 2/3.
    assert summary["readers"] == {
        "percent_agreement": pytest.approx(5 / 6, abs=1e-15),
        "kappa": pytest.approx(2 / 3, abs=1e-15),
        "n": 6,
    }

    # AI x final on cases 1, 2, 3, 4, 6, 8: pos-pos 3, neg-neg 2, neg-pos 1.
    # p_o = 5/6; AI (1/2, 1/2), final (neg 1/3, pos 2/3): p_e = 1/2, kappa = 2/3.
    assert summary["ai_vs_final"] == {
        "percent_agreement": pytest.approx(5 / 6, abs=1e-15),
        "kappa": pytest.approx(2 / 3, abs=1e-15),
        "n": 6,
    }
    assert set(summary) == {
        "n_cases",
        "n_with_reference",
        "n_needs_adjudication",
        "ai_vs_reference",
        "readers",
        "ai_vs_final",
        "labels",
        "confusion",
    }
    json.dumps(summary, allow_nan=False)


def test_three_readers_without_majority_need_adjudication():
    df = pd.DataFrame(
        {
            "case_id": [1, 2],
            "ai_label": ["A", "B"],
            "final_label": ["A", "B"],
            "reader_labels": [["A", "B", "C"], ["B", "B", "C"]],
        }
    )
    summary = campaign_summary(df)
    assert summary["n_with_reference"] == 1
    assert summary["n_needs_adjudication"] == 1
    assert summary["ai_vs_reference"]["n"] == 1
    assert summary["confusion"]["B"]["B"] == 1
    assert summary["confusion"]["C"] == {"A": 0, "B": 0, "C": 0}


def test_undefined_kappa_is_reported_as_none():
    df = pd.DataFrame(
        {
            "case_id": ["c1", "c2", "c3"],
            "ai_label": ["neg", "neg", "neg"],
            "final_label": ["neg", "neg", np.nan],
            "reader_labels": [["neg", "neg"], ["neg", "neg"], np.nan],
        }
    )
    summary = campaign_summary(df)
    assert summary["ai_vs_reference"] == {
        "percent_agreement": 1.0,
        "kappa": None,
        "kappa_ci_low": None,
        "kappa_ci_high": None,
        "n": 2,
    }
    assert summary["readers"] == {"percent_agreement": 1.0, "kappa": None, "n": 2}
    assert summary["ai_vs_final"]["n"] == 2
    json.dumps(summary, allow_nan=False)


def test_empty_campaign():
    df = pd.DataFrame(columns=["case_id", "ai_label", "final_label", "reader_labels"])
    summary = campaign_summary(df)
    assert summary["n_cases"] == 0
    assert summary["n_with_reference"] == 0
    assert summary["n_needs_adjudication"] == 0
    assert summary["ai_vs_reference"]["kappa"] is None
    assert summary["readers"] == {"percent_agreement": None, "kappa": None, "n": 0}
    assert summary["confusion"] == {}
    json.dumps(summary, allow_nan=False)


def test_numpy_labels_become_python_scalars():
    df = pd.DataFrame(
        {
            "case_id": [1, 2, 3],
            "ai_label": np.array([0, 1, 1]),
            "final_label": [0, 1, None],
            "reader_labels": [np.array([0, 0]), np.array([1, 1]), np.array([1, 0])],
        }
    )
    summary = campaign_summary(df)
    assert summary["labels"] == [0, 1]
    assert all(type(label) is int for label in summary["labels"])
    assert summary["confusion"] == {0: {0: 1, 1: 0}, 1: {0: 0, 1: 1}}
    assert summary["n_needs_adjudication"] == 1
    json.dumps(summary, allow_nan=False)


def test_invalid_input_raises():
    with pytest.raises(ValueError, match="missing column"):
        campaign_summary(pd.DataFrame({"case_id": [1], "ai_label": ["A"]}))
    duplicated = _campaign()
    duplicated.loc[1, "case_id"] = 1
    with pytest.raises(ValueError, match="duplicated case_id"):
        campaign_summary(duplicated)
    not_a_list = _campaign()
    not_a_list["reader_labels"] = "pos"
    with pytest.raises(TypeError, match="list"):
        campaign_summary(not_a_list)


def test_campaign_summary_recorded_reference_overrides_majority_and_fixes_label_order():
    df = pd.DataFrame(
        {
            "case_id": [1, 2, 3],
            "ai_label": ["pos", "neg", "pos"],
            "final_label": ["pos", "neg", None],
            "reader_labels": [["pos", "neg"], ["neg", "neg"], ["pos", "pos"]],
            "reference_label": ["neg", None, None],
        }
    )

    summary = campaign_summary(df, labels=["pos", "neg"])

    assert summary["labels"] == ["pos", "neg"]
    assert summary["n_with_reference"] == 3
    assert summary["n_needs_adjudication"] == 0
    assert summary["confusion"] == {"pos": {"pos": 1, "neg": 1}, "neg": {"pos": 0, "neg": 1}}
    assert summary["ai_vs_reference"]["percent_agreement"] == 2 / 3


def test_campaign_summary_half_read_case_has_no_reference_yet():
    df = pd.DataFrame(
        {
            "case_id": [1, 2],
            "ai_label": ["pos", "neg"],
            "final_label": [None, None],
            "reader_labels": [["pos"], ["neg", "pos"]],
        }
    )

    summary = campaign_summary(df, labels=["pos", "neg"], min_readers=2)

    assert summary["n_with_reference"] == 0
    assert summary["n_needs_adjudication"] == 1
    assert summary["ai_vs_reference"]["n"] == 0
