"""The members' part of the session page: their own vote on an item (or the chair's record of
a present member's vote on their behalf), their comments on an item or on the draft minutes, and
the secretary's roll call in one form.

Every change is one POST through one service of ``sittings.services``, which checks the role
(403) and the state (409) again under its row lock and writes the audit event. A form error
re-renders the session page (400) with the error on its field."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common.exceptions import Forbidden, ValidationFailed
from sittings import permissions as sperms
from sittings import selectors, services
from sittings.enums import SessionState
from sittings.services import ensure_session_in

from .. import reads
from ..forms_committees import CommentForm, VoteForm, apply_service_errors
from .committee_common import committee_errors
from .sessions import _session_context, _session_to_run


def _back_to_item(session, item_pk: int):
    return redirect(reverse("web:session", args=[session.pk]) + f"#item-{item_pk}")


def _page_with(request, session, key, form, tab="agenda"):
    return render(request, "committees/session_detail.html",
                  _session_context(request, session, forms_for={key: form}, tab=tab), status=400)


def _submit(request, session, form, write, done: str, back, key, tab="agenda"):
    """One member's form through its service: ``write(cleaned_data)`` when the form is valid, then
    the ``done`` message and the redirect to ``back``; otherwise (a form or service error) the
    session page again, 400, with the error on its field under ``key``."""
    if form.is_valid():
        try:
            write(form.cleaned_data)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, done)
            return back
    return _page_with(request, session, key, form, tab=tab)


@login_required
@require_POST
@committee_errors("item", "vote")
def item_vote(request, pk: int, item_pk: int):
    """A present member's own vote on an item under discussion."""
    session = reads.session_for(request.user, pk)
    item = reads.item_for(request.user, session, item_pk)
    if not sperms.can_vote(request.user, session):
        raise Forbidden("Only the committee's members vote.")
    ensure_session_in(session, "vote", SessionState.OPEN)
    form = VoteForm(request.POST, prefix=f"vote{item.pk}")
    return _submit(request, session, form, lambda data: services.vote_cast(actor=request.user, item=item, **data),
                   _("Your vote is recorded."), _back_to_item(session, item.pk), ("vote", item.pk))


@login_required
@require_POST
@committee_errors("item", "vote")
def item_proxy_vote(request, pk: int, item_pk: int):
    """The chair records a present member's vote on their behalf (audited as such)."""
    session = reads.session_for(request.user, pk)
    item = reads.item_for(request.user, session, item_pk)
    if not sperms.can_record_decision(request.user, session):
        raise Forbidden("Only the committee chair records a vote on another member's behalf.")
    ensure_session_in(session, "vote", SessionState.OPEN)
    form = VoteForm(request.POST, prefix=f"proxy{item.pk}", members=selectors.present_member_list(session))
    done = _("The vote of %(name)s is recorded.") % {"name": form.cleaned_data["member"].user.display_name} \
        if form.is_valid() else ""
    return _submit(request, session, form, lambda data: services.vote_cast(actor=request.user, item=item, **data),
                   done, _back_to_item(session, item.pk), ("proxy", item.pk))


@login_required
@require_POST
@committee_errors("session", "comment")
def item_comment(request, pk: int, item_pk: int):
    session = reads.session_for(request.user, pk)
    item = reads.item_for(request.user, session, item_pk)
    if not sperms.can_comment(request.user, session):
        raise Forbidden("Only the committee's members comment.")
    ensure_session_in(session, "comment", SessionState.PLANNED, SessionState.OPEN, SessionState.CLOSED)
    form = CommentForm(request.POST, prefix=f"comment{item.pk}")
    return _submit(request, session, form,
                   lambda data: services.comment_add(actor=request.user, session=session, item=item, text=data["text"]),
                   _("Your comment is added."), _back_to_item(session, item.pk), ("comment", item.pk))


@login_required
@require_POST
@committee_errors("session", "comment")
def minutes_comment(request, pk: int):
    session = reads.session_for(request.user, pk)
    if not sperms.can_comment(request.user, session):
        raise Forbidden("Only the committee's members comment.")
    ensure_session_in(session, "comment", SessionState.PLANNED, SessionState.OPEN, SessionState.CLOSED)
    form = CommentForm(request.POST, prefix="minutes")
    return _submit(request, session, form,
                   lambda data: services.comment_add(actor=request.user, session=session, text=data["text"]),
                   _("Your comment is added."),
                   redirect(reverse("web:session", args=[session.pk]) + "?tab=minutes#minutes-comments"),
                   "minutes_comment", tab="minutes")


@login_required
@require_POST
@committee_errors("session", "record attendance")
def session_roll_call(request, pk: int):
    """Every member's attendance in one form: ``status-<member id>`` for each row."""
    session = _session_to_run(request, pk, "record attendance", SessionState.OPEN)
    statuses = {}
    for key, value in request.POST.items():
        if key.startswith("status-"):
            try:
                statuses[int(key.removeprefix("status-"))] = value
            except ValueError:
                raise ValidationFailed(f"Unknown row “{key}”.", extra={key: ["unknown member"]}) from None
    if not statuses:
        raise ValidationFailed("No attendance given.", extra={"status": ["required"]})
    changed = services.attendance_record_all(actor=request.user, session=session, statuses=statuses)
    messages.success(request, _("Attendance recorded: %(n)d change(s).") % {"n": changed})
    return redirect(reverse("web:session", args=[session.pk]) + "?tab=attendance")
