"""Reads of committee compositions, already scoped to the caller.

A composition (members, terms, declared conflicts) is read by the quality team, administrators
and management, and by the officers of the committees they sit on. ``visible_committee_ids`` is
the one answer to "whose committee business (sessions, actions, vigilance reports) does the
caller handle", shared by the apps above.
"""

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.enums import CAMPAIGN_MANAGER_ROLES, COMMITTEE_OFFICER_ROLES

from .models import Committee, DeclaredConflict, Member
from .permissions import can_view_committees, committee_ids_of


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def visible_committee_ids(user) -> frozenset[int] | None:
    """The committees whose sessions, actions and vigilance reports the caller handles: ``None``
    means every one (quality team, administrators); an empty set, none."""
    if not _active(user):
        return frozenset()
    if user.role in CAMPAIGN_MANAGER_ROLES:
        return None
    if user.role in COMMITTEE_OFFICER_ROLES:
        return committee_ids_of(user)
    return frozenset()


def sitting_committee_ids(user) -> frozenset[int] | None:
    """The committees whose sittings (sessions, agenda, decisions, minutes) the caller reads:
    ``None`` means every one (quality team, administrators); otherwise those the caller sits on,
    whatever the seat (``permissions.is_member_of``)."""
    if not _active(user):
        return frozenset()
    if user.role in CAMPAIGN_MANAGER_ROLES:
        return None
    return committee_ids_of(user)


def committee_list_for_user(user) -> QuerySet[Committee]:
    """Committees whose composition (members, terms, declared conflicts) the caller may read:
    every one for the quality team, administrators and management; for a chair or secretary,
    only the committees they sit on, plus a committee nobody sits on yet (which an officer
    founds by taking its first seat, ``permissions.can_manage_committee``); none for anyone
    else. Members with their users and conflicts are prefetched for the serializer."""
    if not can_view_committees(user):
        return Committee.objects.none()
    qs = Committee.objects.prefetch_related(
        "ai_systems", Prefetch("members", queryset=Member.objects.select_related("user")), "members__conflicts",
    ).order_by("name")
    if user.role in COMMITTEE_OFFICER_ROLES:
        seated = Member.objects.active_on(timezone.localdate()).values("committee_id")
        qs = qs.filter(Q(pk__in=committee_ids_of(user)) | ~Q(pk__in=seated))
    return qs


def committee_business_list_for_user(user) -> QuerySet[Committee]:
    """Committees whose business (sessions, actions, vigilance reports) the caller handles
    (``visible_committee_ids``), by name."""
    ids = visible_committee_ids(user)
    qs = Committee.objects.all() if ids is None else Committee.objects.filter(pk__in=ids)
    return qs.order_by("name")


def committee_business_get_for_user(user, pk: int) -> Committee | None:
    """A committee whose business the caller handles, or ``None``."""
    committee = Committee.objects.filter(pk=pk).first()
    if committee is None:
        return None
    ids = visible_committee_ids(user)
    return committee if ids is None or committee.pk in ids else None


def committee_sittings_list_for_user(user) -> QuerySet[Committee]:
    """Committees whose sittings the caller reads (``sitting_committee_ids``), by name."""
    ids = sitting_committee_ids(user)
    qs = Committee.objects.all() if ids is None else Committee.objects.filter(pk__in=ids)
    return qs.order_by("name")


def committee_sittings_get_for_user(user, pk: int) -> Committee | None:
    """A committee whose sittings the caller reads, or ``None``."""
    ids = sitting_committee_ids(user)
    if ids is not None and pk not in ids:
        return None
    return Committee.objects.filter(pk=pk).first()


def committee_choice_list_for_user(user) -> QuerySet[Committee]:
    """Committees a campaign manager may give a campaign to, by name."""
    if not (_active(user) and user.role in CAMPAIGN_MANAGER_ROLES):
        return Committee.objects.none()
    return Committee.objects.order_by("name")


def member_list_for_committee(committee: Committee, *, with_conflicts: bool = True) -> QuerySet[Member]:
    """Members of a committee whose composition the caller reads (past terms included), with their
    users and, unless told otherwise, their declared conflicts and the AI systems these name."""
    qs = Member.objects.filter(committee=committee).select_related("user")
    if with_conflicts:
        qs = qs.prefetch_related("conflicts__ai_system").order_by("role", "user__last_name", "term_start")
    return qs


def member_get_for_committee(committee_id: int, pk: int) -> Member | None:
    return Member.objects.select_related("user").filter(pk=pk, committee_id=committee_id).first()


def conflict_get_for_committee(committee: Committee, pk: int) -> DeclaredConflict | None:
    return DeclaredConflict.objects.select_related("member__user").filter(pk=pk, member__committee=committee).first()
