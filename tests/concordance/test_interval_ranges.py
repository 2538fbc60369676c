"""Every interval-returning function of concordance stays in its parameter's range on degenerate inputs.

Degenerate inputs: all agree, all disagree, one category only, n = 1, n = 2. A bound may be
missing (None or NaN) only where the estimate is undefined; otherwise low <= estimate <= high
inside the range: [-1, 1] for kappa, [-1/(q-1), 1] for AC1, [0, 1] for every proportion.
"""

import dataclasses
import math

import pandas as pd
import pytest

from concordance import (
    automation_bias,
    campaign_summary,
    clopper_pearson_interval,
    cohen_kappa,
    design_weighted_proportion,
    diagnostic_summary,
    equity_by_group,
    gwet_ac1,
    gwet_ac1_two_raters,
    p_chart,
    patient_representative_findings,
    proportion,
    three_way_concordance,
    threshold_alerts,
    wilson_interval,
)

pytestmark = pytest.mark.unit

PAIRS = {
    "all_agree": (["pos", "neg", "pos", "neg", "pos"], ["pos", "neg", "pos", "neg", "pos"]),
    "all_disagree": (["pos", "neg", "pos", "neg"], ["neg", "pos", "neg", "pos"]),
    "one_category": (["neg"] * 5, ["neg"] * 5),
    "one_rater_constant": (["pos"] * 5, ["pos", "neg", "pos", "neg", "neg"]),
    "n1": (["pos"], ["pos"]),
    "n1_disagree": (["pos"], ["neg"]),
    "n2": (["pos", "neg"], ["pos", "neg"]),
    "n2_disagree": (["pos", "neg"], ["neg", "pos"]),
}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _check(low, high, estimate, lowest: float, where: str, single_unit: bool = False) -> None:
    if _missing(low) or _missing(high):
        # no interval: the estimate is undefined too, or (AC1) a single unit gives no variance
        assert _missing(low) and _missing(high) and (_missing(estimate) or single_unit), where
        return
    assert lowest <= low <= high <= 1.0, (where, low, high)
    if not _missing(estimate):
        assert low <= estimate <= high, (where, low, estimate, high)


def _walk(value, where: str, lowest: float = 0.0) -> int:
    """Check every interval found in ``value`` (dicts, lists, dataclasses); return how many."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    found = 0
    if isinstance(value, dict):
        for low_key, high_key, estimate_key in (
            ("ci_low", "ci_high", "estimate"),
            ("kappa_ci_low", "kappa_ci_high", "kappa"),
        ):
            if low_key in value:
                estimate = value.get(estimate_key, value.get("kappa", value.get("ac1")))
                bound = -1.0 if low_key == "kappa_ci_low" or "kappa" in value or "ac1" in value else lowest
                _check(value[low_key], value[high_key], estimate, bound, where)
                found += 1
        for key, item in value.items():
            found += _walk(item, f"{where}.{key}", lowest)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found += _walk(item, f"{where}[{i}]", lowest)
    return found


@pytest.mark.parametrize("case", sorted(PAIRS))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_interval_in_range(case, weights):
    a, b = PAIRS[case]
    result = cohen_kappa(a, b, labels=["neg", "pos", "unsure"], weights=weights)
    _check(result.ci_low, result.ci_high, result.kappa, -1.0, case)
    if not math.isnan(result.kappa):
        assert result.ci_low < result.ci_high  # never collapsed to a point


@pytest.mark.parametrize("case", sorted(PAIRS))
def test_gwet_ac1_interval_in_range(case):
    a, b = PAIRS[case]
    for labels in (["neg", "pos"], ["neg", "pos", "unsure"]):
        result = gwet_ac1_two_raters(a, b, labels=labels)
        _check(result.ci_low, result.ci_high, result.ac1, -1.0 / (len(labels) - 1), case, result.n_units == 1)
    table = [[x, y, x] for x, y in zip(a, b, strict=True)]
    result = gwet_ac1(table, labels=["neg", "pos", "unsure"])
    _check(result.ci_low, result.ci_high, result.ac1, -0.5, case, result.n_units == 1)


def test_gwet_ac1_truncated_at_its_own_lower_bound():
    # Three categories equally used, no unit with two matching ratings: AC1 = -1/(q-1) = -0.5
    # exactly; the t interval reaches below -0.5 and is truncated there, not at -1.
    a, b = ["A", "B", "C", "A", "B", "C"], ["B", "C", "A", "C", "A", "B"]
    result = gwet_ac1_two_raters(a, b)
    assert result.ac1 == pytest.approx(-0.5, abs=1e-12)
    assert result.ci_low == -0.5
    assert result.ac1 - 2.570581835636314 * result.se < -0.5  # t_{0.975, 5}: the raw bound was lower


@pytest.mark.parametrize("x,n", [(0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2), (0, 30), (30, 30)])
def test_proportion_intervals_in_range(x, n):
    for method in ("wilson", "clopper-pearson"):
        result = proportion(x, n, method=method)
        _check(result.ci_low, result.ci_high, result.estimate, 0.0, f"{method} {x}/{n}")
    for low, high in (wilson_interval(x, n), clopper_pearson_interval(x, n)):
        assert 0.0 <= low <= high <= 1.0


@pytest.mark.parametrize("case", sorted(PAIRS))
def test_diagnostic_summary_in_range(case):
    test, reference = PAIRS[case]
    summary = diagnostic_summary(test, reference, positive="pos", comparator=reference)
    assert _walk(summary, case) == 5  # accuracy, sensitivity, specificity, ppv, npv


@pytest.mark.parametrize("case", sorted(PAIRS))
def test_three_way_and_automation_bias_in_range(case):
    ai, reference = PAIRS[case]
    assert _walk(three_way_concordance(ai, reference, reference), case) > 0
    assert _walk(three_way_concordance(ai, ai, reference), case) > 0
    verdicts = pd.DataFrame({"verdict": reference, "ai_label": ai, "would_change": [True] * len(ai)})
    assert _walk(automation_bias(verdicts), case) > 0


@pytest.mark.parametrize("case", sorted(PAIRS))
def test_campaign_summary_in_range(case):
    ai, reader = PAIRS[case]
    df = pd.DataFrame(
        {
            "case_id": range(len(ai)),
            "ai_label": ai,
            "final_label": ai,
            "reader_labels": [[r] for r in reader],
        }
    )
    assert _walk(campaign_summary(df), case) == 1


@pytest.mark.parametrize("case", sorted(PAIRS))
@pytest.mark.parametrize("probability", [1.0, 0.25])
def test_design_weighted_proportion_in_range(case, probability):
    a, b = PAIRS[case]
    success = [x == y for x, y in zip(a, b, strict=True)]
    strata = ["s1", "s2"] * len(a)
    result = design_weighted_proportion(success, [probability] * len(a), strata=strata[: len(a)])
    _check(result.ci_low, result.ci_high, result.estimate, 0.0, case)
    empty = design_weighted_proportion(success, [probability] * len(a), in_domain=[False] * len(a))
    assert (empty.ci_low, empty.ci_high) == (0.0, 1.0)


@pytest.mark.parametrize("case", sorted(PAIRS))
def test_equity_drift_and_patient_figures_in_range(case):
    ai, reference = PAIRS[case]
    df = pd.DataFrame({"ai_label": ai, "reference_label": reference, "final_label": ai, "sex": ["F"] * len(ai)})
    table = equity_by_group(df, "sex", "agreement", min_n=1)
    for row in table.to_dict("records"):
        _check(row["ci_low"], row["ci_high"], row["estimate"], 0.0, case)
    x = [int(a == r) for a, r in zip(ai, reference, strict=True)]
    for alert in threshold_alerts(x, [1] * len(x), 0.9):
        _check(alert["ci_low"], alert["ci_high"], alert["estimate"], 0.0, case)
    for point in p_chart(x, [1] * len(x))["points"]:
        _check(point["lower"], point["upper"], None, 0.0, case)
    said = ["yes" if a == r else "no" for a, r in zip(ai, reference, strict=True)]
    questions = ("patient_information_documented", "rights_respected", "equity_concern_raised")
    answers = pd.DataFrame({question: said for question in questions})
    assert _walk(patient_representative_findings(answers), case) >= 3
