from accounts.enums import CAMPAIGN_MANAGER_ROLES, COMMITTEE_OFFICER_ROLES, RESULTS_READER_ROLES, Role


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def can_manage_committees(user) -> bool:
    """Create committees: the quality team and committee officers."""
    return _active(user) and (user.role in CAMPAIGN_MANAGER_ROLES or user.role in COMMITTEE_OFFICER_ROLES)


def can_manage_committee(user, committee_id: int) -> bool:
    """Compose one committee (seats, terms, conflicts, quorum): the quality team, or the officers
    who sit on it; while nobody holds a seat yet, any committee officer (who founds it by taking
    the first seat)."""
    if not _active(user):
        return False
    if user.role in CAMPAIGN_MANAGER_ROLES or _officer_of(user, committee_id):
        return True
    from django.utils import timezone

    from .models import Member

    return user.role in COMMITTEE_OFFICER_ROLES and not Member.objects.active_on(timezone.localdate()).filter(
        committee_id=committee_id).exists()


def can_view_committees(user) -> bool:
    return _active(user) and user.role in RESULTS_READER_ROLES


def can_declare_conflict(user, member) -> bool:
    return _active(user) and (member.user_id == user.pk or can_manage_committee(user, member.committee_id))


# --- Sessions, decisions and actions ------------------------------------------------------------
# Sessions discuss cases with their AI output: case-level knowledge, so only the quality team and
# the officers sitting on the committee see them; an officer never sees a case item they still
# read blind (see ``can_view_item``).

def _officer_of(user, committee_id: int) -> bool:
    from reviews.permissions import sits_on

    return _active(user) and user.role in COMMITTEE_OFFICER_ROLES and sits_on(user, committee_id)


def can_view_sessions(user, committee_id: int) -> bool:
    return _active(user) and (user.role in CAMPAIGN_MANAGER_ROLES or _officer_of(user, committee_id))


def can_run_session(user, session) -> bool:
    """Plan, invite, build the agenda, record attendance, close: the secretary's work, which the
    chair and the quality team may also do."""
    return can_view_sessions(user, session.committee_id)


def can_record_decision(user, session) -> bool:
    return _active(user) and user.role == Role.CHAIR and _officer_of(user, session.committee_id)


def can_sign_minutes(user, session) -> bool:
    return can_record_decision(user, session)


def can_view_item(user, item) -> bool:
    """A case item is withheld from anyone who still reads that case blind."""
    from reviews.permissions import has_blind_review_of

    return item.campaign_case_id is None or not has_blind_review_of(user, item.campaign_case)


def can_manage_actions(user, committee_id: int) -> bool:
    return can_view_sessions(user, committee_id)


def can_view_action(user, action) -> bool:
    return _active(user) and (action.owner_id == user.pk or can_manage_actions(user, action.committee_id))


def can_progress_action(user, action) -> bool:
    """The owner reports progress and completion; the committee's managers may too."""
    return can_view_action(user, action)


def can_cancel_action(user, action) -> bool:
    return can_manage_actions(user, action.committee_id)


SESSION_TRANSITIONS = {
    "start": can_run_session,
    "close": can_run_session,
    "sign": can_sign_minutes,
    "cancel": can_run_session,
}

ACTION_TRANSITIONS = {
    "start": can_progress_action,
    "complete": can_progress_action,
    "cancel": can_cancel_action,
}
