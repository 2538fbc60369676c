"""Public texts (register entries, FALC texts) and their approval. Views validate input, call one
service and serialize; the queryset comes from the selector, so a text the caller may not see is
a 404 (a patient representative sees no draft, nor the texts of another committee's AI systems)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from common.exceptions import ensure

from .. import permissions as perms
from .. import selectors, services
from ..enums import TextKind
from .serializers import (
    PublicTextCreateSerializer,
    PublicTextRejectSerializer,
    PublicTextReviseSerializer,
    PublicTextSerializer,
)


class PublicTextViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PublicTextSerializer

    def get_queryset(self):
        return selectors.public_text_list_for_user(self.request.user)

    def list(self, request, *args, **kwargs):
        ensure(perms.can_manage_public_texts(request.user) or perms.can_approve_public_texts(request.user))
        return super().list(request, *args, **kwargs)

    @extend_schema(request=PublicTextCreateSerializer, responses={201: PublicTextSerializer})
    def create(self, request):
        ensure(perms.can_manage_public_texts(request.user), "Only the quality team writes public texts.")
        data = PublicTextCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["kind"] == TextKind.REGISTER:
            text = services.register_text_draft(actor=request.user, ai_system=data.validated_data["ai_system"])
        else:
            text = services.falc_text_draft(actor=request.user, report=data.validated_data["report"])
        return Response(PublicTextSerializer(text).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PublicTextReviseSerializer, responses={200: PublicTextSerializer})
    @action(detail=True, methods=["post"])
    def revise(self, request, pk=None):
        text = self.get_object()
        data = PublicTextReviseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        text = services.public_text_revise(actor=request.user, text=text, lines=data.validated_data.get("lines"))
        return Response(PublicTextSerializer(text).data)

    @extend_schema(request=None, responses={200: PublicTextSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        text = services.public_text_submit(actor=request.user, text=self.get_object())
        return Response(PublicTextSerializer(text).data)

    @extend_schema(request=None, responses={200: PublicTextSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        text = services.public_text_approve(actor=request.user, text=self.get_object())
        return Response(PublicTextSerializer(text).data)

    @extend_schema(request=PublicTextRejectSerializer, responses={200: PublicTextSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        text = self.get_object()
        data = PublicTextRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        text = services.public_text_reject(actor=request.user, text=text, reason=data.validated_data["reason"])
        return Response(PublicTextSerializer(text).data)

    @extend_schema(request=None, responses={200: PublicTextSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        text = services.public_text_publish(actor=request.user, text=self.get_object())
        return Response(PublicTextSerializer(text).data)
