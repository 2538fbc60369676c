from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..enums import ConflictKind, MemberRole
from ..models import Committee, DeclaredConflict, Member


class DeclaredConflictSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeclaredConflict
        fields = ["id", "member", "kind", "ai_system", "value", "description", "created_at", "withdrawn_at"]
        read_only_fields = fields


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)
    conflicts = DeclaredConflictSerializer(many=True, read_only=True)

    class Meta:
        model = Member
        fields = ["id", "committee", "user", "username", "display_name", "role", "specialty", "site", "service",
                  "term_start", "term_end", "declared_conflicts", "conflicts"]
        read_only_fields = fields


class ConflictDeclareSerializer(serializers.Serializer):
    member = serializers.IntegerField()
    kind = serializers.ChoiceField(ConflictKind.choices)
    ai_system = serializers.IntegerField(required=False, allow_null=True, default=None)
    value = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CommitteeSerializer(serializers.ModelSerializer):
    members = MemberSerializer(many=True, read_only=True)

    class Meta:
        model = Committee
        fields = ["id", "name", "hospital_group", "description", "ai_systems", "members"]
        read_only_fields = fields


class CommitteeCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    hospital_group = serializers.CharField(max_length=160)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    ai_system_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


class MemberCreateSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))
    role = serializers.ChoiceField(MemberRole.choices)
    term_start = serializers.DateField()
    term_end = serializers.DateField(required=False, allow_null=True, default=None)
    specialty = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    site = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    service = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    declared_conflicts = serializers.CharField(required=False, allow_blank=True, default="")
