from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A user's role on the platform. Committee membership (which committee, which seat) is
    separate: see ``committees.Member``."""

    QUALITY = "quality", _("Quality team")
    CLINICIAN = "clinician", _("Clinician reviewer")
    PATIENT_REP = "patient_rep", _("Patient representative")
    CHAIR = "chair", _("Committee chair")
    SECRETARY = "secretary", _("Committee secretary")
    MANAGEMENT = "management", _("Management")
    ADMIN = "admin", _("Administrator")
    DPO = "dpo", _("Data-protection officer")


REVIEWER_ROLES = frozenset({Role.CLINICIAN, Role.PATIENT_REP, Role.CHAIR})
"""Roles that can be given blind reviews (a chair is usually a clinician who also reads)."""

CAMPAIGN_MANAGER_ROLES = frozenset({Role.QUALITY, Role.ADMIN})
COMMITTEE_OFFICER_ROLES = frozenset({Role.CHAIR, Role.SECRETARY})
RESULTS_READER_ROLES = frozenset({Role.QUALITY, Role.ADMIN, Role.CHAIR, Role.SECRETARY, Role.MANAGEMENT})
