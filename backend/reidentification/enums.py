from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestState(models.TextChoices):
    REQUESTED = "requested", _("Awaiting the data-protection officer")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    COMPLETED = "completed", _("Source reference shown to both")


OPEN_REQUEST_STATES = frozenset({RequestState.REQUESTED, RequestState.APPROVED})
