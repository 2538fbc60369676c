from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "site", "service", "is_active")
    list_filter = ("role", "site", "is_active")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Role", {"fields": ("role", "specialty", "site", "service", "clinician_pseudonym")}),
    )
