"""Who may see and run sessions, record decisions, sign minutes and handle corrective actions.

Sessions discuss cases with their AI output: case-level knowledge, so only the quality team and
the members in office of the committee (any seat: ``committees.permissions.is_member_of``) read
them; the officers sitting on it (``is_officer_of``) run them. Nobody ever sees a case item they
still read blind (``can_view_item``)."""

from accounts.enums import CAMPAIGN_MANAGER_ROLES, COMMITTEE_OFFICER_ROLES
from committees.permissions import is_chair_of, is_member_of, is_officer_of
from reviews.permissions import has_blind_review_of


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def can_view_committee_pages(user) -> bool:
    """The committee work pages (committees and their sessions, corrective actions, vigilance,
    cases to adjudicate): the quality team and the committee officers. Which committees, and so
    whether a page has anything to show, is :func:`can_view_sessions`; everyone else only has
    the actions they own."""
    return _active(user) and (user.role in CAMPAIGN_MANAGER_ROLES or user.role in COMMITTEE_OFFICER_ROLES)


def can_view_sessions(user, committee_id: int) -> bool:
    """Read the committee's sessions, agenda, decisions and minutes: the quality team and every
    member in office (patient representative and clinician seats included)."""
    return _active(user) and (user.role in CAMPAIGN_MANAGER_ROLES or is_member_of(user, committee_id))


def can_plan_sessions(user, committee_id: int) -> bool:
    """Plan a session of the committee: the quality team and the officers sitting on it."""
    return _active(user) and (user.role in CAMPAIGN_MANAGER_ROLES or is_officer_of(user, committee_id))


def can_run_session(user, session) -> bool:
    """Plan, invite, build the agenda, record attendance, close: the secretary's work, which the
    chair and the quality team may also do."""
    return can_plan_sessions(user, session.committee_id)


def can_vote(user, session) -> bool:
    """Cast one's own vote: a member in office of the session's committee (whether they are
    recorded present is the service's check)."""
    return is_member_of(user, session.committee_id)


def can_comment(user, session) -> bool:
    """Comment on the agenda or the draft minutes: the members in office and the quality team."""
    return can_view_sessions(user, session.committee_id)


def can_record_decision(user, session) -> bool:
    return is_chair_of(user, session.committee_id)


def can_sign_minutes(user, session) -> bool:
    return can_record_decision(user, session)


def can_view_item(user, item) -> bool:
    """A case item is withheld from anyone who still reads that case blind."""
    return item.campaign_case_id is None or not has_blind_review_of(user, item.campaign_case)


def can_manage_actions(user, committee_id: int) -> bool:
    return can_plan_sessions(user, committee_id)


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
