"""Printing HTML to PDF with WeasyPrint, for every download of the platform (minutes, vigilance
reports, published reports, evidence packs).

The documents are printed from self-contained HTML: nothing is ever fetched while printing (no
image, font or stylesheet from the network or the disk), so a document cannot leak a request to
the outside nor depend on what the server can reach.
"""

import weasyprint
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers


def refuse_fetch(url: str, *args, **kwargs):
    """WeasyPrint's URL fetcher: refuses every resource."""
    raise ValueError(f"no resource is fetched while printing ({url})")


def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """``html`` printed as PDF bytes, without fetching anything."""
    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=refuse_fetch).write_pdf()


def pdf_response(html: str, *, filename: str) -> HttpResponse:
    """A download of ``html`` printed as PDF under ``filename``, never stored by a cache
    (``Cache-Control: no-store``: the documents hold committee or case-level records)."""
    response = HttpResponse(render_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response
