"""Plotly figures drawn as static SVG for the PDF exports, which WeasyPrint prints without a
browser (and so without plotly.js).

Every figure of one document is drawn in one kaleido session: one headless Chromium, started from
``settings.CHART_BROWSER_PATH`` (about three seconds), then one page render per figure. Nothing is
fetched: kaleido's page loads plotly.js from the plotly package on disk and MathJax is turned off.
Each SVG goes into the document's HTML as a ``data:`` URL of an image (the one kind of URL
WeasyPrint reads while printing, :func:`common.pdf.refuse_fetch`): drawn by WeasyPrint's SVG
renderer, apart from the page's CSS, and the drawings' element ids never meet.

Figures are prepared for print first: French number separators (decimal comma, thin space for
thousands) and, on an axis of dates, month names in the active language, written by Django rather
than by plotly.js (whose locale files are not shipped with the plotly package).
"""

import asyncio
import base64
import copy
import datetime as dt
import os
import re
from concurrent.futures import ThreadPoolExecutor

import kaleido
from django.conf import settings
from django.utils.formats import date_format

from common.exceptions import DomainError

__all__ = ["ChartRenderingUnavailable", "charts_for_print", "render_svgs", "svg_data_url"]

WIDTH = 680
"""Drawing width in CSS pixels: the text width of an A4 page with WeasyPrint's default margins."""
DEFAULT_HEIGHT = 360
TIMEOUT_SECONDS = 60
"""Longest wait for one figure (kaleido's own timeout)."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class ChartRenderingUnavailable(DomainError):
    """The charts of a PDF cannot be drawn: no browser at the configured path, or it failed.
    A 503: the document is fine, the server lacks a tool (its administrator must act)."""

    status_code = 503
    code = "charts_unavailable"


def browser_path() -> str:
    """The configured browser, or :class:`ChartRenderingUnavailable` saying what is missing."""
    path = settings.CHART_BROWSER_PATH
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise ChartRenderingUnavailable(
            f"PDF charts need Chromium: no executable browser at {path!r} "
            "(install Chromium or set CGH_CHART_BROWSER_PATH).", extra={"browser": path})
    return path


def _as_date(value) -> dt.date | None:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value if len(value) == 10 else f"{value}-01")
    except ValueError:
        return None


def _localise_dates(figure: dict) -> None:
    """On every x axis whose values are all ISO dates (``YYYY-MM`` or ``YYYY-MM-DD``), ticks at
    those dates labelled with the month name in the active language (``janvier 2026``)."""
    values: dict[str, list] = {}
    for trace in figure.get("data", []):
        axis = "xaxis" + (trace.get("xaxis", "x")[1:] or "")
        values.setdefault(axis, []).extend(trace.get("x") or [])
    layout = figure.setdefault("layout", {})
    for axis, xs in values.items():
        dates = [_as_date(x) for x in xs]
        if not xs or any(d is None for d in dates):
            continue
        ticks = sorted(set(zip(xs, dates, strict=True)), key=lambda pair: pair[1])
        daily = any(len(x) == 10 and d.day != 1 for x, d in ticks)
        layout[axis] = layout.get(axis, {}) | {
            "tickmode": "array", "tickvals": [x for x, _d in ticks],
            "ticktext": [date_format(d, "j F Y" if daily else "F Y") for _x, d in ticks]}


def prepare(figure: dict) -> dict:
    """A copy of ``figure`` (plotly JSON) set for print: French separators, localised dates."""
    figure = copy.deepcopy(figure)
    layout = figure.setdefault("layout", {})
    layout["separators"] = ",\u202f"
    _localise_dates(figure)
    return figure


async def _draw(figures: list[dict], path: str) -> list[bytes]:
    out = []
    async with kaleido.Kaleido(path=path, mathjax=False, n=1, timeout=TIMEOUT_SECONDS) as k:
        for figure in figures:
            height = int(figure.get("layout", {}).get("height") or DEFAULT_HEIGHT)
            out.append(await k.calc_fig(figure, opts={"format": "svg", "width": WIDTH, "height": height}))
    return out


def render_svgs(figures: dict[str, dict]) -> dict[str, str]:
    """Each plotly figure (JSON, as :func:`reports.charts.to_dict` gives it) as SVG markup,
    under the same key; all in one browser session. :class:`ChartRenderingUnavailable` when the
    browser is missing or fails."""
    if not figures:
        return {}
    path = browser_path()
    keys = list(figures)
    prepared = [prepare(figures[k]) for k in keys]
    # kaleido is asynchronous: run it on a loop of its own, in a thread, whatever the caller runs.
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            drawn = pool.submit(asyncio.run, _draw(prepared, path)).result()
        except Exception as exc:  # the browser did not start or a figure failed: say so, print nothing
            raise ChartRenderingUnavailable(f"PDF charts could not be drawn with {path!r}: {exc}",
                                            extra={"browser": path}) from exc
    out = {}
    for key, svg in zip(keys, drawn, strict=True):
        text = svg.decode("utf-8")
        if not text.lstrip().startswith("<svg"):
            raise ChartRenderingUnavailable(f"PDF chart {key!r} is not an SVG drawing.", extra={"browser": path})
        out[key] = text
    return out


def svg_data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def charts_for_print(charts: dict[str, dict]) -> dict[str, dict]:
    """The page's ``charts`` as the PDF templates take them: ``{key: {"svg_src": data URL}}``,
    which ``reports/_figure.html`` prints as an image in place of the plotly.js drawing."""
    return {key: {"svg_src": svg_data_url(svg)} for key, svg in render_svgs(charts).items()}
