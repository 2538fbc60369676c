"""The review events that the apps above ``reviews`` follow up: each has exactly one handler,
registered at app loading, and an event without one is an error, never a silent no-op."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from reviews import hooks
from sittings.services import enqueue_case
from vigilance.services import vigilance_open_for_case

pytestmark = pytest.mark.unit


def test_hooks_registering_the_same_handler_again_changes_nothing():
    hooks.register(hooks.ADVERSE_EVENT_FLAGGED, vigilance_open_for_case)
    hooks.register(hooks.CASE_TO_COMMITTEE, enqueue_case)


@pytest.mark.parametrize("event", [hooks.ADVERSE_EVENT_FLAGGED, hooks.CASE_TO_COMMITTEE])
def test_hooks_refuse_a_second_handler_for_an_event(event):
    with pytest.raises(ImproperlyConfigured, match="already has a handler"):
        hooks.register(event, lambda *args, **kwargs: None)


def test_hooks_refuse_an_unknown_event():
    with pytest.raises(ImproperlyConfigured, match="Unknown review event"):
        hooks.register("case_deleted", lambda *args, **kwargs: None)


def test_hooks_an_event_without_handler_is_an_error(monkeypatch):
    monkeypatch.setattr(hooks, "_handlers", {})
    with pytest.raises(ImproperlyConfigured, match="No handler registered"):
        hooks.adverse_event_flagged(actor=None, campaign_case=None)
