"""Convocations: the e-mail inviting the members to a session, with its iCalendar attachment
(RFC 5545, built by the ``icalendar`` library) so that the invitation lands in their calendar.

One event per session, with a stable ``UID``: a calendar client updates the same entry when the
session moves (``METHOD:REQUEST`` with the next ``SEQUENCE``) and removes it when the session is
cancelled (``METHOD:CANCEL``). Times are written in Europe/Paris (the hospitals' time zone) with
the ``VTIMEZONE`` they need. The e-mail names the committee, the date and the place: never a
case."""

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from .models import Session

logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
SESSION_DURATION = dt.timedelta(hours=2)
"""A session is convened for two hours (the model keeps only its start)."""

METHOD_REQUEST = "REQUEST"
METHOD_CANCEL = "CANCEL"


def session_uid(session: Session) -> str:
    """The event's identifier, the same for every convocation of the session."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"cgh-session-{session.pk}@{domain}"


def session_calendar(session: Session, *, method: str, recipients: list[tuple[str, str]]) -> bytes:
    """The iCalendar object of ``session`` for ``method`` (``REQUEST`` or ``CANCEL``), addressed
    to ``recipients`` (``(display name, e-mail)`` pairs)."""
    cal = Calendar()
    cal.add("prodid", "-//College de garantie humaine//Seances//FR")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", session_uid(session))
    event.add("sequence", session.convocation_sequence)
    event.add("dtstamp", timezone.now().astimezone(dt.UTC))
    start = session.scheduled_at.astimezone(PARIS)
    event.add("dtstart", start)
    event.add("dtend", start + SESSION_DURATION)
    event.add("summary", f"{session.committee.name} — {session.title}")
    if session.place:
        event.add("location", session.place)
    if session.video_link:
        event.add("url", session.video_link)
    link = f"{settings.SITE_URL}{reverse('web:session', args=[session.pk])}"
    event.add("description", f"Séance du comité « {session.committee.name} ».\n{link}")
    event.add("status", "CANCELLED" if method == METHOD_CANCEL else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL}")
    organizer.params["cn"] = vText(session.committee.name)
    event.add("organizer", organizer)
    for name, email in recipients:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("TRUE" if method == METHOD_REQUEST else "FALSE")
        event.add("attendee", attendee, encode=0)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def _recipients(session: Session) -> list[tuple[str, str]]:
    users = {a.member.user for a in session.attendances.select_related("member__user")}
    return sorted(((u.display_name, u.email) for u in users if u.is_active and u.email), key=lambda r: r[1])


def send_convocation(session_pk: int, *, method: str = METHOD_REQUEST) -> int:
    """E-mail the invited members the convocation (or its cancellation) with the ``.ics``
    attachment. One message per member, so that no one sees the others' addresses. Returns the
    number sent; a failing mail server is logged and reported as 0, the session stays planned."""
    session = Session.objects.select_related("committee").get(pk=session_pk)
    recipients = _recipients(session)
    if not recipients:
        return 0
    when = timezone.localtime(session.scheduled_at, PARIS)
    where = session.place or session.video_link
    if method == METHOD_CANCEL:
        subject = f"[Collège de garantie humaine] Séance annulée : {session.committee.name}, {when:%d/%m/%Y %H:%M}"
        body = (f"Bonjour,\n\nLa séance « {session.title} » du comité « {session.committee.name} » prévue le "
                f"{when:%d/%m/%Y à %H:%M} est annulée.\n\nMotif : {session.cancel_reason}\n")
    else:
        changed = session.convocation_sequence > 0
        subject = (f"[Collège de garantie humaine] {'Séance modifiée' if changed else 'Convocation'} : "
                   f"{session.committee.name}, {when:%d/%m/%Y %H:%M}")
        body = (f"Bonjour,\n\nVous êtes convoqué(e) à la séance « {session.title} » du comité "
                f"« {session.committee.name} », le {when:%d/%m/%Y à %H:%M}, {where}.\n\n"
                f"Ordre du jour et documents : {settings.SITE_URL}{reverse('web:session', args=[session.pk])}\n")
    sent = 0
    for name, email in recipients:
        message = EmailMessage(subject=subject, body=body, to=[email])
        message.attach(f"seance-{session.pk}.ics", session_calendar(session, method=method,
                                                                    recipients=[(name, email)]),
                       f"text/calendar; method={method}; charset=utf-8")
        try:
            message.send()
        except OSError:
            logger.exception("convocation of session %s to a member could not be sent", session.pk)
            continue
        sent += 1
    return sent
