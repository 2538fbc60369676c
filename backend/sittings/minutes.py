"""The minutes (procès-verbal) of a session, rendered once when the chair signs them.

The rendered fragment is what is hashed and frozen on the session; the web page, the HTML download
and the PDF all show that frozen fragment, never a fresh rendering, so signed minutes cannot
change. Before signature, the same rendering is a preview."""

from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import translation

from .enums import AttendanceStatus
from .models import Action, AgendaItem, Session
from .quorum import session_quorum


def minutes_context(session: Session, *, signed_by=None, signed_at=None) -> dict:
    attendances = list(session.attendances.select_related("member__user").order_by("member__role", "member__user_id"))
    items = list(
        AgendaItem.objects.filter(session=session)
        .select_related("decision__recorded_by", "campaign_case__campaign", "action__owner", "vigilance_report")
        .prefetch_related(Prefetch("decision__actions", queryset=Action.objects.select_related("owner")))
        .order_by("position")
    )
    return {
        "session": session,
        "committee": session.committee,
        "present": [a for a in attendances if a.status == AttendanceStatus.PRESENT],
        "excused": [a for a in attendances if a.status == AttendanceStatus.EXCUSED],
        "absent": [a for a in attendances if a.status in (AttendanceStatus.ABSENT, AttendanceStatus.INVITED)],
        "quorum": session_quorum(session),
        "items": items,
        "signed_by": signed_by,
        "signed_at": signed_at,
    }


def render_minutes(session: Session, *, signed_by=None, signed_at=None) -> str:
    """The minutes fragment, in French (the committee's working language)."""
    with translation.override("fr"):
        return render_to_string("committees/minutes.html",
                                minutes_context(session, signed_by=signed_by, signed_at=signed_at)).strip()
