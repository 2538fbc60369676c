"""Campaign, assignment and campaign-case endpoints. Views validate input, call one service and
serialize with the caller's audience serializer; querysets come from the selectors, so an object
the caller may not see is a 404."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.models import AISystem
from committees.models import Committee
from common.api import transition_action
from common.exceptions import Forbidden, ValidationFailed, ensure

from .. import permissions as perms
from .. import selectors, services
from ..models import Assignment, Campaign, CampaignCase
from .serializers import (
    AdjudicationInputSerializer,
    AdjudicationSerializer,
    AssignmentBlindSerializer,
    AssignmentStaffSerializer,
    AssignmentUnblindedSerializer,
    CampaignCaseSerializer,
    CampaignCreateSerializer,
    CampaignReviewerSerializer,
    CampaignSerializer,
    ClassificationInputSerializer,
    DeclineSerializer,
    DraftInputSerializer,
    DraftSerializer,
    PlanQuerySerializer,
    ProtocolDeviationInputSerializer,
    ProtocolDeviationSerializer,
    ReasonSerializer,
    ReassignSerializer,
    ThirdReadingInputSerializer,
    VerdictInputSerializer,
    assignment_serializer_for,
    queue_rows,
)


class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    service_object_name = "campaign"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Campaign.objects.none()
        return selectors.campaign_list_for_user(self.request.user)

    def get_serializer_class(self):
        # The schema documents the full representation; a caller gets it per campaign (``represent``).
        return CampaignSerializer

    def serializer_for(self, obj, blind_campaign_ids: frozenset[int] | None = None):
        """The full serializer for callers who may see the design of ``obj``; the reduced one
        (no design, protocol, strata, sizes, seed or population) for anyone else, including any
        role that still reads the campaign blind."""
        if perms.can_view_campaign_design(self.request.user, obj, blind_campaign_ids=blind_campaign_ids):
            return CampaignSerializer
        return CampaignReviewerSerializer

    def represent(self, obj, blind_campaign_ids: frozenset[int] | None = None):
        cls = self.serializer_for(obj, blind_campaign_ids)
        return cls(obj, context=self.get_serializer_context()).data

    @extend_schema(responses=PolymorphicProxySerializer(
        component_name="CampaignForCaller", serializers=[CampaignSerializer, CampaignReviewerSerializer],
        resource_type_field_name=None,
    ))
    def retrieve(self, request, pk=None):
        return Response(self.represent(self.get_object()))

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        blind = perms.blind_campaign_ids_of(request.user)  # one query for the whole page
        return self.get_paginated_response([self.represent(c, blind) for c in page])

    @extend_schema(request=CampaignCreateSerializer, responses={201: CampaignSerializer})
    def create(self, request):
        ensure(perms.can_create_campaign(request.user), "Only the quality team can create campaigns.")
        data = CampaignCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["ai_system"] = get_object_or_404(AISystem, pk=values["ai_system"])
        values["committee"] = get_object_or_404(Committee, pk=values["committee"])
        campaign = services.campaign_create(actor=request.user, **values)
        return Response(self.represent(self.get_queryset().get(pk=campaign.pk)), status=status.HTTP_201_CREATED)

    schedule = transition_action("schedule", services.campaign_schedule, responses=CampaignSerializer)
    draw_sample = transition_action("draw_sample", services.campaign_draw_sample, responses=CampaignSerializer)
    start_review = transition_action("start_review", services.campaign_start_review, responses=CampaignSerializer)
    close_review = transition_action("close_review", services.campaign_close_review, responses=CampaignSerializer)
    start_analysis = transition_action(
        "start_analysis", services.campaign_start_analysis, responses=CampaignSerializer)
    publish = transition_action("publish", services.campaign_publish, responses=CampaignSerializer)
    archive = transition_action("archive", services.campaign_archive, responses=CampaignSerializer)
    cancel = transition_action(
        "cancel", services.campaign_cancel, input_serializer=ReasonSerializer, responses=CampaignSerializer)

    @extend_schema(parameters=[PlanQuerySerializer], responses={200: dict})
    @action(detail=False, methods=["get"])
    def plan(self, request):
        """Sample-size planner and strata preview for the campaign wizard (quality team only:
        strata may be built on the AI output)."""
        ensure(perms.can_create_campaign(request.user), "Only the quality team can plan campaigns.")
        query = PlanQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = dict(query.validated_data)
        if "ai_system" in values:
            values["ai_system"] = get_object_or_404(AISystem, pk=values["ai_system"])
        values["sites"] = [s.strip() for s in values.pop("sites", "").split(",") if s.strip()]
        try:
            return Response(selectors.campaign_plan(**values))
        except ValueError as exc:
            raise ValidationFailed(f"The plan is not valid: {exc}", extra={"design": [str(exc)]}) from exc

    @extend_schema(methods=["GET"], responses=ProtocolDeviationSerializer(many=True))
    @extend_schema(methods=["POST"], request=ProtocolDeviationInputSerializer,
                   responses={201: ProtocolDeviationSerializer})
    @action(detail=True, methods=["get", "post"])
    def deviations(self, request, pk=None):
        """Deviations from the frozen protocol, with their reasons (GET lists, POST records)."""
        campaign = self.get_object()
        if request.method == "POST":
            data = ProtocolDeviationInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            deviation = services.protocol_deviation_record(actor=request.user, campaign=campaign,
                                                           **data.validated_data)
            return Response(ProtocolDeviationSerializer(deviation).data, status=status.HTTP_201_CREATED)
        if not perms.can_view_deviations(request.user, campaign):
            raise Forbidden("You cannot see this campaign's protocol deviations (pending blind reviews or role).")
        page = self.paginate_queryset(selectors.protocol_deviation_list(campaign))
        return self.get_paginated_response(ProtocolDeviationSerializer(page, many=True).data)

    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """Concordance summary: AI vs the clinicians' reference, agreement between clinicians."""
        campaign = self.get_object()
        if not perms.can_view_campaign_results(request.user, campaign):
            raise Forbidden("You cannot see this campaign's results (pending blind reviews or role).")
        return Response({"campaign": campaign.pk, **selectors.campaign_results(campaign)})

    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        campaign = self.get_object()
        ensure(perms.can_view_campaign_progress(request.user, campaign),
               "You cannot see this campaign's progress (pending blind reviews or role).")
        return Response({"campaign": campaign.pk, **selectors.campaign_progress(campaign)})

    @extend_schema(responses=CampaignCaseSerializer(many=True))
    @action(detail=True, methods=["get"])
    def cases(self, request, pk=None):
        campaign = self.get_object()
        if not selectors.can_list_campaign_cases(request.user, campaign):
            raise Forbidden("Case-level results are for the quality team and the committee officers, "
                            "without blind reviews pending in the campaign.")
        page = self.paginate_queryset(selectors.campaign_case_list_for_user(request.user, campaign))
        return self.get_paginated_response(CampaignCaseSerializer(page, many=True).data)


class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    service_object_name = "assignment"
    # Actions whose service locks the row with its joins itself: the view only needs to know that
    # the caller may reach it (404 otherwise), in one query without joins.
    WRITE_ACTIONS = frozenset({"open", "submit", "unblind", "classify", "decline", "expire", "reassign", "draft"})

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Assignment.objects.none()
        if self.action in self.WRITE_ACTIONS:
            return selectors.assignment_scope_for_user(self.request.user)
        return selectors.assignment_list_for_user(self.request.user)

    def get_serializer_class(self):
        # Lists are always blind for reviewers: the queue never carries sealed data.
        if getattr(self, "swagger_fake_view", False):
            return AssignmentBlindSerializer
        return assignment_serializer_for(self.request.user)

    def list(self, request):
        """The quality team's list through the staff serializer; a reviewer's queue through the
        slim queue rows (one flat query, the blind serializer's exact shape)."""
        if perms.is_campaign_manager(request.user):
            return super().list(request)
        page = self.paginate_queryset(selectors.assignment_queue_for_user(request.user))
        return self.get_paginated_response(queue_rows(page, request.user))

    def represent(self, obj):
        cls = assignment_serializer_for(self.request.user, obj)
        return cls(obj, context=self.get_serializer_context()).data

    @extend_schema(responses=PolymorphicProxySerializer(
        component_name="AssignmentForCaller",
        serializers=[AssignmentBlindSerializer, AssignmentUnblindedSerializer, AssignmentStaffSerializer],
        resource_type_field_name=None,
    ))
    def retrieve(self, request, pk=None):
        return Response(self.represent(self.get_object()))

    @extend_schema(methods=["GET"], responses=DraftSerializer)
    @extend_schema(methods=["PUT"], request=DraftInputSerializer, responses=DraftSerializer)
    @action(detail=True, methods=["get", "put"])
    def draft(self, request, pk=None):
        """The reviewer's unlocked verdict form (GET reads it, PUT replaces it): private to the
        assigned reviewer (403 for anyone else who may see the assignment, 404 otherwise); saved
        only while the assignment is opened in a campaign under review (409). Deleted when the
        verdict is locked or the review ends."""
        if request.method == "PUT":
            data = DraftInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            # Found in the caller's scope by the query that locks it (404 outside).
            draft = services.assignment_save_draft(actor=request.user, assignment=Assignment(pk=pk),
                                                   data=dict(data.validated_data), scope=self.get_queryset())
            return Response({"assignment": draft.assignment_id, "data": draft.data})
        assignment = self.get_object()
        ensure(perms.is_assignee(request.user, assignment), "Only the assigned reviewer can read their draft.")
        return Response({"assignment": assignment.pk, "data": services.assignment_draft_data(assignment)})

    # The assignment services return the row they locked, with everything its representation
    # reads joined (``services.assignments._lock_assignment``) and the verdict or classification
    # they created attached: the answer needs no second read. The reviewer's own steps are
    # ``scoped``: the service finds the row in the caller's scope with the query that locks it.
    open = transition_action("open", services.assignment_open, reread=False, scoped=True)
    submit = transition_action("submit", services.assignment_submit, input_serializer=VerdictInputSerializer,
                               as_data=True, reread=False, scoped=True)
    unblind = transition_action("unblind", services.assignment_unblind, reread=False, scoped=True)
    classify = transition_action("classify", services.assignment_classify,
                                 input_serializer=ClassificationInputSerializer, reread=False, scoped=True)
    decline = transition_action("decline", services.assignment_decline, input_serializer=DeclineSerializer,
                                reread=False)
    expire = transition_action("expire", services.assignment_expire, reread=False)
    reassign = transition_action("reassign", services.assignment_reassign, input_serializer=ReassignSerializer,
                                 reread=False)


class CampaignCaseViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CampaignCaseSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CampaignCase.objects.none()
        return selectors.campaign_case_list_for_user(self.request.user)

    @extend_schema(request=AdjudicationInputSerializer, responses=AdjudicationSerializer)
    @action(detail=True, methods=["post"])
    def adjudicate(self, request, pk=None):
        campaign_case = self.get_object()
        data = AdjudicationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        adjudication = services.adjudication_record(actor=request.user, campaign_case=campaign_case,
                                                    **data.validated_data)
        return Response(AdjudicationSerializer(adjudication).data)

    @extend_schema(request=ThirdReadingInputSerializer, responses={201: CampaignCaseSerializer})
    @action(detail=True, methods=["post"], url_path="third-reading", url_name="third-reading")
    def third_reading(self, request, pk=None):
        """Ask one more clinician for a blind reading of a case whose readers disagree (409 when the
        case does not need it, one is pending, or nobody eligible is left)."""
        campaign_case = self.get_object()
        data = ThirdReadingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.third_reading_request(actor=request.user, campaign_case=campaign_case, **data.validated_data)
        fresh = self.get_queryset().get(pk=campaign_case.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)
