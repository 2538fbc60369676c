"""The Django admin for accounts, with no shortcut around ``accounts.services``.

- Roles, staff and superuser flags change through the services (audited); nobody changes their
  own, and the DPO role (given, removed, or at creation) becomes a change request that a second
  administrator approves here.
- The password and second factor of a DPO or chair cannot be reset from here alone (a change
  request is created instead); an ordinary account's can, audited.
- The OTP devices, backup codes and API tokens are not in the admin at all: nobody may read or
  add another person's authenticator, backup codes or tokens.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from common.exceptions import DomainError

from . import permissions as perms
from . import services
from .enums import PROTECTED_CREDENTIAL_ROLES, ChangeRequestKind, ChangeRequestState, Role
from .models import SensitiveChangeRequest, User

for _model in ("otp_totp.TOTPDevice", "otp_static.StaticDevice", "knox.AuthToken"):
    from django.apps import apps

    _cls = apps.get_model(_model)
    if admin.site.is_registered(_cls):
        admin.site.unregister(_cls)


class UserAddForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "email", "role")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "site", "service", "is_active")
    list_filter = ("role", "site", "is_active")
    add_form = UserAddForm
    add_fieldsets = ((None, {"fields": ("username", "first_name", "last_name", "email", "role", "password1",
                                        "password2")}),)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
        (_("Role"), {"fields": ("role", "specialty", "site", "service", "clinician_pseudonym")}),
    )
    actions = ["reset_second_factor"]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["last_login", "date_joined"]
        if obj is None:
            return readonly
        if obj.pk == request.user.pk:
            readonly += ["role", "is_staff", "is_superuser", "is_active"]
        if obj.role in PROTECTED_CREDENTIAL_ROLES:
            readonly += ["is_active", "email"]
        if obj.role == Role.DPO:
            readonly += ["is_staff", "is_superuser"]
        return sorted(set(readonly))

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are deactivated, never deleted: the audit trail points at them

    def user_change_password(self, request, id, form_url=""):
        target = self.get_object(request, id)
        if target is not None and not perms.can_reset_credentials_directly(request.user, target):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        if not change:
            self._create(request, obj, form)
            return
        old = User.objects.get(pk=obj.pk)
        new_role, new_staff, new_super = obj.role, obj.is_staff, obj.is_superuser
        obj.role, obj.is_staff, obj.is_superuser = old.role, old.is_staff, old.is_superuser
        if obj.pk != request.user.pk and old.is_active != obj.is_active and old.role in PROTECTED_CREDENTIAL_ROLES:
            obj.is_active = old.is_active
        obj.save()
        try:
            if (new_staff, new_super) != (old.is_staff, old.is_superuser):
                services.user_set_staff_flags(actor=request.user, user=obj, is_staff=new_staff,
                                              is_superuser=new_super)
            if new_role != old.role:
                pending = services.user_role_change(actor=request.user, user=obj, role=new_role,
                                                    reason=str(_("Changed in the administration")))
                if pending is not None:
                    messages.warning(request, _("The role change needs a second administrator: a request has "
                                                "been created."))
        except DomainError as exc:
            messages.error(request, exc.detail)
        obj.refresh_from_db()

    def _create(self, request, obj, form):
        try:
            user, pending = services.user_create(
                actor=request.user, username=obj.username, role=obj.role, password=form.cleaned_data["password1"],
                first_name=obj.first_name, last_name=obj.last_name, email=obj.email)
        except (DomainError, ValidationError) as exc:
            raise PermissionDenied(str(exc)) from exc
        obj.pk = user.pk
        obj.refresh_from_db()
        if pending is not None:
            messages.warning(request, _("The account stays inactive until a second administrator approves it."))

    @admin.action(description=_("Reset the second factor"))
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            try:
                if perms.can_reset_credentials_directly(request.user, user):
                    services.user_second_factor_reset(actor=request.user, user=user)
                else:
                    services.change_request_create(actor=request.user, target=user,
                                                   kind=ChangeRequestKind.SECOND_FACTOR_RESET,
                                                   reason=str(_("Requested in the administration")))
                    messages.warning(request, _("%(user)s: a second administrator must approve the reset.")
                                     % {"user": user.username})
            except DomainError as exc:
                messages.error(request, f"{user.username}: {exc.detail}")


class ChangeRequestForm(forms.ModelForm):
    password = forms.CharField(label=_("New password (password reset only)"), required=False,
                               widget=forms.PasswordInput(render_value=False))

    class Meta:
        model = SensitiveChangeRequest
        fields = ("kind", "target", "new_role", "reason")
        widgets = {"new_role": forms.Select(choices=[("", "—"), *Role.choices])}


@admin.register(SensitiveChangeRequest)
class SensitiveChangeRequestAdmin(admin.ModelAdmin):
    form = ChangeRequestForm
    list_display = ("kind", "target", "old_role", "new_role", "state", "requested_by", "requested_at", "decided_by")
    list_filter = ("state", "kind")
    actions = ["approve", "refuse"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            created = services.change_request_create(
                actor=request.user, target=obj.target, kind=obj.kind, reason=obj.reason, new_role=obj.new_role,
                password=form.cleaned_data.get("password") or "")
        except (DomainError, ValidationError) as exc:
            raise PermissionDenied(str(exc)) from exc
        obj.pk = created.pk

    def _decide(self, request, queryset, service):
        for change in queryset.filter(state=ChangeRequestState.PENDING):
            try:
                service(actor=request.user, change=change)
            except DomainError as exc:
                messages.error(request, f"{change}: {exc.detail}")

    @admin.action(description=_("Approve (second administrator)"))
    def approve(self, request, queryset):
        self._decide(request, queryset, services.change_request_approve)

    @admin.action(description=_("Refuse"))
    def refuse(self, request, queryset):
        self._decide(request, queryset, services.change_request_refuse)
