from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .enums import Role


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # The specialty, site and service drive conflict-of-interest and specialty rules for reviewers.
    specialty = models.CharField(_("specialty"), max_length=80, blank=True)
    site = models.CharField(_("site"), max_length=40, blank=True)
    service = models.CharField(_("service"), max_length=80, blank=True)
    # Pseudonym of the clinician as it appears on imported cases ("signed by"), so that nobody
    # re-reads a case they signed. Same HMAC key as every other pseudonym.
    clinician_pseudonym = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
        ]

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
