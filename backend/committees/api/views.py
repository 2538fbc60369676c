from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.models import AISystem
from common.exceptions import ensure

from .. import permissions as perms
from ..models import Committee, Member
from ..services import committee_create, conflict_declare, member_add
from .serializers import (
    CommitteeCreateSerializer,
    CommitteeSerializer,
    ConflictDeclareSerializer,
    DeclaredConflictSerializer,
    MemberCreateSerializer,
    MemberSerializer,
)


class CommitteeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CommitteeSerializer

    def get_queryset(self):
        if not perms.can_view_committees(self.request.user):
            return Committee.objects.none()
        return Committee.objects.prefetch_related(
            "ai_systems", Prefetch("members", queryset=Member.objects.select_related("user")),
            "members__conflicts",
        ).order_by("name")

    def list(self, request, *args, **kwargs):
        ensure(perms.can_view_committees(request.user))
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CommitteeCreateSerializer, responses={201: CommitteeSerializer})
    def create(self, request):
        ensure(perms.can_manage_committees(request.user))
        data = CommitteeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        committee = committee_create(actor=request.user, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=committee.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    @action(detail=True, methods=["post"])
    def members(self, request, pk=None):
        """Give a user a seat on this committee."""
        committee = self.get_object()
        data = MemberCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = member_add(actor=request.user, committee=committee, **data.validated_data)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ConflictDeclareSerializer, responses={201: DeclaredConflictSerializer})
    @action(detail=True, methods=["post"])
    def conflicts(self, request, pk=None):
        """Declare a structured conflict of interest (AI system, vendor, service or site) for a
        member of this committee; assignment applies it."""
        committee = self.get_object()
        data = ConflictDeclareSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        member = get_object_or_404(Member, pk=values.pop("member"), committee=committee)
        if values["ai_system"] is not None:
            values["ai_system"] = get_object_or_404(AISystem, pk=values["ai_system"])
        conflict = conflict_declare(actor=request.user, member=member, **values)
        return Response(DeclaredConflictSerializer(conflict).data, status=status.HTTP_201_CREATED)
