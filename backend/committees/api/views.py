"""Committees and their composition (members, terms, declared conflicts). Views validate input,
call one service and serialize; querysets come from the selectors, so an object the caller may not
see is a 404. The quorum rule is set through ``sittings.api.views.CommitteeQuorumView``, at
``/committees/{id}/quorum/`` too: it is refused while a session sits."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.models import AISystem
from common.exceptions import ensure

from .. import permissions as perms
from .. import selectors
from ..models import DeclaredConflict, Member
from ..services import (
    committee_create,
    conflict_declare,
    conflict_withdraw,
    member_add,
    member_end_term,
)
from .serializers import (
    CommitteeCreateSerializer,
    CommitteeSerializer,
    ConflictDeclareSerializer,
    ConflictWithdrawSerializer,
    DeclaredConflictSerializer,
    EndTermSerializer,
    MemberCreateSerializer,
    MemberSerializer,
)


class CommitteeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CommitteeSerializer

    def get_queryset(self):
        # An officer of another committee does not see this one at all (404), let alone its members.
        return selectors.committee_list_for_user(self.request.user)

    def list(self, request, *args, **kwargs):
        ensure(perms.can_view_committees(request.user))
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CommitteeCreateSerializer, responses={201: CommitteeSerializer})
    def create(self, request):
        ensure(perms.can_manage_committees(request.user))
        data = CommitteeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        committee = committee_create(actor=request.user, **data.validated_data)
        return Response(self._fresh(committee.pk), status=status.HTTP_201_CREATED)

    def _fresh(self, pk):
        return self.get_serializer(self.get_queryset().get(pk=pk)).data

    @extend_schema(methods=["GET"], request=None, responses=MemberSerializer(many=True))
    @extend_schema(methods=["POST"], request=MemberCreateSerializer, responses={201: MemberSerializer})
    @action(detail=True, methods=["get", "post"])
    def members(self, request, pk=None):
        """GET: every term of office on this committee, current and past (membership history),
        with their declared conflicts, withdrawn ones included. POST: give a user a seat."""
        committee = self.get_object()
        if request.method == "GET":
            rows = committee.members.all()  # prefetched by get_queryset, with users and conflicts
            return Response(MemberSerializer(rows, many=True, context=self.get_serializer_context()).data)
        data = MemberCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = member_add(actor=request.user, committee=committee, **data.validated_data)
        return Response(MemberSerializer(member, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=EndTermSerializer,
                   responses={200: MemberSerializer, 409: OpenApiResponse(description="The term has already ended.")})
    @action(detail=True, methods=["post"], url_path="end-term", url_name="end-term")
    def end_term(self, request, pk=None):
        """End a member's term of office; the membership stays listed as history. Refused (409)
        for a term already ended."""
        committee = self.get_object()
        data = EndTermSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = get_object_or_404(Member, pk=data.validated_data["member"], committee=committee)
        member = member_end_term(actor=request.user, member=member, term_end=data.validated_data["term_end"])
        fresh = Member.objects.select_related("user").prefetch_related("conflicts").get(pk=member.pk)
        return Response(MemberSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(request=ConflictWithdrawSerializer,
                   responses={200: DeclaredConflictSerializer,
                              409: OpenApiResponse(description="Already withdrawn.")})
    @action(detail=True, methods=["post"], url_path="withdraw-conflict", url_name="withdraw-conflict")
    def withdraw_conflict(self, request, pk=None):
        """Withdraw a declared conflict of interest; the declaration stays listed with its
        ``withdrawn_at``. Refused (409) when already withdrawn."""
        committee = self.get_object()
        data = ConflictWithdrawSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conflict = get_object_or_404(DeclaredConflict.objects.select_related("member"),
                                     pk=data.validated_data["conflict"], member__committee=committee)
        conflict = conflict_withdraw(actor=request.user, conflict=conflict)
        return Response(DeclaredConflictSerializer(conflict).data)

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
