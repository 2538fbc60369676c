"""The task worker's heartbeat (``operations.models.WorkerHeartbeat``), beside django-tasks'
database worker.

A daemon thread of the worker process writes ``beat_at`` every ``CGH_WORKER_HEARTBEAT_SECONDS``
(default 15) on its own database connection, and deletes its row when the worker stops. A beat
that fails (database restarting) is logged and retried at the next interval; the worker itself
goes on. ``/healthz`` reads the rows (``operations.health``)."""

import datetime as dt
import logging
import os
import threading

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)

FORGET_DEAD_WORKERS_AFTER = dt.timedelta(days=1)


def heartbeat_interval() -> float:
    return float(getattr(settings, "CGH_WORKER_HEARTBEAT_SECONDS", 15))


def beat(*, worker_id: str, started_at: dt.datetime) -> None:
    """Write one heartbeat of this worker (one upsert)."""
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"pid": os.getpid(), "started_at": started_at, "beat_at": timezone.now()})


class Heartbeat:
    """``with Heartbeat(worker_id):`` beats while the block runs, on a daemon thread."""

    def __init__(self, worker_id: str, *, interval: float | None = None):
        self.worker_id = worker_id
        self.interval = heartbeat_interval() if interval is None else interval
        self.started_at = timezone.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cgh-heartbeat", daemon=True)

    def __enter__(self):
        # The first beat is written before any task is taken, so a started worker is seen at once.
        WorkerHeartbeat.objects.filter(beat_at__lt=timezone.now() - FORGET_DEAD_WORKERS_AFTER).delete()
        beat(worker_id=self.worker_id, started_at=self.started_at)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        try:
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        except DatabaseError:
            logger.warning("Could not remove the heartbeat of worker %s", self.worker_id)
        return False

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    beat(worker_id=self.worker_id, started_at=self.started_at)
                except DatabaseError:
                    logger.warning("Heartbeat of worker %s not written; retrying in %.0f s",
                                   self.worker_id, self.interval)
        finally:
            connection.close()  # this thread's own connection
