from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..enums import DatePrecision, IdentifierPolicy, ImportFormat, OutputType
from ..importing.batches import progress_figures
from ..models import AISystem, Case, ImportBatch, ImportProfile


class AISystemSerializer(serializers.ModelSerializer):
    class Meta:
        model = AISystem
        fields = ["id", "name", "vendor", "version", "intended_use", "ce_class", "output_type", "labels",
                  "positive_label", "score_threshold", "acceptance_thresholds", "patient_information", "is_active",
                  "created_at", "public_purpose", "ce_number", "human_oversight", "how_to_object", "public_contact"]
        read_only_fields = fields


class AISystemPatientInformationSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=True)


class AISystemPublicProfileSerializer(serializers.Serializer):
    """The public register's fields of an AI system; each optional (PATCH), rules in the service."""

    vendor = serializers.CharField(max_length=120, required=False, allow_blank=True)
    ce_class = serializers.CharField(max_length=20, required=False, allow_blank=True)
    ce_number = serializers.CharField(max_length=60, required=False, allow_blank=True)
    public_purpose = serializers.CharField(max_length=4000, required=False, allow_blank=True, trim_whitespace=False)
    human_oversight = serializers.CharField(max_length=4000, required=False, allow_blank=True,
                                            trim_whitespace=False)
    how_to_object = serializers.CharField(max_length=4000, required=False, allow_blank=True, trim_whitespace=False)
    public_contact = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


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
                  "patient_informed", "is_opted_out", "blinding_flags", "key_id", "import_batch", "created_at"]
        read_only_fields = fields


class ImportBatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportBatch
        fields = ["id", "ai_system", "filename", "file_sha256", "format", "status", "key_id", "rows_total",
                  "rows_created", "rows_updated", "rows_unchanged", "rows_rejected", "errors", "created_at"]
        read_only_fields = fields


class ImportProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    expected = serializers.IntegerField(allow_null=True)
    rate = serializers.IntegerField(allow_null=True, help_text="rows per second")
    eta = serializers.FloatField(allow_null=True, help_text="seconds left")
    percent = serializers.IntegerField(allow_null=True)


class ImportBatchDetailSerializer(ImportBatchSerializer):
    """The same with the profile, the dry-run flag, redactions and warnings (identifiers redacted,
    text that would unblind a reviewer)."""

    progress = serializers.SerializerMethodField()

    class Meta(ImportBatchSerializer.Meta):
        fields = [*ImportBatchSerializer.Meta.fields, "profile", "is_dry_run", "identifier_policy",
                  "rows_redacted", "warnings", "failure", "progress"]
        read_only_fields = fields

    @extend_schema_field(ImportProgressSerializer)
    def get_progress(self, batch: ImportBatch) -> dict:
        """Rows done and expected, rows/s and seconds left, read from the batch row (written by
        the task worker as it goes; see ``importing.batches.ProgressRecorder``)."""
        return progress_figures(batch)


class ImportUploadSerializer(serializers.Serializer):
    ai_system = serializers.PrimaryKeyRelatedField(queryset=AISystem.objects.all())
    file = serializers.FileField()
    format = serializers.ChoiceField(ImportFormat.choices, required=False, allow_null=True, default=None)
    profile = serializers.PrimaryKeyRelatedField(queryset=ImportProfile.objects.all(), required=False,
                                                 allow_null=True, default=None)
    dry_run = serializers.BooleanField(required=False, default=False)
    background = serializers.BooleanField(
        required=False, default=False,
        help_text="Queue the file for the task worker and answer 202 at once, instead of importing it "
                  "during the request.")


class ImportProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportProfile
        fields = ["id", "name", "ai_system", "source", "format", "columns", "identifier_columns",
                  "identifier_policy", "date_precision", "created_at"]
        read_only_fields = fields


class ImportProfileCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    ai_system = serializers.PrimaryKeyRelatedField(queryset=AISystem.objects.all())
    source = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    format = serializers.ChoiceField(ImportFormat.choices, required=False, default=ImportFormat.CSV)
    columns = serializers.DictField(child=serializers.CharField(max_length=120), required=False, default=dict)
    identifier_columns = serializers.ListField(child=serializers.CharField(max_length=120), required=False,
                                               default=list)
    identifier_policy = serializers.ChoiceField(IdentifierPolicy.choices, required=False,
                                                default=IdentifierPolicy.REJECT)
    date_precision = serializers.ChoiceField(DatePrecision.choices, required=False, default=DatePrecision.DAY)


class OptOutInputSerializer(serializers.Serializer):
    patient_ids = serializers.ListField(child=serializers.CharField(max_length=120), min_length=1,
                                        max_length=100_000)


class OptOutResultSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    already = serializers.IntegerField()
    cases_flagged = serializers.IntegerField()


class BlindingMentionSerializer(serializers.Serializer):
    field = serializers.CharField()
    mention = serializers.CharField()


class FlaggedCaseSerializer(serializers.ModelSerializer):
    """A case held out of sampling for the quality team: the flagged reviewer-visible text and
    what was found in it."""

    ai_system_name = serializers.CharField(source="ai_system.name", read_only=True)
    blinding_flags = BlindingMentionSerializer(many=True, read_only=True)

    class Meta:
        model = Case
        fields = ["id", "ai_system", "ai_system_name", "exam_date", "site", "service", "clinical_context",
                  "report_text", "blinding_flags", "blinding_review", "import_batch"]
        read_only_fields = fields


class BlindingClearSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class BlindingRedactSerializer(serializers.Serializer):
    clinical_context = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    report_text = serializers.CharField(required=False, allow_blank=True, max_length=20000)
