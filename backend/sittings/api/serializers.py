"""Sessions, agenda items, decisions, corrective actions and the quorum rule: read-only output
serializers (state is only ever changed by the services) and explicit input serializers.

An agenda item about a case the caller still reads blind is withheld: only its position and kind
are shown (see ``AgendaItemSerializer.to_representation``). No serializer here has a field for the
AI output, the clinician's final decision or a score."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.fields import IdField
from common.fsm import available_transitions

from .. import permissions as perms
from ..enums import AgendaItemState, SessionState, VoteChoice
from ..models import Action, AgendaItem, Attendance, Comment, Decision, Session, Vote
from ..quorum import prefetched_quorum


def _item_can_decide(user, item) -> bool:
    return (item.session.state == SessionState.OPEN and perms.can_record_decision(user, item.session)
            and not getattr(item, "is_blind_for_caller", True))


def _item_can_defer(user, item) -> bool:
    return item.session.state in (SessionState.PLANNED, SessionState.OPEN) and perms.can_run_session(
        user, item.session)


ITEM_TRANSITIONS = {"decide": _item_can_decide, "defer": _item_can_defer}


class _CallerTransitions(serializers.Serializer):
    available_transitions = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_transitions(self, obj) -> list[str]:
        return available_transitions(obj, self.context["request"].user, self.transition_permissions)


class VoteSerializer(serializers.ModelSerializer):
    member = IdField(source="member_id")
    display_name = serializers.CharField(source="member.user.display_name", read_only=True)
    seat = serializers.CharField(source="member.role", read_only=True)

    class Meta:
        model = Vote
        fields = ["member", "display_name", "seat", "choice", "dissent", "on_behalf"]
        read_only_fields = fields


class DecisionSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    is_unanimous = serializers.BooleanField(read_only=True)

    class Meta:
        model = Decision
        fields = ["id", "summary", "text", "reference_label", "votes_for", "votes_against", "votes_abstain",
                  "is_unanimous", "dissent", "recorded_by", "recorded_at"]
        read_only_fields = fields


class AgendaItemSerializer(_CallerTransitions, serializers.ModelSerializer):
    """An agenda item. For a caller who still reads the item's case blind, only ``id``,
    ``session``, ``position``, ``kind`` and ``is_withheld`` are sent."""

    transition_permissions = ITEM_TRANSITIONS
    state = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    is_withheld = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()
    votes = VoteSerializer(many=True, read_only=True)

    class Meta:
        model = AgendaItem
        fields = ["id", "session", "position", "kind", "is_withheld", "title", "reasons", "state",
                  "campaign_case", "action", "vigilance_report", "decision", "votes", "available_transitions"]
        read_only_fields = fields

    def get_is_withheld(self, obj) -> bool:
        return bool(getattr(obj, "is_blind_for_caller", True))

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, obj):
        decision = getattr(obj, "decision", None) if obj.state == AgendaItemState.DECIDED else None
        return DecisionSerializer(decision).data if decision else None

    def to_representation(self, instance):
        if getattr(instance, "is_blind_for_caller", True):
            return {"id": instance.pk, "session": instance.session_id, "position": instance.position,
                    "kind": instance.kind, "is_withheld": True}
        return super().to_representation(instance)


class AttendanceSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="member.user_id", read_only=True)
    username = serializers.CharField(source="member.user.username", read_only=True)
    display_name = serializers.CharField(source="member.user.display_name", read_only=True)
    seat = serializers.CharField(source="member.role", read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Attendance
        fields = ["id", "member", "user", "username", "display_name", "seat", "status"]
        read_only_fields = fields


class QuorumSerializer(serializers.Serializer):
    clinicians_present = serializers.IntegerField()
    clinicians_needed = serializers.IntegerField()
    patient_reps_present = serializers.IntegerField()
    patient_reps_needed = serializers.IntegerField()
    present = serializers.IntegerField()
    needed = serializers.IntegerField()
    is_met = serializers.BooleanField()
    description = serializers.CharField()


def quorum_of(session) -> dict:
    """The quorum from the prefetched attendances (``quorum.prefetched_quorum``): no query per
    session."""
    q = prefetched_quorum(session)
    return {"clinicians_present": q.clinicians_present, "clinicians_needed": q.clinicians_needed,
            "patient_reps_present": q.patient_reps_present, "patient_reps_needed": q.patient_reps_needed,
            "present": q.present, "needed": q.clinicians_needed + q.patient_reps_needed, "is_met": q.is_met,
            "description": q.describe()}


class SessionSerializer(_CallerTransitions, serializers.ModelSerializer):
    transition_permissions = perms.SESSION_TRANSITIONS
    state = serializers.CharField(read_only=True)
    committee_name = serializers.CharField(source="committee.name", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    signed_by = serializers.CharField(source="signed_by.username", read_only=True, default=None)
    attendances = AttendanceSerializer(many=True, read_only=True)
    quorum = serializers.SerializerMethodField()
    items = AgendaItemSerializer(many=True, read_only=True)

    class Meta:
        model = Session
        fields = ["id", "committee", "committee_name", "title", "scheduled_at", "place", "video_link", "state",
                  "created_by", "opened_at", "closed_at", "signed_at", "signed_by", "minutes_sha256",
                  "cancel_reason", "attendances", "quorum", "items", "available_transitions"]
        read_only_fields = fields

    @extend_schema_field(QuorumSerializer)
    def get_quorum(self, obj) -> dict:
        return quorum_of(obj)


class SessionCreateSerializer(serializers.Serializer):
    committee = IdField()
    title = serializers.CharField(max_length=160)
    scheduled_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    video_link = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


class RequiredReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class AddItemSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)


class AttendanceInputSerializer(serializers.Serializer):
    member = IdField()
    status = serializers.CharField(max_length=10, help_text="present, excused or absent")


class DecisionInputSerializer(serializers.Serializer):
    summary = serializers.CharField(max_length=10000)
    text = serializers.CharField(max_length=10000)
    votes_for = serializers.IntegerField(
        min_value=0, max_value=100, required=False, allow_null=True, default=None,
        help_text="Leave out: the decision counts the present members' votes (``vote``). Given without any "
                  "member's vote, a show of hands counted by the chair.")
    votes_against = serializers.IntegerField(min_value=0, max_value=100, default=0)
    votes_abstain = serializers.IntegerField(min_value=0, max_value=100, default=0)
    dissent = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    reference_label = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class VoteInputSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=VoteChoice.choices)
    dissent = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    member = IdField(required=False, allow_null=True, default=None,
                     help_text="The chair recording a present member's vote on their behalf: that member's seat id.")


class CommentInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.display_name", read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "session", "subject", "item", "author", "text", "created_at"]
        read_only_fields = fields


class RollCallInputSerializer(serializers.Serializer):
    statuses = serializers.DictField(child=serializers.CharField(max_length=10),
                                     help_text="{member id: present, excused or absent}, every row at once")


class RescheduleInputSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    video_link = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


class MinutesSerializer(serializers.Serializer):
    session = IdField()
    is_draft = serializers.BooleanField()
    minutes_html = serializers.CharField()
    minutes_sha256 = serializers.CharField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    withheld_passages = serializers.IntegerField(
        help_text="Passages on a case the caller still reads blind, replaced by a neutral mention (the hash is "
                  "that of the full minutes).")


class ActionSerializer(_CallerTransitions, serializers.ModelSerializer):
    transition_permissions = perms.ACTION_TRANSITIONS
    state = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    committee_name = serializers.CharField(source="committee.name", read_only=True)
    owner_username = serializers.CharField(source="owner.username", read_only=True)
    owner_display_name = serializers.CharField(source="owner.display_name", read_only=True)
    ai_system_name = serializers.CharField(source="ai_system.name", read_only=True, default=None)
    session = IdField(source="decision.item.session_id", read_only=True, default=None)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Action
        fields = ["id", "committee", "committee_name", "decision", "session", "ai_system", "ai_system_name",
                  "kind", "title", "description", "owner", "owner_username", "owner_display_name", "due_date",
                  "state", "is_overdue", "started_at", "completed_at", "outcome", "cancel_reason", "created_at",
                  "available_transitions"]
        read_only_fields = fields


class ActionCreateSerializer(serializers.Serializer):
    committee = IdField()
    kind = serializers.CharField(max_length=20, help_text="See sittings.enums.ActionKind.")
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    owner = serializers.IntegerField()
    due_date = serializers.DateField()
    decision = serializers.IntegerField(required=False, allow_null=True, default=None)
    ai_system = IdField(required=False, allow_null=True, default=None)


class OutcomeSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=10000)


class QuorumInputSerializer(serializers.Serializer):
    """The quorum rule; the service checks the bounds (clinicians at least 1, patient
    representatives at least 0)."""

    clinicians = serializers.IntegerField(help_text="Clinicians (clinician or chair seats) present; at least 1.")
    patient_reps = serializers.IntegerField(help_text="Patient representatives present; at least 0.")
