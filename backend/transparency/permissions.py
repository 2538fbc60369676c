"""Who writes, approves and reads the public texts. Plain predicates, reused by views and services.

The quality team (and administrators) write, submit and publish; a patient representative approves
or rejects the texts of an AI system when they hold, today, a patient-representative seat (term
begun, not ended) on a committee responsible for that system. Nobody else sees a text before it is
published; published texts are read by everyone on the public pages."""

from django.utils import timezone

from accounts.enums import CAMPAIGN_MANAGER_ROLES, Role
from committees.enums import MemberRole
from committees.models import Member

from .enums import TextState


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def can_manage_public_texts(user) -> bool:
    return _active(user) and user.role in CAMPAIGN_MANAGER_ROLES


def can_approve_public_texts(user) -> bool:
    """The patient-representative role: the texts they may decide on depend on their seats."""
    return _active(user) and user.role == Role.PATIENT_REP


def approver_ai_system_ids(user) -> frozenset[int]:
    """AI systems whose texts the user may approve: one query, cached on the user for the request."""
    if not can_approve_public_texts(user):
        return frozenset()
    cached = getattr(user, "_cgh_approver_ai_systems", None)
    if cached is None:
        cached = frozenset(Member.objects.active_on(timezone.localdate()).filter(
            user=user, role=MemberRole.PATIENT_REP, committee__ai_systems__isnull=False,
        ).values_list("committee__ai_systems", flat=True))
        user._cgh_approver_ai_systems = cached
    return cached


def can_decide_text(user, text) -> bool:
    return text.ai_system_id in approver_ai_system_ids(user)


def can_view_text(user, text) -> bool:
    """The quality team sees every text; an approver sees the texts of their AI systems once
    submitted (never a draft being written)."""
    if can_manage_public_texts(user):
        return True
    return text.state != TextState.DRAFT and can_decide_text(user, text)
