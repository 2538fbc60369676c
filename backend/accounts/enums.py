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

SECOND_FACTOR_ROLES = frozenset({Role.ADMIN, Role.DPO, Role.CHAIR, Role.QUALITY})
"""Roles that must verify a TOTP second factor after the password (web session and API token).
Staff and superusers must too, whatever their role: they reach the Django admin."""

TWO_PERSON_ROLES = frozenset({Role.DPO})
"""Giving or removing these roles needs a second administrator: the data-protection officer
approves re-identification, so no single administrator may make or unmake one."""

PROTECTED_CREDENTIAL_ROLES = frozenset({Role.DPO, Role.CHAIR})
"""Accounts whose password or second factor no administrator may reset alone: the two roles
that, together, can reveal a patient's source reference."""


class ChangeRequestKind(models.TextChoices):
    ROLE = "role", _("Role change")
    SECOND_FACTOR_RESET = "second_factor_reset", _("Second factor reset")
    PASSWORD_RESET = "password_reset", _("Password reset")


class ChangeRequestState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
