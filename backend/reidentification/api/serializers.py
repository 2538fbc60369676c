"""Re-identification requests. The output serializer has no field for the source reference or its
ciphertext: the plain value exists only in the one ``reveal`` response."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.fields import IdField
from common.fsm import available_transitions

from .. import permissions as perms
from ..models import ReidentificationRequest


class ReidentificationRequestSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)
    committee = IdField(source="campaign_case.campaign.committee_id", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None)
    available_transitions = serializers.SerializerMethodField()

    class Meta:
        model = ReidentificationRequest
        fields = ["id", "campaign_case", "committee", "requested_by", "justification", "state", "created_at",
                  "decided_by", "decided_at", "decision_comment", "requester_revealed_at", "officer_revealed_at",
                  "available_transitions"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_transitions(self, obj) -> list[str]:
        user = self.context["request"].user
        names = available_transitions(obj, user, perms.REQUEST_TRANSITIONS)
        if "reveal" in names:  # once per person
            seen = obj.requester_revealed_at if user.pk == obj.requested_by_id else obj.officer_revealed_at
            if seen is not None:
                names.remove("reveal")
        return names


class ReidentificationCreateSerializer(serializers.Serializer):
    campaign_case = IdField()
    justification = serializers.CharField(max_length=10000)


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")


class RequiredCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=10000)


class RevealSerializer(serializers.Serializer):
    source_reference = serializers.CharField()
