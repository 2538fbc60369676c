from rest_framework import serializers

from ..enums import ImportFormat, OutputType
from ..models import AISystem, Case, ImportBatch


class AISystemSerializer(serializers.ModelSerializer):
    class Meta:
        model = AISystem
        fields = ["id", "name", "vendor", "version", "intended_use", "ce_class", "output_type", "labels",
                  "positive_label", "score_threshold", "acceptance_thresholds", "is_active", "created_at"]
        read_only_fields = fields


class AISystemCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    vendor = serializers.CharField(max_length=120)
    version = serializers.CharField(max_length=40)
    intended_use = serializers.CharField()
    ce_class = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    output_type = serializers.ChoiceField(OutputType.choices)
    labels = serializers.ListField(child=serializers.CharField(max_length=40), min_length=2)
    positive_label = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    score_threshold = serializers.FloatField(required=False, allow_null=True, default=None)
    acceptance_thresholds = serializers.DictField(child=serializers.FloatField(), required=False, default=dict)

    def validate_name(self, value):
        if AISystem.objects.filter(name=value).exists():
            raise serializers.ValidationError("An AI system with this name exists already.")
        return value


class CaseSerializer(serializers.ModelSerializer):
    """Full case for the quality team. Never used for a reviewer."""

    class Meta:
        model = Case
        fields = ["id", "ai_system", "exam_date", "site", "service", "sex", "age_band", "clinical_context",
                  "report_text", "image_url", "ai_label", "ai_score", "ai_version", "final_label",
                  "patient_informed", "is_opted_out", "key_id", "import_batch", "created_at"]
        read_only_fields = fields


class ImportBatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportBatch
        fields = ["id", "ai_system", "filename", "file_sha256", "format", "status", "key_id", "rows_total",
                  "rows_created", "rows_updated", "rows_unchanged", "rows_rejected", "errors", "created_at"]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    ai_system = serializers.PrimaryKeyRelatedField(queryset=AISystem.objects.all())
    file = serializers.FileField()
    format = serializers.ChoiceField(ImportFormat.choices, required=False, allow_null=True, default=None)
