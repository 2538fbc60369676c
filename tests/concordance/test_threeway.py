"""Tests of concordance.threeway: the case categories, their rates, override, reliance, automation bias."""

import pandas as pd
import pytest

from concordance import (
    THREE_WAY_CATEGORIES,
    automation_bias,
    three_way_category,
    three_way_concordance,
    wilson_interval,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("ai", "final", "reference", "expected"),
    [
        ("A", "A", "A", "ai_right_followed"),
        ("A", "B", "A", "ai_right_overridden"),
        ("B", "B", "A", "ai_wrong_followed"),
        ("B", "A", "A", "ai_wrong_overridden"),
        ("B", "C", "A", "all_disagree"),
        ("A", None, "A", "missing"),
        (float("nan"), "A", "A", "missing"),
        ("A", "A", pd.NA, "missing"),
    ],
)
def test_three_way_category_definitions(ai, final, reference, expected):
    assert three_way_category(ai, final, reference) == expected


def test_three_way_concordance_counts_rates_and_derived_rates():
    ai = ["A", "A", "A", "B", "B", "B", "B", "A", "A"]
    final = ["A", "A", "B", "B", "A", "C", "B", "B", None]
    reference = ["A", "A", "A", "A", "A", "A", "A", None, "A"]

    result = three_way_concordance(ai, final, reference)

    assert result["counts"] == {
        "ai_right_followed": 2,
        "ai_right_overridden": 1,
        "ai_wrong_followed": 2,
        "ai_wrong_overridden": 1,
        "all_disagree": 1,
        "missing": 2,
    }
    assert list(result["counts"]) == list(THREE_WAY_CATEGORIES)
    assert (result["n_cases"], result["n_complete"]) == (9, 7)
    wrong_followed = result["rates"]["ai_wrong_followed"]
    assert (wrong_followed["x"], wrong_followed["n"]) == (2, 7)
    assert (wrong_followed["ci_low"], wrong_followed["ci_high"]) == wilson_interval(2, 7)
    # override: final != ai on the 8 cases with both, reference or not (case 8 has no reference)
    assert (result["override_rate"]["x"], result["override_rate"]["n"]) == (4, 8)
    assert (result["reliance_on_wrong_ai"]["x"], result["reliance_on_wrong_ai"]["n"]) == (2, 4)
    assert (result["override_of_right_ai"]["x"], result["override_of_right_ai"]["n"]) == (1, 3)
    assert (result["clinician_accuracy"]["x"], result["ai_accuracy"]["x"]) == (3, 3)
    assert sum(result["counts"].values()) == len(result["categories"])


def test_three_way_concordance_empty_and_all_missing():
    empty = three_way_concordance([], [], [])
    missing = three_way_concordance([None], ["A"], ["A"])

    assert empty["n_complete"] == 0 and empty["rates"]["ai_right_followed"]["estimate"] is None
    assert missing["counts"]["missing"] == 1
    assert missing["override_rate"]["n"] == 0


def test_three_way_concordance_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="same length"):
        three_way_concordance(["A"], ["A", "B"], ["A"])


def test_automation_bias_counts_only_answers_that_differed_from_the_ai():
    df = pd.DataFrame(
        {
            "verdict": ["A", "B", "B", "B", "C", "A", None],
            "ai_label": ["A", "A", "A", "A", "A", "A", "A"],
            "would_change": [True, "oui", "no", "unknown", 1, False, True],
        }
    )

    result = automation_bias(df)

    assert result["n_differed"] == 4
    assert result["n_answered"] == 3
    assert result["n_unanswered"] == 1
    share = result["automation_bias"]
    assert (share["x"], share["n"]) == (2, 3)
    assert (share["ci_low"], share["ci_high"]) == wilson_interval(2, 3)


def test_automation_bias_missing_column_and_empty():
    with pytest.raises(ValueError, match="would_change"):
        automation_bias(pd.DataFrame({"verdict": [], "ai_label": []}))
    empty = automation_bias(pd.DataFrame({"verdict": [], "ai_label": [], "would_change": []}))
    assert empty["automation_bias"]["estimate"] is None and empty["n_differed"] == 0
