import io

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from common import csv_export
from common.converters import parse_id
from common.exceptions import ensure
from common.parsers import BoundedJSONParser, NulRefusingFormParser, NulRefusingMultiPartParser

from .. import permissions as perms
from ..importing.service import import_cases
from ..models import AISystem, Case, ImportBatch, ImportProfile
from ..services import (
    ai_system_create,
    ai_system_set_patient_information,
    ai_system_update_public_profile,
    case_blinding_clear,
    case_blinding_redact,
    flagged_case_list,
    import_enqueue,
    import_profile_create,
    optout_register,
)
from .serializers import (
    AISystemCreateSerializer,
    AISystemPatientInformationSerializer,
    AISystemPublicProfileSerializer,
    AISystemSerializer,
    BlindingClearSerializer,
    BlindingRedactSerializer,
    CaseSerializer,
    FlaggedCaseSerializer,
    ImportBatchDetailSerializer,
    ImportBatchSerializer,
    ImportProfileCreateSerializer,
    ImportProfileSerializer,
    ImportUploadSerializer,
    OptOutInputSerializer,
    OptOutResultSerializer,
)


def errors_csv(batch: ImportBatch) -> str:
    """The rejected rows (line, field, reason) then the warnings, as CSV for a spreadsheet."""
    out = io.StringIO()
    writer = csv_export.writer(out, delimiter=";")
    writer.writerow(["line", "field", "reason", "kind"])
    for e in batch.errors:
        writer.writerow([e["line"], e["field"], e["reason"], "rejected"])
    for w in batch.warnings:
        writer.writerow([w["line"], w["field"], w["reason"], w.get("kind", "warning")])
    return out.getvalue()


class AISystemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AISystemSerializer

    def get_queryset(self):
        if not perms.can_view_ai_systems(self.request.user):
            return AISystem.objects.none()
        return AISystem.objects.order_by("name")

    def list(self, request, *args, **kwargs):
        ensure(perms.can_view_ai_systems(request.user))
        return super().list(request, *args, **kwargs)

    @extend_schema(request=AISystemCreateSerializer, responses={201: AISystemSerializer})
    def create(self, request):
        ensure(perms.can_manage_ai_systems(request.user), "Only the quality team can register AI systems.")
        data = AISystemCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ai = ai_system_create(actor=request.user, **data.validated_data)
        return Response(AISystemSerializer(ai).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AISystemPublicProfileSerializer, responses={200: AISystemSerializer})
    @action(detail=True, methods=["patch"], url_path="public-profile")
    def public_profile(self, request, pk=None):
        """Edit the public register's fields (purpose, supplier, CE marking, human guarantee, how to
        object, contact): the quality team; 404 for whoever cannot read AI systems, 403 for the
        other readers."""
        ai = self.get_object()
        ensure(perms.can_manage_ai_systems(request.user), "Only the quality team can edit the public profile.")
        data = AISystemPublicProfileSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ai = ai_system_update_public_profile(actor=request.user, ai_system=ai, **data.validated_data)
        return Response(AISystemSerializer(ai).data)

    @extend_schema(request=AISystemPatientInformationSerializer, responses={200: AISystemSerializer})
    @action(detail=True, methods=["put"], url_path="patient_information")
    def patient_information(self, request, pk=None):
        """Replace the patient information sheet (quality team, audited)."""
        ai = self.get_object()
        data = AISystemPatientInformationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ai = ai_system_set_patient_information(actor=request.user, ai_system=ai, **data.validated_data)
        return Response(AISystemSerializer(ai).data)


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CaseSerializer

    def get_queryset(self):
        if not perms.can_view_cases(self.request.user):
            return Case.objects.none()
        qs = Case.objects.order_by("id")
        ai = self.request.query_params.get("ai_system")
        if not ai:
            return qs
        ai_id = parse_id(ai)
        if ai_id is None:
            raise ValidationError({"ai_system": ["Give the id of an AI system (a whole number)."]})
        return qs.filter(ai_system_id=ai_id)

    def list(self, request, *args, **kwargs):
        ensure(perms.can_view_cases(request.user), "Case-level data is for the quality team.")
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=FlaggedCaseSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="blinding-flags", url_name="blinding-flags")
    def blinding_flags(self, request):
        """Cases held out of sampling because their reviewer-visible text names the AI or its
        output (quality team only)."""
        ensure(perms.can_review_blinding_flags(request.user), "Flagged text is reviewed by the quality team.")
        page = self.paginate_queryset(flagged_case_list())
        return self.get_paginated_response(FlaggedCaseSerializer(page, many=True).data)

    @extend_schema(request=BlindingClearSerializer, responses=FlaggedCaseSerializer)
    @action(detail=True, methods=["post"], url_path="blinding-clear", url_name="blinding-clear",
            parser_classes=[BoundedJSONParser])
    def blinding_clear(self, request, pk=None):
        """The flagged text is harmless: clear the flag, with a reason (audited)."""
        ensure(perms.can_review_blinding_flags(request.user), "Flagged text is reviewed by the quality team.")
        case = self.get_object()
        data = BlindingClearSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_blinding_clear(actor=request.user, case=case, reason=data.validated_data["reason"])
        return Response(FlaggedCaseSerializer(case).data)

    @extend_schema(request=BlindingRedactSerializer, responses=FlaggedCaseSerializer)
    @action(detail=True, methods=["post"], url_path="blinding-redact", url_name="blinding-redact",
            parser_classes=[BoundedJSONParser])
    def blinding_redact(self, request, pk=None):
        """Rewrite the flagged fields; the new text must be clean of AI mentions and identifiers."""
        ensure(perms.can_review_blinding_flags(request.user), "Flagged text is reviewed by the quality team.")
        case = self.get_object()
        data = BlindingRedactSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_blinding_redact(actor=request.user, case=case, texts=dict(data.validated_data))
        return Response(FlaggedCaseSerializer(case).data)

    @extend_schema(request=OptOutInputSerializer, responses={200: OptOutResultSerializer})
    @action(detail=False, methods=["post"], url_path="opt-outs", parser_classes=[BoundedJSONParser])
    def opt_outs(self, request):
        """Register patients who objected (source identifiers, pseudonymized at once, never stored):
        their cases are flagged and excluded from every future sample."""
        ensure(perms.can_register_optouts(request.user),
               "Only the quality team or the data-protection officer can do this.")
        data = OptOutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = optout_register(actor=request.user, patient_ids=data.validated_data["patient_ids"])
        return Response(OptOutResultSerializer(result).data)


class ImportBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ImportBatchSerializer
    parser_classes = [NulRefusingMultiPartParser, NulRefusingFormParser]

    def get_serializer_class(self):
        return ImportBatchDetailSerializer if self.action == "retrieve" else ImportBatchSerializer

    def get_queryset(self):
        if not perms.can_import_cases(self.request.user):
            return ImportBatch.objects.none()
        return ImportBatch.objects.order_by("-id")

    def list(self, request, *args, **kwargs):
        ensure(perms.can_import_cases(request.user), "Imports are for the quality team.")
        return super().list(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer},
                   responses={201: ImportBatchSerializer, 202: ImportBatchDetailSerializer})
    def create(self, request):
        """Upload a CSV or JSON file of cases for one AI system (see the README's import schema).
        Imported at once (201), or, with ``background``, stored and queued for the task worker
        (202): follow it at ``GET /api/import-batches/{id}/`` (status and progress) from any
        application server."""
        ensure(perms.can_import_cases(request.user), "Only the quality team can import cases.")
        data = ImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        options = {"ai_system": data.validated_data["ai_system"], "fmt": data.validated_data["format"],
                   "profile": data.validated_data["profile"], "dry_run": data.validated_data["dry_run"]}
        try:
            if data.validated_data["background"]:
                batch = import_enqueue(actor=request.user, upload=upload, **options)
                return Response(ImportBatchDetailSerializer(batch).data, status=status.HTTP_202_ACCEPTED)
            # Never whole in memory: a large upload is already a temporary file of this process
            # (FILE_UPLOAD_MAX_MEMORY_SIZE), deleted with the request; a small one is held in memory.
            if hasattr(upload, "temporary_file_path"):
                result = import_cases(actor=request.user, path=upload.temporary_file_path(), filename=upload.name,
                                      **options)
            else:
                result = import_cases(actor=request.user, raw=upload.read(), filename=upload.name, **options)
        finally:
            upload.close()
        serializer = ImportBatchDetailSerializer if data.validated_data["dry_run"] else ImportBatchSerializer
        return Response(serializer(result.batch).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="line;field;reason;kind")})
    @action(detail=True, methods=["get"], url_path="errors-csv")
    def errors_csv(self, request, pk=None):
        """Every rejected row with its line, field and reason, then the warnings, as CSV."""
        batch = self.get_object()
        response = HttpResponse(errors_csv(batch), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.csv"'
        return response

    @extend_schema(request=ImportProfileCreateSerializer, responses={200: ImportProfileSerializer(many=True),
                                                                      201: ImportProfileSerializer})
    @action(detail=False, methods=["get", "post"], url_path="profiles", parser_classes=[BoundedJSONParser])
    def profiles(self, request):
        """Saved column-mapping profiles, one per source (GET lists, POST creates)."""
        ensure(perms.can_import_cases(request.user), "Imports are for the quality team.")
        if request.method == "GET":
            return Response(ImportProfileSerializer(ImportProfile.objects.order_by("name"), many=True).data)
        data = ImportProfileCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = import_profile_create(actor=request.user, **data.validated_data)
        return Response(ImportProfileSerializer(profile).data, status=status.HTTP_201_CREATED)
