"""Logging in for tests through the real second-factor step.

``verified_client(user)`` opens a session the way a person does for every role that needs a
second factor: the session is opened for ``user`` (the password step, already covered by the
login tests), then the code of their authenticator is posted to the verification page, which
is what marks the session verified. Codes are computed from the device key with
``django_otp.oath``, as an authenticator app does; a device is enrolled for the user when they
have none. Enforcement is never switched off.
"""

import time

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.second_factor import requires_second_factor

VERIFY_URL = "/account/second-factor/"


def enrolled_device(user) -> TOTPDevice:
    """The user's confirmed TOTP device (created and confirmed for them when they have none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="totp", confirmed=True)
    return device


def totp_code(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    """The code an authenticator app shows now (or ``offset_steps`` steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def next_code(device: TOTPDevice) -> str:
    """A code the device still accepts: TOTP codes are single-use, so when this time step was
    already used (several logins within 30 s) the next step, within the device's tolerance, is
    used; beyond it, a fresh backup code."""
    device.refresh_from_db()
    for offset in range(0, device.tolerance + 1):
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time() + offset * device.step
        if totp.t() > device.last_t:
            return f"{totp.token():0{device.digits}d}"
    backup, _ = StaticDevice.objects.get_or_create(user=device.user, name="backup", defaults={"confirmed": True})
    return StaticToken.objects.create(device=backup, token=StaticToken.random_token()).token


def verify_session(client: Client, user) -> None:
    response = client.post(VERIFY_URL, {"otp": next_code(enrolled_device(user))})
    assert response.status_code == 302, response.status_code


def verified_login(client: Client, user) -> Client:
    client.force_login(user)
    if requires_second_factor(user):
        verify_session(client, user)
    return client


def verified_client(user, **kwargs) -> Client:
    return verified_login(Client(**kwargs), user)


def login(user) -> Client:
    """A fresh client logged in as ``user`` with a verified second factor (the page tests' short name)."""
    return verified_client(user)
