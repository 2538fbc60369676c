from django.contrib.admin import AdminSite
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode


class VerifiedAdminSite(AdminSite):
    """The admin needs staff status and a session verified with the second factor; its own login
    page is replaced by the platform's (password, then second factor)."""

    def has_permission(self, request):
        user = request.user
        is_verified = getattr(user, "is_verified", None)
        return super().has_permission(request) and callable(is_verified) and is_verified()

    def login(self, request, extra_context=None):
        target = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('web:login')}?{urlencode({'next': target})}")
