from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..enums import MemberRole
from ..models import Committee, Member


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)

    class Meta:
        model = Member
        fields = ["id", "committee", "user", "username", "display_name", "role", "specialty", "site", "service",
                  "term_start", "term_end", "declared_conflicts"]
        read_only_fields = fields


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
