"""Vigilance report endpoints. Views validate input, call one service and serialize; the queryset
comes from the selector, so a report the caller may not see is a 404."""

import io

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.models import AISystem
from committees.models import Committee
from common import csv_export
from common.api import transition_action
from common.exceptions import TransitionNotAllowed, ValidationFailed
from reviews.models import CampaignCase

from .. import selectors, services
from ..enums import VigilanceState
from ..models import VigilanceReport
from .serializers import (
    CloseSerializer,
    DeclareSerializer,
    VigilanceCreateSerializer,
    VigilanceReportSerializer,
    VigilanceUpdateSerializer,
)

EXPORT_COLUMNS = [
    "id", "state", "committee", "ai_system", "ai_vendor", "ai_version", "campaign_case", "event_date", "aware_at",
    "seriousness", "description", "patient_consequences", "actions_taken", "deadline", "declared_at",
    "declared_by", "declaration_reference", "declared_in_time", "closed_at", "closure_note",
]


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


class VigilanceReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = VigilanceReportSerializer
    service_object_name = "report"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return VigilanceReport.objects.none()
        return selectors.vigilance_list_for_user(self.request.user)

    def represent(self, obj):
        return self.get_serializer(obj).data

    @extend_schema(request=VigilanceCreateSerializer, responses={201: VigilanceReportSerializer})
    def create(self, request):
        data = VigilanceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["committee"] = get_object_or_404(Committee, pk=values["committee"])
        values["ai_system"] = get_object_or_404(AISystem, pk=values["ai_system"])
        if values["campaign_case"] is not None:
            cc = CampaignCase.objects.select_related("campaign").filter(pk=values["campaign_case"]).first()
            if cc is None:
                raise ValidationFailed("Unknown case.", extra={"campaign_case": ["not found"]})
            values["campaign_case"] = cc
        if values["aware_at"] is None:
            values.pop("aware_at")
        report = services.vigilance_create(actor=request.user, **values)
        return Response(self.represent(self.get_queryset().get(pk=report.pk)), status=status.HTTP_201_CREATED)

    @extend_schema(request=VigilanceUpdateSerializer, responses=VigilanceReportSerializer)
    @action(detail=True, methods=["post"], url_path="update", url_name="update")
    def update_draft(self, request, pk=None):
        """Complete a draft report (only the fields given); a declared report never changes (409)."""
        report = self.get_object()
        if report.state != VigilanceState.DRAFT:  # a wrong state is never answered with form errors
            raise TransitionNotAllowed(f"Cannot change this vigilance report: it is {report.state}.",
                                       extra={"state": report.state})
        data = VigilanceUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.vigilance_update(actor=request.user, report=report, **data.validated_data)
        return Response(self.represent(self.get_queryset().get(pk=report.pk)))

    declare = transition_action("declare", services.vigilance_declare, input_serializer=DeclareSerializer,
                                responses=VigilanceReportSerializer)
    close = transition_action("close", services.vigilance_close, input_serializer=CloseSerializer,
                              responses=VigilanceReportSerializer)

    @extend_schema(operation_id="vigilance_reports_export_csv", responses={(200, "text/csv"): OpenApiTypes.STR})
    def export(self, request):
        """Every visible report with every declaration field, as CSV (``;``, UTF-8 with BOM)."""
        out = io.StringIO()
        writer = csv_export.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for r in self.get_queryset():
            clock = r.clock()
            writer.writerow([
                r.pk, r.state, r.committee.name, r.ai_system.name, r.ai_system.vendor, r.ai_version,
                r.campaign_case_id or "", _iso(r.event_date), _iso(r.aware_at), r.seriousness, r.description,
                r.patient_consequences, r.actions_taken, _iso(clock["deadline"]), _iso(r.declared_at),
                r.declared_by.username if r.declared_by else "", r.declaration_reference,
                "" if clock["declared_in_time"] is None else ("yes" if clock["declared_in_time"] else "no"),
                _iso(r.closed_at), r.closure_note,
            ])
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="vigilance-{stamp}.csv"'
        return response
