"""Background work of reviews (django-tasks, database backend: queued rows survive restarts).
Primitive ids in, one service call."""

from django_tasks import task

from .reminders import reminder_send


@task()
def send_assignment_reminder(reminder_id: int) -> str:
    return reminder_send(reminder_id=reminder_id)
