"""``manage.py run_worker``: django-tasks' database worker (``db_worker``, same options) with a
heartbeat in the database, which ``/healthz`` reads (``operations.worker``)."""

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from operations.worker import Heartbeat


class Command(DbWorkerCommand):
    help = "Run the background task worker (django-tasks database worker) with a heartbeat for /healthz."

    def handle(self, *args, **options):
        if options.get("reload"):
            # The autoreloader runs the worker in a child process: the heartbeat must beat from there.
            options["reload"] = False
        with Heartbeat(options["worker_id"]):
            return super().handle(*args, **options)
