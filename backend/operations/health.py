"""What ``/healthz`` checks, in two queries whatever the size of the database.

- ``database``: the first query succeeds.
- ``worker``: some task worker (``manage.py run_worker``) wrote its heartbeat within
  ``CGH_HEALTH_WORKER_STALE_SECONDS`` (default 60; a worker beats every
  ``CGH_WORKER_HEARTBEAT_SECONDS``, default 15). The heartbeat is written by a thread of the worker
  process, so it keeps beating during a long import; a worker that is alive but stuck shows in the
  next check instead.
- ``queue``: no task ready to run has waited longer than ``CGH_HEALTH_MAX_QUEUE_WAIT_SECONDS``
  (default 900) since it was enqueued: a worker that beats but takes nothing, or too few workers.

With a task backend that is not the database one (the tests run tasks at once, in the request),
there is no worker to watch: ``worker`` and ``queue`` are ``not_used`` and cost no query.
The report names states only: no host, no count, no version, nothing about the data.
"""

import datetime as dt

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Max, Min
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from .models import WorkerHeartbeat

OK = "ok"
UNAVAILABLE = "unavailable"
DATABASE_TASKS_BACKEND = "django_tasks_db.DatabaseBackend"


def worker_stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "CGH_HEALTH_WORKER_STALE_SECONDS", 60)))


def queue_wait_limit() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "CGH_HEALTH_MAX_QUEUE_WAIT_SECONDS", 900)))


def uses_task_worker() -> bool:
    return getattr(settings, "TASKS", {}).get("default", {}).get("BACKEND") == DATABASE_TASKS_BACKEND


def health_report() -> dict:
    """``{"status": "ok" | "unavailable", "checks": {component: state}, "failing": [...]}``."""
    checks = {"database": OK, "worker": "not_used", "queue": "not_used"}
    now = timezone.now()
    try:
        if uses_task_worker():
            last_beat = WorkerHeartbeat.objects.aggregate(last=Max("beat_at"))["last"]
            if last_beat is None:
                checks["worker"] = "missing"
            elif now - last_beat > worker_stale_after():
                checks["worker"] = "stale"
            else:
                checks["worker"] = OK
            oldest = DBTaskResult.objects.ready().aggregate(oldest=Min("enqueued_at"))["oldest"]
            checks["queue"] = "delayed" if oldest is not None and now - oldest > queue_wait_limit() else OK
        else:
            WorkerHeartbeat.objects.exists()  # the database answers
    except DatabaseError:
        checks = {"database": UNAVAILABLE, "worker": "unknown", "queue": "unknown"}
    failing = [name for name, state in checks.items() if state not in (OK, "not_used")]
    return {"status": UNAVAILABLE if failing else OK, "checks": checks, "failing": failing}
