"""Domain errors as French pages, with the HTTP status the API would answer.

The services raise ``common.exceptions.DomainError`` subclasses with English technical details.
A person needs a sentence in their language that says what happened and what to do: this
module writes it from one table, ``ERROR_TEXTS``, keyed by the exception's ``code`` (refined for a
refused transition by its ``extra`` and the action the view attempted), and keeps the technical
detail in a collapsed block for support. Every web view answers its errors through it.
"""

from collections.abc import Callable
from functools import wraps
from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from accounts.enums import Role
from common.exceptions import ConcurrentUpdate, DomainError, Forbidden, TransitionNotAllowed, ValidationFailed
from common.security_log import log_denied
from reviews.enums import AssignmentKind, CampaignCaseState, CampaignState

from .labels import COMMITTEE_ACTIONS, SUBJECTS, state_display


class ErrorText(NamedTuple):
    title: str
    message: str


_NOT_POSSIBLE = _("Action not possible in the current state")

ERROR_TEXTS: dict[str, ErrorText] = {
    # The codes of ``common.exceptions`` (and of Django's 404 and 403).
    "not_found": ErrorText(_("Page not found"), _("This page does not exist, or you do not have access to it.")),
    "permission_denied": ErrorText(_("Action not allowed"), _("You are not allowed to do this.")),
    "concurrent_update": ErrorText(_("Changed meanwhile"),
                                   _("Someone else changed this item meanwhile. Reload the page and try again.")),
    "transition_not_allowed": ErrorText(_NOT_POSSIBLE, _("This action is not possible in the current state.")),
    "invalid": ErrorText(_("Invalid data"), _("The data sent is not valid; nothing was changed.")),
    "refused": ErrorText(_("Action refused"), _("The action was refused; nothing was changed.")),
    "not_confirmed": ErrorText(_("Not confirmed"), _(
        "This action cannot be undone: tick the box that confirms it, then try again. Nothing was changed.")),
    # Codes the services raise for one rule.
    "quorum_not_met": ErrorText(_NOT_POSSIBLE, _(
        "No quorum: no decision can be recorded until enough members are present.")),
    "already_revealed": ErrorText(_NOT_POSSIBLE, _("The source reference has already been shown to you once.")),
    "charts_unavailable": ErrorText(_("PDF not available"), _(
        "The charts of this PDF cannot be drawn: the server has no browser to draw them. Tell the administrator; "
        "the HTML download works meanwhile.")),
    "classification_clinicians_only": ErrorText(_NOT_POSSIBLE, _(
        "A patient representative is never asked to classify a clinical discrepancy: your review "
        "ends with your locked form.")),
    "concur_contradicts_reading": ErrorText(_("Invalid data"), _(
        "Your locked reading differs from the AI output: “Concur” is not possible. Choose the grade of "
        "the discrepancy; nothing was recorded.")),
    # A refused transition, told apart by what the exception's ``extra`` carries or by the view.
    "quorum_counts": ErrorText(_NOT_POSSIBLE, _(
        "No quorum: %(c)d of %(cn)d clinicians and %(p)d of %(pn)d patient representatives present. "
        "No decision can be recorded.")),
    "cases_pending_adjudication": ErrorText(_NOT_POSSIBLE, ngettext_lazy(
        "%(n)d case still needs adjudication: the analysis cannot start yet.",
        "%(n)d cases still need adjudication: the analysis cannot start yet.", "n")),
    "cases_pending_review": ErrorText(_NOT_POSSIBLE, ngettext_lazy(
        "%(n)d case still has reviews pending: the review cannot be closed yet.",
        "%(n)d cases still have reviews pending: the review cannot be closed yet.", "n")),
    "not_enough_reviewers": ErrorText(_NOT_POSSIBLE, _(
        "Not enough eligible reviewers (%(kind)s) for sampled case %(case)s once the "
        "conflict-of-interest rules are applied. Add members to the committee.")),
    "empty_population": ErrorText(_NOT_POSSIBLE, _(
        "The population is empty: no case of this AI system in the period and scope can be sampled.")),
    "declaration_incomplete": ErrorText(_NOT_POSSIBLE, _(
        "This report cannot be declared yet: complete the description, the consequences for the "
        "patient and the seriousness (neither “to be assessed” nor “not a serious incident”).")),
    "reidentification_open": ErrorText(_NOT_POSSIBLE, _(
        "A re-identification request is already open for this case.")),
    "no_third_reader": ErrorText(_NOT_POSSIBLE, _(
        "No eligible clinician is left for a third reading of this case under the campaign's rules: "
        "decide it in session.")),
    "third_reading_pending": ErrorText(_NOT_POSSIBLE, _("A third reading of this case is already pending.")),
    "campaign_state": ErrorText(_NOT_POSSIBLE, _(
        "“%(action)s” is not possible: the campaign is in the state “%(state)s”.")),
    "state": ErrorText(_NOT_POSSIBLE, _(
        "“%(action)s” is not possible: this %(subject)s is in the state “%(state)s”.")),
    "deviation_not_open": ErrorText(_NOT_POSSIBLE, _(
        "A protocol deviation can be recorded only between scheduling and publication: this campaign "
        "is in the state “%(state)s”.")),
    "term_ended": ErrorText(_NOT_POSSIBLE, _(
        "This term of office has already ended: it stays in the membership history.")),
    "conflict_withdrawn": ErrorText(_NOT_POSSIBLE, _("This conflict of interest has already been withdrawn.")),
    "session_sitting": ErrorText(_NOT_POSSIBLE, _(
        "The quorum rule cannot change while a session sits: close the session first.")),
}
"""The one table of what a person reads when the web interface refuses something, keyed by the
exception's ``code`` (or, for a refused transition, by the rule its ``extra`` names)."""

_CLASS_CODES = (
    (Http404, "not_found"),
    (PermissionDenied, "permission_denied"),
    (Forbidden, Forbidden.code),
    (ConcurrentUpdate, ConcurrentUpdate.code),
    (TransitionNotAllowed, TransitionNotAllowed.code),
    (ValidationFailed, ValidationFailed.code),
)
"""The generic sentence of each exception class; any other ``DomainError`` is "refused"."""
_GENERIC_CODES = frozenset(code for _cls, code in _CLASS_CODES)
_FAMILY_ONLY = frozenset({"campaign", "assignment"})
"""Subjects whose pages never name the campaign's state in a refusal (their transition names
already say it)."""


def error_text(code: str, **params) -> ErrorText:
    """The title and sentence for ``code``, formatted with ``params``, in the active language."""
    text = ERROR_TEXTS.get(code, ERROR_TEXTS["refused"])
    message = text.message % params if params else text.message
    return ErrorText(str(text.title), str(message))


def _transition_code(exc: TransitionNotAllowed, subject: str | None, action: str | None) -> tuple[str, dict]:
    """Which sentence of ``ERROR_TEXTS`` a refused transition deserves, and its parameters."""
    extra = exc.extra or {}
    code = error_code(exc)
    if code not in _GENERIC_CODES:
        return code, {}
    noun, states, actions = SUBJECTS.get(subject or "", (None, None, COMMITTEE_ACTIONS))
    if "cases_pending" in extra:
        action = extra.get("transition") or action
        code = "cases_pending_adjudication" if action == "start_analysis" else "cases_pending_review"
        return code, {"n": int(extra["cases_pending"])}
    if "case" in extra and "kind" in extra:
        try:
            kind = str(AssignmentKind(extra["kind"]).label)
        except ValueError:
            kind = extra["kind"]
        return "not_enough_reviewers", {"kind": kind.lower(), "case": extra["case"]}
    if (extra.get("transition") or action) == "draw_sample" and "state" not in extra:
        return "empty_population", {}
    if "missing" in extra:
        return "declaration_incomplete", {}
    if subject == "reidentification" and "campaign_case" in extra:
        return "reidentification_open", {}
    if subject == "case" and "case" in extra:
        return "no_third_reader", {}
    if subject == "case" and extra.get("state") == CampaignCaseState.NEEDS_ADJUDICATION:
        return "third_reading_pending", {}
    if "campaign_state" in extra and subject not in _FAMILY_ONLY:
        return "campaign_state", {"action": COMMITTEE_ACTIONS.get(action, action or ""),
                                  "state": state_display(CampaignState, extra["campaign_state"])}
    if "session_state" in extra:
        noun, states, actions = SUBJECTS["session"]
        state = extra["session_state"]
        action = extra.get("action") or action
    else:
        state = extra.get("state")
        action = extra.get("transition") or action
    if state and noun is not None:
        return "state", {"action": actions.get(action, action or ""), "subject": noun,
                         "state": state_display(states, state)}
    return TransitionNotAllowed.code, {}


def error_code(exc: Exception) -> str:
    """The key of ``ERROR_TEXTS`` for ``exc``: its own ``code`` when the table has a sentence for
    that rule, else its class's generic one (a ``Forbidden`` with a code of its own still reads as
    a refusal of permission)."""
    code = getattr(exc, "code", None)
    if isinstance(exc, DomainError) and code in ERROR_TEXTS and code not in _GENERIC_CODES:
        return code
    for cls, generic in _CLASS_CODES:
        if isinstance(exc, cls):
            return generic
    return "refused"


def error_sentence(exc: Exception, *, subject: str | None = None, action: str | None = None) -> str:
    """The sentence ``error_page`` would show for ``exc``, for a report that lists several
    refusals on one page (the board's reassignment of several reviews)."""
    code, params = error_code(exc), {}
    if isinstance(exc, TransitionNotAllowed):
        code, params = _transition_code(exc, subject, action)
    return error_text(code, **params).message


def error_page(request: HttpRequest, exc: Exception, *, subject: str | None = None,
               action: str | None = None, code: str | None = None, **params) -> HttpResponse:
    """Render ``web/error.html`` for a domain error, ``Http404`` or ``PermissionDenied``.

    The sentence comes from ``ERROR_TEXTS``: ``code`` (with ``params``) when the view knows which
    rule refused, else the exception's code, refined for a refused transition by its ``extra``,
    ``subject`` and ``action``."""
    detail = getattr(exc, "detail", "") or ""
    extra_errors: list[str] = []
    status = 404 if isinstance(exc, Http404) else 403 if isinstance(exc, PermissionDenied) else getattr(
        exc, "status_code", 400)
    if code is None:
        code = error_code(exc)
        if isinstance(exc, TransitionNotAllowed):
            code, params = _transition_code(exc, subject, action)
    if isinstance(exc, Http404):
        detail = ""  # a 404 says nothing about what exists
    if isinstance(exc, ValidationFailed):
        for field, errors in (exc.extra or {}).items():
            extra_errors.extend(f"{field} : {e}" for e in (errors if isinstance(errors, list) else [errors]))
    title, message = error_text(code, **params)
    if status in (403, 404):
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
