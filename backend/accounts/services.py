"""Account changes that matter for security: roles, staff flags, credentials.

Every role change, wherever it starts (Django admin, management command, shell), goes through
``user_role_change``: it checks the actor, writes an audit event with the old and new role, who
and whom, and ends the account's sessions and API tokens. Giving or removing the
data-protection officer role, and resetting the password or second factor of a DPO or chair,
are four-eyes changes: ``change_request_create`` by one administrator, ``change_request_approve``
by another, neither being the account concerned. What remains an operations-level trust is
direct access to the database or to ``manage.py`` (``createsuperuser``, a Django shell):
those are outside the application's reach and are documented as such.
"""

from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from audit.services import audit_record
from common.exceptions import Forbidden, TransitionNotAllowed, ValidationFailed, ensure

from . import permissions as perms
from .enums import TWO_PERSON_ROLES, ChangeRequestKind, ChangeRequestState, Role
from .models import SensitiveChangeRequest
from .second_factor import new_backup_codes

User = get_user_model()


def user_revoke_credentials(*, user, keep_session_of=None) -> int:
    """End every session of ``user`` (bumps ``auth_epoch``, part of the session hash) and delete
    all their API tokens; returns the number of tokens deleted. With ``keep_session_of`` (the
    current request), that one session is carried over. Caller holds the transaction."""
    User.objects.filter(pk=user.pk).update(auth_epoch=user.auth_epoch + 1)
    user.auth_epoch += 1
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    if keep_session_of is not None:
        update_session_auth_hash(keep_session_of, user)
    return deleted


def _lock(user):
    return User.objects.select_for_update().get(pk=user.pk)


def _apply_role(*, actor, user, role: str, approved_by=None, source: dict | None = None) -> None:
    old = user.role
    user.role = role
    user.save(update_fields=["role"])
    user_revoke_credentials(user=user)
    audit_record(actor=actor, action="accounts.role_changed", target=user,
                 data={"old_role": old, "new_role": role, "username": user.username,
                       **({"approved_by": approved_by.pk} if approved_by is not None else {}),
                       **(source or {})})


def user_role_change(*, actor, user, role: str, reason: str = "") -> SensitiveChangeRequest | None:
    """Change ``user``'s role. Refused (403) for one's own account or a non-administrator. A change
    to or from the DPO role is not applied: a pending request is created instead (returned), for
    a second administrator to approve. Side effects: audit event, sessions and tokens ended."""
    ensure(perms.can_change_role(actor, user), "You may not change this account's role.")
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", extra={"role": ["Unknown role."]})
    with transaction.atomic():
        user = _lock(user)
        if user.role == role:
            return None
        if perms.role_change_needs_second_person(user.role, role):
            return _create_request(actor=actor, target=user, kind=ChangeRequestKind.ROLE, new_role=role,
                                   reason=reason or "Role change")
        _apply_role(actor=actor, user=user, role=role)
    return None


def user_role_set_by_identity_provider(*, user, role: str, issuer: str) -> None:
    """At a single sign-on login, the provider's claims give ``user`` another role
    (``accounts.oidc``): the same audited change as an administrator's (``accounts.role_changed``,
    no actor, ``source: "oidc"`` and the issuer), which ends the account's sessions and tokens.
    Never to or from a role that needs two administrators: the role allow-list cannot name one
    and such an account cannot log in through single sign-on (403 if asked anyway). Caller holds
    the transaction and the account's row lock."""
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", extra={"role": ["Unknown role."]})
    if perms.role_change_needs_second_person(user.role, role):
        raise Forbidden("This role change needs a second administrator.")
    if user.role != role:
        _apply_role(actor=None, user=user, role=role, source={"source": "oidc", "issuer": issuer})


def user_set_staff_flags(*, actor, user, is_staff: bool, is_superuser: bool) -> None:
    """Give or take the Django admin (staff) and superuser flags: never on one's own account,
    never to a DPO (the admin must not be a path to re-identification). Audited."""
    ensure(perms.can_change_role(actor, user), "You may not change this account's flags.")
    if (is_staff or is_superuser) and user.role in TWO_PERSON_ROLES:
        raise Forbidden("A data-protection officer cannot be given the Django admin.")
    with transaction.atomic():
        user = _lock(user)
        old = {"is_staff": user.is_staff, "is_superuser": user.is_superuser}
        new = {"is_staff": bool(is_staff), "is_superuser": bool(is_superuser)}
        if old == new:
            return
        User.objects.filter(pk=user.pk).update(**new)
        user_revoke_credentials(user=user)
        audit_record(actor=actor, action="accounts.flags_changed", target=user,
                     data={"old": old, "new": new, "username": user.username})


def user_create(*, actor, username: str, role: str, password: str, reason: str = "",
                **fields) -> tuple[object, SensitiveChangeRequest | None]:
    """Create an account. A DPO account is created inactive with a pending request: it can log in
    only once a second administrator has approved it. Audited."""
    ensure(perms.can_administer_accounts(actor), "You may not create accounts.")
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", extra={"role": ["Unknown role."]})
    user = User(username=username, role=role, **fields)
    validate_password(password, user)
    user.set_password(password)
    needs_second = role in TWO_PERSON_ROLES
    with transaction.atomic():
        if needs_second:
            user.is_active = False
        user.save()
        audit_record(actor=actor, action="accounts.user_created", target=user,
                     data={"username": username, "role": role, "active": user.is_active})
        request = None
        if needs_second:
            request = _create_request(actor=actor, target=user, kind=ChangeRequestKind.ROLE, new_role=role,
                                      reason=reason or "New account", old_role="")
    return user, request


def _create_request(*, actor, target, kind: str, reason: str, new_role: str = "", password_hash: str = "",
                    old_role: str | None = None) -> SensitiveChangeRequest:
    if SensitiveChangeRequest.objects.filter(target=target, kind=kind, state=ChangeRequestState.PENDING).exists():
        raise TransitionNotAllowed("A request of this kind is already pending for this account.",
                                   extra={"state": ChangeRequestState.PENDING})
    change = SensitiveChangeRequest.objects.create(
        kind=kind, target=target, old_role=target.role if old_role is None else old_role, new_role=new_role,
        password_hash=password_hash, reason=reason, requested_by=actor)
    audit_record(actor=actor, action="accounts.change_requested", target=change,
                 data={"kind": kind, "target": target.pk, "old_role": change.old_role, "new_role": new_role})
    return change


def change_request_create(*, actor, target, kind: str, reason: str, new_role: str = "",
                          password: str = "") -> SensitiveChangeRequest:
    """Ask for a four-eyes change. A password reset validates the new password now and keeps only
    its hash. Refused (403) for one's own account."""
    ensure(perms.can_request_change(actor, target), "You may not request a change to this account.")
    if kind not in ChangeRequestKind.values:
        raise ValidationFailed("Unknown kind.", extra={"kind": ["Unknown kind."]})
    if not reason.strip():
        raise ValidationFailed("A reason is required.", extra={"reason": ["A reason is required."]})
    password_hash = ""
    if kind == ChangeRequestKind.PASSWORD_RESET:
        validate_password(password, target)
        password_hash = make_password(password)
    if kind == ChangeRequestKind.ROLE and new_role not in Role.values:
        raise ValidationFailed("Unknown role.", extra={"new_role": ["Unknown role."]})
    with transaction.atomic():
        return _create_request(actor=actor, target=_lock(target), kind=kind, new_role=new_role,
                               password_hash=password_hash, reason=reason)


def _lock_pending(change) -> SensitiveChangeRequest:
    change = SensitiveChangeRequest.objects.select_for_update().select_related("target").get(pk=change.pk)
    if change.state != ChangeRequestState.PENDING:
        raise TransitionNotAllowed("This request has already been decided.", extra={"state": change.state})
    return change


def change_request_approve(*, actor, change) -> SensitiveChangeRequest:
    """Second administrator approves: the change is applied in the same transaction. Refused
    (403) for the requester and the account concerned; 409 once decided."""
    ensure(perms.can_decide_change(actor, change), "A second administrator must approve this request.")
    with transaction.atomic():
        change = _lock_pending(change)
        target = _lock(change.target)
        change.state, change.decided_by, change.decided_at = ChangeRequestState.APPROVED, actor, timezone.now()
        change.save(update_fields=["state", "decided_by", "decided_at"])
        if change.kind == ChangeRequestKind.ROLE:
            if not target.is_active and change.old_role == "":
                target.is_active = True
                target.save(update_fields=["is_active"])
            if target.role != change.new_role:
                _apply_role(actor=change.requested_by, user=target, role=change.new_role, approved_by=actor)
            if change.new_role in TWO_PERSON_ROLES and (target.is_staff or target.is_superuser):
                User.objects.filter(pk=target.pk).update(is_staff=False, is_superuser=False)
        elif change.kind == ChangeRequestKind.SECOND_FACTOR_RESET:
            _remove_devices(target)
        elif change.kind == ChangeRequestKind.PASSWORD_RESET:
            User.objects.filter(pk=target.pk).update(password=change.password_hash)
            target.password = change.password_hash
            user_revoke_credentials(user=target)
            SensitiveChangeRequest.objects.filter(pk=change.pk).update(password_hash="")
        audit_record(actor=actor, action="accounts.change_approved", target=change,
                     data={"kind": change.kind, "target": target.pk, "requested_by": change.requested_by_id,
                           "old_role": change.old_role, "new_role": change.new_role})
    return change


def change_request_refuse(*, actor, change) -> SensitiveChangeRequest:
    ensure(perms.can_decide_change(actor, change), "A second administrator must decide this request.")
    with transaction.atomic():
        change = _lock_pending(change)
        change.state, change.decided_by, change.decided_at = ChangeRequestState.REFUSED, actor, timezone.now()
        change.password_hash = ""
        change.save(update_fields=["state", "decided_by", "decided_at", "password_hash"])
        audit_record(actor=actor, action="accounts.change_refused", target=change,
                     data={"kind": change.kind, "target": change.target_id})
    return change


def _remove_devices(user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user_revoke_credentials(user=user)


def user_second_factor_reset(*, actor, user) -> None:
    """An administrator removes an ordinary account's second factor (lost phone): the owner
    enrols again at next login. Not for a DPO or chair (403: use a change request). Audited."""
    ensure(perms.can_reset_credentials_directly(actor, user),
           "The second factor of this account can only be reset with a second administrator's approval.")
    with transaction.atomic():
        _remove_devices(_lock(user))
        audit_record(actor=actor, action="accounts.second_factor_reset", target=user, data={})


def user_password_set(*, actor, user, password: str) -> None:
    """An administrator sets an ordinary account's password (validated). Not their own, not a DPO's
    or chair's (403). Ends the account's sessions and tokens. Audited, never the password."""
    ensure(perms.can_reset_credentials_directly(actor, user),
           "The password of this account can only be reset with a second administrator's approval.")
    validate_password(password, user)
    with transaction.atomic():
        user = _lock(user)
        user.set_password(password)
        user.save(update_fields=["password"])
        user_revoke_credentials(user=user)
        audit_record(actor=actor, action="accounts.password_set", target=user, data={})


def password_change_own(*, user, new_password: str, request=None) -> None:
    """The owner changed their password (old password checked by the form): every other session
    and every API token of theirs is ended; the current session (``request``) carries on under a
    new key. Audited, never the password."""
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_revoke_credentials(user=user, keep_session_of=request)
        audit_record(actor=user, action="auth.password_changed", target=user, data={})


def second_factor_enrolled(*, user, device) -> list[str]:
    """The owner confirmed a TOTP device with a valid code: it becomes their only TOTP device and
    new backup codes are made (returned once). Audited."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = new_backup_codes(user)
        audit_record(actor=user, action="auth.second_factor_enrolled", target=user, data={})
    return codes
