"""Reads for re-identification requests: the data-protection officer sees every request; a chair
sees those of the committees they sit on, except on a case they still read blind (the
justification describes what the AI missed). Nobody else sees any. No query here ever reads the
source reference."""

from django.db.models import QuerySet

from accounts.enums import Role
from committees.permissions import committee_ids_of
from reviews.models import CampaignCase
from reviews.permissions import reads_blind

from .models import ReidentificationRequest
from .permissions import can_view_request


def reidentification_list_for_user(user) -> QuerySet[ReidentificationRequest]:
    if not (user and user.is_authenticated and user.is_active) or user.role not in (Role.DPO, Role.CHAIR):
        return ReidentificationRequest.objects.none()
    qs = ReidentificationRequest.objects.select_related("campaign_case__campaign", "requested_by", "decided_by")
    if user.role == Role.CHAIR:
        qs = (qs.filter(campaign_case__campaign__committee_id__in=committee_ids_of(user))
              .exclude(reads_blind(user, "campaign_case_id")))
    return qs.order_by("-created_at", "-id")


def reidentification_get_for_user(user, pk: int) -> ReidentificationRequest | None:
    request = (ReidentificationRequest.objects.select_related(
        "campaign_case__campaign__committee", "campaign_case__case", "requested_by", "decided_by")
        .filter(pk=pk).first())
    if request is None or not can_view_request(user, request):
        return None
    return request


def requestable_case_list_for_user(user) -> QuerySet[CampaignCase]:
    """Cases a chair may ask to re-identify: their committees' cases with a source reference,
    minus those they still read blind."""
    if not (user and user.is_authenticated and user.is_active) or user.role != Role.CHAIR:
        return CampaignCase.objects.none()
    return (CampaignCase.objects.filter(campaign__committee_id__in=committee_ids_of(user),
                                        case__source_reference__gt="")
            .exclude(reads_blind(user)).select_related("campaign").order_by("campaign__name", "case_id"))
