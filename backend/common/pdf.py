"""Printing HTML to PDF with WeasyPrint, for every download of the platform (minutes, vigilance
reports, published reports, evidence packs).

The documents are printed from self-contained HTML: nothing is ever fetched while printing (no
image, font or stylesheet from the network or the disk; only ``data:`` URLs, which carry their
content inline), so a document cannot leak a request to the outside nor depend on what the
server can reach.
"""

import weasyprint
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers


def refuse_fetch(url: str, *args, **kwargs):
    """The URL fetcher of WeasyPrint releases that take a function: refuses every resource
    except a ``data:`` URL, whose content is in the document itself (the bitmap plotly embeds in
    the SVG drawing of a heatmap)."""
    if url.startswith("data:") and hasattr(weasyprint, "default_url_fetcher"):
        return weasyprint.default_url_fetcher(url)
    raise ValueError(f"no resource is fetched while printing ({url})")


def url_fetcher():
    """The fetcher given to WeasyPrint: ``data:`` URLs only. Releases with a ``URLFetcher`` class
    take an instance restricted to that protocol (anything else raises ``ValueError``, which
    WeasyPrint reports and skips); older ones the function :func:`refuse_fetch`."""
    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    return refuse_fetch if fetcher_class is None else fetcher_class(allowed_protocols={"data"})


def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """``html`` printed as PDF bytes, without fetching anything."""
    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=url_fetcher()).write_pdf()


def pdf_response(html: str, *, filename: str) -> HttpResponse:
    """A download of ``html`` printed as PDF under ``filename``, never stored by a cache
    (``Cache-Control: no-store``: the documents hold committee or case-level records)."""
    response = HttpResponse(render_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response
