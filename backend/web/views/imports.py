"""The quality team's import pages: recent batches and the upload form, one batch's progress and
report, and its error report as CSV.

Only the quality team (``can_import_cases``) reaches them; anyone else gets a 403 page, even for a
batch that does not exist (the 404 is for the quality team). An upload is stored and queued by
``cases.services.import_enqueue``, and the browser is redirected to the batch page (POST, redirect,
GET), which follows the background task: the status block is refreshed by htmx every 2 s while
the batch is queued or running, and carries a plain reload link without JavaScript.

Like ``web.reads``, the templates receive dictionaries, not model instances.
"""

import datetime as dt
import math

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from cases.api.views import errors_csv
from cases.enums import ImportFormat, ImportStatus
from cases.importing.batches import progress_figures
from cases.importing.rules import import_profile_check
from cases.models import ImportBatch, ImportProfile
from cases.permissions import can_import_cases
from cases.selectors import (
    ai_system_list_for_user,
    flagged_case_count_for_user,
    import_batch_get_for_user,
    import_batch_list_for_user,
    import_profile_list_for_user,
)
from cases.services import import_enqueue
from common.exceptions import Forbidden, ValidationFailed

from ..errors import web_errors
from ..labels import state_display

RECENT = 50
"""Batches listed on the import page, newest first."""

REPORT_ROWS = 200
"""Rejected rows (and warnings) shown on a batch page; the CSV report has all of them."""

STALE_AFTER = dt.timedelta(minutes=15)
"""A running batch without any progress for this long is shown as interrupted: its worker was
most likely killed (the import transaction rolled back, nothing was written)."""

POLLED = (ImportStatus.QUEUED, ImportStatus.RUNNING)
WITH_REPORT = (ImportStatus.COMPLETED, ImportStatus.VALIDATED, ImportStatus.REJECTED)

WARNING_KINDS = {
    "blinding": gettext_lazy("Text that could unblind a reviewer"),
    "redacted": gettext_lazy("Identifier redacted"),
}


class ProfileChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ImportProfile) -> str:
        return f"{obj.name} ({obj.ai_system.name})"


class ImportUploadForm(forms.Form):
    """The upload: its fields are the keyword arguments of ``import_enqueue``."""

    ai_system = forms.ModelChoiceField(
        label=gettext_lazy("AI system"), queryset=None,
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (separator ; or ,), JSON, JSON Lines or FHIR R4 Bundle, without any "
                               "direct identifier column."),
    )
    profile = ProfileChoiceField(
        label=gettext_lazy("Saved import profile"), required=False,
        queryset=None,
        empty_label=gettext_lazy("None (canonical column names)"),
    )
    format = forms.ChoiceField(
        label=gettext_lazy("Format"), required=False,
        choices=[("", gettext_lazy("Automatic (from the profile or the file extension)")),
                 *ImportFormat.choices],
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("Dry run: check the file and produce the report, write no case"), required=False,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ai_system"].queryset = ai_system_list_for_user(user, active_only=True)
        self.fields["profile"].queryset = import_profile_list_for_user(user)

    def clean(self):
        data = super().clean()
        profile, ai_system = data.get("profile"), data.get("ai_system")
        if ai_system is not None:
            try:
                import_profile_check(profile=profile, ai_system=ai_system)
            except ValidationFailed as exc:
                self.add_error("profile", _(exc.detail))
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"ai_system": d["ai_system"], "upload": d["file"], "profile": d["profile"],
                "fmt": d["format"] or None, "dry_run": d["dry_run"]}


def _ensure_quality(user) -> None:
    if not can_import_cases(user):
        raise Forbidden("Imports are for the quality team.")


def _batch_for(user, pk: int) -> ImportBatch:
    """The batch, for the quality team (403 for anyone else, then 404 when it does not exist)."""
    _ensure_quality(user)
    batch = import_batch_get_for_user(user, pk)
    if batch is None:
        raise Http404
    return batch


def _status_label(status: str) -> str:
    return state_display(ImportStatus, status)


def _summary(b: ImportBatch) -> dict:
    return {
        "id": b.pk, "filename": b.filename, "status": b.status, "status_label": _status_label(b.status),
        "ai_system": b.ai_system.name, "created_by": b.created_by.display_name, "created_at": b.created_at,
        "format": b.get_format_display(), "is_dry_run": b.is_dry_run, "hash": b.file_sha256,
        "hash_short": b.file_sha256[:12], "has_report": b.status in WITH_REPORT,
        "counts": {"total": b.rows_total, "created": b.rows_created, "updated": b.rows_updated,
                   "unchanged": b.rows_unchanged, "rejected": b.rows_rejected, "redacted": b.rows_redacted},
    }


def batch_rows(user) -> list[dict]:
    """The recent batches, in one query; the error and warning lists (large) are not read."""
    batches = import_batch_list_for_user(user)[:RECENT]
    return [_summary(b) for b in batches]


def _duration(seconds: float | None) -> dict | None:
    if seconds is None:
        return None
    seconds = max(math.ceil(seconds), 0)
    return {"minutes": seconds // 60, "seconds": seconds % 60}


def _progress(b: ImportBatch) -> dict:
    """Rows done and expected, rows/s and the estimated time left, from the batch row (written by
    the task worker, wherever it runs); ``is_stale`` when a running batch has shown no sign of
    life for ``STALE_AFTER``."""
    figures = progress_figures(b)
    return figures | {
        "eta": _duration(figures["eta"]),
        "is_stale": b.status == ImportStatus.RUNNING and timezone.now() - b.updated_at > STALE_AFTER,
    }


def _rows(items: list[dict]) -> list[dict]:
    return [{"line": i.get("line"), "field": i.get("field", ""), "reason": i.get("reason", ""),
             "kind": str(WARNING_KINDS.get(i.get("kind", ""), i.get("kind", "")))}
            for i in items[:REPORT_ROWS]]


def batch_page(b: ImportBatch) -> dict:
    ctx = {"batch": _summary(b) | {"profile": b.profile.name if b.profile else "",
                                   "failure": b.failure if b.status == ImportStatus.FAILED else "",
                                   "is_interrupted": b.status == ImportStatus.INTERRUPTED},
           "is_polled": b.status in POLLED, "progress": None, "report": None}
    if b.status in POLLED:
        ctx["progress"] = _progress(b)
        ctx["is_polled"] = not ctx["progress"]["is_stale"]
    elif b.status in WITH_REPORT:
        ctx["report"] = {
            "errors": _rows(b.errors), "n_errors": len(b.errors), "warnings": _rows(b.warnings),
            "n_warnings": len(b.warnings), "limit": REPORT_ROWS,
        }
    return ctx


def _list_page(request, form: ImportUploadForm, status: int = 200) -> HttpResponse:
    return render(request, "web/import_list.html", {
        "batches": batch_rows(request.user), "form": form, "n_flagged": flagged_case_count_for_user(request.user),
    }, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@web_errors()
def import_list(request):
    """GET: recent batches and the upload form. POST: store and queue the upload, then redirect
    to its batch page; an invalid form is shown again with its errors (400)."""
    _ensure_quality(request.user)
    if request.method != "POST":
        return _list_page(request, ImportUploadForm(user=request.user))
    form = ImportUploadForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    batch = import_enqueue(actor=request.user, **form.service_kwargs())
    messages.success(request, _("The file is queued for import."))
    return redirect("web:import", pk=batch.pk)


@login_required
@require_safe
@web_errors()
def import_detail(request, pk: int):
    return render(request, "web/import_detail.html", batch_page(_batch_for(request.user, pk)))


@login_required
@require_safe
@web_errors()
def import_status(request, pk: int):
    """The status block alone, polled by htmx on the batch page until the batch has ended."""
    return render(request, "web/_import_status.html", batch_page(_batch_for(request.user, pk)))


@login_required
@require_safe
@web_errors()
def import_errors_csv(request, pk: int):
    """The same CSV as the API's ``errors-csv`` action: every rejected row, then the warnings."""
    batch = _batch_for(request.user, pk)
    response = HttpResponse(errors_csv(batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.csv"'
    return response
