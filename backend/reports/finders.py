"""plotly.js served by the application from the ``plotly`` Python package, never from a CDN.

Hospital networks are closed and the CSP is ``script-src 'self'``: the file that the ``plotly``
wheel ships (``plotly/package_data/plotly.min.js``) is exposed as the static file
``reports/vendor/plotly.min.js``, found in development and copied by ``collectstatic``. The
version served is therefore always the one of the installed Python package.
"""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
STATIC_PATH = "reports/vendor/plotly.min.js"


class _PrefixedStorage(FileSystemStorage):
    prefix = "reports/vendor"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.storage = _PrefixedStorage(location=str(PLOTLY_JS.parent))

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = find_all or kwargs.get("all", False)
        if path == STATIC_PATH:
            return [str(PLOTLY_JS)] if find_all else str(PLOTLY_JS)
        return []

    def list(self, ignore_patterns):
        yield PLOTLY_JS.name, self.storage


def plotly_js_source() -> str:
    """The library's text, for the self-contained HTML export (inlined, works offline)."""
    return PLOTLY_JS.read_text(encoding="utf-8")
