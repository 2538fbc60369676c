"""Who may read which dashboard or report. Plain predicates, reused by views and services."""

from accounts.enums import Role
from committees.permissions import committee_ids_of, is_member_of
from reviews import permissions as review_perms
from reviews import selectors as review_selectors

from .enums import Audience, ReportState

AI_SYSTEM_READERS = frozenset({Role.MANAGEMENT, Role.QUALITY, Role.CHAIR, Role.SECRETARY, Role.ADMIN})


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def has_case_level_access(user, campaign) -> bool:
    """The quality team and the campaign committee's officers read case-level data (and so the
    AI versions); management reads campaign figures only."""
    return review_selectors.can_list_campaign_cases(user, campaign)


def can_view_reader_table(user, campaign) -> bool:
    """The per-reader table (agreement and discrepancy rates of each named reader) is the quality
    team's tool, not a ranking for management or the committee: the quality role only, and only
    where it may read the campaign's figures (never while it still reads a case of it blind)."""
    return _active(user) and user.role == Role.QUALITY and review_perms.can_view_campaign_results(user, campaign)


def can_view_ai_system_dashboard(user) -> bool:
    return _active(user) and user.role in AI_SYSTEM_READERS


def can_view_dashboards(user) -> bool:
    """The list of dashboards has something for the caller: campaign figures
    (``reads_campaign_figures``, or a seat in office on a committee: ``reads_member_figures``)
    or the AI-system dashboards."""
    return (review_perms.reads_campaign_figures(user) or review_perms.reads_member_figures(user)
            or can_view_ai_system_dashboard(user))


def can_publish_report(user, campaign) -> bool:
    return review_perms.can_publish_campaign(user, campaign) and not review_perms.reads_campaign_blind(user, campaign)


def can_view_report(user, report) -> bool:
    if report.audience == Audience.PUBLIC and report.state != ReportState.DRAFT:
        return True
    return review_perms.can_view_campaign_results(user, report.campaign)


def can_view_evidence_pack(user, ai_system) -> bool:
    """Quality team, administrators and management (aggregates and record references only); the
    chair and the secretary of a committee overseeing the system. Everyone else gets 404."""
    if not _active(user):
        return False
    if user.role in (Role.QUALITY, Role.ADMIN, Role.MANAGEMENT):
        return True
    if user.role in (Role.CHAIR, Role.SECRETARY):
        return ai_system.committees.filter(pk__in=committee_ids_of(user)).exists()
    return False


def can_comment_report(user, report) -> bool:
    """A member in office of the campaign's committee (any seat), or whoever may publish its
    reports, who reads the report (never while reading a case of the campaign blind). Whether
    the report is still a draft is the state rule (409), checked by the service."""
    if not _active(user) or not review_perms.can_view_campaign_results(user, report.campaign):
        return False
    return is_member_of(user, report.campaign.committee_id) or can_publish_report(user, report.campaign)
