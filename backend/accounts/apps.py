from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from . import signals  # noqa: F401, PLC0415 (connects the audit receivers once models are loaded)


class VerifiedAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with ``accounts.admin_site.VerifiedAdminSite`` as ``admin.site``."""

    default = False  # named explicitly in INSTALLED_APPS; AccountsConfig stays the app's default
    default_site = "accounts.admin_site.VerifiedAdminSite"
