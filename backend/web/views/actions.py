"""Corrective actions (CAPA): the committee's list, the owner's "my actions", one action's page
with start, complete (outcome) and cancel (reason), each one POST through its service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from common.exceptions import Forbidden
from common.fsm import available_transitions, ensure_can_proceed
from sittings import permissions as sperms
from sittings import selectors, services
from sittings.models import Action

from .. import reads
from ..forms_committees import OutcomeForm, ReasonForm
from .committee_common import ACTIONS, committee_errors

ACTION_SERVICES = {"start": services.action_start, "complete": services.action_complete,
                   "cancel": services.action_cancel}


@login_required
@require_safe
@committee_errors("action")
def action_list(request):
    """The actions of the committees the caller works for (quality team, officers): two queries."""
    if not sperms.can_view_committee_pages(request.user):
        raise Http404
    committees = list(reads.committees_for(request.user))
    if not committees:
        raise Http404
    return render(request, "committees/action_list.html", {
        "actions": list(selectors.committee_action_list_for_user(request.user)), "mine": False})


@login_required
@require_safe
def my_actions(request):
    """The caller's own actions, whatever their role: one query."""
    return render(request, "committees/action_list.html", {
        "actions": list(selectors.owned_action_list_for_user(request.user)), "mine": True})


def _page(request, action: Action, *, outcome_form=None, cancel_form=None, status=200):
    return render(request, "committees/action_detail.html", {
        "action": action,
        "transitions": available_transitions(action, request.user, sperms.ACTION_TRANSITIONS),
        "outcome_form": outcome_form or OutcomeForm(), "cancel_form": cancel_form or ReasonForm(),
        "session": action.decision.item.session if action.decision_id else None,
    }, status=status)


@login_required
@require_safe
@committee_errors("action")
def action_detail(request, pk: int):
    return _page(request, reads.action_for(request.user, pk))


@login_required
@require_POST
@committee_errors("action")
def action_transition(request, pk: int, name: str):
    service = ACTION_SERVICES.get(name)
    if service is None:
        raise Http404
    action = reads.action_for(request.user, pk)
    if not sperms.ACTION_TRANSITIONS[name](request.user, action):
        raise Forbidden("You cannot do this to this action.")
    ensure_can_proceed(action, name)
    kwargs = {}
    if name == "complete":
        form = OutcomeForm(request.POST)
        if not form.is_valid():
            return _page(request, action, outcome_form=form, status=400)
        kwargs["outcome"] = form.cleaned_data["outcome"]
    elif name == "cancel":
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return _page(request, action, cancel_form=form, status=400)
        kwargs["reason"] = form.cleaned_data["reason"]
    service(actor=request.user, action=action, **kwargs)
    messages.success(request, _("Done: “%(action)s”.") % {"action": ACTIONS[name]})
    return redirect("web:action", pk=action.pk)
