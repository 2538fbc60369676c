"""Periodic deadline job: queue the reminders due today and expire overdue reviews.

Run it from cron or a systemd timer (e.g. hourly); it is idempotent. The e-mails are sent by the
django-tasks worker (``manage.py db_worker``), so a restart loses nothing queued.
"""

import datetime as dt

from django.core.management.base import BaseCommand

from reviews.reminders import assignments_expire_overdue, reminders_enqueue


class Command(BaseCommand):
    help = "Queue deadline reminders for pending reviews and expire (and reassign) overdue ones."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                            help="Date to act as of (YYYY-MM-DD); default today.")

    def handle(self, *args, today=None, **options):
        if isinstance(today, str):  # call_command() passes options without parsing them
            today = dt.date.fromisoformat(today)
        queued = reminders_enqueue(today=today)
        expired = assignments_expire_overdue(today=today)
        self.stdout.write(f"{len(queued)} reminder(s) queued, {len(expired)} overdue review(s) expired.")
