"""Reads for sessions, agenda items and corrective actions, already scoped to the caller.

Sessions discuss cases with their AI output: only the quality team (and administrators) and the
officers sitting on the session's committee see them (``visible_committee_ids`` of
``committees.selectors``). Each agenda item carries ``is_blind_for_caller``: a case item the
caller still reads blind is withheld by the serializers (``permissions.can_view_item`` as one
annotation, so that a list costs the same whatever its length). Everything a serializer reads is
joined or prefetched here.
"""

from django.db.models import BooleanField, Prefetch, Q, QuerySet, Value

from committees.selectors import visible_committee_ids
from reviews.permissions import reads_blind

from .models import Action, AgendaItem, Attendance, Decision, Session


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def agenda_items_for_user(user) -> QuerySet[AgendaItem]:
    """Agenda items with their decision and subject, annotated with whether the caller still reads
    the item's case blind (then the item is withheld from them)."""
    qs = AgendaItem.objects.select_related("decision__recorded_by", "session")
    if _active(user):
        qs = qs.annotate(is_blind_for_caller=reads_blind(user, "campaign_case_id"))
    else:
        qs = qs.annotate(is_blind_for_caller=Value(True, output_field=BooleanField()))
    return qs.order_by("position")


def session_list_for_user(user) -> QuerySet[Session]:
    """Sessions of the committees the caller manages, newest first, with attendances (and the
    members' users) and agenda items (and their decisions) prefetched."""
    ids = visible_committee_ids(user)
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
    ids = visible_committee_ids(user)
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
