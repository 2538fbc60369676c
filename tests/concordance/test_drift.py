"""Tests of concordance.drift: p-chart limits and acceptance-threshold alerts."""

import math

import pandas as pd
import pytest

from concordance import metric_series, p_chart, threshold_alerts, wilson_interval

pytestmark = pytest.mark.unit


def test_p_chart_centre_and_per_point_limits_for_varying_n():
    x, n = [90, 45, 180, 10, 0], [100, 50, 200, 25, 0]

    chart = p_chart(x, n, periods=["c1", "c2", "c3", "c4", "c5"])

    centre = 325 / 375
    assert chart["centre"] == pytest.approx(centre)
    for point in chart["points"][:4]:
        half = 3 * math.sqrt(centre * (1 - centre) / point["n"])
        assert point["lower"] == pytest.approx(max(0.0, centre - half))
        assert point["upper"] == pytest.approx(min(1.0, centre + half))
    statuses = [p["status"] for p in chart["points"]]
    assert statuses == ["in", "in", "in", "below", "empty"]
    assert chart["n_out"] == 1
    assert chart["points"][4]["estimate"] is None


def test_p_chart_flags_a_point_above_and_clips_limits():
    chart = p_chart([50, 50, 50, 20], [100, 100, 100, 20])

    assert chart["points"][3]["status"] == "above"
    assert chart["points"][3]["upper"] <= 1.0


def test_p_chart_empty_and_bad_input():
    assert p_chart([], [])["centre"] is None
    assert p_chart([0], [0])["points"][0]["status"] == "empty"
    with pytest.raises(ValueError, match="exceed"):
        p_chart([3], [2])
    with pytest.raises(ValueError, match="same length"):
        p_chart([1], [2, 3])


def test_threshold_alerts_distinguish_point_estimate_from_conclusive():
    x, n = [95, 85, 150, 8], [100, 100, 200, 10]

    alerts = threshold_alerts(x, n, threshold=0.90, periods=["jan", "feb", "mar", "apr"])

    by_period = {a["period"]: a for a in alerts}
    assert set(by_period) == {"feb", "mar", "apr"}
    # feb: 0.85, Wilson upper 0.907 >= 0.90 -> not conclusive
    assert wilson_interval(85, 100)[1] >= 0.90
    assert by_period["feb"]["level"] == "point_estimate"
    # mar: 0.75, upper bound well below 0.90 -> conclusive
    assert wilson_interval(150, 200)[1] < 0.90
    assert by_period["mar"]["level"] == "conclusive"
    assert by_period["apr"]["level"] == "point_estimate"


def test_threshold_alerts_at_most_direction():
    alerts = threshold_alerts([30, 22, 5], [100, 100, 100], threshold=0.20, direction="at_most")

    assert [(a["period"], a["level"]) for a in alerts] == [(0, "conclusive"), (1, "point_estimate")]


def test_threshold_alerts_skip_empty_periods_and_validate():
    assert threshold_alerts([0], [0], threshold=0.9) == []
    with pytest.raises(ValueError, match="threshold"):
        threshold_alerts([1], [2], threshold=90)
    with pytest.raises(ValueError, match="direction"):
        threshold_alerts([1], [2], threshold=0.9, direction="below")


def test_metric_series_feeds_the_chart():
    df = pd.DataFrame(
        {
            "campaign": [1, 1, 2, 2, 2, None],
            "ai_label": ["p", "n", "p", "p", "n", "p"],
            "reference_label": ["p", "p", "p", "p", "p", "p"],
        }
    )

    series = metric_series(df, by="campaign", metric="sensitivity", positive="p")

    assert series.to_dict("list") == {"period": [1.0, 2.0], "x": [1, 2], "n": [2, 3]}
    assert p_chart(series["x"], series["n"], series["period"])["centre"] == pytest.approx(3 / 5)
