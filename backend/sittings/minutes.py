"""The minutes (procès-verbal) of a session, rendered once when the chair signs them.

The rendered fragment is what is hashed and frozen on the session; the web page, the HTML download
and the PDF all show that frozen fragment, never a fresh rendering, so signed minutes cannot
change. Before signature, the same rendering is a preview."""

import re

from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import translation

from .enums import AttendanceStatus
from .models import Action, AgendaItem, Session, Vote
from .quorum import session_quorum


def minutes_context(session: Session, *, signed_by=None, signed_at=None) -> dict:
    attendances = list(session.attendances.select_related("member__user").order_by("member__role", "member__user_id"))
    items = list(
        AgendaItem.objects.filter(session=session)
        .select_related("decision__recorded_by", "campaign_case__campaign", "action__owner", "vigilance_report")
        .prefetch_related(Prefetch("decision__actions", queryset=Action.objects.select_related("owner")),
                          Prefetch("decision__votes", queryset=Vote.objects.select_related("member__user")
                                   .order_by("member__role", "member__user__last_name", "pk")))
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


_CASE_PASSAGE = re.compile(r'<section class="minutes-item" data-case="(\d+)">.*?</section>', re.DOTALL)


def minutes_for_reader(html: str, blind_case_ids: frozenset[int] | set[int], case_ids: set[int]) -> str | None:
    """The minutes as a reader sees them: each passage on a case they still read blind replaced by a
    neutral mention. ``None`` when a blind case's passage cannot be told apart (minutes signed
    before passages were marked): then the whole minutes are withheld."""
    blind = set(blind_case_ids) & set(case_ids)
    if not blind:
        return html
    marked = {int(m.group(1)) for m in _CASE_PASSAGE.finditer(html)}
    if not blind <= marked:
        return None
    with translation.override("fr"):
        mention = render_to_string("committees/_minutes_withheld.html").strip()

    def redact(match):
        return mention if int(match.group(1)) in blind else match.group(0)

    return _CASE_PASSAGE.sub(redact, html)
