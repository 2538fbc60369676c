"""The "score outputs" section of the campaign dashboard (and of the reports that freeze it):
ROC curve and AUC, calibration, threshold what-if, each with a plain reading for a reader who is
not a statistician. Built from the ``scores`` block of the campaign's figures
(:func:`reports.selectors.scores.score_figures`); nothing when the AI gives no score.
"""

import pandas as pd
import plotly.graph_objects as go
from django.utils.translation import gettext as _

from concordance.sample import SMALL_SAMPLE

from . import pages
from .charts import BLUE, GREEN, GREY, RED, _layout, to_dict

__all__ = ["calibration_chart", "roc_chart", "scores_context", "threshold_chart"]


# --- Charts: DataFrame in, plotly figure out -------------------------------------------------

def roc_chart(curves: list[tuple[str, list[float], list[float]]], point: tuple[float, float] | None) -> go.Figure:
    """``curves``: ``(name, fpr, tpr)`` each; ``point``: the operating point at the threshold in
    force, as ``(1 - specificity, sensitivity)``."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=_("Chance (AUC 0.5)"),
                             line={"dash": "dot", "color": GREY}, hoverinfo="skip"))
    styles = [{"color": BLUE}, {"color": GREEN, "dash": "dash"}]
    for (name, fpr, tpr), line in zip(curves, styles, strict=False):
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=name, line=line | {"shape": "linear"},
                                 hovertemplate=_("False positives: %{x:.0%}<br>Sensitivity: %{y:.0%}<extra></extra>")))
    if point is not None:
        fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name=_("Threshold in force"),
                                 marker={"symbol": "diamond", "size": 12, "color": RED}))
    return _layout(fig, _("ROC curve"), height=420,
                   xaxis={"title": {"text": _("1 − specificity (share of negative cases flagged)")},
                          "range": [0, 1], "tickformat": ".0%", "constrain": "domain"},
                   yaxis={"title": {"text": _("Sensitivity (share of positive cases flagged)")},
                          "range": [0, 1], "tickformat": ".0%", "scaleanchor": "x"},
                   legend={"orientation": "h", "y": -0.25})


def calibration_chart(rows: pd.DataFrame) -> go.Figure:
    """``rows``: ``expected, observed, ci_low, ci_high, n`` (one line per bin of the score)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=_("Perfect calibration"),
                             line={"dash": "dot", "color": GREY}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=rows["expected"], y=rows["observed"], mode="markers+lines", name=_("Observed"),
        marker={"size": 9, "color": BLUE}, line={"color": BLUE},
        error_y={"type": "data", "symmetric": False, "array": (rows["ci_high"] - rows["observed"]).tolist(),
                 "arrayminus": (rows["observed"] - rows["ci_low"]).tolist(), "color": GREY},
        customdata=rows["n"], hovertemplate=_("Score: %{x:.0%}<br>Observed: %{y:.0%}<br>Cases: %{customdata}"
                                              "<extra></extra>")))
    return _layout(fig, _("Calibration"), height=420,
                   xaxis={"title": {"text": _("Score given by the AI (mean of the bin)")}, "range": [0, 1],
                          "tickformat": ".0%"},
                   yaxis={"title": {"text": _("Observed share of positive cases")}, "range": [0, 1.02],
                          "tickformat": ".0%"},
                   legend={"orientation": "h", "y": -0.25})


def threshold_chart(rows: pd.DataFrame, current: float | None) -> go.Figure:
    """``rows``: ``threshold, sensitivity, specificity, workload`` (estimates, one line each)."""
    fig = go.Figure()
    for column, name, style in (
        ("sensitivity", _("Sensitivity"), {"line": {"color": BLUE}, "marker": {"symbol": "circle", "size": 8}}),
        ("specificity", _("Specificity"), {"line": {"color": GREEN, "dash": "dash"},
                                           "marker": {"symbol": "square", "size": 8}}),
        ("workload", _("Workload (share of cases flagged)"), {"line": {"color": RED, "dash": "dot"},
                                                               "marker": {"symbol": "triangle-up", "size": 9}}),
    ):
        fig.add_trace(go.Scatter(x=rows["threshold"], y=rows[column], mode="lines+markers", name=name, **style,
                                 hovertemplate=name + " : %{y:.1%}<extra></extra>"))
    if current is not None:
        fig.add_vline(x=current, line={"color": GREY, "dash": "dash"}, annotation_text=_("Threshold in force"))
    return _layout(fig, _("Threshold what-if: population estimates"), height=400,
                   xaxis={"title": {"text": _("Score threshold (a case is flagged at or above it)")}},
                   yaxis={"title": {"text": _("Share")}, "range": [0, 1.05], "tickformat": ".0%"},
                   legend={"orientation": "h", "y": -0.25})


# --- Plain readings ----------------------------------------------------------------------------

def _auc_reading(auc: dict) -> str:
    if auc.get("auc") is None:
        return _("The AUC needs cases with a positive and cases with a negative reference: there are not both yet.")
    value = auc["auc"]
    text = _(
        "Take at random one case the college judged positive and one it judged negative: the AI gives the higher "
        "score to the positive case %(n)s times out of 100 (between %(low)s and %(high)s, given the sample). "
        "50 is what chance does, 100 a perfect separation.") % {
        "n": pages.num(value * 100, 0), "low": pages.num(auc["ci_low"] * 100, 0),
        "high": pages.num(auc["ci_high"] * 100, 0)}
    if auc["ci_low"] <= 0.5:
        text += " " + _("The interval reaches 50: the sample does not show that the score separates the cases "
                        "better than chance.")
    return text


def _calibration_reading(rows: list[dict], brier: dict | None) -> str:
    if not rows or brier is None or brier.get("score") is None:
        return _("No case has both a score and a reference yet.")
    off = [r for r in rows if r["observed"] is not None and not (r["ci_low"] <= r["expected"] <= r["ci_high"])]
    text = _(
        "When the AI gives a score of 30 %%, about 30 cases out of 100 should be positive: the points should lie "
        "on the diagonal. Below it, the AI overestimates the risk; above it, it underestimates it. Brier score "
        "%(brier)s (0 is perfect; a score of 50 %% for every case gives 0.25).") % {
        "brier": pages.num(brier["score"], 3)}
    if off:
        text += " " + _("In %(k)s of %(n)s bins the observed share lies outside the interval around the score: "
                        "the score is not calibrated there.") % {"k": len(off), "n": len(rows)}
    else:
        text += " " + _("In every bin, the score lies within the interval of the observed share.")
    return text


def _threshold_reading(rows: list[dict]) -> str:
    text = _("Lowering the threshold catches more positive cases (sensitivity up) but flags more cases for action "
             "(workload up) and raises more false alarms (specificity down); raising it does the reverse.")
    current = next((r for r in rows if r["current"]), None)
    if current is not None:
        text += " " + _(
            "At the threshold in force (%(t)s), the AI would flag %(w)s of the cases it processes, catch %(se)s of "
            "the positive cases and clear %(sp)s of the negative ones.") % {
            "t": pages.num(current["threshold"], 2), "w": pages.pct(current["workload"]["estimate"]),
            "se": pages.pct(current["sensitivity"]["estimate"]), "sp": pages.pct(current["specificity"]["estimate"])}
    text += " " + _("These are estimates for all the cases the AI processed, weighted by the sampling design: "
                    "read their intervals before deciding to change the threshold.")
    return text


# --- Context ------------------------------------------------------------------------------------

def _estimate(block: dict) -> dict:
    return {"estimate": pages.pct(block.get("estimate")),
            "interval": pages.interval(block.get("ci_low"), block.get("ci_high")), "n": block.get("n")}


def _auc_row(name: str, auc: dict) -> dict:
    return {"name": name, "value": pages.num(auc.get("auc")),
            "interval": pages.interval(auc.get("ci_low"), auc.get("ci_high"), percent=False),
            "positives": auc.get("n_positive"), "negatives": auc.get("n_negative")}


def scores_context(figures: dict, charts: dict) -> dict:
    """``{"scores": ...}``: the section's tables and readings, or ``None`` when the figures hold
    no score (an AI without scores, or a report frozen before score outputs were computed).
    Its charts are added to ``charts``, the dictionary of the page's charts that a report
    freezes, under ``roc``, ``calibration`` and ``threshold``."""
    scores = figures.get("scores")
    if not scores:
        return {"scores": None}
    auc, weighted = scores["auc"], scores["auc_weighted"]
    what_if = scores["what_if"]
    current = next((r for r in what_if if r["current"]), None)
    curves = [(_("Sample"), scores["roc"]["fpr"], scores["roc"]["tpr"])]
    if scores.get("roc_weighted"):
        curves.append((_("Population (weighted by the design)"), scores["roc_weighted"]["fpr"],
                       scores["roc_weighted"]["tpr"]))
    point = None
    if current is not None and current["sensitivity"]["estimate"] is not None \
            and current["specificity"]["estimate"] is not None:
        point = (1 - current["specificity"]["estimate"], current["sensitivity"]["estimate"])
    if scores["roc"]["fpr"]:
        charts["roc"] = to_dict(roc_chart(curves, point))
    calibration = scores.get("calibration") or []
    if calibration:
        charts["calibration"] = to_dict(calibration_chart(pd.DataFrame(calibration)))
    if what_if:
        charts["threshold"] = to_dict(threshold_chart(pd.DataFrame([{
            "threshold": r["threshold"], "sensitivity": r["sensitivity"]["estimate"],
            "specificity": r["specificity"]["estimate"], "workload": r["workload"]["estimate"]} for r in what_if]),
            scores.get("threshold")))
    few = min(auc.get("n_positive") or 0, auc.get("n_negative") or 0) < SMALL_SAMPLE
    brier = scores.get("brier_weighted") if scores.get("unequal_weights") else scores.get("brier")
    return {"scores": {
        "positive": figures.get("positive"),
        "threshold": pages.num(scores["threshold"]) if scores.get("threshold") is not None else "",
        "n_scored": scores["n_scored"], "n_scored_with_reference": scores["n_scored_with_reference"],
        "is_probability": scores["is_probability"], "unequal_weights": scores.get("unequal_weights"),
        "too_small": few, "min_n": SMALL_SAMPLE,
        "auc_rows": [_auc_row(_("Sample (DeLong interval)"), auc),
                     _auc_row(_("Population, weighted by the design (linearized interval)"), weighted)],
        "auc_reading": _auc_reading(weighted if scores.get("unequal_weights") else auc),
        "brier_rows": [{"name": name, "value": pages.num(b.get("score"), 3),
                        "interval": pages.interval(b.get("ci_low"), b.get("ci_high"), percent=False), "n": b.get("n")}
                       for name, b in ((_("Sample"), scores.get("brier")),
                                       (_("Population, weighted by the design"), scores.get("brier_weighted")))
                       if b],
        "calibration_rows": [{
            "bin": f"[{pages.num(r['low'], 1)} ; {pages.num(r['high'], 1)}" + ("]" if r["high"] >= 1 else "["),
            "n": r["n"], "expected": pages.pct(r["expected"]), "observed": pages.pct(r["observed"]),
            "interval": pages.interval(r["ci_low"], r["ci_high"]),
            "off": r["observed"] is not None and not (r["ci_low"] <= r["expected"] <= r["ci_high"]),
        } for r in calibration],
        "calibration_reading": _calibration_reading(calibration, brier) if scores["is_probability"] else "",
        "what_if_rows": [{"threshold": pages.num(r["threshold"], 2), "current": r["current"],
                          "sensitivity": _estimate(r["sensitivity"]), "specificity": _estimate(r["specificity"]),
                          "workload": _estimate(r["workload"])} for r in what_if],
        "threshold_reading": _threshold_reading(what_if),
    }}
