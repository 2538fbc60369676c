"""The public legal pages, linked from the footer of every page: the legal notice ("Mentions
légales") and the accessibility statement (RGAA 4.1 structure). The hospital that runs the site
is their editor: its values come from the settings (``LEGAL_NOTICE``, read from the environment)."""

import datetime as dt

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_safe


def _legal() -> dict:
    values = dict(settings.LEGAL_NOTICE)
    try:
        values["accessibility_date"] = dt.date.fromisoformat(values.get("accessibility_date") or "")
    except ValueError:
        values["accessibility_date"] = None
    return values


@require_safe
def legal_notice(request):
    return render(request, "web/legal_notice.html", {"legal": _legal(), "site_url": settings.SITE_URL})


@require_safe
def accessibility(request):
    return render(request, "web/accessibility.html", {"legal": _legal(), "site_url": settings.SITE_URL})
