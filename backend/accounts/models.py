from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from .enums import ChangeRequestKind, ChangeRequestState, Role


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # The specialty, site and service drive conflict-of-interest and specialty rules for reviewers.
    specialty = models.CharField(_("specialty"), max_length=80, blank=True)
    site = models.CharField(_("site"), max_length=40, blank=True)
    service = models.CharField(_("service"), max_length=80, blank=True)
    # Pseudonym of the clinician as it appears on imported cases ("signed by"), so that nobody
    # re-reads a case they signed. Same HMAC key as every other pseudonym; ``clinician_key_id``
    # names that key. ``clinician_retired_pseudonyms`` ({key id: pseudonym}) holds the same
    # clinician's pseudonyms under retired keys, for the cases still stored under them
    # (written by ``manage.py rekey_pseudonyms``; matching only, see reviews.eligibility).
    clinician_pseudonym = models.CharField(max_length=64, blank=True, db_index=True)
    clinician_key_id = models.CharField(_("clinician pseudonym key id"), max_length=20, blank=True)
    clinician_retired_pseudonyms = models.JSONField(default=dict, blank=True)
    # Bumped whenever the account's credentials or privileges change (password, second factor,
    # role): it is part of the session hash, so every session opened before is refused.
    auth_epoch = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
            models.CheckConstraint(
                condition=models.Q(clinician_pseudonym="") | ~models.Q(clinician_key_id=""),
                name="user_clinician_pseudonym_has_key_id",
            ),
        ]

    def save(self, *args, **kwargs):
        # A pseudonym entered without its key id was made with the current key (the only one
        # that makes pseudonyms).
        if self.clinician_pseudonym and not self.clinician_key_id:
            self.clinician_key_id = settings.PSEUDONYM_KEY_ID
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "clinician_pseudonym" in update_fields:
                kwargs["update_fields"] = {*update_fields, "clinician_key_id"}
        super().save(*args, **kwargs)

    def signer_pseudonyms(self) -> dict[str, str]:
        """Key id → this clinician's pseudonym under that key (empty when none is known)."""
        if not self.clinician_pseudonym:
            return {}
        return {**(self.clinician_retired_pseudonyms or {}),
                self.clinician_key_id or settings.PSEUDONYM_KEY_ID: self.clinician_pseudonym}

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def get_session_auth_hash(self) -> str:
        """Django checks this hash on every request of a session: it covers the password hash (as
        Django's does) and ``auth_epoch``, so that a role or second-factor change also ends every
        open session of the account."""
        return salted_hmac("accounts.User.get_session_auth_hash", f"{self.password}:{self.auth_epoch}",
                           algorithm="sha256").hexdigest()

    def get_session_auth_fallback_hash(self):
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield salted_hmac("accounts.User.get_session_auth_hash", f"{self.password}:{self.auth_epoch}",
                              secret=fallback_secret, algorithm="sha256").hexdigest()


class SensitiveChangeRequest(models.Model):
    """A change to an account that one administrator may not make alone (four-eyes rule): giving
    or removing the data-protection officer role, and resetting the second factor or the
    password of a data-protection officer or committee chair. One administrator asks, another
    one approves (``accounts.services``); neither may be the account concerned."""

    kind = models.CharField(_("kind"), max_length=30, choices=ChangeRequestKind.choices)
    target = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="change_requests",
                               verbose_name=_("account"))
    old_role = models.CharField(_("current role"), max_length=20, blank=True)
    new_role = models.CharField(_("requested role"), max_length=20, blank=True)
    # A password reset carries the new password's hash (never the password itself).
    password_hash = models.CharField(max_length=128, blank=True, editable=False)
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=20, choices=ChangeRequestState.choices,
                             default=ChangeRequestState.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                   blank=True, verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sensitive account change request")
        verbose_name_plural = _("sensitive account change requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=ChangeRequestKind.values), name="changerequest_kind"),
            models.CheckConstraint(condition=models.Q(state__in=ChangeRequestState.values),
                                   name="changerequest_state"),
            models.CheckConstraint(condition=~models.Q(requested_by=models.F("target")),
                                   name="changerequest_not_for_self"),
            models.CheckConstraint(condition=models.Q(decided_by__isnull=True)
                                   | ~models.Q(decided_by=models.F("requested_by")),
                                   name="changerequest_second_person"),
            models.CheckConstraint(condition=models.Q(decided_by__isnull=True)
                                   | ~models.Q(decided_by=models.F("target")),
                                   name="changerequest_decider_not_target"),
            models.UniqueConstraint(fields=["target", "kind"], condition=models.Q(state="pending"),
                                    name="changerequest_one_pending_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.target}"


class ExternalIdentity(models.Model):
    """An account's identity at a single sign-on provider: the issuer and its stable subject
    (``sub``), the only thing a login through that provider is matched on (never the e-mail).
    ``deactivated_by_provider`` records that the account was deactivated because the provider
    stopped giving it an allowed role, so that a role given back reactivates it, while an
    account an administrator deactivated stays off."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="external_identities",
                             verbose_name=_("account"))
    issuer = models.CharField(_("issuer"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_login_at = models.DateTimeField(_("last login"), null=True, blank=True)
    deactivated_by_provider = models.BooleanField(_("deactivated by the provider"), default=False)

    class Meta:
        verbose_name = _("external identity")
        verbose_name_plural = _("external identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="externalidentity_issuer_subject"),
            models.UniqueConstraint(fields=["user", "issuer"], name="externalidentity_one_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject}"
