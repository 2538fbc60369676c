"""Tests of concordance.equity: per-group estimates, group-vs-rest z test, Holm correction, small-n warnings."""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from concordance import equity_by_group, equity_table, two_proportion_z_test, wilson_interval
from concordance.equity import adjust_p_values

pytestmark = pytest.mark.unit


def _cases(seed: int, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    site = rng.choice(["north", "south", "east", "west"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    reference = rng.choice(["pos", "neg"], size=n, p=[0.3, 0.7])
    accuracy = np.where(site == "west", 0.6, 0.9)  # one site where the AI does worse
    ai = np.where(rng.random(n) < accuracy, reference, np.where(reference == "pos", "neg", "pos"))
    final = np.where(rng.random(n) < 0.9, ai, reference)
    return pd.DataFrame({"site": site, "ai_label": ai, "final_label": final, "reference_label": reference})


def test_two_proportion_z_test_matches_statsmodels():
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n1, n2 = (int(v) for v in rng.integers(5, 400, 2))
        x1, x2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        if x1 + x2 in (0, n1 + n2):
            continue
        z, p = two_proportion_z_test(x1, n1, x2, n2)
        expected_z, expected_p = proportions_ztest([x1, x2], [n1, n2])
        assert z == pytest.approx(expected_z, rel=1e-10)
        assert p == pytest.approx(expected_p, rel=1e-9, abs=1e-300)


def test_adjust_p_values_matches_statsmodels_multipletests():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = list(rng.random(int(rng.integers(1, 9))) ** 3)
        for method in ("holm", "bonferroni"):
            assert adjust_p_values(p, method) == pytest.approx(list(multipletests(p, method=method)[1]))
    assert math.isnan(adjust_p_values([0.01, math.nan], "holm")[1])
    assert adjust_p_values([0.01, math.nan], "holm")[0] == pytest.approx(0.01)


def test_equity_by_group_estimates_counts_and_flags_the_worse_site():
    df = _cases(1)

    table = equity_by_group(df, "site", "agreement")

    assert list(table["group"]) == ["east", "north", "south", "west"]
    for row in table.itertuples():
        member = df["site"] == row.group
        agree = df["ai_label"] == df["reference_label"]
        assert (row.x, row.n) == (int(agree[member].sum()), int(member.sum()))
        assert (row.rest_x, row.rest_n) == (int(agree[~member].sum()), int((~member).sum()))
        assert (row.ci_low, row.ci_high) == wilson_interval(row.x, row.n)
    west = table.set_index("group").loc["west"]
    assert bool(west["differs"]) and west["difference"] < 0
    assert table["p_adjusted"].tolist() == pytest.approx(adjust_p_values(table["p_value"].tolist(), "holm"))
    assert table.attrs["correction"] == "holm"


def test_equity_by_group_sensitivity_domain_and_small_groups_warning():
    df = _cases(2, n=200)

    table = equity_by_group(df, "site", "sensitivity", positive="pos", min_n=30).set_index("group")

    positives = df["reference_label"] == "pos"
    assert table.loc["north", "n"] == int((positives & (df["site"] == "north")).sum())
    small = table[table["n"] < 30]
    assert len(small) >= 1
    assert small["too_small"].all()
    assert all(w.startswith("too small to conclude") for w in small["warning"])


def test_equity_by_group_expected_count_warning_even_when_n_is_large():
    df = pd.DataFrame(
        {
            "sex": ["F"] * 100 + ["M"] * 100,
            "ai_label": ["A"] * 200,
            "reference_label": ["A"] * 198 + ["B"] * 2,
        }
    )

    table = equity_by_group(df, "sex", "agreement", min_n=30)

    assert table["too_small"].all()
    assert "expected count below 5" in table.loc[0, "warning"]


def test_equity_by_group_missing_groups_empty_and_errors():
    df = pd.DataFrame(
        {
            "age_band": ["<40", None, "<40", ">=40"],
            "ai_label": ["A", "A", None, "B"],
            "final_label": ["A", "B", "A", "A"],
        }
    )

    table = equity_by_group(df, "age_band", "override_rate")

    assert table.attrs["n_missing_group"] == 1
    assert table.set_index("group").loc["<40", "n"] == 1
    assert equity_by_group(df.iloc[:0], "age_band", "override_rate").empty
    with pytest.raises(ValueError, match="no column"):
        equity_by_group(df, "site", "override_rate")
    with pytest.raises(ValueError, match="positive"):
        equity_by_group(df, "age_band", "sensitivity")
    with pytest.raises(ValueError, match="metric must be one of"):
        equity_by_group(df, "age_band", "accuracy_of_vibes")


def test_equity_table_gives_the_rows_of_equity_by_group_for_every_metric_and_group():
    """The dashboard's one-pass table equals ``equity_by_group`` called figure by figure."""
    rng = np.random.default_rng(3)
    n = 400
    labels = np.array(["pos", "neg", None], dtype=object)
    df = pd.DataFrame({
        "ai_label": labels[rng.integers(0, 3, n)], "final_label": labels[rng.integers(0, 3, n)],
        "reference_label": labels[rng.integers(0, 3, n)],
        "sex": np.array(["F", "M", None], dtype=object)[rng.integers(0, 3, n)],
        "site": rng.choice(["A", "B", "C", "D"], n),
    })
    metrics = ["agreement", "sensitivity", "npv", "override_rate", "reliance_on_wrong_ai"]
    table = equity_table(df, ["sex", "site"], metrics, "pos", min_n=20)
    for metric in metrics:
        expected = [{"dimension": g, **r} for g in ("sex", "site")
                    for r in equity_by_group(df, g, metric, "pos", min_n=20).to_dict("records")]
        assert len(table[metric]) == len(expected)
        for got, want in zip(table[metric], expected, strict=True):
            assert got.keys() == want.keys()
            for key, value in want.items():
                if isinstance(value, float) and np.isnan(value):
                    assert np.isnan(got[key]), (metric, key)
                else:
                    assert got[key] == pytest.approx(value) if isinstance(value, float) else got[key] == value
