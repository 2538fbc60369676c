"""Reads for sessions, agenda items and corrective actions, already scoped to the caller.

Sessions discuss cases with their AI output: only the quality team (and administrators) and the
members in office of the session's committee (any seat) read them (``sitting_committee_ids`` of
``committees.selectors``). Each agenda item carries ``is_blind_for_caller``: a case item the
caller still reads blind is withheld by the serializers (``permissions.can_view_item`` as one
annotation, so that a list costs the same whatever its length). Everything a serializer reads is
joined or prefetched here.
"""

from django.db.models import BooleanField, Prefetch, Q, QuerySet, Value

from committees.models import Member
from committees.selectors import sitting_committee_ids, visible_committee_ids
from reviews.enums import BLIND_STATES, CampaignCaseState
from reviews.models import Assignment, CampaignCase
from reviews.permissions import has_blind_review_of, reads_blind

from .enums import AttendanceStatus, SessionState
from .models import Action, AgendaItem, Attendance, Comment, Decision, Session, Vote
from .permissions import can_view_action, can_view_item, can_view_sessions


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def agenda_items_for_user(user) -> QuerySet[AgendaItem]:
    """Agenda items with their decision and subject, annotated with whether the caller still reads
    the item's case blind (then the item is withheld from them)."""
    qs = AgendaItem.objects.select_related("decision__recorded_by", "session").prefetch_related(
        Prefetch("votes", queryset=Vote.objects.select_related("member__user")
                 .order_by("member__role", "member__user__last_name", "pk")))
    if _active(user):
        qs = qs.annotate(is_blind_for_caller=reads_blind(user, "campaign_case_id"))
    else:
        qs = qs.annotate(is_blind_for_caller=Value(True, output_field=BooleanField()))
    return qs.order_by("position")


def session_list_for_user(user) -> QuerySet[Session]:
    """Sessions of the committees the caller sits on (or all, for the quality team), newest first,
    with attendances (and the members' users) and agenda items (and their decisions) prefetched."""
    ids = sitting_committee_ids(user)
    qs = Session.objects.select_related("committee", "created_by", "signed_by")
    if ids is not None:
        qs = qs.filter(committee_id__in=ids)
    return qs.prefetch_related(
        Prefetch("attendances", queryset=Attendance.objects.select_related("member__user")
                 .order_by("member__role", "member__user__last_name", "id")),
        Prefetch("items", queryset=agenda_items_for_user(user)),
    ).order_by("-scheduled_at", "-id")


def agenda_item_list_for_user(user) -> QuerySet[AgendaItem]:
    """Agenda items of the sessions the caller may see (an invisible item is a 404)."""
    ids = sitting_committee_ids(user)
    qs = agenda_items_for_user(user).select_related("session__committee")
    if ids is not None:
        qs = qs.filter(session__committee_id__in=ids)
    return qs


def action_list_for_user(user) -> QuerySet[Action]:
    """Actions of the committees the caller manages, and the actions the caller owns, the most
    urgent first."""
    if not _active(user):
        return Action.objects.none()
    ids = visible_committee_ids(user)
    qs = Action.objects.select_related("committee", "owner", "ai_system", "decision__item")
    if ids is not None:
        qs = qs.filter(Q(committee_id__in=ids) | Q(owner=user))
    return qs.order_by("due_date", "id")


def decision_for_user(user, pk: int) -> Decision | None:
    """A decision the caller may attach an action to: of a visible session, on an item they do
    not read blind."""
    item = agenda_item_list_for_user(user).filter(decision__pk=pk).first()
    if item is None or item.is_blind_for_caller:
        return None
    return item.decision


# --- Reads of the committee pages -----------------------------------------------------------------
# Each returns ``None`` (or an empty queryset) for what the caller may not see; the pages answer 404.
# Functions taking a session or a committee expect one already read through a scoped selector.

def blind_case_ids_of(user) -> frozenset[int]:
    """Campaign cases the caller still reads blind: one query, read once per page so that withheld
    agenda items cost nothing per item."""
    if not _active(user):
        return frozenset()
    return frozenset(Assignment.objects.filter(reviewer=user, state__in=BLIND_STATES)
                     .values_list("campaign_case_id", flat=True))


def session_summary_list_for_user(user) -> QuerySet[Session]:
    """Sessions of the committees whose business the caller handles, with their committee, newest
    first (the "Séances" list: no attendance, no agenda)."""
    ids = sitting_committee_ids(user)
    qs = Session.objects.select_related("committee")
    if ids is not None:
        qs = qs.filter(committee_id__in=ids)
    return qs.order_by("-scheduled_at", "-id")


def session_list_for_committee(committee) -> QuerySet[Session]:
    """The sessions of a committee whose composition the caller reads, newest first."""
    return committee.sessions.order_by("-scheduled_at", "-id")


def committee_has_open_session(committee) -> bool:
    return committee.sessions.filter(state=SessionState.OPEN).exists()


def session_get_for_user(user, pk: int) -> Session | None:
    session = Session.objects.select_related("committee", "signed_by").filter(pk=pk).first()
    if session is None or not can_view_sessions(user, session.committee_id):
        return None
    return session


def session_item_count(session: Session) -> int:
    return session.items.count()


def session_case_ids(session: Session) -> set[int]:
    """The campaign cases on the session's agenda (one query)."""
    return set(session.items.values_list("campaign_case_id", flat=True))


def session_agenda(session: Session) -> list[AgendaItem]:
    """The agenda of the session page with every subject and decision joined, and the decisions'
    actions with their owner: three queries whatever the length of the agenda."""
    return list(
        AgendaItem.objects.filter(session=session)
        .select_related("campaign_case__campaign__ai_system", "action__owner", "vigilance_report__ai_system",
                        "decision__recorded_by")
        .prefetch_related(Prefetch("decision__actions", queryset=Action.objects.select_related("owner")))
        .order_by("position"))


def session_attendance_list(session: Session) -> list[Attendance]:
    return list(session.attendances.select_related("member__user")
                .order_by("member__role", "member__user__last_name", "member_id"))


def session_votes_by_item(session: Session) -> dict[int, list[Vote]]:
    """Every vote cast at ``session``, by agenda item, with the voters (one query). The page shows
    only those of the items the caller may see."""
    votes: dict[int, list[Vote]] = {}
    for vote in (Vote.objects.filter(item__session=session).select_related("member__user")
                 .order_by("member__role", "member__user__last_name", "pk")):
        votes.setdefault(vote.item_id, []).append(vote)
    return votes


def session_comments(session: Session) -> tuple[dict[int, list[Comment]], list[Comment]]:
    """The comments of ``session``: by agenda item, and those on the draft minutes (one query)."""
    by_item: dict[int, list[Comment]] = {}
    on_minutes: list[Comment] = []
    for comment in Comment.objects.filter(session=session).select_related("author").order_by("created_at", "pk"):
        if comment.item_id is None:
            on_minutes.append(comment)
        else:
            by_item.setdefault(comment.item_id, []).append(comment)
    return by_item, on_minutes


def session_comment_list(session: Session) -> list[Comment]:
    """Every comment of ``session`` with its author, oldest first (one query)."""
    return list(Comment.objects.filter(session=session).select_related("author").order_by("created_at", "pk"))


def present_member_list(session: Session) -> QuerySet[Member]:
    """The members recorded present at ``session``, for the chair's vote-on-behalf form."""
    return Member.objects.filter(attendances__session=session,
                                 attendances__status=AttendanceStatus.PRESENT).select_related("user").order_by("user__last_name")


def agenda_item_get_for_user(user, session: Session, pk: int) -> AgendaItem | None:
    """An agenda item of ``session``, unless it is about a case the caller reads blind."""
    item = AgendaItem.objects.select_related("campaign_case__campaign__ai_system").filter(
        pk=pk, session=session).first()
    if item is None or not can_view_item(user, item):
        return None
    return item


def committee_action_list_for_user(user) -> QuerySet[Action]:
    """Actions of the committees whose business the caller handles, the most urgent first."""
    if not _active(user):
        return Action.objects.none()
    ids = visible_committee_ids(user)
    qs = Action.objects.select_related("committee", "owner")
    if ids is not None:
        qs = qs.filter(committee_id__in=ids)
    return qs.order_by("due_date", "id")


def owned_action_list_for_user(user) -> QuerySet[Action]:
    """The caller's own actions, whatever their role, the most urgent first."""
    if not _active(user):
        return Action.objects.none()
    return Action.objects.filter(owner=user).select_related("committee", "owner").order_by("due_date", "id")


def action_get_for_user(user, pk: int) -> Action | None:
    action = Action.objects.select_related("committee", "owner", "decision__item__session").filter(pk=pk).first()
    if action is None or not can_view_action(user, action):
        return None
    return action


def committee_case_get_for_user(user, campaign_pk: int, pk: int) -> CampaignCase | None:
    """A case of a campaign as the committee discusses it (AI output, readers' labels): for the
    quality team and the committee's officers, never for someone still reading it blind."""
    cc = (CampaignCase.objects.select_related("campaign__ai_system", "campaign__committee", "case")
          .filter(pk=pk, campaign_id=campaign_pk).first())
    if cc is None or not can_view_sessions(user, cc.campaign.committee_id) or has_blind_review_of(user, cc):
        return None
    return cc


def case_reading_list(campaign_case: CampaignCase) -> QuerySet[Assignment]:
    """Every reading of a case the caller discusses (``committee_case_get_for_user``): clinicians'
    and patient representatives', with their verdicts and their classification after unblinding
    (one query, whatever the number of readers)."""
    return (Assignment.objects.filter(campaign_case=campaign_case)
            .select_related("verdict", "classification").order_by("kind", "pk"))


def adjudication_case_list(campaign) -> list[CampaignCase]:
    """The campaign's cases whose readers disagree, for a caller who sees the campaign's board or
    results and its committee's sessions."""
    return list(campaign.campaign_cases.filter(state=CampaignCaseState.NEEDS_ADJUDICATION).order_by("pk"))


def third_reading_pending_ids(campaign_cases) -> set[int]:
    """Those of ``campaign_cases`` whose third reading is still awaited (one query)."""
    return set(Assignment.objects.filter(campaign_case__in=campaign_cases, is_third_reading=True,
                                         state__in=BLIND_STATES)
               .values_list("campaign_case_id", flat=True))


def campaign_case_get_for_campaign(campaign, pk: int) -> CampaignCase | None:
    """A case of a campaign the caller already reads (``reads.campaign_for``)."""
    return CampaignCase.objects.filter(pk=pk, campaign=campaign).select_related("campaign").first()
