from django.db import models
from django.utils.translation import gettext_lazy as _


class MemberRole(models.TextChoices):
    CLINICIAN = "clinician", _("Clinician expert")
    PATIENT_REP = "patient_rep", _("Patient representative")
    QUALITY = "quality", _("Quality")
    CHAIR = "chair", _("Chair")
    SECRETARY = "secretary", _("Secretary")


READER_SEATS = frozenset({MemberRole.CLINICIAN, MemberRole.CHAIR})
"""Seats whose holders re-read cases as clinicians."""


class ConflictKind(models.TextChoices):
    """What a declared conflict of interest is about."""

    AI_SYSTEM = "ai_system", _("An AI system (e.g. took part in its validation)")
    VENDOR = "vendor", _("A vendor (e.g. consultancy, shares)")
    SERVICE = "service", _("A hospital service")
    SITE = "site", _("A hospital site")
