"""/healthz: database reachability, the task worker's heartbeat and the queue's oldest waiting task;
200 when healthy, 503 naming what fails; two queries; no login, no HTTPS redirect, no host check."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from operations.models import WorkerHeartbeat
from operations.worker import Heartbeat
from tests.factories import UserFactory

BACKEND = Path(__file__).resolve().parents[2] / "backend"
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
HEALTHY = {"status": "ok", "checks": {"database": "ok", "worker": "ok", "queue": "ok"}, "failing": []}


@pytest.fixture
def worker_tasks(settings):
    settings.TASKS = DB_TASKS


def _beat(seconds_ago: float, worker_id: str = "w1") -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id=worker_id, pid=1, started_at=now - dt.timedelta(hours=1),
                                   beat_at=now - dt.timedelta(seconds=seconds_ago))


def _enqueue(seconds_ago: float) -> None:
    result = DBTaskResult.objects.create(args_kwargs={"args": [], "kwargs": {}}, task_path="reviews.tasks.x",
                                         backend_name="default", run_after=timezone.now() - dt.timedelta(days=1))
    DBTaskResult.objects.filter(pk=result.pk).update(enqueued_at=timezone.now() - dt.timedelta(seconds=seconds_ago))


def test_health_ok_in_two_queries(db, worker_tasks, django_assert_num_queries):
    _beat(5)
    _beat(500, worker_id="an-old-dead-worker")
    _enqueue(30)
    with django_assert_num_queries(2):
        response = Client().get("/healthz")

    assert (response.status_code, response.json()) == (200, HEALTHY)
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(("beats", "waiting", "checks"), [
    ([], None, {"worker": "missing", "queue": "ok"}),
    ([61], None, {"worker": "stale", "queue": "ok"}),
    ([5], 901, {"worker": "ok", "queue": "delayed"}),
    ([120], 3600, {"worker": "stale", "queue": "delayed"}),
])
def test_health_names_the_failing_component(db, worker_tasks, beats, waiting, checks):
    for i, seconds in enumerate(beats):
        _beat(seconds, worker_id=f"w{i}")
    if waiting is not None:
        _enqueue(waiting)

    response = Client().get("/healthz")

    assert (response.status_code, response.json()) == (503, {
        "status": "unavailable", "checks": {"database": "ok", **checks},
        "failing": [name for name, state in checks.items() if state != "ok"]})


def test_health_without_a_task_worker_checks_the_database_only(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = Client().get("/healthz")

    assert (response.status_code, response.json()) == (200, {
        "status": "ok", "checks": {"database": "ok", "worker": "not_used", "queue": "not_used"}, "failing": []})


def test_health_is_not_redirected_to_https_nor_to_the_login(db, worker_tasks, settings):
    """As production configures it: HTTPS redirect on, another host name, a signed-in user whose
    second factor is not verified yet: the probe still gets the real answer."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["college.chu-exemple.fr"]
    _beat(1)
    client = Client()
    client.force_login(UserFactory(role="admin"))

    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    refused = client.get("/reports/", HTTP_HOST="10.0.0.7:8000")

    assert (response.status_code, response.json()) == (200, HEALTHY)
    assert refused.status_code == 400  # any other page: the host check applies


def test_health_answers_get_only(db):
    response = Client().post("/healthz")

    assert (response.status_code, response["Allow"]) == (405, "GET, HEAD")


def test_health_heartbeat_is_written_while_the_worker_runs_and_removed_after(db):
    with Heartbeat("worker-test", interval=60):
        row = WorkerHeartbeat.objects.get()
        assert (row.worker_id, row.pid) == ("worker-test", os.getpid())
        assert timezone.now() - row.beat_at < dt.timedelta(seconds=5)
    assert WorkerHeartbeat.objects.count() == 0


PROBE = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(response.status_code, json.dumps(response.json()))
"""


def test_health_unreachable_database_is_503(tmp_path):
    """A server whose database cannot be opened (here, an SQLite file in a missing directory)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CGH_")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", CGH_DB_ENGINE="sqlite",
               CGH_SQLITE_PATH=str(tmp_path / "missing" / "db.sqlite3"))
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=BACKEND, env=env, capture_output=True, text=True,
                            timeout=60)

    status, body = result.stdout.strip().split(" ", 1)
    assert (status, json.loads(body)) == ("503", {
        "status": "unavailable", "checks": {"database": "unavailable", "worker": "unknown", "queue": "unknown"},
        "failing": ["database", "worker", "queue"]})
