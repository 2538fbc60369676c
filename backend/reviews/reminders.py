"""Deadlines: reminders before a review's due date, and expiry after it (services).

``reminders_enqueue`` records one ``ReminderSent`` row per (assignment, threshold) that is due
and queues its e-mail with ``transaction.on_commit``; the row's unique constraint makes the
periodic command idempotent (run it twice, every minute or after a restart: no duplicate).
When several thresholds are due at once (a campaign started late), only the closest one is
recorded. ``reminder_send`` (the background task's body) sends at most once: it locks the row
and skips it if already sent or if the review is no longer pending. The e-mail says nothing of
the case: campaign name, deadline and the queue's address.

``assignments_expire_overdue`` expires pending reviews past their due date and reassigns each
within the rules (``services.assignment_expire``), as the system.
"""

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from audit.services import audit_record

# ``tasks`` imports this module too: both import the module, not its names, so that either may load first.
from . import services, tasks
from .enums import BLIND_STATES, CampaignState, ReminderOutcome
from .models import Assignment, ReminderSent


def _pending():
    """Reviews still waiting for a blind verdict in a campaign under review."""
    return Assignment.objects.filter(
        state__in=BLIND_STATES, campaign_case__campaign__state=CampaignState.IN_REVIEW)


def reminders_enqueue(*, today: dt.date | None = None) -> list[int]:
    """Record and queue the reminders due ``today``; returns the new reminder ids."""
    today = today or timezone.localdate()
    created = []
    rows = (_pending().filter(due_date__gte=today)
            .values_list("pk", "due_date", "campaign_case__campaign__reminder_days").order_by("pk"))
    already = {}
    for aid, days in ReminderSent.objects.filter(assignment__in=_pending()).values_list(
            "assignment_id", "days_before"):
        already.setdefault(aid, set()).add(days)
    for aid, due, thresholds in rows.iterator(chunk_size=2000):
        left = (due - today).days
        applicable = [d for d in thresholds or [] if left <= d]
        if not applicable:
            continue
        closest = min(applicable)
        if any(d <= closest for d in already.get(aid, ())):
            continue
        try:
            with transaction.atomic():
                reminder = ReminderSent.objects.create(assignment_id=aid, days_before=closest)
                audit_record(actor=None, action="assignment.reminder_queued", target=reminder.assignment,
                             data={"days_before": closest})
                transaction.on_commit(lambda rid=reminder.pk: tasks.send_assignment_reminder.enqueue(rid))
        except IntegrityError:
            continue  # recorded meanwhile by a concurrent run
        created.append(reminder.pk)
    return created


def reminder_send(*, reminder_id: int) -> str:
    """Send one reminder, at most once. Returns the outcome."""
    with transaction.atomic():
        reminder = ReminderSent.objects.select_for_update(of=("self",)).select_related(
            "assignment__reviewer", "assignment__campaign_case__campaign").get(pk=reminder_id)
        if reminder.outcome != ReminderOutcome.PENDING:
            return reminder.outcome
        a = reminder.assignment
        campaign = a.campaign_case.campaign
        if a.state not in BLIND_STATES or campaign.state != CampaignState.IN_REVIEW or not a.reviewer.email:
            reminder.outcome = ReminderOutcome.SKIPPED
        else:
            waiting = Assignment.objects.filter(reviewer=a.reviewer, state__in=BLIND_STATES,
                                                campaign_case__campaign=campaign).count()
            send_mail(
                subject=f"[Collège de garantie humaine] {campaign.name} : relecture attendue avant le "
                        f"{a.due_date:%d/%m/%Y}",
                message=(f"Bonjour,\n\n{waiting} relecture(s) de la campagne « {campaign.name} » vous "
                         f"attendent, à rendre avant le {a.due_date:%d/%m/%Y}.\n\n"
                         f"{settings.SITE_URL}{reverse('web:queue')}\n"),
                from_email=None, recipient_list=[a.reviewer.email],
            )
            reminder.outcome = ReminderOutcome.SENT
            reminder.sent_at = timezone.now()
        reminder.save(update_fields=["outcome", "sent_at"])
        audit_record(actor=None, action=f"assignment.reminder_{reminder.outcome}", target=a,
                     data={"days_before": reminder.days_before})
    return reminder.outcome


def assignments_expire_overdue(*, today: dt.date | None = None) -> list[int]:
    """Expire every pending review past its due date and reassign it; returns their ids."""
    today = today or timezone.localdate()
    expired = []
    for aid in list(_pending().filter(due_date__lt=today).order_by("pk").values_list("pk", flat=True)):
        services.assignment_expire(actor=None, assignment=Assignment(pk=aid), by_system=True)
        expired.append(aid)
    return expired
