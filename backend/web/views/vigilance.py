"""Vigilance reports: the list with the EU AI Act art. 73 clock (deadline, days left or late),
one report, its edition while a draft, declaration and closure; one report as PDF and the list
as CSV. The quality team and the committee's officers only; a report of a case the caller still
reads blind does not exist for them."""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from common import csv_export
from common.exceptions import Forbidden, TransitionNotAllowed, ValidationFailed
from common.fsm import available_transitions
from common.pdf import pdf_response
from sittings import permissions as sperms
from vigilance import permissions as vperms
from vigilance import services
from vigilance.enums import VigilanceState
from vigilance.services import ensure_draft

from .. import reads
from ..forms_committees import DeclareForm, NoteForm, VigilanceForm, apply_service_errors
from .committee_common import committee_errors


def _row(report, now) -> dict:
    return {"report": report, "clock": reads.vigilance_clock(report, now)}


@login_required
@require_safe
@committee_errors("vigilance")
def vigilance_list(request):
    if not sperms.can_view_committee_pages(request.user) or not reads.committees_for(request.user):
        raise Http404
    now = timezone.now()
    return render(request, "committees/vigilance_list.html", {
        "rows": [_row(r, now) for r in reads.vigilance_list_for(request.user)]})


def _detail(request, report, *, declare_form=None, note_form=None, status=200):
    names = available_transitions(report, request.user, vperms.VIGILANCE_TRANSITIONS)
    return render(request, "committees/vigilance_detail.html", {
        "report": report, "clock": reads.vigilance_clock(report),
        "is_draft": report.state == VigilanceState.DRAFT,
        "can_declare": report.state == VigilanceState.DRAFT and vperms.can_handle_report(request.user, report),
        "can_close": bool({"close", "close_without_declaration"} & set(names)),
        "declare_form": declare_form or DeclareForm(), "note_form": note_form or NoteForm(),
    }, status=status)


@login_required
@require_safe
@committee_errors("vigilance")
def vigilance_detail(request, pk: int):
    return _detail(request, reads.vigilance_for(request.user, pk))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@committee_errors("vigilance", "edit")
def vigilance_edit(request, pk: int):
    report = reads.vigilance_for(request.user, pk)
    if not vperms.can_handle_report(request.user, report):
        raise Forbidden("You cannot handle this report.")
    ensure_draft(report, "edit")
    if request.method != "POST":
        initial = {f: getattr(report, f) for f in VigilanceForm.FIELDS}
        initial["aware_at"] = timezone.localtime(report.aware_at)
        return render(request, "committees/vigilance_edit.html", {"report": report, "form": VigilanceForm(
            initial=initial)})
    form = VigilanceForm(request.POST)
    if form.is_valid():
        try:
            services.vigilance_update(actor=request.user, report=report, **form.changes(report))
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The report is saved."))
            return redirect("web:vigilance", pk=report.pk)
    return render(request, "committees/vigilance_edit.html", {"report": report, "form": form}, status=400)


@login_required
@require_POST
@committee_errors("vigilance", "declare")
def vigilance_declare(request, pk: int):
    report = reads.vigilance_for(request.user, pk)
    ensure_draft(report, "declare")
    form = DeclareForm(request.POST)
    if not form.is_valid():
        return _detail(request, report, declare_form=form, status=400)
    services.vigilance_declare(actor=request.user, report=report, reference=form.cleaned_data["reference"])
    messages.success(request, _("The declaration is recorded."))
    return redirect("web:vigilance", pk=report.pk)


@login_required
@require_POST
@committee_errors("vigilance", "close")
def vigilance_close(request, pk: int):
    report = reads.vigilance_for(request.user, pk)
    if report.state == VigilanceState.CLOSED:
        raise TransitionNotAllowed("Closed.", extra={"state": report.state, "transition": "close"})
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _detail(request, report, note_form=form, status=400)
    services.vigilance_close(actor=request.user, report=report, note=form.cleaned_data["note"])
    messages.success(request, _("The report is closed."))
    return redirect("web:vigilance", pk=report.pk)


@login_required
@require_safe
@committee_errors("vigilance")
def vigilance_pdf(request, pk: int):
    """One report printed by WeasyPrint, for the declaration file; nothing is fetched."""
    report = reads.vigilance_for(request.user, pk)
    body = render_to_string("committees/vigilance_document.html", {
        "report": report, "clock": reads.vigilance_clock(report), "printed_at": timezone.now()})
    return pdf_response(body, filename=f"vigilance-{report.pk}.pdf")


CSV_COLUMNS = ("id", "committee", "ai_system", "ai_version", "campaign_case", "event_date", "aware_at",
               "seriousness", "state", "deadline", "days_left", "declared_at", "declaration_reference",
               "declared_in_time", "closed_at")


def _iso(value) -> str:
    return value.isoformat() if value else ""


@login_required
@require_safe
@committee_errors("vigilance")
def vigilance_csv(request):
    """The list as CSV (UTF-8 with BOM, ``;``: opens in a French spreadsheet as it is)."""
    if not reads.committees_for(request.user):
        raise Http404
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv_export.writer(out, delimiter=";")
    writer.writerow(CSV_COLUMNS)
    now = timezone.now()
    for r in reads.vigilance_list_for(request.user):
        clock = r.clock(now)
        days = clock["days_left"]
        writer.writerow([
            r.pk, r.committee.name, r.ai_system.name, r.ai_version, r.campaign_case_id or "", _iso(r.event_date),
            _iso(r.aware_at), r.seriousness, r.state, _iso(clock["deadline"]),
            "" if days is None else f"{days:.1f}", _iso(r.declared_at), r.declaration_reference,
            "" if clock["declared_in_time"] is None else str(clock["declared_in_time"]).lower(), _iso(r.closed_at),
        ])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="vigilance.csv"'
    return response
