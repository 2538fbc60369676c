from rest_framework import serializers

from cases.models import AISystem
from reports.models import Report

from ..enums import TextKind
from ..models import PublicText


class PublicTextSerializer(serializers.ModelSerializer):
    class Meta:
        model = PublicText
        fields = ["id", "kind", "ai_system", "report", "version", "state", "content", "submitted_at", "decided_at",
                  "rejection_reason", "published_at", "created_at", "updated_at"]
        read_only_fields = fields


class PublicTextCreateSerializer(serializers.Serializer):
    """A register entry names its AI system; a FALC text names its public report."""

    kind = serializers.ChoiceField(TextKind.choices)
    ai_system = serializers.PrimaryKeyRelatedField(queryset=AISystem.objects.all(), required=False)
    report = serializers.PrimaryKeyRelatedField(queryset=Report.objects.all(), required=False)

    def validate(self, attrs):
        needed = "ai_system" if attrs["kind"] == TextKind.REGISTER else "report"
        if needed not in attrs:
            raise serializers.ValidationError({needed: ["This field is required."]})
        return attrs


class PublicTextReviseSerializer(serializers.Serializer):
    lines = serializers.CharField(required=False, allow_blank=True, max_length=10000, trim_whitespace=False)


class PublicTextRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, max_length=10000)
