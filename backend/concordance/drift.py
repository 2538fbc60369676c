"""Drift: a proportion campaign after campaign, on a p-chart, with acceptance-threshold alerts."""

import math
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Literal

import pandas as pd

from .indicators import metric_indicators
from .proportions import _as_count, _check_alpha, _check_x_n, proportion

__all__ = ["metric_series", "p_chart", "threshold_alerts"]

Direction = Literal["at_least", "at_most"]


def metric_series(df: pd.DataFrame, by: str, metric: str, positive: Hashable | None = None) -> pd.DataFrame:
    """``x`` successes and ``n`` cases of ``metric`` per value of ``by`` (e.g. the campaign), in sorted order.

    Same metric definitions as :func:`~concordance.indicators.metric_indicators`; rows with a
    missing ``by`` are ignored. Returns a DataFrame with the columns ``period``, ``x``, ``n``.
    """
    success, domain = metric_indicators(df, metric, positive)
    frame = pd.DataFrame({"period": df[by].to_numpy(), "x": success & domain, "n": domain})
    grouped = frame.dropna(subset=["period"]).groupby("period", sort=True)[["x", "n"]].sum()
    return grouped.astype(int).reset_index()


def p_chart(x: Sequence[int], n: Sequence[int], periods: Iterable[Any] | None = None, sigma: float = 3.0) -> dict:
    """Shewhart p-chart with per-point limits for varying ``n`` (Montgomery, *Introduction to
    Statistical Quality Control*, 7th ed., section 7.3.1).

    Centre line ``p_bar = sum x / sum n`` over the periods with ``n > 0``; for period ``i``, the
    limits ``p_bar -/+ sigma sqrt(p_bar (1 - p_bar) / n_i)``, clipped to [0, 1]. A point is
    ``"above"`` when ``p_i > upper``, ``"below"`` when ``p_i < lower``, else ``"in"``; a period
    with ``n = 0`` has no point (``None`` estimate and limits, status ``"empty"``). The limits
    assume the periods share one underlying rate: a point outside them is a signal to look at,
    not a verdict. Returns ``{"centre", "sigma", "points": [...], "n_out"}``, each point a dict
    ``period, x, n, estimate, lower, upper, status``.
    """
    xs, ns = list(x), list(n)
    if len(xs) != len(ns):
        raise ValueError("x and n must have the same length")
    pairs = [_check_x_n(a, b) for a, b in zip(xs, ns, strict=True)]
    labels = list(range(len(pairs))) if periods is None else list(periods)
    if len(labels) != len(pairs):
        raise ValueError("periods must have the same length as x")
    if not sigma > 0:
        raise ValueError("sigma must be positive")
    total_n = sum(b for _, b in pairs)
    centre = sum(a for a, _ in pairs) / total_n if total_n else math.nan
    points = []
    for label, (a, b) in zip(labels, pairs, strict=True):
        if b == 0 or math.isnan(centre):
            points.append({"period": label, "x": a, "n": b, "estimate": None, "lower": None, "upper": None,
                           "status": "empty"})  # fmt: skip
            continue
        half = sigma * math.sqrt(centre * (1.0 - centre) / b)
        lower, upper = max(0.0, centre - half), min(1.0, centre + half)
        estimate = a / b
        status = "above" if estimate > upper else "below" if estimate < lower else "in"
        points.append({"period": label, "x": a, "n": b, "estimate": estimate, "lower": lower, "upper": upper,
                       "status": status})  # fmt: skip
    return {
        "centre": None if math.isnan(centre) else centre,
        "sigma": sigma,
        "points": points,
        "n_out": sum(p["status"] in ("above", "below") for p in points),
    }


def threshold_alerts(
    x: Sequence[int],
    n: Sequence[int],
    threshold: float,
    periods: Iterable[Any] | None = None,
    direction: Direction = "at_least",
    alpha: float = 0.05,
) -> list[dict[str, Any]]:
    """Periods whose proportion crosses an acceptance threshold, with how sure we are of it.

    ``direction="at_least"`` for a requirement such as sensitivity >= 0.90, ``"at_most"`` for
    one such as override rate <= 0.20. For each period with ``n > 0`` and a Wilson
    ``1 - alpha`` interval:

    * ``"conclusive"``: the whole interval is on the wrong side (upper bound < threshold, or
      lower bound > threshold for ``at_most``): the requirement is failed beyond sampling noise;
    * ``"point_estimate"``: the estimate is on the wrong side but the interval still reaches
      the threshold: a warning to watch, not a proof of failure.

    Periods meeting the threshold are not listed. Each alert: ``period, x, n, estimate, ci_low,
    ci_high, threshold, direction, level``.
    """
    alpha = _check_alpha(alpha)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    if direction not in ("at_least", "at_most"):
        raise ValueError(f"direction must be 'at_least' or 'at_most', got {direction!r}")
    xs, ns = list(x), list(n)
    if len(xs) != len(ns):
        raise ValueError("x and n must have the same length")
    labels = list(range(len(xs))) if periods is None else list(periods)
    if len(labels) != len(xs):
        raise ValueError("periods must have the same length as x")
    alerts = []
    for label, a, b in zip(labels, xs, ns, strict=True):
        if _as_count(b, "n") == 0:
            continue
        share = proportion(a, b, alpha)
        if direction == "at_least":
            failed, conclusive = share.estimate < threshold, share.ci_high < threshold
        else:
            failed, conclusive = share.estimate > threshold, share.ci_low > threshold
        if not failed:
            continue
        alerts.append(
            {
                "period": label,
                "x": share.x,
                "n": share.n,
                "estimate": share.estimate,
                "ci_low": share.ci_low,
                "ci_high": share.ci_high,
                "threshold": threshold,
                "direction": direction,
                "level": "conclusive" if conclusive else "point_estimate",
            }
        )
    return alerts
