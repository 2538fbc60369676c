from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per running task worker (``manage.py run_worker``), rewritten every few seconds by
    a thread of that worker and deleted when it stops. ``/healthz`` reads the latest ``beat_at``:
    the database is the only thing the web servers and the workers share, so a worker on another
    machine proves it is alive there. Rows of killed workers stay until they are a day old."""

    worker_id = models.CharField(max_length=64, unique=True)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"worker {self.worker_id} (pid {self.pid})"
