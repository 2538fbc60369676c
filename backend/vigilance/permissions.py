"""Who may see and handle vigilance reports: the quality team and the officers sitting on the
report's committee, never someone who still reads the case blind (a report describes the AI's
error). Management sees counts on the AI-system dashboard, never a report."""

from accounts.enums import CAMPAIGN_MANAGER_ROLES
from committees.permissions import is_officer_of
from reviews.permissions import has_blind_review_of


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def can_manage_vigilance(user, committee_id: int) -> bool:
    return _active(user) and (user.role in CAMPAIGN_MANAGER_ROLES or is_officer_of(user, committee_id))


def can_view_report(user, report) -> bool:
    return can_manage_vigilance(user, report.committee_id) and not (
        report.campaign_case_id and has_blind_review_of(user, report.campaign_case))


def can_handle_report(user, report) -> bool:
    return can_view_report(user, report)


VIGILANCE_TRANSITIONS = {
    "declare": can_handle_report,
    "close": can_handle_report,
    "close_without_declaration": can_handle_report,
}
