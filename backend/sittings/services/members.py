"""The members' own part in a sitting: their vote on an item (or the chair's record of it on
their behalf), their comments on the agenda and the draft minutes, and the attendance of all
members recorded in one go; and the convocations sent when a session is planned, moved or
cancelled.

Lock order as in ``sessions``: the session before its items; the audit chain head last."""

from datetime import datetime

from django.db import transaction

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from committees.models import Member
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from reviews.permissions import has_blind_review_of

from .. import permissions as perms
from ..convocations import METHOD_REQUEST, send_convocation
from ..enums import AgendaItemState, AttendanceStatus, CommentSubject, SessionState, VoteChoice
from ..models import AgendaItem, Attendance, Comment, Session, Vote
from .sessions import RECORDED_ATTENDANCE, _locked_session, ensure_session_in

COMMENT_MAX = 4000


def _present_member(session: Session, user) -> Member | None:
    """The seat by which ``user`` is recorded present at ``session`` (the first, if several)."""
    return (Member.objects.filter(committee_id=session.committee_id, user=user,
                                  attendances__session=session, attendances__status=AttendanceStatus.PRESENT)
            .order_by("pk").first())


def vote_cast(*, actor, item: AgendaItem, choice: str, dissent: str = "", member: Member | None = None) -> Vote:
    """A present member's vote on a pending item of a sitting session: for, against (with their
    dissenting opinion) or abstain. ``member`` is given when the chair records the vote of
    another present member on their behalf (audited as such). Until the decision is recorded a
    member may change their vote; the decision then counts and freezes them."""
    ensure_no_identifiers(fields={"dissent": dissent})
    if choice not in VoteChoice.values:
        raise ValidationFailed("Unknown vote.", extra={"choice": [f"One of {VoteChoice.values}"]})
    dissent = dissent.strip()
    if choice == VoteChoice.AGAINST and not dissent:
        raise ValidationFailed("Say why you vote against: your dissenting opinion goes into the minutes.",
                               extra={"dissent": ["required when voting against"]})
    with transaction.atomic():
        session = _locked_session(item.session_id)
        item = AgendaItem.objects.select_for_update(of=("self",)).select_related("campaign_case").get(pk=item.pk)
        on_behalf = member is not None and member.user_id != actor.pk
        if on_behalf:
            ensure(perms.can_record_decision(actor, session),
                   "Only the committee chair records a vote on another member's behalf.")
        else:
            ensure(perms.can_vote(actor, session), "Only the committee's members vote.")
        ensure(perms.can_view_item(actor, item), "You still read this case blind: you cannot vote on it yet.")
        ensure_session_in(session, "vote", SessionState.OPEN)
        if item.state != AgendaItemState.PENDING:
            raise TransitionNotAllowed("The item is no longer under discussion.",
                                       extra={"state": item.state, "transition": "vote"})
        voter_user = member.user if on_behalf else actor
        seat = _present_member(session, voter_user)
        if seat is None:
            raise TransitionNotAllowed("Only the members recorded present vote.", code="not_present",
                                       extra={"state": "absent", "transition": "vote"})
        if item.campaign_case_id and has_blind_review_of(voter_user, item.campaign_case):
            raise TransitionNotAllowed("This member still reads the case blind and cannot vote on it yet.",
                                       extra={"state": "blind", "transition": "vote"})
        vote, created = Vote.objects.get_or_create(
            item=item, member=seat,
            defaults={"choice": choice, "dissent": dissent, "recorded_by": actor, "on_behalf": on_behalf})
        if not created:
            vote.choice, vote.dissent, vote.recorded_by, vote.on_behalf = choice, dissent, actor, on_behalf
            vote.save(update_fields=["choice", "dissent", "recorded_by", "on_behalf", "updated_at"])
        audit_record(actor=actor, action="session.vote", target=session, data={
            "item": item.pk, "member": seat.pk, "choice": choice, "on_behalf": on_behalf, "changed": not created})
    return vote


def comment_add(*, actor, session: Session, text: str, item: AgendaItem | None = None) -> Comment:
    """A member's comment on an agenda item, or (``item`` None) on the draft minutes; refused
    (409) once the minutes are signed or the session cancelled."""
    ensure_no_identifiers(fields={"text": text})
    text = text.strip()
    if not text:
        raise ValidationFailed("Write the comment.", extra={"text": ["required"]})
    if len(text) > COMMENT_MAX:
        raise ValidationFailed(f"A comment holds at most {COMMENT_MAX} characters.",
                               extra={"text": [f"at most {COMMENT_MAX} characters"]})
    with transaction.atomic():
        session = _locked_session(session.pk)
        ensure(perms.can_comment(actor, session), "Only the committee's members comment.")
        ensure_session_in(session, "comment", SessionState.PLANNED, SessionState.OPEN, SessionState.CLOSED)
        if item is not None:
            item = AgendaItem.objects.select_related("campaign_case").get(pk=item.pk, session=session)
            ensure(perms.can_view_item(actor, item), "You still read this case blind.")
        comment = Comment.objects.create(
            session=session, item=item, author=actor, text=text,
            subject=CommentSubject.ITEM if item is not None else CommentSubject.MINUTES)
        audit_record(actor=actor, action="session.comment", target=session,
                     data={"comment": comment.pk, "item": item.pk if item else None})
    return comment


def attendance_record_all(*, actor, session: Session, statuses: dict[int, str]) -> int:
    """Record the presence of several members at once (``{member id: status}``), while the session
    sits: the secretary's roll call in one form. All or nothing: an unknown member or status
    refuses the whole roll (400, naming the row). Returns the number of rows changed."""
    for member_id, status in statuses.items():
        if status not in RECORDED_ATTENDANCE:
            raise ValidationFailed(f"Member {member_id}: unknown attendance “{status}”.",
                                   extra={f"member-{member_id}": [f"One of {list(RECORDED_ATTENDANCE)}"]})
    with transaction.atomic():
        session = _locked_session(session.pk)
        ensure(perms.can_run_session(actor, session))
        ensure_session_in(session, "record attendance", SessionState.OPEN)
        members = {m.pk: m for m in Member.objects.filter(pk__in=list(statuses), committee_id=session.committee_id)}
        unknown = sorted(set(statuses) - set(members))
        if unknown:
            raise ValidationFailed(f"Member {unknown[0]} does not sit on the session's committee.",
                                   extra={f"member-{unknown[0]}": ["not a member of this committee"]})
        existing = {a.member_id: a for a in session.attendances.select_for_update(of=("self",))}
        changed = {}
        for member_id, status in statuses.items():
            attendance = existing.get(member_id)
            if attendance is None:
                Attendance.objects.create(session=session, member=members[member_id], status=status)
            elif attendance.status != status:
                attendance.status = status
                attendance.save(update_fields=["status", "updated_at"])
            else:
                continue
            changed[str(member_id)] = status
        if changed:
            audit_record(actor=actor, action="session.attendance", target=session, data={"members": changed})
    return len(changed)


def _convene_after_commit(session_pk: int, method: str) -> None:
    transaction.on_commit(lambda: send_convocation(session_pk, method=method))


def session_reschedule(*, actor, session: Session, scheduled_at: datetime, place: str = "",
                       video_link: str = "") -> Session:
    """Move a planned session (date, place or video link): the members get the updated
    convocation (the same calendar event, next ``SEQUENCE``)."""
    ensure_no_identifiers(fields={"place": place, "video_link": video_link})
    if not place.strip() and not video_link.strip():
        raise ValidationFailed("Say where the session is held: a place or a video link.",
                               extra={"place": ["a place or a video link is required"]})
    with transaction.atomic():
        session = _locked_session(session.pk)
        ensure(perms.can_run_session(actor, session))
        ensure_session_in(session, "reschedule", SessionState.PLANNED)
        before = {"scheduled_at": session.scheduled_at.isoformat(), "place": session.place,
                  "video_link": session.video_link}
        session.scheduled_at, session.place, session.video_link = scheduled_at, place.strip(), video_link.strip()
        session.convocation_sequence += 1
        session.save(update_fields=["scheduled_at", "place", "video_link", "convocation_sequence", "updated_at"])
        audit_record(actor=actor, action="session.reschedule", target=session, data={
            "before": before, "after": {"scheduled_at": scheduled_at.isoformat(), "place": session.place,
                                        "video_link": session.video_link},
            "sequence": session.convocation_sequence})
        _convene_after_commit(session.pk, METHOD_REQUEST)
    return session


