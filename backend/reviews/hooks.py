"""The two points where review work starts work owned by the apps above ``reviews``.

``vigilance`` and ``sittings`` read campaign cases, so ``reviews`` may not import them; yet two
review events are theirs to follow up:

- a reviewer flags a possible adverse event while classifying: ``vigilance`` opens the case's
  draft report, inside the reviewer's transaction (the caller holds the campaign case's lock);
- a case becomes a subject for its committee (its readers disagree, its reference differs from
  the AI output, a possible adverse event): ``sittings`` puts it on the committee's next planned
  session, after the commit of the review write, in its own transaction.

Each app registers its one handler from its ``AppConfig.ready()``; the review services call
``adverse_event_flagged`` and ``case_to_committee`` at those points. Unlike a signal, each event
has exactly one handler, called in a known place, and an event nobody registered for is an
error, never a silent no-op.
"""

from collections.abc import Callable
from functools import partial

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

ADVERSE_EVENT_FLAGGED = "adverse_event_flagged"
CASE_TO_COMMITTEE = "case_to_committee"

_handlers: dict[str, Callable] = {}


def register(event: str, handler: Callable) -> None:
    """Make ``handler`` the one handler of ``event`` (at app loading; registering it again is a
    no-op, another handler for the same event an error)."""
    if event not in (ADVERSE_EVENT_FLAGGED, CASE_TO_COMMITTEE):
        raise ImproperlyConfigured(f"Unknown review event {event!r}.")
    current = _handlers.setdefault(event, handler)
    if current is not handler:
        raise ImproperlyConfigured(f"The review event {event!r} already has a handler: {current!r}.")


def _handler(event: str) -> Callable:
    try:
        return _handlers[event]
    except KeyError:
        raise ImproperlyConfigured(f"No handler registered for the review event {event!r}.") from None


def adverse_event_flagged(*, actor, campaign_case) -> None:
    """A reviewer flagged a possible adverse event on ``campaign_case``; runs now, in the
    caller's transaction, which holds the campaign case's lock."""
    _handler(ADVERSE_EVENT_FLAGGED)(actor=actor, campaign_case=campaign_case)


def case_to_committee(campaign_case) -> None:
    """``campaign_case`` is now a subject for its committee; its handler runs after commit."""
    transaction.on_commit(partial(_handler(CASE_TO_COMMITTEE), campaign_case.pk))
