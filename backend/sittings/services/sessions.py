"""Committee sessions: planning, agenda, attendance, decisions under quorum, minutes; and the
committee's quorum rule, which cannot change while one of its sessions sits.

Lock order, shared with the review services: a campaign case before a session, a session before
its items; the audit chain head is always taken last (by ``audit_record``).
"""

import hashlib
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from committees.models import Committee, Member
from committees.permissions import can_manage_committee
from committees.services import validate_quorum
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from common.fsm import apply_transition, save_transitioned
from reviews.enums import AdjudicationMethod, CampaignCaseState
from reviews.models import CampaignCase
from reviews.services import adjudication_record

from .. import agenda
from .. import permissions as perms
from ..convocations import METHOD_CANCEL, METHOD_REQUEST, send_convocation
from ..enums import AgendaItemKind, AgendaItemState, AttendanceStatus, SessionState, VoteChoice
from ..minutes import render_minutes
from ..models import AgendaItem, Attendance, Decision, Session, Vote
from ..quorum import session_quorum

RECORDED_ATTENDANCE = (AttendanceStatus.PRESENT, AttendanceStatus.EXCUSED, AttendanceStatus.ABSENT)


def _locked_session(pk: int) -> Session:
    return Session.objects.select_for_update(of=("self",)).select_related("committee").get(pk=pk)


def ensure_session_in(session: Session, action: str, *states: str) -> None:
    """409 unless the session is in one of ``states`` (the web views check it before a form)."""
    if session.state not in states:
        raise TransitionNotAllowed(
            f"Cannot {action}: the session is {session.state}.",
            extra={"session_state": session.state, "action": action},
        )


# --- Quorum rule and votes -----------------------------------------------------------------------

def committee_set_quorum(*, actor, committee: Committee, clinicians: int, patient_reps: int) -> Committee:
    """Set the quorum rule: how many clinicians (clinician or chair seats) and patient
    representatives must be present before a decision can be recorded.

    Refused (409) while one of the committee's sessions sits: the decisions of a sitting are all
    taken under the rule it opened with. Locks the committee row, then checks for an open session
    under that lock (``session_start`` of a concurrent request is not blocked by it: the rule is
    read at each decision, so the worst case is a session opening just after the change, under
    the new rule). Audits the old and the new counts."""
    ensure(can_manage_committee(actor, committee.pk), "Only the quality team or the committee's officers can set "
                                                       "the quorum.")
    validate_quorum(clinicians, patient_reps)
    with transaction.atomic():
        committee = Committee.objects.select_for_update().get(pk=committee.pk)
        if Session.objects.filter(committee=committee, state=SessionState.OPEN).exists():
            raise TransitionNotAllowed("The quorum rule cannot change while a session sits.",
                                       extra={"session_state": SessionState.OPEN, "action": "set_quorum"})
        before = {"clinicians": committee.quorum_clinicians, "patient_reps": committee.quorum_patient_reps}
        committee.quorum_clinicians = clinicians
        committee.quorum_patient_reps = patient_reps
        committee.save(update_fields=["quorum_clinicians", "quorum_patient_reps", "updated_at"])
        audit_record(actor=actor, action="committee.set_quorum", target=committee,
                     data={"before": before, "after": {"clinicians": clinicians, "patient_reps": patient_reps}})
    return committee


def session_voters(session: Session) -> int:
    """Members present (distinct people): the most votes an item can count."""
    return session.attendances.filter(status=AttendanceStatus.PRESENT).values("member__user_id").distinct().count()


# --- Planning ------------------------------------------------------------------------------------

def _append_items(session: Session) -> int:
    """Add what awaits the committee to ``session`` (caller holds the session lock). Titles of
    subject items hold only names and numbers: pages and minutes prefix them with the item's
    translated kind."""
    position = (session.items.aggregate(m=Max("position"))["m"] or 0)
    new = []
    for cc, reasons in agenda.pending_cases(session.committee, session):
        position += 1
        new.append(AgendaItem(session=session, position=position, kind=AgendaItemKind.CASE, reasons=reasons,
                              campaign_case=cc, title=f"#{cc.case_id} — {cc.campaign.name}"))
    for action in agenda.pending_actions(session.committee, session):
        position += 1
        new.append(AgendaItem(session=session, position=position, kind=AgendaItemKind.ACTION, action=action,
                              title=action.title, reasons=["overdue"] if action.is_overdue else []))
    for report in agenda.pending_vigilance(session.committee, session):
        position += 1
        new.append(AgendaItem(session=session, position=position, kind=AgendaItemKind.VIGILANCE,
                              vigilance_report=report, title=f"#{report.pk} — {report.ai_system.name}"))
    AgendaItem.objects.bulk_create(new)
    return len(new)


def session_create(*, actor, committee: Committee, title: str, scheduled_at: datetime, place: str = "",
                   video_link: str = "") -> Session:
    """Plan a session: every member whose term covers its date is invited, and the agenda is built
    from what awaits the committee (discordant and flagged cases, open actions, vigilance)."""
    ensure_no_identifiers(fields={"title": title, "place": place, "video_link": video_link})
    ensure(perms.can_plan_sessions(actor, committee.pk), "Only the committee's officers or the quality team can "
                                                          "plan sessions.")
    title = title.strip()
    if not title:
        raise ValidationFailed("Give the session a title.", extra={"title": ["required"]})
    if not place.strip() and not video_link.strip():
        raise ValidationFailed("Say where the session is held: a place or a video link.",
                               extra={"place": ["a place or a video link is required"]})
    with transaction.atomic():
        Committee.objects.select_for_update().get(pk=committee.pk)
        session = Session.objects.create(committee=committee, title=title, scheduled_at=scheduled_at,
                                         place=place.strip(), video_link=video_link.strip(), created_by=actor)
        members = Member.objects.active_on(timezone.localtime(scheduled_at).date()).filter(committee=committee)
        Attendance.objects.bulk_create(Attendance(session=session, member=m) for m in members)
        added = _append_items(session)
        audit_record(actor=actor, action="session.create", target=session,
                     data={"committee": committee.pk, "scheduled_at": scheduled_at.isoformat(), "items": added})
        transaction.on_commit(lambda: send_convocation(session.pk, method=METHOD_REQUEST))
    return session


def session_refresh_agenda(*, actor, session: Session) -> int:
    """Add to a planned or open session what has come up since it was planned. Returns the count."""
    with transaction.atomic():
        session = _locked_session(session.pk)
        ensure(perms.can_run_session(actor, session))
        ensure_session_in(session, "change the agenda", SessionState.PLANNED, SessionState.OPEN)
        added = _append_items(session)
        audit_record(actor=actor, action="session.refresh_agenda", target=session, data={"items": added})
    return added


def session_add_item(*, actor, session: Session, title: str) -> AgendaItem:
    """Other business, put on the agenda by hand."""
    ensure_no_identifiers(fields={"title": title})
    if not title.strip():
        raise ValidationFailed("Give the item a title.", extra={"title": ["required"]})
    with transaction.atomic():
        session = _locked_session(session.pk)
        ensure(perms.can_run_session(actor, session))
        ensure_session_in(session, "change the agenda", SessionState.PLANNED, SessionState.OPEN)
        position = (session.items.aggregate(m=Max("position"))["m"] or 0) + 1
        item = AgendaItem.objects.create(session=session, position=position, kind=AgendaItemKind.OTHER,
                                         title=title.strip()[:200])
        audit_record(actor=actor, action="session.add_item", target=session, data={"item": item.pk})
    return item


def enqueue_case(campaign_case_id: int) -> None:
    """Put a case that has just become a subject for the committee (readers disagree, reference
    differs from the AI, possible adverse event) on its next planned session, if one is planned;
    otherwise the next ``session_create`` picks it up, and ``session_start`` catches up anything
    missed. Run after the commit of the review write that made it a subject
    (``transaction.on_commit``), in its own transaction, so that it never holds a session lock
    inside the reviewer's transaction."""
    with transaction.atomic():
        committee_id = CampaignCase.objects.filter(pk=campaign_case_id).values_list(
            "campaign__committee_id", flat=True).first()
        session = (Session.objects.select_for_update(of=("self",)).select_related("committee")
                   .filter(committee_id=committee_id, state=SessionState.PLANNED)
                   .order_by("scheduled_at", "id").first())
        if session is not None and _append_items(session):
            audit_record(actor=None, action="session.refresh_agenda", target=session,
                         data={"campaign_case": campaign_case_id, "automatic": True})


# --- The sitting ---------------------------------------------------------------------------------

def session_start(*, actor, session: Session) -> Session:
    """Open the sitting; the agenda first catches up with anything that came up since planning."""
    with transaction.atomic():
        session = _locked_session(session.pk)
        ensure(perms.can_run_session(actor, session))
        apply_transition(session, "start")
        added = _append_items(session)
        save_transitioned(session, "opened_at", "updated_at")
        audit_record(actor=actor, action="session.start", target=session, data={"items_added": added})
    return session


def session_cancel(*, actor, session: Session, reason: str) -> Session:
    """Cancel a planned session; the invited members get the calendar cancellation
    (``METHOD:CANCEL``, next ``SEQUENCE``)."""
    ensure_no_identifiers(fields={"reason": reason})
    if not reason.strip():
        raise ValidationFailed("Give a reason for cancelling.", extra={"reason": ["required"]})
    with transaction.atomic():
        session = _locked_session(session.pk)
        ensure(perms.can_run_session(actor, session))
        apply_transition(session, "cancel", reason.strip())
        session.convocation_sequence += 1
        save_transitioned(session, "cancel_reason", "convocation_sequence", "updated_at")
        audit_record(actor=actor, action="session.cancel", target=session, data={"reason": reason.strip()})
        transaction.on_commit(lambda: send_convocation(session.pk, method=METHOD_CANCEL))
    return session


def attendance_record(*, actor, session: Session, member: Member, status: str) -> Attendance:
    """Record a member's presence while the session sits (a member not invited can still come)."""
    if status not in RECORDED_ATTENDANCE:
        raise ValidationFailed("Unknown attendance.", extra={"status": [f"One of {list(RECORDED_ATTENDANCE)}"]})
    with transaction.atomic():
        session = _locked_session(session.pk)
        ensure(perms.can_run_session(actor, session))
        ensure_session_in(session, "record attendance", SessionState.OPEN)
        if member.committee_id != session.committee_id:
            raise ValidationFailed("This person does not sit on the session's committee.",
                                   extra={"member": ["not a member of this committee"]})
        attendance, _ = Attendance.objects.get_or_create(session=session, member=member)
        attendance.status = status
        attendance.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="session.attendance", target=session,
                     data={"member": member.pk, "status": status})
    return attendance


def _validate_votes(quorum_voters: int, votes_for: int, votes_against: int, votes_abstain: int, dissent: str):
    votes = (votes_for, votes_against, votes_abstain)
    if min(votes) < 0:
        raise ValidationFailed("Vote counts cannot be negative.", extra={"votes": ["negative count"]})
    if sum(votes) == 0:
        raise ValidationFailed("Record the vote.", extra={"votes_for": ["no vote counted"]})
    if sum(votes) > quorum_voters:
        raise ValidationFailed(f"{sum(votes)} votes counted but only {quorum_voters} members are present.",
                               extra={"votes_for": [f"at most {quorum_voters} votes in all"]})
    if votes_for <= votes_against:
        raise ValidationFailed("A decision needs more votes for than against; defer the item otherwise.",
                               extra={"votes_for": ["no majority"]})
    if votes_against and not dissent.strip():
        raise ValidationFailed("Record the dissenting opinion of those who voted against.",
                               extra={"dissent": ["required when someone voted against"]})


def _counted_votes(session: Session, item: AgendaItem) -> list[Vote]:
    """The votes cast on ``item`` by members still recorded present (locked)."""
    present = session.attendances.filter(status=AttendanceStatus.PRESENT).values("member_id")
    return list(Vote.objects.select_for_update(of=("self",)).filter(item=item, member_id__in=present)
                .select_related("member__user").order_by("member__role", "member__user__last_name", "pk"))


def decision_record(*, actor, item: AgendaItem, summary: str, text: str, votes_for: int | None = None,
                    votes_against: int = 0, votes_abstain: int = 0, dissent: str = "",
                    reference_label: str = "") -> Decision:
    """The chair records the committee's decision on an item, only while the session sits and has
    its quorum (409 otherwise). For a case whose readers disagree, the decision gives the reference
    label decided by the committee, written as the case's adjudication in the same transaction.

    The vote is the present members' own votes (``members.vote_cast``): the decision counts them,
    takes their dissenting opinions and links them. Counts given as well must match them. Without
    any member's vote, the chair may still record a show of hands as counts (``votes_for`` ...),
    the only record older decisions have."""
    ensure_no_identifiers(fields={"summary": summary, "text": text, "dissent": dissent})
    if not summary.strip() or not text.strip():
        field = "summary" if not summary.strip() else "text"
        raise ValidationFailed("Give the discussion summary and the decision.", extra={field: ["required"]})
    with transaction.atomic():
        if item.campaign_case_id:
            cc = CampaignCase.objects.select_for_update(of=("self",)).get(pk=item.campaign_case_id)
        session = _locked_session(item.session_id)
        item = AgendaItem.objects.select_for_update(of=("self",)).select_related("campaign_case").get(pk=item.pk)
        ensure(perms.can_record_decision(actor, session), "Only the committee chair records decisions.")
        ensure(perms.can_view_item(actor, item), "You still read this case blind: another member must chair this item.")
        ensure_session_in(session, "record a decision", SessionState.OPEN)
        apply_transition(item, "decide")
        quorum = session_quorum(session)
        if not quorum.is_met:
            raise TransitionNotAllowed(f"No quorum: {quorum.describe()}. No decision can be recorded.",
                                       code="quorum_not_met", extra={"quorum": quorum.describe()})
        votes = _counted_votes(session, item)
        if votes:
            tally = tuple(sum(1 for v in votes if v.choice == c)
                          for c in (VoteChoice.FOR, VoteChoice.AGAINST, VoteChoice.ABSTAIN))
            if votes_for is not None and (votes_for, votes_against, votes_abstain) != tally:
                raise ValidationFailed(
                    f"The counts given ({votes_for}, {votes_against}, {votes_abstain}) differ from the members' "
                    f"votes ({tally[0]} for, {tally[1]} against, {tally[2]} abstaining).",
                    extra={"votes_for": ["differs from the members' votes"]})
            votes_for, votes_against, votes_abstain = tally
            dissent = "\n\n".join(f"{v.member.user.display_name} : {v.dissent}" for v in votes if v.dissent)
        elif votes_for is None:
            raise ValidationFailed("No member has voted on this item yet.", extra={"votes": ["no vote recorded"]})
        _validate_votes(session_voters(session), votes_for, votes_against, votes_abstain, dissent)
        adjudication = None
        needs_label = item.campaign_case_id and cc.state == CampaignCaseState.NEEDS_ADJUDICATION
        if reference_label and not needs_label:
            raise ValidationFailed("A reference label is decided only for a case whose readers disagree.",
                                   extra={"reference_label": ["not expected for this item"]})
        if needs_label and not reference_label:
            raise ValidationFailed("The readers disagree on this case: give the reference label decided by the "
                                   "committee.", extra={"reference_label": ["required"]})
        if needs_label:
            adjudication = adjudication_record(actor=actor, campaign_case=cc, label=reference_label,
                                               reasoning=f"{summary.strip()}\n\n{text.strip()}",
                                               method=AdjudicationMethod.CONSENSUS
                                               if votes_against == 0 and votes_abstain == 0
                                               else AdjudicationMethod.MAJORITY_VOTE)
        decision = Decision.objects.create(
            item=item, summary=summary.strip(), text=text.strip(), reference_label=reference_label,
            adjudication=adjudication, votes_for=votes_for, votes_against=votes_against,
            votes_abstain=votes_abstain, dissent=dissent.strip(), recorded_by=actor)
        if votes:
            Vote.objects.filter(pk__in=[v.pk for v in votes]).update(decision=decision)
        save_transitioned(item, "updated_at")
        audit_record(actor=actor, action="session.decision", target=session, data={
            "item": item.pk, "votes": [votes_for, votes_against, votes_abstain], "per_member": bool(votes),
            "reference_label": reference_label, "quorum": quorum.describe()})
    return decision


def item_defer(*, actor, item: AgendaItem) -> AgendaItem:
    """Leave an item to a later session: its subject comes back on the next agenda."""
    with transaction.atomic():
        session = _locked_session(item.session_id)
        item = AgendaItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
        ensure(perms.can_run_session(actor, session))
        ensure_session_in(session, "defer an item", SessionState.PLANNED, SessionState.OPEN)
        apply_transition(item, "defer")
        save_transitioned(item, "updated_at")
        audit_record(actor=actor, action="session.defer", target=session, data={"item": item.pk})
    return item


def session_close(*, actor, session: Session) -> Session:
    """End the sitting: items left undecided are deferred to a later session."""
    with transaction.atomic():
        session = _locked_session(session.pk)
        ensure(perms.can_run_session(actor, session))
        apply_transition(session, "close")
        deferred = 0
        for item in session.items.select_for_update(of=("self",)).filter(state=AgendaItemState.PENDING):
            apply_transition(item, "defer")
            save_transitioned(item, "updated_at")
            deferred += 1
        save_transitioned(session, "closed_at", "updated_at")
        audit_record(actor=actor, action="session.close", target=session, data={"deferred": deferred})
    return session


def session_sign(*, actor, session: Session) -> Session:
    """The chair signs the minutes: they are rendered once, hashed and frozen with the session."""
    with transaction.atomic():
        session = _locked_session(session.pk)
        ensure(perms.can_sign_minutes(actor, session), "Only the committee chair signs the minutes.")
        ensure(all(perms.can_view_item(actor, item) for item in session.items.select_related("campaign_case")),
               "You still read a case of this agenda blind: the minutes would show it to you. Lock your "
               "verdict first, or let another chair sign.")
        apply_transition(session, "sign", by=actor)
        html = render_minutes(session, signed_by=actor, signed_at=session.signed_at)
        session.minutes_html = html
        session.minutes_sha256 = hashlib.sha256(html.encode("utf-8")).hexdigest()
        save_transitioned(session, "signed_at", "signed_by", "minutes_html", "minutes_sha256", "updated_at")
        audit_record(actor=actor, action="session.sign", target=session,
                     data={"minutes_sha256": session.minutes_sha256})
    return session
