"""Reads for vigilance reports, already scoped to the caller.

The quality team (and administrators) see every report, the officers those of the committees they
sit on; a report about a case the caller still reads blind is left out (it describes the AI's
error), exactly as ``permissions.can_view_report`` says, but as one query."""

from django.db.models import QuerySet

from committees.selectors import visible_committee_ids
from reviews.permissions import reads_blind

from .models import VigilanceReport
from .permissions import can_view_report


def vigilance_list_for_user(user) -> QuerySet[VigilanceReport]:
    if not (user and user.is_authenticated and user.is_active):
        return VigilanceReport.objects.none()
    ids = visible_committee_ids(user)
    qs = VigilanceReport.objects.select_related("committee", "ai_system", "created_by", "declared_by")
    if ids is not None:
        qs = qs.filter(committee_id__in=ids)
    return qs.exclude(reads_blind(user, "campaign_case_id")).order_by("-aware_at", "-id")


def vigilance_worklist_for_user(user) -> QuerySet[VigilanceReport]:
    """``vigilance_list_for_user`` in the order of the committee's work: by state, then the oldest
    awareness first (the art. 73 clock is computed per row from the row itself: no query per
    report)."""
    return vigilance_list_for_user(user).order_by("state", "aware_at", "id")


def vigilance_get_for_user(user, pk: int) -> VigilanceReport | None:
    report = (VigilanceReport.objects.select_related("committee", "ai_system", "campaign_case", "declared_by")
              .filter(pk=pk).first())
    if report is None or not can_view_report(user, report):
        return None
    return report
