"""Public transparency (``transparency``): the public pages, without login, and the work on the
public texts by the quality team and the patient representatives.

Public pages (``/public/...``): the register of the AI tools in use, and for each published public
report its page, its easy-to-read (FALC) version and its A4 poster with a QR code (HTML to print,
and PDF). They read published material only, through ``transparency.selectors``, and hold no
identifier, no name of a person and nothing about the reader.

Work pages (``/transparency/...``): the quality team edits the AI systems' public profile
(``cases.services.ai_system_update_public_profile``), drafts, revises, submits and publishes the
texts; a patient representative in office on a committee responsible for the AI system approves or
rejects them. Whoever has no part in this gets 403 on the list and 404 on a text, before anything
is read; a text the caller may not see is a 404 too.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from cases.models import AISystem
from cases.services import CE_CLASSES, ai_system_update_public_profile
from common.exceptions import Forbidden, ValidationFailed
from common.pdf import pdf_response
from reports import pages
from reports.enums import Audience, ReportState
from reports.models import Report
from transparency import falc, selectors, services
from transparency import permissions as perms
from transparency.enums import TextKind, TextState
from transparency.qr import qr_svg

from ..errors import web_errors

# --- Public pages -------------------------------------------------------------------------------


def public_base_url(request) -> str:
    """The public address printed in QR codes: ``PUBLIC_BASE_URL``, else the request's."""
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


def _icons() -> dict:
    return {key: {"label": str(label), "path": path} for key, (label, path) in falc.ICONS.items()}


def _with_icons(lines: list[dict]) -> list[dict]:
    icons = _icons()
    return [{"text": line["text"], "icon": icons.get(line.get("icon") or "")} for line in lines]


@require_safe
def register(request):
    """The register of the AI tools in use. Two queries."""
    return render(request, "transparency/register.html", {"systems": selectors.register_entries(),
                                                          "icons": _icons()})


def _public_report(pk: int) -> Report:
    report = selectors.public_report_get(pk)
    if report is None:
        raise Http404
    return report


def _report_context(report: Report) -> dict:
    entry = selectors.published_register_text(report.campaign.ai_system_id)
    return {
        "report": {"id": report.pk, "title": report.title, "version": report.version,
                   "published_at": report.published_at, "reason": report.reason,
                   "ai_system": report.campaign.ai_system.name},
        "public": pages.public_context(report.figures.get("public")),
        "contact": entry.content.get("public_contact") if entry else "",
        "icons": _icons(),
    }


@require_safe
def report_public(request, pk: int):
    """A published public report's page; a superseded version's address leads to the version that
    replaced it (a printed QR code keeps working)."""
    report = _public_report(pk)
    if report.pk != pk:
        return redirect("transparency:report", pk=report.pk)
    falc_text = selectors.published_falc_text(report)
    return render(request, "transparency/report.html", _report_context(report) | {"has_falc": falc_text is not None})


@require_safe
def report_falc(request, pk: int):
    """The easy-to-read version, once approved by a patient representative and published; 404
    before."""
    report = _public_report(pk)
    if report.pk != pk:
        return redirect("transparency:falc", pk=report.pk)
    text = selectors.published_falc_text(report)
    if text is None:
        raise Http404
    return render(request, "transparency/falc.html", _report_context(report) | {
        "lines": _with_icons(text.content["lines"]), "text_lang": settings.LANGUAGE_CODE})


def _poster_context(request, report: Report) -> dict:
    url = public_base_url(request) + reverse("transparency:report", kwargs={"pk": report.pk})
    return _report_context(report) | {"public_url": url, "qr": qr_svg(
        url, label=_("QR code to the results page: %(url)s") % {"url": url})}


@require_safe
def report_poster(request, pk: int):
    """The A4 poster to print (print CSS), with the QR code of the report's public page."""
    report = _public_report(pk)
    if report.pk != pk:
        return redirect("transparency:poster", pk=report.pk)
    return render(request, "transparency/poster.html", _poster_context(request, report))


@require_safe
def report_poster_pdf(request, pk: int):
    report = _public_report(pk)
    body = render_to_string("transparency/poster_print.html", _poster_context(request, report), request=request)
    return pdf_response(body, filename=f"affiche-rapport-{report.pk}.pdf")


# --- Work on the public texts -------------------------------------------------------------------

class PublicProfileForm(forms.Form):
    public_purpose = forms.CharField(label=gettext_lazy("Purpose, in plain words"), required=False,
                                     max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    vendor = forms.CharField(label=gettext_lazy("Supplier"), max_length=120)
    ce_class = forms.ChoiceField(label=gettext_lazy("CE marking class"), required=False,
                                 choices=[(c, c or gettext_lazy("No CE marking")) for c in CE_CLASSES])
    ce_number = forms.CharField(label=gettext_lazy("CE certificate number"), required=False, max_length=60)
    human_oversight = forms.CharField(label=gettext_lazy("How the human guarantee is organised"), required=False,
                                      max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    how_to_object = forms.CharField(label=gettext_lazy("How to object"), required=False, max_length=4000,
                                    widget=forms.Textarea(attrs={"rows": 3}))
    public_contact = forms.CharField(label=gettext_lazy("Whom to contact"), required=False, max_length=300,
                                     help_text=gettext_lazy("A service, not a person: e.g. the patient relations "
                                                            "office, its e-mail address or phone number."))


class FalcLinesForm(forms.Form):
    lines = forms.CharField(
        label=gettext_lazy("Easy-to-read text"), max_length=10000, strip=False,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text=gettext_lazy("One short sentence per line (at most %(n)s words). A pictogram may open a line: "
                               "[ai], [doctor], [people], [calendar], [check], [shield], [hidden], [question].")
        % {"n": falc.MAX_WORDS})


class RejectForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason for the rejection"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))


def _add_errors(form: forms.Form, exc: ValidationFailed) -> None:
    for name, errors in (exc.extra or {}).items():
        for error in errors if isinstance(errors, list) else [errors]:
            form.add_error(name if name in form.fields else None, str(error))
    if not exc.extra:
        form.add_error(None, exc.detail)


def _ensure_worker(user) -> None:
    if not (perms.can_manage_public_texts(user) or perms.can_approve_public_texts(user)):
        raise Forbidden("Public texts are written by the quality team and approved by patient representatives.")


def _ensure_manager(user) -> None:
    if not perms.can_manage_public_texts(user):
        raise Forbidden("Only the quality team writes public texts.")


def _text_row(text) -> dict:
    return {"id": text.pk, "kind": text.kind, "kind_label": TextKind(text.kind).label, "version": text.version,
            "state": text.state, "state_label": TextState(text.state).label, "ai_system": text.ai_system.name,
            "report_id": text.report_id, "report_title": text.report.title if text.report_id else "",
            "updated_at": text.updated_at}


@login_required
@require_safe
@web_errors("public_text")
def text_list(request):
    """The texts the caller works on; for the quality team, also the AI systems (public profile,
    register entry) and the published public reports (easy-to-read version). Fixed queries."""
    _ensure_worker(request.user)
    texts = [_text_row(t) for t in selectors.public_text_list_for_user(request.user)]
    context = {"texts": texts, "can_manage": perms.can_manage_public_texts(request.user)}
    if context["can_manage"]:
        context["ai_systems"] = list(AISystem.objects.order_by("name").values("pk", "name", "is_active"))
        context["reports"] = list(Report.objects.filter(audience=Audience.PUBLIC, state=ReportState.PUBLISHED)
                                  .order_by("-published_at").values("pk", "title", "version", "published_at"))
    return render(request, "transparency/text_list.html", context)


@login_required
@web_errors("public_text")
def ai_system_profile(request, pk: int):
    """Edit an AI system's public profile (the register entry is drafted from it)."""
    _ensure_manager(request.user)
    ai_system = AISystem.objects.filter(pk=pk).first()
    if ai_system is None:
        raise Http404
    status = 200
    if request.method == "POST":
        form = PublicProfileForm(request.POST)
        if form.is_valid():
            try:
                ai_system_update_public_profile(actor=request.user, ai_system=ai_system, **form.cleaned_data)
            except ValidationFailed as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("The public profile is saved. Draft a register entry to publish it."))
                return redirect("transparency:ai_system", pk=pk)
        status = 400
    elif request.method in ("GET", "HEAD"):
        form = PublicProfileForm(initial={name: getattr(ai_system, name) for name in PublicProfileForm.base_fields})
    else:
        return HttpResponse(status=405)
    return render(request, "transparency/ai_system_profile.html", {
        "ai_system": {"id": ai_system.pk, "name": ai_system.name}, "form": form}, status=status)


@login_required
@require_POST
@web_errors("public_text", "draft")
def register_draft(request, pk: int):
    _ensure_manager(request.user)
    ai_system = AISystem.objects.filter(pk=pk).first()
    if ai_system is None:
        raise Http404
    text = services.register_text_draft(actor=request.user, ai_system=ai_system)
    return redirect("transparency:text", pk=text.pk)


@login_required
@require_POST
@web_errors("public_text", "draft")
def falc_draft(request, pk: int):
    _ensure_manager(request.user)
    report = Report.objects.filter(pk=pk).first()
    if report is None:
        raise Http404
    text = services.falc_text_draft(actor=request.user, report=report)
    return redirect("transparency:text", pk=text.pk)


def _text_for(user, pk: int):
    text = selectors.public_text_get_for_user(user, pk)
    if text is None:
        raise Http404
    return text


def _render_text(request, text, *, lines_form=None, reject_form=None, status: int = 200):
    manage = perms.can_manage_public_texts(request.user)
    decide = perms.can_decide_text(request.user, text)
    editable = manage and text.state in (TextState.DRAFT, TextState.REJECTED)
    if lines_form is None and editable and text.kind == TextKind.FALC:
        lines_form = FalcLinesForm(initial={"lines": falc.lines_as_text(text.content.get("lines") or [])})
    return render(request, "transparency/text_detail.html", {
        "text": _text_row(text) | {"rejection_reason": text.rejection_reason, "content": text.content,
                                   "lines": _with_icons(text.content.get("lines") or []),
                                   "decided_at": text.decided_at, "published_at": text.published_at},
        "icons": _icons(), "editable": editable, "lines_form": lines_form if editable else None,
        "can_submit": manage and text.state == TextState.DRAFT,
        "can_publish": manage and text.state == TextState.APPROVED,
        "can_decide": decide and text.state == TextState.SUBMITTED,
        "reject_form": reject_form or RejectForm(),
    }, status=status)


@login_required
@require_safe
@web_errors("public_text")
def text_detail(request, pk: int):
    return _render_text(request, _text_for(request.user, pk))


@login_required
@require_POST
@web_errors("public_text", "edit")
def text_edit(request, pk: int):
    text = _text_for(request.user, pk)
    lines = None
    if text.kind == TextKind.FALC:
        form = FalcLinesForm(request.POST)
        if not form.is_valid():
            return _render_text(request, text, lines_form=form, status=400)
        lines = form.cleaned_data["lines"]
        try:
            services.public_text_revise(actor=request.user, text=text, lines=lines)
        except ValidationFailed as exc:
            _add_errors(form, exc)
            return _render_text(request, text, lines_form=form, status=400)
    else:
        services.public_text_revise(actor=request.user, text=text)
    messages.success(request, _("The text is saved."))
    return redirect("transparency:text", pk=text.pk)


TRANSITIONS = {
    "submit": (services.public_text_submit, gettext_lazy("The text is submitted to the patient representatives.")),
    "approve": (services.public_text_approve, gettext_lazy("The text is approved.")),
    "publish": (services.public_text_publish, gettext_lazy("The text is published.")),
}


@login_required
@require_POST
@web_errors("public_text")
def text_transition(request, pk: int, name: str):
    text = _text_for(request.user, pk)
    if name == "reject":
        form = RejectForm(request.POST)
        if not form.is_valid():
            return _render_text(request, text, reject_form=form, status=400)
        try:
            services.public_text_reject(actor=request.user, text=text, reason=form.cleaned_data["reason"])
        except ValidationFailed as exc:
            _add_errors(form, exc)
            return _render_text(request, text, reject_form=form, status=400)
        messages.success(request, _("The text is rejected; the quality team will revise it."))
        return redirect("transparency:text", pk=text.pk)
    if name not in TRANSITIONS:
        raise Http404
    service, done = TRANSITIONS[name]
    service(actor=request.user, text=text)
    messages.success(request, str(done))
    return redirect("transparency:text", pk=text.pk)
