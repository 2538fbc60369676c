"""Shared by the committee pages: the refusal pages (409) with a French sentence naming the
action and the state, for the subjects that ``web.errors`` does not know (sessions, agenda
items, actions, vigilance reports, re-identification requests, cases)."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common.exceptions import DomainError, TransitionNotAllowed
from reidentification.enums import RequestState
from reviews.enums import CampaignCaseState, CampaignState
from sittings.enums import ActionState, AgendaItemState, SessionState
from vigilance.enums import VigilanceState

from ..errors import error_page
from ..labels import state_display

ACTIONS = {
    "start": gettext_lazy("Start"),
    "close": gettext_lazy("Close"),
    "sign": gettext_lazy("Sign the minutes"),
    "cancel": gettext_lazy("Cancel"),
    "complete": gettext_lazy("Mark as done"),
    "decide": gettext_lazy("Record the decision"),
    "defer": gettext_lazy("Defer"),
    "declare": gettext_lazy("Declare"),
    "close_without_declaration": gettext_lazy("Close"),
    "approve": gettext_lazy("Approve"),
    "refuse": gettext_lazy("Refuse"),
    "withdraw": gettext_lazy("Withdraw the request"),
    "reveal": gettext_lazy("Show the source reference"),
    "record attendance": gettext_lazy("Record attendance"),
    "record a decision": gettext_lazy("Record the decision"),
    "change the agenda": gettext_lazy("Change the agenda"),
    "defer an item": gettext_lazy("Defer"),
    "create_action": gettext_lazy("Create the action"),
    "edit": gettext_lazy("Edit"),
    "third_reading": gettext_lazy("Ask for a third reading"),
}

SUBJECTS = {
    "session": (gettext_lazy("session"), SessionState),
    "item": (gettext_lazy("agenda item"), AgendaItemState),
    "action": (gettext_lazy("corrective action"), ActionState),
    "vigilance": (gettext_lazy("vigilance report"), VigilanceState),
    "reidentification": (gettext_lazy("re-identification request"), RequestState),
    "case": (gettext_lazy("case"), CampaignCaseState),
}


def refusal_message(exc: TransitionNotAllowed, subject: str | None, action: str | None) -> str:
    extra = exc.extra or {}
    if exc.code == "quorum_not_met":
        return _("No quorum: no decision can be recorded until enough members are present.")
    if exc.code == "already_revealed":
        return _("The source reference has already been shown to you once.")
    if "missing" in extra:
        return _("This report cannot be declared yet: complete the description, the consequences for the "
                 "patient and the seriousness (neither “to be assessed” nor “not a serious incident”).")
    if subject == "reidentification" and "campaign_case" in extra:
        return _("A re-identification request is already open for this case.")
    if subject == "case" and "case" in extra:
        return _("No eligible clinician is left for a third reading of this case under the campaign's rules: "
                 "decide it in session.")
    if subject == "case" and extra.get("state") == CampaignCaseState.NEEDS_ADJUDICATION:
        return _("A third reading of this case is already pending.")
    if "campaign_state" in extra:
        return _("“%(action)s” is not possible: the campaign is in the state “%(state)s”.") % {
            "action": ACTIONS.get(action, action or ""), "state": state_display(CampaignState, extra["campaign_state"])}
    noun, states = SUBJECTS.get(subject or "", (None, None))
    if "session_state" in extra:
        noun, states = SUBJECTS["session"]
        state = extra["session_state"]
        action = extra.get("action") or action
    else:
        state = extra.get("state")
        action = extra.get("transition") or action
    if state and noun is not None:
        return _("“%(action)s” is not possible: this %(subject)s is in the state “%(state)s”.") % {
            "action": ACTIONS.get(action, action or ""), "subject": noun, "state": state_display(states, state)}
    return _("This action is not possible in the current state.")


def refusal_page(request, exc: TransitionNotAllowed, *, subject=None, action=None, message=None):
    return render(request, "web/error.html", {
        "status": exc.status_code, "title": _("Action not possible in the current state"),
        "message": message or refusal_message(exc, subject, action), "detail": exc.detail,
        "extra_errors": [], "back_url": "web:home",
    }, status=exc.status_code)


def committee_errors(subject: str | None = None, action: str | None = None):
    """Like ``web.errors.web_errors``, with the committee pages' own 409 sentences."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except TransitionNotAllowed as exc:
                return refusal_page(request, exc, subject=subject, action=action or kwargs.get("name"))
            except (DomainError, Http404, PermissionDenied) as exc:
                return error_page(request, exc, subject=subject, action=action or kwargs.get("name"))

        return wrapper

    return decorator
