from django.db import models
from django.utils.translation import gettext_lazy as _


class TextKind(models.TextChoices):
    REGISTER = "register", _("Register entry of an AI system")
    FALC = "falc", _("Easy-to-read version of a report")


class TextState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")


OPEN_STATES = (TextState.DRAFT, TextState.SUBMITTED, TextState.APPROVED, TextState.REJECTED)
"""States of a text still on its way to publication: one at a time per subject."""
