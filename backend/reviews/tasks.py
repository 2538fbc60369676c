"""Background work of reviews (django-tasks, database backend: queued rows survive restarts).
Primitive ids in, one service call."""

from django_tasks import task

# ``reminders`` imports this module too: both import the module, not its names, so that either may
# load first.
from . import reminders


@task()
def send_assignment_reminder(reminder_id: int) -> str:
    return reminders.reminder_send(reminder_id=reminder_id)
