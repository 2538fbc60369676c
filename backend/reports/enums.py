from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")


class Audience(models.TextChoices):
    INTERNAL = "internal", _("Internal (committee and management)")
    PUBLIC = "public", _("Public (patients and users' committee)")
