"""Domain errors as French pages, with the HTTP status the API would answer.

The services raise ``common.exceptions.DomainError`` subclasses with English technical details.
A person needs a sentence in their language that says what happened and what to do: this
module writes it from the exception's class, its ``extra`` and the action the view attempted,
and keeps the technical detail in a collapsed block for support.
"""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.enums import Role
from common.exceptions import (
    ConcurrentUpdate,
    DomainError,
    Forbidden,
    NotVisible,
    TransitionNotAllowed,
    ValidationFailed,
)
from reviews.enums import AssignmentKind

from .labels import SUBJECTS, state_display


def _transition_message(exc: TransitionNotAllowed, subject: str | None, action: str | None) -> str:
    extra = exc.extra or {}
    action = extra.get("transition") or action
    noun, states, actions = SUBJECTS.get(subject or "", (None, None, {}))
    if "cases_pending" in extra:
        n = int(extra["cases_pending"])
        if action == "start_analysis":
            return ngettext(
                "%(n)d case still needs adjudication: the analysis cannot start yet.",
                "%(n)d cases still need adjudication: the analysis cannot start yet.", n) % {"n": n}
        return ngettext(
            "%(n)d case still has reviews pending: the review cannot be closed yet.",
            "%(n)d cases still have reviews pending: the review cannot be closed yet.", n) % {"n": n}
    if "case" in extra and "kind" in extra:
        try:
            kind = str(AssignmentKind(extra["kind"]).label)
        except ValueError:
            kind = extra["kind"]
        return _(
            "Not enough eligible reviewers (%(kind)s) for sampled case %(case)s once the "
            "conflict-of-interest rules are applied. Add members to the committee."
        ) % {"kind": kind.lower(), "case": extra["case"]}
    if action == "draw_sample" and "state" not in extra:
        return _("The population is empty: no case of this AI system in the period and scope can be sampled.")
    if "state" in extra and noun is not None:
        return _("“%(action)s” is not possible: this %(subject)s is in the state “%(state)s”.") % {
            "action": actions.get(action, action or ""),
            "subject": noun,
            "state": state_display(states, extra["state"]),
        }
    return _("This action is not possible in the current state.")


def error_page(request: HttpRequest, exc: Exception, *, subject: str | None = None,
               action: str | None = None) -> HttpResponse:
    """Render ``web/error.html`` for a domain error, ``Http404`` or ``PermissionDenied``."""
    detail = getattr(exc, "detail", "") or ""
    extra_errors: list[str] = []
    if isinstance(exc, NotVisible | Http404):
        status, title = 404, _("Page not found")
        message = _("This page does not exist, or you do not have access to it.")
        detail = ""  # a 404 says nothing about what exists
    elif isinstance(exc, Forbidden | PermissionDenied):
        status, title = 403, _("Action not allowed")
        message = _("You are not allowed to do this.")
    elif isinstance(exc, ConcurrentUpdate):
        status, title = 409, _("Changed meanwhile")
        message = _("Someone else changed this item meanwhile. Reload the page and try again.")
    elif isinstance(exc, TransitionNotAllowed):
        status, title = 409, _("Action not possible in the current state")
        message = _transition_message(exc, subject, action)
    elif isinstance(exc, ValidationFailed):
        status, title = 400, _("Invalid data")
        message = _("The data sent is not valid; nothing was changed.")
        for field, errors in (exc.extra or {}).items():
            extra_errors.extend(f"{field} : {e}" for e in (errors if isinstance(errors, list) else [errors]))
    else:
        status = getattr(exc, "status_code", 400)
        title, message = _("Action refused"), _("The action was refused; nothing was changed.")
    if status in (403, 404):
        from common.security_log import log_denied

        log_denied(request, status=status, reason=getattr(exc, "code", "") or type(exc).__name__)
    return render(request, "web/error.html", {
        "status": status, "title": title, "message": message, "detail": str(detail),
        "extra_errors": extra_errors, "back_url": _back_url(request),
    }, status=status)


def _back_url(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.role in (Role.CLINICIAN, Role.PATIENT_REP):
        return "web:queue"
    return "web:home"


def web_errors(subject: str | None = None, action: str | None = None) -> Callable:
    """Decorator: turn the domain errors of one web view into French error pages.

    ``subject`` (``"campaign"``, ``"assignment"``) and ``action`` name what was attempted, so
    that a 409 can say which action was refused and in which state; a view whose action comes
    from the URL passes it as the ``name`` keyword argument.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except (DomainError, Http404, PermissionDenied) as exc:
                return error_page(request, exc, subject=subject, action=action or kwargs.get("name"))

        return wrapper

    return decorator
