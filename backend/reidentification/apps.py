from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReidentificationConfig(AppConfig):
    name = "reidentification"
    verbose_name = _("Re-identification")
