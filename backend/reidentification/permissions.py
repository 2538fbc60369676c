"""Re-identification is the one way back from a pseudonym to a patient: the chair of the case's
committee asks, the data-protection officer decides, and the source reference is shown once to
each of those two people. No other role, administrators included, has any access here."""

from accounts.enums import Role
from committees.permissions import is_chair_of
from reviews.permissions import has_blind_review_of


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_dpo(user) -> bool:
    return _active(user) and user.role == Role.DPO


def can_request_reidentification(user) -> bool:
    """The chair role; which cases is :func:`can_request` (a chair of the case's committee who
    no longer reads it blind)."""
    return _active(user) and user.role == Role.CHAIR


def can_view_reidentification(user) -> bool:
    """The re-identification pages: the officer and the chairs, nobody else (administrators
    included); which requests is :func:`can_view_request`."""
    return is_dpo(user) or can_request_reidentification(user)


def can_request(user, campaign_case) -> bool:
    return is_chair_of(user, campaign_case.campaign.committee_id) and not has_blind_review_of(user, campaign_case)


def can_view_request(user, request) -> bool:
    """The officer sees every request; a chair of the case's committee too, unless they still read
    the case blind (the justification describes what the AI missed)."""
    return is_dpo(user) or (is_chair_of(user, request.campaign_case.campaign.committee_id)
                            and not has_blind_review_of(user, request.campaign_case))


def can_decide(user, request) -> bool:
    return is_dpo(user)


def can_withdraw(user, request) -> bool:
    return _active(user) and request.requested_by_id == user.pk


def can_reveal(user, request) -> bool:
    """Only the requesting chair and the officer who approved, each once (the state and the
    ``*_revealed_at`` stamps decide whether it is still possible)."""
    return _active(user) and user.pk in (request.requested_by_id, request.decided_by_id)


REQUEST_TRANSITIONS = {
    "approve": can_decide,
    "refuse": can_decide,
    "withdraw": can_withdraw,
    "reveal": can_reveal,
}
