"""The sittings app: the committee's sessions (séances), their agenda, attendance, decisions
under quorum and minutes, and the corrective actions decided there."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from reviews import hooks


class SittingsConfig(AppConfig):
    name = "sittings"
    verbose_name = _("Sessions")

    def ready(self):
        # A case that becomes a subject for its committee goes on the next planned session. The
        # services import the models, which are loaded only now.
        from .services import enqueue_case  # noqa: PLC0415 (models are loaded only once the app registry is ready)

        hooks.register(hooks.CASE_TO_COMMITTEE, enqueue_case)
