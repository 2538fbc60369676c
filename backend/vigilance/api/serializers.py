"""Vigilance reports: a read-only output serializer with the art. 73 clock, explicit inputs."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.fields import IdField
from common.fsm import available_transitions

from .. import permissions as perms
from ..models import VigilanceReport


class ClockSerializer(serializers.Serializer):
    deadline = serializers.DateTimeField(allow_null=True)
    days_left = serializers.FloatField(allow_null=True)
    is_late = serializers.BooleanField()
    declared_in_time = serializers.BooleanField(allow_null=True)


class VigilanceReportSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)
    seriousness = serializers.CharField(read_only=True)
    committee_name = serializers.CharField(source="committee.name", read_only=True)
    ai_system_name = serializers.CharField(source="ai_system.name", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    declared_by = serializers.CharField(source="declared_by.username", read_only=True, default=None)
    needs_declaration = serializers.BooleanField(read_only=True)
    clock = serializers.SerializerMethodField()
    available_transitions = serializers.SerializerMethodField()

    class Meta:
        model = VigilanceReport
        fields = ["id", "committee", "committee_name", "ai_system", "ai_system_name", "ai_version",
                  "campaign_case", "event_date", "aware_at", "description", "seriousness", "patient_consequences",
                  "actions_taken", "state", "needs_declaration", "clock", "created_by", "created_at",
                  "declared_at", "declared_by", "declaration_reference", "closed_at", "closure_note",
                  "available_transitions"]
        read_only_fields = fields

    @extend_schema_field(ClockSerializer)
    def get_clock(self, obj) -> dict:
        return ClockSerializer(obj.clock()).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_transitions(self, obj) -> list[str]:
        # ``close`` closes a declared report, or a draft judged not serious (one API action).
        names = available_transitions(obj, self.context["request"].user, perms.VIGILANCE_TRANSITIONS)
        return list(dict.fromkeys("close" if n == "close_without_declaration" else n for n in names))


class VigilanceCreateSerializer(serializers.Serializer):
    committee = IdField()
    ai_system = IdField()
    event_date = serializers.DateField()
    description = serializers.CharField(max_length=10000)
    campaign_case = IdField(required=False, allow_null=True, default=None)
    ai_version = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    aware_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class VigilanceUpdateSerializer(serializers.Serializer):
    """Only the fields given are changed."""

    ai_version = serializers.CharField(max_length=40, required=False, allow_blank=True)
    event_date = serializers.DateField(required=False)
    aware_at = serializers.DateTimeField(required=False)
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    seriousness = serializers.CharField(max_length=30, required=False,
                                        help_text="See vigilance.enums.Seriousness.")
    patient_consequences = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    actions_taken = serializers.CharField(max_length=10000, required=False, allow_blank=True)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({f: ["not editable"] for f in sorted(unknown)})
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["nothing to change"]})
        return attrs


class DeclareSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=80, required=False, allow_blank=True, default="",
                                      help_text="The authority's reference of the declaration.")


class CloseSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=10000)
