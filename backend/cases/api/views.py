from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from common.exceptions import ensure

from .. import permissions as perms
from ..enums import ImportFormat
from ..importing import import_cases
from ..models import AISystem, Case, ImportBatch
from ..services import ai_system_create
from .serializers import (
    AISystemCreateSerializer,
    AISystemSerializer,
    CaseSerializer,
    ImportBatchSerializer,
    ImportUploadSerializer,
)


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


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CaseSerializer

    def get_queryset(self):
        if not perms.can_view_cases(self.request.user):
            return Case.objects.none()
        qs = Case.objects.order_by("id")
        ai = self.request.query_params.get("ai_system")
        return qs.filter(ai_system_id=ai) if ai and ai.isdigit() else qs

    def list(self, request, *args, **kwargs):
        ensure(perms.can_view_cases(request.user), "Case-level data is for the quality team.")
        return super().list(request, *args, **kwargs)


class ImportBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ImportBatchSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        if not perms.can_import_cases(self.request.user):
            return ImportBatch.objects.none()
        return ImportBatch.objects.order_by("-id")

    def list(self, request, *args, **kwargs):
        ensure(perms.can_import_cases(request.user), "Imports are for the quality team.")
        return super().list(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses={201: ImportBatchSerializer})
    def create(self, request):
        """Upload a CSV or JSON file of cases for one AI system (see the README's import schema)."""
        ensure(perms.can_import_cases(request.user), "Only the quality team can import cases.")
        data = ImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        fmt = data.validated_data["format"] or (
            ImportFormat.JSON if upload.name.lower().endswith(".json") else ImportFormat.CSV)
        result = import_cases(actor=request.user, ai_system=data.validated_data["ai_system"], raw=upload.read(),
                              filename=upload.name, fmt=fmt)
        return Response(ImportBatchSerializer(result.batch).data, status=status.HTTP_201_CREATED)
