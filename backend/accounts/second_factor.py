"""TOTP second factor (django-otp): who needs it, and the state of a session.

A session is *verified* once its owner has given a valid code from a confirmed device after the
password: ``django_otp.DEVICE_ID_SESSION_KEY`` holds that device's persistent id. The middleware
reads that key only (no query per request); it can trust it because removing a device bumps the
account's ``auth_epoch``, which ends every session opened before (``User.get_session_auth_hash``).
"""

import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .enums import SECOND_FACTOR_ROLES

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "totp"
BACKUP_DEVICE_NAME = "backup"


def requires_second_factor(user) -> bool:
    """Admin, DPO, chair and quality accounts, and anyone who reaches the Django admin."""
    if not getattr(settings, "CGH_SECOND_FACTOR_REQUIRED", True):
        return False
    return bool(user is not None and user.is_authenticated
                and (user.role in SECOND_FACTOR_ROLES or user.is_staff or user.is_superuser))


def has_confirmed_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


PROVIDER_MFA_SESSION_KEY = "cgh_provider_mfa"
"""Set at a single sign-on login whose signed ID token shows a multi-factor authentication that
the configuration accepts (``accounts.oidc.claims.multi_factor_evidence``): the session counts as
verified, as after a TOTP code. Never set otherwise."""


def session_is_verified(request) -> bool:
    session = getattr(request, "session", None)
    if session is None:
        return False
    verified = session.get(DEVICE_ID_SESSION_KEY) or session.get(PROVIDER_MFA_SESSION_KEY)
    return bool(verified) and session.get(SESSION_KEY) == str(request.user.pk)


def mark_verified(request, device) -> None:
    """Record the verification in the session, under a new session key (the session is rotated
    at every privilege change: after the password, then after the second factor)."""
    request.session.cycle_key()
    request.session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    request.user.otp_device = device


def mark_verified_by_provider(request, evidence: dict) -> None:
    """Record the provider's multi-factor evidence (``{"acr": ...}`` or ``{"amr": [...]}``) in the
    session the single sign-on login has just opened (its key is already new)."""
    request.session[PROVIDER_MFA_SESSION_KEY] = evidence


def verify_code(user, code: str):
    """The confirmed device (TOTP or backup codes) that accepts ``code``, or ``None``. Each
    device throttles its own failures (django-otp's exponential back-off) and a TOTP code is
    accepted once only.

    Runs in its own transaction: ``for_verify=True`` locks the devices (``select_for_update``) so
    that two requests cannot both spend the same code or both escape the throttle, and a lock
    needs a transaction (PostgreSQL refuses it in autocommit; SQLite has no row locks and let it
    pass)."""
    code = "".join(str(code or "").split())
    if not code:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.verify_token(code):
                return device
    return None


def pending_totp_device(user) -> TOTPDevice:
    """The unconfirmed TOTP device being enrolled (a new secret when there is none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=TOTP_DEVICE_NAME).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code, drawn here (no external service, no script)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg"):]  # drop the XML declaration: the SVG is inlined in the page


def new_backup_codes(user) -> list[str]:
    """Replace the user's backup codes with ``BACKUP_CODE_COUNT`` new single-use codes, returned
    once for display."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME,
                                                   defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes
