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
