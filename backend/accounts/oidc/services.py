"""Single sign-on: the account a verified login through the provider opens, and the audit of
every refusal.

``sso_sign_in`` enforces the rules, in one transaction with the identity and account rows locked:

- the account is found by the provider's stable subject (issuer + ``sub``, ``ExternalIdentity``),
  never by e-mail or username; a local account is never taken over;
- the role comes from the claims through the allow-list (``CGH_OIDC_ROLE_MAP``); a first login
  whose claims map to no role is refused and creates nothing;
- a person who lost every allowed role at the provider has their account deactivated (kept for
  the history of their reviews, sessions and tokens ended) and is refused; when the provider
  gives a role again, the account is reactivated at that login, but an account that an
  administrator deactivated stays off;
- a changed role goes through ``accounts.services.user_role_set_by_identity_provider`` (audited
  like any role change);
- an account holding a role that needs two administrators (data-protection officer) cannot log in
  through single sign-on.

Refusals raise ``SSORefused`` after the refusal is in the audit trail (``auth.sso_refused``, with
the reason, issuer and subject); a deactivation commits before the refusal is raised.
"""

import hashlib
import re

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from common.security_log import client_address

from ..enums import TWO_PERSON_ROLES
from ..models import ExternalIdentity
from ..services import user_revoke_credentials, user_role_set_by_identity_provider
from .claims import role_from_claims
from .config import OIDCConfig

User = get_user_model()

USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


class SSORefused(Exception):
    """A login through the provider that the platform refuses. ``reason`` is a stable code (the
    web page words it, see ``web.views.sso``)."""

    def __init__(self, reason: str, *, user=None):
        super().__init__(reason)
        self.reason = reason
        self.user = user


def _client(request) -> dict:
    if request is None:
        return {}
    return {"ip": client_address(request), "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200]}


def sso_refusal_record(*, request, reason: str, issuer: str = "", subject: str = "", user=None) -> None:
    """Append ``auth.sso_refused`` (no actor; the account concerned when there is one). Opens its
    own transaction: called after the login's transaction has ended."""
    with transaction.atomic():
        audit_record(actor=None, action="auth.sso_refused", object_type="accounts.user",
                     object_id=str(user.pk) if user is not None else "",
                     data={"reason": reason, "issuer": issuer, "subject": subject[:255], **_client(request)})


def _username_for(config: OIDCConfig, claims: dict, issuer: str, subject: str) -> str:
    """The claim named by ``CGH_OIDC_USERNAME_CLAIM`` when it is free, else suffixed with a hash
    of the subject; ``sso-<hash>`` when the claim is missing."""
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()
    wanted = claims.get(config.username_claim)
    base = USERNAME_UNSAFE.sub("", wanted)[:120] if isinstance(wanted, str) else ""
    if not base:
        return f"sso-{digest[:16]}"
    if not User.objects.filter(username__iexact=base).exists():
        return base
    return f"{base}-{digest[:8]}"


def _profile(claims: dict) -> dict:
    def text(name: str, limit: int) -> str:
        value = claims.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    email = text("email", 254)
    if claims.get("email_verified") is False:
        email = ""
    return {"first_name": text("given_name", 150), "last_name": text("family_name", 150), "email": email}


def _create(*, config: OIDCConfig, issuer: str, subject: str, claims: dict, role: str):
    user = User(username=_username_for(config, claims, issuer, subject), role=role, **_profile(claims))
    user.set_unusable_password()  # no local login for this account
    user.save()
    ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject, last_login_at=timezone.now())
    audit_record(actor=None, action="accounts.user_created", target=user,
                 data={"username": user.username, "role": role, "active": True, "source": "oidc",
                       "issuer": issuer})
    return user


def _resolve(*, config: OIDCConfig, issuer: str, subject: str, claims: dict):
    """(account, refusal reason or ``None``), in one transaction. Whatever the account's state
    becomes (deactivated, reactivated, new role) commits with it, refusal or not."""
    role = role_from_claims(config, claims)
    with transaction.atomic():
        identity = ExternalIdentity.objects.select_for_update().filter(issuer=issuer, subject=subject).first()
        if identity is None:
            if role is None:
                return None, "no_allowed_role"
            return _create(config=config, issuer=issuer, subject=subject, claims=claims, role=role), None
        user = User.objects.select_for_update().get(pk=identity.user_id)
        if user.role in TWO_PERSON_ROLES:
            return user, "role_not_for_sso"
        if role is None:
            if user.is_active:
                User.objects.filter(pk=user.pk).update(is_active=False)
                user.is_active = False
                identity.deactivated_by_provider = True
                identity.save(update_fields=["deactivated_by_provider"])
                user_revoke_credentials(user=user)
                audit_record(actor=None, action="accounts.sso_deactivated", target=user,
                             data={"username": user.username, "role": user.role, "issuer": issuer})
            return user, "no_allowed_role"
        if not user.is_active:
            if not identity.deactivated_by_provider:
                return user, "account_disabled"
            User.objects.filter(pk=user.pk).update(is_active=True)
            user.is_active = True
            identity.deactivated_by_provider = False
            audit_record(actor=None, action="accounts.sso_reactivated", target=user,
                         data={"username": user.username, "issuer": issuer})
        user_role_set_by_identity_provider(user=user, role=role, issuer=issuer)
        profile = {name: value for name, value in _profile(claims).items() if value and getattr(user, name) != value}
        if profile:
            User.objects.filter(pk=user.pk).update(**profile)
            for name, value in profile.items():
                setattr(user, name, value)
        identity.last_login_at = timezone.now()
        identity.save(update_fields=["last_login_at", "deactivated_by_provider"])
        return user, None


def sso_sign_in(*, request, config: OIDCConfig, issuer: str, claims: dict):
    """The active account for a login whose ID token is verified (``claims``: the ID token's
    claims over the userinfo answer's, same ``sub``). Raises ``SSORefused`` (audited) per the
    rules of this module. Does not open the session: the caller does, with ``auth.login``."""
    subject = str(claims.get("sub") or "")
    if not subject:
        sso_refusal_record(request=request, reason="invalid_token", issuer=issuer)
        raise SSORefused("invalid_token")
    user, reason = _resolve(config=config, issuer=issuer, subject=subject, claims=claims)
    if reason is not None:
        sso_refusal_record(request=request, reason=reason, issuer=issuer, subject=subject, user=user)
        raise SSORefused(reason, user=user)
    return user
