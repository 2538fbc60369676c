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


def ensure_can_proceed(obj: models.Model, name: str) -> None:
    """409 unless the object's state allows transition ``name`` (views call it before validating a
    form, so that a wrong state is never answered with form errors)."""
    state = getattr(obj, state_field_name(obj))
    if not can_proceed(getattr(obj, name)):
        raise TransitionNotAllowed(
            f"Cannot {name.replace('_', ' ')} this {obj._meta.verbose_name_raw}: it is {state}.",
            extra={"state": state, "transition": name},
        )


def apply_transition(obj: models.Model, name: str, *args: Any, **kwargs: Any) -> Any:
    ensure_can_proceed(obj, name)
    method = getattr(obj, name)
    state = getattr(obj, state_field_name(obj))
    try:
        return method(*args, **kwargs)
    except FSMTransitionNotAllowed as exc:
        raise TransitionNotAllowed(str(exc), extra={"state": state, "transition": name}) from exc


def save_transitioned(obj: models.Model, *fields: str) -> None:
    """Save the state (and ``fields``) of a transitioned row; a stale row becomes a 409."""
    try:
        obj.save(update_fields=[state_field_name(obj), *fields])
    except ConcurrentTransition as exc:
        raise ConcurrentUpdate(
            f"This {obj._meta.verbose_name_raw} was changed by someone else meanwhile; reload and try again."
        ) from exc


def available_transitions(obj: models.Model, user: Any, permissions: Mapping[str, Predicate]) -> list[str]:
    """Transitions the state allows *and* the user may fire, in the order of ``permissions``
    (written in the model's declaration order; django-fsm itself lists them alphabetically)."""
    getter = getattr(obj, f"get_available_{state_field_name(obj)}_transitions")
    names = {t.name for t in getter()}
    return [n for n in permissions if n in names and permissions[n](user, obj)]
