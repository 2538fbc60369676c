"""Committee compositions: read-only output serializers and explicit input serializers."""

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers

from common.fields import IdField

from ..enums import ConflictKind, MemberRole
from ..models import Committee, DeclaredConflict, Member


class DeclaredConflictSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeclaredConflict
        fields = ["id", "member", "kind", "ai_system", "value", "description", "created_at", "withdrawn_at"]
        read_only_fields = fields


class MemberSerializer(serializers.ModelSerializer):
    """A term of office, current or past: ended terms stay listed (membership history), with
    ``is_current`` false and ``has_ended`` true. Withdrawn conflicts stay listed too, with their
    ``withdrawn_at``."""

    username = serializers.CharField(source="user.username", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)
    conflicts = DeclaredConflictSerializer(many=True, read_only=True)
    is_current = serializers.SerializerMethodField()
    has_ended = serializers.SerializerMethodField()

    class Meta:
        model = Member
        fields = ["id", "committee", "user", "username", "display_name", "role", "specialty", "site", "service",
                  "term_start", "term_end", "is_current", "has_ended", "declared_conflicts", "conflicts"]
        read_only_fields = fields

    def _today(self):
        if "today" not in self.context:
            self.context["today"] = timezone.localdate()
        return self.context["today"]

    def get_is_current(self, obj) -> bool:
        today = self._today()
        return obj.term_start <= today and (obj.term_end is None or obj.term_end >= today)

    def get_has_ended(self, obj) -> bool:
        return obj.term_end is not None and obj.term_end < self._today()


class ConflictDeclareSerializer(serializers.Serializer):
    member = IdField()
    kind = serializers.ChoiceField(ConflictKind.choices)
    ai_system = IdField(required=False, allow_null=True, default=None)
    value = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CommitteeSerializer(serializers.ModelSerializer):
    members = MemberSerializer(many=True, read_only=True)

    class Meta:
        model = Committee
        fields = ["id", "name", "hospital_group", "description", "ai_systems", "quorum_clinicians",
                  "quorum_patient_reps", "members"]
        read_only_fields = fields


class CommitteeCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    hospital_group = serializers.CharField(max_length=160)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    ai_system_ids = serializers.ListField(child=IdField(), required=False, default=list)
    quorum_clinicians = serializers.IntegerField(required=False, allow_null=True, default=None,
                                                 help_text="Default 2; at least 1.")
    quorum_patient_reps = serializers.IntegerField(required=False, allow_null=True, default=None,
                                                   help_text="Default 1; at least 0.")


class EndTermSerializer(serializers.Serializer):
    member = IdField(help_text="A membership (term of office) of this committee.")
    term_end = serializers.DateField()


class ConflictWithdrawSerializer(serializers.Serializer):
    conflict = IdField(help_text="A declared conflict of a member of this committee.")


class MemberCreateSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))
    role = serializers.ChoiceField(MemberRole.choices)
    term_start = serializers.DateField()
    term_end = serializers.DateField(required=False, allow_null=True, default=None)
    specialty = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    site = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    service = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    declared_conflicts = serializers.CharField(required=False, allow_blank=True, default="")
