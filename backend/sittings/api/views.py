"""Sessions, agenda items, corrective actions, and the committee's quorum rule. Views validate
input, call one service and serialize; querysets come from the selectors, so an object the caller
may not see is a 404."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.models import AISystem
from committees.api.serializers import CommitteeSerializer
from committees.models import Committee, Member
from committees.selectors import committee_list_for_user
from common.api import transition_action
from common.exceptions import Forbidden, ValidationFailed, ensure

from .. import permissions as perms
from .. import selectors, services
from ..enums import SessionState
from ..minutes import minutes_for_reader, render_minutes
from ..models import Action, AgendaItem, Session
from .serializers import (
    ActionCreateSerializer,
    ActionSerializer,
    AddItemSerializer,
    AgendaItemSerializer,
    AttendanceInputSerializer,
    CommentInputSerializer,
    CommentSerializer,
    DecisionInputSerializer,
    MinutesSerializer,
    OutcomeSerializer,
    QuorumInputSerializer,
    RequiredReasonSerializer,
    RescheduleInputSerializer,
    RollCallInputSerializer,
    SessionCreateSerializer,
    SessionSerializer,
    VoteInputSerializer,
)


class CommitteeQuorumView(generics.GenericAPIView):
    """Set the quorum rule (clinicians at least 1, patient representatives at least 0).
    Refused (409) while one of the committee's sessions sits."""

    # ``POST /committees/{id}/quorum/`` sits with the composition routes but is served here: the
    # rule may not change while a session sits. The committee is read through the composition
    # selector, so one the caller may not see is a 404. ``name`` keeps the route's OPTIONS answer.
    name = "Quorum"
    serializer_class = CommitteeSerializer

    def get_queryset(self):
        return committee_list_for_user(self.request.user)

    @extend_schema(request=QuorumInputSerializer,
                   responses={200: CommitteeSerializer, 409: OpenApiResponse(description="A session sits.")})
    def post(self, request, pk=None):
        committee = self.get_object()
        data = QuorumInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.committee_set_quorum(actor=request.user, committee=committee, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=committee.pk)).data)


class SessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Committee sessions: planning, the sitting (attendance, agenda), closing, signing the minutes.
    Querysets come from the selectors, so a session of another committee is a 404."""

    serializer_class = SessionSerializer
    service_object_name = "session"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Session.objects.none()
        return selectors.session_list_for_user(self.request.user)

    def represent(self, obj):
        return self.get_serializer(obj).data

    def _fresh(self, pk):
        return self.represent(self.get_queryset().get(pk=pk))

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionSerializer})
    def create(self, request):
        data = SessionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["committee"] = get_object_or_404(Committee, pk=values["committee"])
        session = services.session_create(actor=request.user, **values)
        return Response(self._fresh(session.pk), status=status.HTTP_201_CREATED)

    start = transition_action("start", services.session_start, responses=SessionSerializer)
    close = transition_action("close", services.session_close, responses=SessionSerializer)
    sign = transition_action("sign", services.session_sign, responses=SessionSerializer)
    cancel = transition_action("cancel", services.session_cancel, input_serializer=RequiredReasonSerializer,
                               responses=SessionSerializer)

    @extend_schema(request=None, responses=SessionSerializer)
    @action(detail=True, methods=["post"], url_path="refresh-agenda", url_name="refresh-agenda")
    def refresh_agenda(self, request, pk=None):
        """Add to the agenda what has come up since the session was planned."""
        session = self.get_object()
        services.session_refresh_agenda(actor=request.user, session=session)
        return Response(self._fresh(session.pk))

    @extend_schema(request=AddItemSerializer, responses={201: AgendaItemSerializer})
    @action(detail=True, methods=["post"], url_path="add-item", url_name="add-item")
    def add_item(self, request, pk=None):
        """Other business, put on the agenda by hand."""
        session = self.get_object()
        data = AddItemSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.session_add_item(actor=request.user, session=session, **data.validated_data)
        fresh = selectors.agenda_item_list_for_user(request.user).get(pk=item.pk)
        return Response(AgendaItemSerializer(fresh, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=AttendanceInputSerializer, responses=SessionSerializer)
    @action(detail=True, methods=["post"])
    def attendance(self, request, pk=None):
        """Record a member's presence while the session sits."""
        session = self.get_object()
        data = AttendanceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = Member.objects.filter(pk=data.validated_data["member"]).first()
        if member is None:
            raise ValidationFailed("Unknown member.", extra={"member": ["not found"]})
        services.attendance_record(actor=request.user, session=session, member=member,
                                   status=data.validated_data["status"])
        return Response(self._fresh(session.pk))

    @extend_schema(request=RollCallInputSerializer, responses=SessionSerializer)
    @action(detail=True, methods=["post"], url_path="roll-call", url_name="roll-call")
    def roll_call(self, request, pk=None):
        """Record every member's attendance at once while the session sits (all or nothing)."""
        session = self.get_object()
        data = RollCallInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        statuses = {}
        for key, value in data.validated_data["statuses"].items():
            if not str(key).isdigit():
                raise ValidationFailed(f"Unknown member “{key}”.", extra={"statuses": [f"{key}: not a member id"]})
            statuses[int(key)] = value
        services.attendance_record_all(actor=request.user, session=session, statuses=statuses)
        return Response(self._fresh(session.pk))

    @extend_schema(request=RescheduleInputSerializer, responses=SessionSerializer)
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        """Move a planned session; the members get the updated calendar invitation."""
        session = self.get_object()
        data = RescheduleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.session_reschedule(actor=request.user, session=session, **data.validated_data)
        return Response(self._fresh(session.pk))

    @extend_schema(request=CommentInputSerializer, responses={200: CommentSerializer(many=True),
                                                              201: CommentSerializer})
    @action(detail=True, methods=["get", "post"])
    def comments(self, request, pk=None):
        """The members' comments on the session's draft minutes and visible items (GET), or a new
        comment on the draft minutes (POST), until they are signed."""
        session = self.get_object()
        if request.method == "POST":
            data = CommentInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            comment = services.comment_add(actor=request.user, session=session, text=data.validated_data["text"])
            return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
        withheld = {i.pk for i in session.items.all() if i.is_blind_for_caller}
        comments = [c for c in selectors.session_comment_list(session) if c.item_id not in withheld]
        return Response(CommentSerializer(comments, many=True).data)

    @extend_schema(responses=MinutesSerializer)
    @action(detail=True, methods=["get"])
    def minutes(self, request, pk=None):
        """The signed minutes exactly as frozen (with their SHA-256), or, before signature, a
        draft preview rendered now. For a caller who still reads one of the session's cases blind,
        the passage on that case is replaced by a neutral mention (``withheld_passages``); minutes
        signed before passages were marked are then withheld whole (403)."""
        session = self.get_object()
        items = list(session.items.all())
        blind = {i.campaign_case_id for i in items if i.campaign_case_id and i.is_blind_for_caller}
        signed = session.state == SessionState.SIGNED
        html = session.minutes_html if signed else render_minutes(session)
        shown = minutes_for_reader(html, blind, blind)
        if shown is None:
            raise Forbidden("You still read a case of this session blind: its minutes are withheld from you.")
        body = {"session": session.pk, "is_draft": not signed, "minutes_html": shown,
                "minutes_sha256": session.minutes_sha256 if signed else None,
                "signed_at": session.signed_at if signed else None, "withheld_passages": len(blind)}
        return Response(MinutesSerializer(body).data)


class AgendaItemViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One agenda item, its decision (under quorum, by the chair) or its deferral."""

    serializer_class = AgendaItemSerializer
    service_object_name = "item"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AgendaItem.objects.none()
        return selectors.agenda_item_list_for_user(self.request.user)

    def represent(self, obj):
        return self.get_serializer(obj).data

    decide = transition_action("decide", services.decision_record, input_serializer=DecisionInputSerializer,
                               responses=AgendaItemSerializer)

    @extend_schema(request=VoteInputSerializer, responses=AgendaItemSerializer)
    @action(detail=True, methods=["post"])
    def vote(self, request, pk=None):
        """A present member's own vote on the item; with ``member``, the chair's record of another
        present member's vote on their behalf."""
        item = self.get_object()
        if item.is_blind_for_caller:
            raise Forbidden("You still read this case blind.")
        data = VoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        member_id = values.pop("member")
        member = None
        if member_id is not None:
            member = Member.objects.select_related("user").filter(pk=member_id,
                                                                  committee_id=item.session.committee_id).first()
            if member is None:
                raise ValidationFailed("Unknown member.", extra={"member": ["not a member of this committee"]})
        services.vote_cast(actor=request.user, item=item, member=member, **values)
        return Response(self.represent(self.get_queryset().get(pk=item.pk)))

    @extend_schema(request=CommentInputSerializer, responses={201: CommentSerializer})
    @action(detail=True, methods=["post"])
    def comments(self, request, pk=None):
        """A member's comment on the item, until the minutes are signed."""
        item = self.get_object()
        if item.is_blind_for_caller:
            raise Forbidden("You still read this case blind.")
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.comment_add(actor=request.user, session=item.session, item=item,
                                       text=data.validated_data["text"])
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
    defer = transition_action("defer", services.item_defer, responses=AgendaItemSerializer)


class ActionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Corrective and preventive actions: the committee's, and those the caller owns."""

    serializer_class = ActionSerializer
    service_object_name = "action"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Action.objects.none()
        return selectors.action_list_for_user(self.request.user)

    def represent(self, obj):
        return self.get_serializer(obj).data

    @extend_schema(request=ActionCreateSerializer, responses={201: ActionSerializer})
    def create(self, request):
        data = ActionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        committee = get_object_or_404(Committee, pk=values.pop("committee"))
        ensure(perms.can_manage_actions(request.user, committee.pk),
               "Only the committee's officers or the quality team can create actions.")
        owner = get_user_model().objects.filter(pk=values.pop("owner")).first()
        if owner is None:
            raise ValidationFailed("Unknown owner.", extra={"owner": ["not found"]})
        decision_id = values.pop("decision")
        decision = None
        if decision_id is not None:
            decision = selectors.decision_for_user(request.user, decision_id)
            if decision is None:
                raise ValidationFailed("Unknown decision.", extra={"decision": ["not found"]})
        ai_system_id = values.pop("ai_system")
        ai_system = get_object_or_404(AISystem, pk=ai_system_id) if ai_system_id is not None else None
        created = services.action_create(actor=request.user, committee=committee, owner=owner, decision=decision,
                                         ai_system=ai_system, **values)
        return Response(self.represent(self.get_queryset().get(pk=created.pk)), status=status.HTTP_201_CREATED)

    start = transition_action("start", services.action_start, responses=ActionSerializer)
    complete = transition_action("complete", services.action_complete, input_serializer=OutcomeSerializer,
                                 responses=ActionSerializer)
    cancel = transition_action("cancel", services.action_cancel, input_serializer=RequiredReasonSerializer,
                               responses=ActionSerializer)
