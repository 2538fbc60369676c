"""The quality team's review of reviewer-visible text flagged as naming the AI system, its vendor
or its output: the list of cases held out of sampling, and per case the two ways out, clearing the
flag with a reason (``cases.services.case_blinding_clear``) or rewriting the flagged fields
(``cases.services.case_blinding_redact``).

Only the quality team and the administrators (``can_review_blinding_flags``) reach these pages;
anyone else gets a 403 page, before anything is read, even for a case that does not exist (the
404 is for the quality team), as on the import pages. A refused redaction is shown again with the
service's refusals on the field (they name the field and the kind of problem, never the text),
with status 400 and nothing changed; a success redirects to the list (POST, redirect, GET).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from cases.models import Case
from cases.permissions import can_review_blinding_flags
from cases.selectors import case_get_for_user
from cases.services import case_blinding_clear, case_blinding_redact
from common.exceptions import Forbidden, TransitionNotAllowed, ValidationFailed

from ..errors import web_errors
from ..reads.blinding import flagged_cases_page, flagged_field_names

TEXT_MAX = 20000


class BlindingClearForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for clearing the flag"), max_length=1000,
        help_text=gettext_lazy("Why this text does not unblind a reviewer (recorded in the audit trail)."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class BlindingRedactForm(forms.Form):
    """One textarea per flagged field, pre-filled with the current text."""

    def __init__(self, *args, fields: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        for f in fields:
            self.fields[f["name"]] = forms.CharField(
                label=f["label"], required=False, max_length=TEXT_MAX, initial=f["text"], strip=False,
                widget=forms.Textarea(attrs={"rows": 4}),
            )

    def service_texts(self) -> dict[str, str]:
        return dict(self.cleaned_data)


def _ensure_quality(user) -> None:
    if not can_review_blinding_flags(user):
        raise Forbidden("Flagged text is reviewed by the quality team.")


def _prefix(pk: int) -> str:
    return f"case-{pk}"


def _page_number(request) -> str:
    return request.GET.get("page") or "1"


def _render(request, *, bound: dict | None = None, status: int = 200) -> HttpResponse:
    """The list page; ``bound`` holds the submitted form of one case (``{"id", "kind", "form"}``)
    so that its errors are shown on its fields."""
    page, rows = flagged_cases_page(request.user, _page_number(request))
    for row in rows:
        row["clear_form"] = BlindingClearForm(prefix=_prefix(row["id"]) + "-clear")
        row["redact_form"] = BlindingRedactForm(prefix=_prefix(row["id"]) + "-redact", fields=row["fields"])
        if bound and bound["id"] == row["id"]:
            row[f"{bound['kind']}_form"] = bound["form"]
            row["has_errors"] = True
    return render(request, "web/blinding_flags.html", {
        "rows": rows, "page": page, "n_waiting": page.paginator.count, "refused_case": bound["id"] if bound else None,
    }, status=status)


def _case_for(user, pk: int) -> Case:
    """The case, for the quality team (403 for anyone else, then 404 when it does not exist)."""
    _ensure_quality(user)
    case = case_get_for_user(user, pk)
    if case is None:
        raise Http404
    if not case.blinding_flags:  # already cleared or redacted (by someone else meanwhile): 409
        raise TransitionNotAllowed("This case has no flagged text to review.", extra={"blinding_flags": []})
    return case


def _add_service_errors(form: forms.Form, exc: ValidationFailed) -> None:
    for name, errors in (exc.extra or {}).items():
        for error in errors if isinstance(errors, list) else [errors]:
            form.add_error(name if name in form.fields else None, _(str(error)))


def _back(request) -> HttpResponse:
    return redirect(f"{reverse('web:blinding_flags')}?page={_page_number(request)}")


@login_required
@require_safe
@web_errors()
def blinding_flag_list(request):
    _ensure_quality(request.user)
    return _render(request)


@login_required
@require_POST
@web_errors()
def blinding_clear(request, pk: int):
    case = _case_for(request.user, pk)
    form = BlindingClearForm(request.POST, prefix=_prefix(case.pk) + "-clear")
    if form.is_valid():
        try:
            case_blinding_clear(actor=request.user, case=case, reason=form.cleaned_data["reason"])
        except ValidationFailed as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Case %(id)s: the flag is cleared; the case can be sampled again.")
                             % {"id": case.pk})
            return _back(request)
    return _render(request, bound={"id": case.pk, "kind": "clear", "form": form}, status=400)


@login_required
@require_POST
@web_errors()
def blinding_redact(request, pk: int):
    case = _case_for(request.user, pk)
    fields = [{"name": name, "label": Case._meta.get_field(name).verbose_name, "text": getattr(case, name)}
              for name in flagged_field_names(case)]
    form = BlindingRedactForm(request.POST, prefix=_prefix(case.pk) + "-redact", fields=fields)
    if form.is_valid():
        try:
            case_blinding_redact(actor=request.user, case=case, texts=form.service_texts())
        except ValidationFailed as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Case %(id)s: the text is redacted; the case can be sampled again.")
                             % {"id": case.pk})
            return _back(request)
    return _render(request, bound={"id": case.pk, "kind": "redact", "form": form}, status=400)


__all__ = ["blinding_clear", "blinding_flag_list", "blinding_redact"]
