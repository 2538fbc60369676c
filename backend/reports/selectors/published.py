"""Reads of published reports: a campaign's versions, one report for a reader, the public ones."""

from django.db.models import QuerySet

from ..enums import Audience, ReportState
from ..models import Report
from ..permissions import can_view_report


def report_list_for_campaign(campaign) -> QuerySet[Report]:
    """The report versions of a campaign whose dashboard the caller reads, by audience then newest
    version first."""
    return Report.objects.filter(campaign=campaign).order_by("audience", "-version")


def report_get_for_user(user, pk: int) -> Report | None:
    report = Report.objects.select_related("campaign__ai_system").filter(pk=pk).first()
    if report is None or not can_view_report(user, report):
        return None
    return report


def report_comment_list(report) -> QuerySet:
    """The comments on a report the caller reads (``report_get_for_user``), oldest first, with
    their authors (one query)."""
    return report.comments.select_related("author").order_by("created_at", "id")


def public_report_list() -> QuerySet[Report]:
    """Every published public summary, newest first: readable by anyone, without login."""
    return Report.objects.filter(audience=Audience.PUBLIC, state=ReportState.PUBLISHED).order_by("-published_at")
