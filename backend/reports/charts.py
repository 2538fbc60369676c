"""DataFrame in, plotly figure out. No data access, no permission: the views choose the rows.

The figures carry no template (``template="none"``) so that their JSON stays small; colours are
set here, readable in greyscale (markers differ by symbol as well as colour).
"""

import datetime as dt
import json

import pandas as pd
import plotly.graph_objects as go
from django.utils.formats import date_format, get_format
from django.utils.translation import gettext as _

BLUE, RED, GREY, GREEN = "#1f4e79", "#b22222", "#6b6b6b", "#2e7d32"


def separators() -> str:
    """plotly's ``separators`` (decimal, then thousands) in the active language: "85,0 %" and
    "1 234" in French. plotly.js knows only English month and number formats unless a locale
    file is loaded: months are formatted here (``month_label``), numbers through this."""
    return f"{get_format('DECIMAL_SEPARATOR')}{get_format('THOUSAND_SEPARATOR') or ' '}"


def month_label(month: str) -> str:
    """``"2026-01"`` as the active language names it ("janvier 2026"); anything else as is."""
    try:
        return date_format(dt.date.fromisoformat(f"{month}-01"), "YEAR_MONTH_FORMAT")
    except (TypeError, ValueError):
        return str(month)


def _layout(fig: go.Figure, title: str, **kwargs) -> go.Figure:
    layout = {"template": "none", "title": {"text": title}, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
              "font": {"family": "system-ui, sans-serif", "size": 13}, "separators": separators()} | kwargs
    fig.update_layout(**layout)
    # Long labels (campaign names, subgroups, categories) push the margins instead of being cut.
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def confusion_heatmap(table: pd.DataFrame) -> go.Figure:
    """``table``: counts, index = AI output, columns = reference."""
    fig = go.Figure(go.Heatmap(
        z=table.to_numpy().tolist(), x=[str(c) for c in table.columns], y=[str(i) for i in table.index],
        colorscale="Blues", text=table.to_numpy().tolist(), texttemplate="%{text}", showscale=False,
        hovertemplate=_("AI: %{y}<br>Reference: %{x}<br>Cases: %{z}<extra></extra>"),
    ))
    return _layout(fig, _("Confusion matrix"), xaxis={"title": {"text": _("Reference (college)")}},
                   yaxis={"title": {"text": _("AI output")}, "autorange": "reversed"}, height=360)


def forest_plot(rows: pd.DataFrame, metric_label: str) -> go.Figure:
    """``rows``: ``label, estimate, ci_low, ci_high, differs, too_small`` (one line per subgroup)."""
    rows = rows.dropna(subset=["estimate"])
    symbols = ["diamond" if d else ("circle-open" if s else "circle")
               for d, s in zip(rows["differs"], rows["too_small"], strict=True)]
    colours = [RED if d else (GREY if s else BLUE) for d, s in zip(rows["differs"], rows["too_small"], strict=True)]
    fig = go.Figure(go.Scatter(
        x=rows["estimate"], y=rows["label"], mode="markers",
        marker={"symbol": symbols, "color": colours, "size": 10},
        error_x={"type": "data", "symmetric": False, "array": (rows["ci_high"] - rows["estimate"]).tolist(),
                 "arrayminus": (rows["estimate"] - rows["ci_low"]).tolist(), "color": GREY},
        hovertemplate="%{y}: %{x:.1%}<extra></extra>",
    ))
    return _layout(fig, metric_label, xaxis={"range": [0, 1], "tickformat": ".0%"},
                   yaxis={"autorange": "reversed"}, height=max(260, 28 * len(rows) + 100))


def category_bar(counts: pd.DataFrame) -> go.Figure:
    """``counts``: ``label, count``."""
    fig = go.Figure(go.Bar(x=counts["count"], y=counts["label"], orientation="h", marker={"color": BLUE},
                           text=counts["count"], textposition="auto"))
    return _layout(fig, _("Three-way concordance: AI, clinician, college"), yaxis={"autorange": "reversed"},
                   height=320, margin={"l": 260, "r": 20, "t": 50, "b": 40})


def control_chart(points: pd.DataFrame, title: str, centre: float | None, threshold: float | None) -> go.Figure:
    """``points``: ``period, estimate, lower, upper`` (a p-chart with per-point limits)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=points["period"], y=points["upper"], mode="lines", name=_("Upper control limit"),
                             line={"dash": "dot", "color": GREY, "shape": "hv"}))
    fig.add_trace(go.Scatter(x=points["period"], y=points["lower"], mode="lines", name=_("Lower control limit"),
                             line={"dash": "dot", "color": GREY, "shape": "hv"}))
    fig.add_trace(go.Scatter(x=points["period"], y=points["estimate"], mode="lines+markers", name=title,
                             line={"color": BLUE}, marker={"size": 9}))
    if centre is not None:
        fig.add_hline(y=centre, line={"color": GREEN}, annotation_text=_("Centre line"))
    if threshold is not None:
        fig.add_hline(y=threshold, line={"color": RED, "dash": "dash"}, annotation_text=_("Acceptance threshold"))
    return _layout(fig, title, yaxis={"range": [0, 1.05], "tickformat": ".0%"}, height=340)


def monthly_lines(rows: pd.DataFrame, value: str, title: str) -> go.Figure:
    """``rows``: ``month, site`` and the rate column ``value``; one line per site."""
    fig = go.Figure()
    months = sorted(m for m in rows["month"].dropna().unique())
    for site, part in rows.groupby("site", sort=True):
        part = part.sort_values("month")
        fig.add_trace(go.Scatter(x=[month_label(m) for m in part["month"]], y=part[value], mode="lines+markers",
                                 name=str(site)))
    # Months as named categories in their order: plotly.js would print English month names.
    return _layout(fig, title, yaxis={"range": [0, 1.05], "tickformat": ".0%"}, height=340,
                   xaxis={"type": "category", "categoryorder": "array",
                          "categoryarray": [month_label(m) for m in months]})


def to_dict(fig: go.Figure) -> dict:
    """The figure as plain JSON data (for ``json_script`` and for frozen reports)."""
    return json.loads(fig.to_json())


def grade_bar(counts: pd.DataFrame, title: str) -> go.Figure:
    """``counts``: ``label, count, significant`` (one bar per grade, mildest first); the clinically
    significant grades in red, with a hatched pattern so that they read in greyscale too."""
    colours = [RED if s else BLUE for s in counts["significant"]]
    patterns = ["/" if s else "" for s in counts["significant"]]
    fig = go.Figure(go.Bar(x=counts["count"], y=counts["label"], orientation="h",
                           marker={"color": colours, "pattern": {"shape": patterns}},
                           text=counts["count"], textposition="auto"))
    return _layout(fig, title, yaxis={"autorange": "reversed"}, height=320,
                   margin={"l": 320, "r": 20, "t": 50, "b": 40})
