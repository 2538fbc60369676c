"""Helpers around django-fsm-2 shared by every state machine in the project.

Transitions are only ever fired through ``apply_transition`` so that a forbidden transition is
always the same 409 with a message naming the object, its state and the attempted transition,
and a stale row (``ConcurrentTransition``) is the same 409, never a silent retry.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.db import models
from django_fsm import ConcurrentTransition, can_proceed
from django_fsm import TransitionNotAllowed as FSMTransitionNotAllowed

from .exceptions import ConcurrentUpdate, TransitionNotAllowed

Predicate = Callable[[Any, Any], bool]


def state_field_name(obj: models.Model) -> str:
    return "state"


def ensure_can_proceed(obj: models.Model, name: str, *, action: str | None = None) -> None:
    """409 unless the object's state allows transition ``name`` (views call it before validating a
    form, so that a wrong state is never answered with form errors). ``action``: the name the
    caller knows the step by (API action, page button) when it is not the transition's own, e.g.
    ``reassign``, which fires ``withdraw``; the message and ``extra`` name the action."""
    state = getattr(obj, state_field_name(obj))
    action = action or name
    if not can_proceed(getattr(obj, name)):
        raise TransitionNotAllowed(
            f"Cannot {action.replace('_', ' ')} this {obj._meta.verbose_name_raw}: it is {state}.",
            extra={"state": state, "transition": action},
        )


def apply_transition(obj: models.Model, name: str, *args: Any, action: str | None = None, **kwargs: Any) -> Any:
    """Fire transition ``name`` with ``args`` and ``kwargs`` (409 when the state forbids it);
    ``action`` as in :func:`ensure_can_proceed`."""
    ensure_can_proceed(obj, name, action=action)
    method = getattr(obj, name)
    state = getattr(obj, state_field_name(obj))
    try:
        return method(*args, **kwargs)
    except FSMTransitionNotAllowed as exc:
        raise TransitionNotAllowed(str(exc), extra={"state": state, "transition": action or name}) from exc


def save_transitioned(obj: models.Model, *fields: str) -> None:
    """Save the state (and ``fields``) of a transitioned row; a stale row becomes a 409."""
    try:
        obj.save(update_fields=[state_field_name(obj), *fields])
    except ConcurrentTransition as exc:
        raise ConcurrentUpdate(
            f"This {obj._meta.verbose_name_raw} was changed by someone else meanwhile; reload and try again."
        ) from exc


def available_transitions(obj: models.Model, user: Any, permissions: Mapping[str, Predicate],
                          fires: Mapping[str, str] | None = None) -> list[str]:
    """Actions the state allows *and* the user may fire, in the order of ``permissions``
    (written in the model's declaration order; django-fsm itself lists them alphabetically).
    An action is named as its transition unless ``fires`` maps it to the transition it fires."""
    getter = getattr(obj, f"get_available_{state_field_name(obj)}_transitions")
    names = {t.name for t in getter()}
    fires = fires or {}
    return [n for n in permissions if fires.get(n, n) in names and permissions[n](user, obj)]
