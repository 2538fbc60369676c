from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from reviews import hooks


class VigilanceConfig(AppConfig):
    name = "vigilance"
    verbose_name = _("Vigilance")

    def ready(self):
        # A possible adverse event flagged in a review opens the case's draft report. The services
        # import the models, which are loaded only now.
        from .services import vigilance_open_for_case  # noqa: PLC0415 (models are loaded only once the app registry is ready)

        hooks.register(hooks.ADVERSE_EVENT_FLAGGED, vigilance_open_for_case)
