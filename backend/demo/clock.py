"""The demo's clock: each step of the demo's story runs at the moment it happened, weeks ago,
so that dates, due dates, art. 73 clocks and the audit trail (timestamps in chain order) agree
with one another."""

from contextlib import contextmanager
from datetime import datetime
from unittest import mock

from django.apps import apps
from django.utils import timezone


class DemoClock:
    """The demo's story happens over past weeks: inside :meth:`at`, ``django.utils.timezone.now``
    (and the ``default=timezone.now`` of model fields) answer the given moment plus the real time
    elapsed since, so that each step is dated the day it happened and the audit trail stays in
    time order. Steps must be entered in chronological order; nothing is patched outside them."""

    def __init__(self):
        self._real_now = self._current = timezone.now
        self._fields = [f for model in apps.get_models() for f in model._meta.concrete_fields
                        if getattr(f, "default", None) is self._real_now]

    @contextmanager
    def at(self, moment: datetime):
        offset = moment - self._real_now()

        def now():
            return self._real_now() + offset

        previous = self._current
        self._set_defaults(now)
        try:
            with mock.patch.object(timezone, "now", now):
                yield
        finally:
            self._set_defaults(previous)

    def _set_defaults(self, func) -> None:
        self._current = func
        for f in self._fields:
            f.default = func
            f.__dict__.pop("_get_default", None)  # Field caches its default callable
