"""Who sits on a committee, who is one of its officers, and who may compose it.

The seat rule lives here once and every app above asks it: ``committee_ids_of`` (the committees a
user holds an open seat on), ``sits_on``, ``is_officer_of`` (a chair or secretary sitting on the
committee) and ``is_chair_of`` (a chair sitting on it)."""

from django.utils import timezone

from accounts.enums import CAMPAIGN_MANAGER_ROLES, COMMITTEE_OFFICER_ROLES, RESULTS_READER_ROLES, Role

from .models import Member


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def committee_ids_of(user) -> frozenset[int]:
    """Committees the user currently sits on; cached on the user object for the request, so that
    checking many objects costs one query."""
    cached = getattr(user, "_cgh_committee_ids", None)
    if cached is None:
        cached = frozenset(
            Member.objects.filter(user=user, term_end__isnull=True).values_list("committee_id", flat=True)
        )
        user._cgh_committee_ids = cached
    return cached


def sits_on(user, committee_id: int) -> bool:
    return committee_id in committee_ids_of(user)


def is_member_of(user, committee_id: int) -> bool:
    """A member in office on this committee, whatever the seat (patient representative, clinician
    expert, quality, chair, secretary): the one rule for reading the committee's work (its
    sessions, agenda, decisions, signed minutes, campaign dashboards and internal reports), which
    ``sittings.permissions`` and ``reviews.permissions`` ask. Items on a case the member still
    reads blind stay withheld: that is the blinding rule, applied on top."""
    return _active(user) and sits_on(user, committee_id)


def can_view_member_work(user) -> bool:
    """The caller holds a seat in office on some committee (the "Séances" entry for members)."""
    return _active(user) and bool(committee_ids_of(user))


def is_officer_of(user, committee_id: int) -> bool:
    """A committee officer (chair or secretary) who sits on this committee."""
    return _active(user) and user.role in COMMITTEE_OFFICER_ROLES and sits_on(user, committee_id)


def is_chair_of(user, committee_id: int) -> bool:
    """The chair role, held by someone who sits on this committee."""
    return _active(user) and user.role == Role.CHAIR and sits_on(user, committee_id)


def can_manage_committees(user) -> bool:
    """Create committees: the quality team and committee officers."""
    return _active(user) and (user.role in CAMPAIGN_MANAGER_ROLES or user.role in COMMITTEE_OFFICER_ROLES)


def can_manage_committee(user, committee_id: int) -> bool:
    """Compose one committee (seats, terms, conflicts, quorum): the quality team, or the officers
    who sit on it; while nobody holds a seat yet, any committee officer (who founds it by taking
    the first seat)."""
    if not _active(user):
        return False
    if user.role in CAMPAIGN_MANAGER_ROLES or is_officer_of(user, committee_id):
        return True
    return user.role in COMMITTEE_OFFICER_ROLES and not Member.objects.active_on(timezone.localdate()).filter(
        committee_id=committee_id).exists()


def can_view_committees(user) -> bool:
    return _active(user) and user.role in RESULTS_READER_ROLES


def can_declare_conflict(user, member) -> bool:
    return _active(user) and (member.user_id == user.pk or can_manage_committee(user, member.committee_id))
