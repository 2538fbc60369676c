"""Re-identification endpoints, for the chair of the case's committee and the data-protection
officer only (anyone else lists nothing and gets 404). ``reveal`` answers the plain source
reference once per person, never cached."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from common.api import transition_action
from common.exceptions import ValidationFailed
from reviews.models import CampaignCase

from .. import selectors, services
from ..models import ReidentificationRequest
from .serializers import (
    CommentSerializer,
    ReidentificationCreateSerializer,
    ReidentificationRequestSerializer,
    RequiredCommentSerializer,
    RevealSerializer,
)


class ReidentificationRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReidentificationRequestSerializer
    service_object_name = "request"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReidentificationRequest.objects.none()
        return selectors.reidentification_list_for_user(self.request.user)

    def represent(self, obj):
        return self.get_serializer(obj).data

    @extend_schema(request=ReidentificationCreateSerializer, responses={201: ReidentificationRequestSerializer})
    def create(self, request):
        data = ReidentificationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cc = (CampaignCase.objects.select_related("campaign", "case")
              .filter(pk=data.validated_data["campaign_case"]).first())
        if cc is None:
            raise ValidationFailed("Unknown case.", extra={"campaign_case": ["not found"]})
        created = services.reidentification_request(actor=request.user, campaign_case=cc,
                                                    justification=data.validated_data["justification"])
        return Response(self.represent(self.get_queryset().get(pk=created.pk)), status=status.HTTP_201_CREATED)

    approve = transition_action("approve", services.reidentification_approve, input_serializer=CommentSerializer,
                                responses=ReidentificationRequestSerializer)
    refuse = transition_action("refuse", services.reidentification_refuse, input_serializer=RequiredCommentSerializer,
                               responses=ReidentificationRequestSerializer)
    withdraw = transition_action("withdraw", services.reidentification_withdraw,
                                 responses=ReidentificationRequestSerializer)

    @extend_schema(request=None, responses=RevealSerializer)
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """The decrypted source reference, once for the requesting chair and once for the approving
        officer. Not cached anywhere (``Cache-Control: no-store``)."""
        value = services.reidentification_reveal(actor=request.user, request=self.get_object())
        response = Response({"source_reference": value})
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response
