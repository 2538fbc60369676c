"""Corrective and preventive actions (CAPA): created from a decision (or by the committee's
managers), owned by one person, followed up at every session until done or cancelled."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from committees.models import Committee
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from common.fsm import apply_transition, save_transitioned

from .. import permissions as perms
from ..enums import ActionKind, SessionState
from ..models import Action, Decision


def action_create(*, actor, committee: Committee, kind: str, title: str, owner, due_date: date,
                  description: str = "", decision: Decision | None = None, ai_system=None) -> Action:
    """A new action. From a decision, only until the session's minutes are signed: signed minutes
    list every action they decided and never change."""
    ensure_no_identifiers(fields={"title": title, "description": description})
    ensure(perms.can_manage_actions(actor, committee.pk), "Only the committee's officers or the quality team "
                                                           "can create actions.")
    errors = {}
    if kind not in ActionKind.values:
        errors["kind"] = [f"One of {ActionKind.values}"]
    if not title.strip():
        errors["title"] = ["required"]
    if due_date < timezone.localdate():
        errors["due_date"] = ["in the past"]
    if owner is None or not owner.is_active:
        errors["owner"] = ["an active user is required"]
    if ai_system is not None and not committee.ai_systems.filter(pk=ai_system.pk).exists():
        errors["ai_system"] = ["not overseen by this committee"]
    if errors:
        raise ValidationFailed("The action is incomplete: " + ", ".join(sorted(errors)) + ".", extra=errors)
    with transaction.atomic():
        if decision is not None:
            decision = Decision.objects.select_related("item__session", "item__campaign_case__campaign").get(
                pk=decision.pk)
            session = decision.item.session
            if session.committee_id != committee.pk:
                raise ValidationFailed("This decision belongs to another committee.",
                                       extra={"decision": ["other committee"]})
            if session.state == SessionState.SIGNED:
                raise TransitionNotAllowed("The minutes of this session are signed: an action can no longer be "
                                           "added to its decisions.", extra={"session_state": session.state})
            if ai_system is None and decision.item.campaign_case_id:
                ai_system = decision.item.campaign_case.campaign.ai_system
        action = Action.objects.create(
            committee=committee, decision=decision, ai_system=ai_system, kind=kind, title=title.strip(),
            description=description.strip(), owner=owner, due_date=due_date, created_by=actor)
        audit_record(actor=actor, action="action.create", target=action, data={
            "kind": kind, "owner": owner.pk, "due_date": due_date.isoformat(),
            "decision": decision.pk if decision else None})
    return action


def _transition_action(actor, action: Action, name: str, predicate, *args, fields=(), data=None) -> Action:
    with transaction.atomic():
        action = Action.objects.select_for_update(of=("self",)).get(pk=action.pk)
        ensure(predicate(actor, action))
        apply_transition(action, name, *args)
        save_transitioned(action, *fields, "updated_at")
        audit_record(actor=actor, action=f"action.{name}", target=action, data=data or {})
    return action


def action_start(*, actor, action: Action) -> Action:
    return _transition_action(actor, action, "start", perms.can_progress_action, fields=("started_at",))


def action_complete(*, actor, action: Action, outcome: str) -> Action:
    ensure_no_identifiers(fields={"outcome": outcome})
    if not outcome.strip():
        raise ValidationFailed("Say what was done.", extra={"outcome": ["required"]})
    return _transition_action(actor, action, "complete", perms.can_progress_action, outcome.strip(),
                              fields=("completed_at", "outcome"), data={"outcome": outcome.strip()})


def action_cancel(*, actor, action: Action, reason: str) -> Action:
    ensure_no_identifiers(fields={"reason": reason})
    if not reason.strip():
        raise ValidationFailed("Give a reason for cancelling.", extra={"reason": ["required"]})
    return _transition_action(actor, action, "cancel", perms.can_cancel_action, reason.strip(),
                              fields=("cancel_reason",), data={"reason": reason.strip()})
