"""Read-only output serializers, one per audience, and explicit input serializers.

A reviewer's blind serializer has no field that could carry the AI output, the clinician's
final decision or another verdict: there is nothing to forget to hide. The unblinded serializer
is chosen only once the reviewer's own verdict is locked and they asked to unblind.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.fields import IdField
from common.fsm import available_transitions

from .. import permissions as perms
from ..enums import BLIND_CASE_FIELDS, BLIND_STATES, UNBLINDED_STATES, AdjudicationMethod, Discrepancy, YesNoUnknown
from ..models import Adjudication, Assignment, Campaign, CampaignCase, Classification, ProtocolDeviation, Verdict
from ..selectors import other_verdicts_for


class TransitionsMixin(serializers.Serializer):
    available_transitions = serializers.SerializerMethodField()
    transition_permissions: dict = {}
    transition_fires: dict = {}

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_transitions(self, obj) -> list[str]:
        return available_transitions(obj, self.context["request"].user, self.transition_permissions,
                                     self.transition_fires)


class CampaignSerializer(TransitionsMixin, serializers.ModelSerializer):
    transition_permissions = perms.CAMPAIGN_TRANSITIONS
    ai_system_name = serializers.CharField(source="ai_system.name", read_only=True)
    committee_name = serializers.CharField(source="committee.name", read_only=True)
    n_cases = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "state", "ai_system", "ai_system_name", "committee", "committee_name",
            "period_start", "period_end", "sites", "sample_size", "clinicians_per_case",
            "patient_reps_per_case", "exclude_own_service", "exclude_own_site", "required_specialty", "design",
            "reminder_days", "review_deadline", "seed", "population_size",
            "population_hash", "protocol", "scheduled_at", "published_at", "n_cases", "created_at",
            "available_transitions",
        ]
        read_only_fields = fields


class CampaignReviewerSerializer(serializers.ModelSerializer):
    """What a reviewer knows of a campaign they read for: no seed, no population, no protocol."""

    ai_system_name = serializers.CharField(source="ai_system.name", read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "state", "ai_system_name", "review_deadline"]
        read_only_fields = fields


class CampaignCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    ai_system = IdField()
    committee = IdField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    sites = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list)
    sample_size = serializers.IntegerField(min_value=1, max_value=100_000)
    review_deadline = serializers.DateField()
    clinicians_per_case = serializers.IntegerField(min_value=1, max_value=5, default=2)
    patient_reps_per_case = serializers.IntegerField(min_value=0, max_value=2, default=1)
    exclude_own_service = serializers.BooleanField(default=True)
    seed = serializers.IntegerField(min_value=0, max_value=2**62, required=False, allow_null=True, default=None)
    design = serializers.JSONField(required=False, default=dict,
                                   help_text="See reviews.sampling.Design: type, strata_by, allocation, sizes, "
                                             "oversample, score_bands.")
    exclude_own_site = serializers.BooleanField(default=False)
    required_specialty = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    reminder_days = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=60), required=False,
                                          max_length=5, default=None, allow_null=True)


class PlanQuerySerializer(serializers.Serializer):
    """Query of the sample-size planner: a precision target, and optionally the population
    (AI system, period, sites) and a design to preview the strata."""

    target = serializers.ChoiceField(["agreement", "sensitivity"], default="agreement")
    expected = serializers.FloatField(min_value=0.001, max_value=0.999, required=False)
    half_width = serializers.FloatField(min_value=0.001, max_value=0.5, default=0.05)
    confidence = serializers.FloatField(min_value=0.5, max_value=0.999, default=0.95)
    prevalence = serializers.FloatField(min_value=0.001, max_value=1, required=False)
    sample_size = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    ai_system = IdField(required=False)
    period_start = serializers.DateField(required=False)
    period_end = serializers.DateField(required=False)
    sites = serializers.CharField(required=False, allow_blank=True, default="",
                                  help_text="Comma-separated; empty means every site.")
    design = serializers.JSONField(required=False, default=dict)

    def validate(self, attrs):
        if attrs["target"] == "sensitivity" and "prevalence" not in attrs:
            raise serializers.ValidationError({"prevalence": ["required for a sensitivity target"]})
        if "ai_system" in attrs and not ("period_start" in attrs and "period_end" in attrs):
            raise serializers.ValidationError({"period_start": ["give the period with the AI system"]})
        return attrs


class ProtocolDeviationInputSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=5000)
    reason = serializers.CharField(max_length=5000)


class ProtocolDeviationSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)

    class Meta:
        model = ProtocolDeviation
        fields = ["id", "campaign", "created_at", "recorded_by", "campaign_state", "item", "description", "reason"]
        read_only_fields = fields


class ReassignSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    reviewer_id = IdField(required=False, allow_null=True, default=None)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class VerdictInputSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=40, required=False)
    confidence = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    rationale = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    patient_informed = serializers.ChoiceField(YesNoUnknown.choices, required=False)
    information_understandable = serializers.ChoiceField(YesNoUnknown.choices, required=False)
    rights_respected = serializers.ChoiceField(YesNoUnknown.choices, required=False)
    equity_concern = serializers.BooleanField(required=False, allow_null=True, default=None)
    comments = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class DraftInputSerializer(serializers.Serializer):
    """An unfinished verdict form: every field optional, nothing validated beyond its length (a
    draft may be incomplete); only the fields of the assignment's kind of review are kept."""

    label = serializers.CharField(max_length=40, required=False, allow_blank=True)
    confidence = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    rationale = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    patient_informed = serializers.ChoiceField(YesNoUnknown.choices, required=False, allow_blank=True)
    information_understandable = serializers.ChoiceField(YesNoUnknown.choices, required=False, allow_blank=True)
    rights_respected = serializers.ChoiceField(YesNoUnknown.choices, required=False, allow_blank=True)
    equity_concern = serializers.BooleanField(required=False, allow_null=True, default=None)
    comments = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class DraftSerializer(serializers.Serializer):
    """The reviewer's own saved draft (strings, as the form keeps them); empty when none."""

    assignment = serializers.IntegerField()
    data = serializers.DictField(child=serializers.CharField())


class ClassificationInputSerializer(serializers.Serializer):
    discrepancy = serializers.ChoiceField(Discrepancy.choices)
    would_have_changed = serializers.BooleanField()
    possible_adverse_event = serializers.BooleanField(default=False)
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class AdjudicationInputSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=40)
    reasoning = serializers.CharField(max_length=5000)
    method = serializers.ChoiceField(AdjudicationMethod.choices, default=AdjudicationMethod.CONSENSUS)


class ThirdReadingInputSerializer(serializers.Serializer):
    due_date = serializers.DateField(required=False, allow_null=True, default=None)


class VerdictSerializer(serializers.ModelSerializer):
    class Meta:
        model = Verdict
        fields = [
            "locked_at", "label", "confidence", "rationale", "patient_informed", "information_understandable",
            "rights_respected", "equity_concern", "comments",
        ]
        read_only_fields = fields


class ClassificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Classification
        fields = ["created_at", "discrepancy", "would_have_changed", "possible_adverse_event", "comment"]
        read_only_fields = fields


class BlindCaseSerializer(serializers.Serializer):
    """The reviewer-visible material of a case: its id and ``BLIND_CASE_FIELDS``, as text but the
    exam date. Deliberately not a ModelSerializer of Case; a subclass's declared fields follow."""

    def get_fields(self):
        blind = {name: serializers.DateField() if name == "exam_date" else serializers.CharField()
                 for name in BLIND_CASE_FIELDS}
        return {"id": serializers.IntegerField(source="pk"), **blind, **super().get_fields()}


class SealedCaseSerializer(BlindCaseSerializer):
    ai_label = serializers.CharField()
    ai_score = serializers.FloatField(allow_null=True)
    ai_version = serializers.CharField()
    final_label = serializers.CharField()


class _AssignmentBase(TransitionsMixin, serializers.ModelSerializer):
    transition_permissions = perms.ASSIGNMENT_TRANSITIONS
    transition_fires = perms.ASSIGNMENT_ACTION_FIRES
    campaign = CampaignReviewerSerializer(source="campaign_case.campaign", read_only=True)
    label_choices = serializers.ListField(source="campaign_case.campaign.ai_system.labels", read_only=True)
    is_blinded = serializers.BooleanField(read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "id", "kind", "state", "is_blinded", "due_date", "display_order", "campaign", "label_choices",
            "opened_at", "submitted_at", "unblinded_at", "available_transitions",
        ]
        read_only_fields = fields


class AssignmentBlindSerializer(_AssignmentBase):
    case = BlindCaseSerializer(source="campaign_case.case", read_only=True)
    verdict = serializers.SerializerMethodField()

    class Meta(_AssignmentBase.Meta):
        fields = [*_AssignmentBase.Meta.fields, "case", "verdict"]
        read_only_fields = fields

    @extend_schema_field(VerdictSerializer(allow_null=True))
    def get_verdict(self, obj):
        # Own verdict once locked (submitted but not yet unblinded): it is the reviewer's own answer.
        verdict = getattr(obj, "verdict", None) if obj.pk else None
        return VerdictSerializer(verdict).data if verdict else None


def queue_rows(rows, user) -> list[dict]:
    """A reviewer's queue page (``selectors.assignment_queue_for_user`` rows) in exactly the shape
    of ``AssignmentBlindSerializer`` (pinned by a test on every state), built from flat rows: the
    blind serializer's own fields format each value, and the available transitions, which depend
    only on the state for one's own assignment (django-fsm conditions: none; permissions: the
    caller is the assignee), are computed once per state. Blind by construction: the rows carry
    no sealed column."""
    date, when = serializers.DateField(), serializers.DateTimeField()
    verdict_fields = VerdictSerializer().fields
    transitions: dict[tuple[str, str], list[str]] = {}
    out = []
    for r in rows:
        state = r["state"]
        if (state, r["kind"]) not in transitions:
            transitions[state, r["kind"]] = available_transitions(
                Assignment(state=state, kind=r["kind"], reviewer_id=user.pk), user, perms.ASSIGNMENT_TRANSITIONS,
                perms.ASSIGNMENT_ACTION_FIRES)
        case = {"id": r["campaign_case__case_id"]}
        for name in BLIND_CASE_FIELDS:
            value = r[f"campaign_case__case__{name}"]
            case[name] = None if value is None else (date.to_representation(value) if name == "exam_date"
                                                     else str(value))
        verdict = None
        if r["verdict__id"] is not None:
            verdict = {}
            for name, field in verdict_fields.items():
                value = r[f"verdict__{name}"]
                verdict[name] = None if value is None else field.to_representation(value)
        out.append({
            "id": r["id"], "kind": r["kind"], "state": state, "is_blinded": state in BLIND_STATES,
            "due_date": date.to_representation(r["due_date"]), "display_order": r["display_order"],
            "campaign": {
                "id": r["campaign_case__campaign_id"], "name": r["campaign_case__campaign__name"],
                "state": r["campaign_case__campaign__state"],
                "ai_system_name": r["campaign_case__campaign__ai_system__name"],
                "review_deadline": date.to_representation(r["campaign_case__campaign__review_deadline"]),
            },
            "label_choices": list(r["campaign_case__campaign__ai_system__labels"]),
            "opened_at": when.to_representation(r["opened_at"]) if r["opened_at"] else None,
            "submitted_at": when.to_representation(r["submitted_at"]) if r["submitted_at"] else None,
            "unblinded_at": when.to_representation(r["unblinded_at"]) if r["unblinded_at"] else None,
            "available_transitions": transitions[state, r["kind"]],
            "case": case, "verdict": verdict,
        })
    return out


class OtherVerdictSerializer(serializers.Serializer):
    kind = serializers.CharField(source="assignment.kind")
    label = serializers.CharField()
    confidence = serializers.IntegerField(allow_null=True)
    equity_concern = serializers.BooleanField(allow_null=True)


class AssignmentUnblindedSerializer(_AssignmentBase):
    case = SealedCaseSerializer(source="campaign_case.case", read_only=True)
    verdict = VerdictSerializer(read_only=True)
    classification = serializers.SerializerMethodField()
    other_verdicts = serializers.SerializerMethodField()

    class Meta(_AssignmentBase.Meta):
        fields = [*_AssignmentBase.Meta.fields, "case", "verdict", "classification", "other_verdicts"]
        read_only_fields = fields

    @extend_schema_field(ClassificationSerializer(allow_null=True))
    def get_classification(self, obj):
        c = getattr(obj, "classification", None)
        return ClassificationSerializer(c).data if c else None

    @extend_schema_field(OtherVerdictSerializer(many=True))
    def get_other_verdicts(self, obj):
        return OtherVerdictSerializer(other_verdicts_for(obj), many=True).data


class AssignmentStaffSerializer(_AssignmentBase):
    """For the quality team, who never review: progress without verdict content."""

    reviewer = serializers.CharField(source="reviewer.username", read_only=True)
    campaign_case = IdField(source="campaign_case_id", read_only=True)
    decline_reason = serializers.CharField(read_only=True)

    class Meta(_AssignmentBase.Meta):
        fields = [*_AssignmentBase.Meta.fields, "reviewer", "campaign_case", "decline_reason"]
        read_only_fields = fields


def assignment_serializer_for(user, assignment: Assignment | None = None):
    """The serializer class for this caller and this assignment (``None``: for a list)."""
    if perms.is_campaign_manager(user):
        return AssignmentStaffSerializer
    if assignment is not None and assignment.state in UNBLINDED_STATES:
        return AssignmentUnblindedSerializer
    return AssignmentBlindSerializer


class StaffVerdictRowSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username")
    verdict = serializers.SerializerMethodField()

    @extend_schema_field(VerdictSerializer(allow_null=True))
    def get_verdict(self, obj):
        verdict = getattr(obj, "verdict", None)
        return VerdictSerializer(verdict).data if verdict else None

    class Meta:
        model = Assignment
        fields = ["id", "reviewer", "kind", "state", "verdict"]
        read_only_fields = fields


class AdjudicationSerializer(serializers.ModelSerializer):
    decided_by = serializers.CharField(source="decided_by.username")

    class Meta:
        model = Adjudication
        fields = ["created_at", "decided_by", "method", "label", "reasoning"]
        read_only_fields = fields


class CampaignCaseSerializer(serializers.ModelSerializer):
    """Case-level results for the quality team and the committee officers."""

    case = SealedCaseSerializer(read_only=True)
    readers = serializers.SerializerMethodField()
    adjudication = serializers.SerializerMethodField()

    class Meta:
        model = CampaignCase
        fields = ["id", "state", "inclusion_probability", "stratum", "reference_label", "case", "readers",
                  "adjudication"]
        read_only_fields = fields

    @extend_schema_field(StaffVerdictRowSerializer(many=True))
    def get_readers(self, obj):
        return StaffVerdictRowSerializer(obj.assignments.all(), many=True).data

    @extend_schema_field(AdjudicationSerializer(allow_null=True))
    def get_adjudication(self, obj):
        adj = getattr(obj, "adjudication", None)
        return AdjudicationSerializer(adj).data if adj else None
