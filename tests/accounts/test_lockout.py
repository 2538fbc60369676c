"""Login throttling per (client address, username) and per client address, from the audit trail."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ATTACKER, OFFICE = "203.0.113.9", "198.51.100.20"


def _fail(client, username: str, times: int) -> None:
    for _ in range(times):
        client.post("/login/", {"username": username, "password": "not the password"})


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_right_password_refused_after_five_failures_from_that_client_and_said_so(settings):
    settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_MINUTES = 5, 15
    UserFactory(username="camille")
    attacker = Client(REMOTE_ADDR=ATTACKER)
    _fail(attacker, "camille", 5)

    r = attacker.post("/login/", {"username": "camille", "password": PASSWORD})

    assert r.status_code == 200 and not _logged_in(attacker)
    assert r.context["form"].errors.as_data()["__all__"][0].code == "locked_out"
    last = AuditEvent.objects.filter(action="auth.login_failed").last()
    assert (last.data["locked_out"], last.data["username"], last.data["ip"]) == (True, "camille", ATTACKER)


def test_attacker_cannot_lock_the_dpo_out_from_another_address(settings):
    settings.LOGIN_MAX_FAILURES = 5
    UserFactory(username="dpo-user", role="dpo")
    _fail(Client(REMOTE_ADDR=ATTACKER), "dpo-user", 12)

    office = Client(REMOTE_ADDR=OFFICE)
    r = office.post("/login/", {"username": "dpo-user", "password": PASSWORD})

    assert (r.status_code, r["Location"], _logged_in(office)) == (302, "/account/second-factor/setup/", True)


def test_one_client_spraying_many_usernames_is_refused_for_every_username(settings):
    settings.LOGIN_MAX_FAILURES, settings.LOGIN_MAX_FAILURES_PER_CLIENT = 5, 6
    UserFactory(username="camille")
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for name in ("a1", "a2", "a3", "a4", "a5", "a6"):
        _fail(attacker, name, 1)

    r = attacker.post("/login/", {"username": "camille", "password": PASSWORD})

    assert r.status_code == 200 and not _logged_in(attacker)
    assert r.context["form"].errors.as_data()["__all__"][0].code == "locked_out"
    assert Client(REMOTE_ADDR=OFFICE).post("/login/", {"username": "camille", "password": PASSWORD}).status_code == 302


def test_four_failures_then_right_password_logs_in_and_resets(settings):
    settings.LOGIN_MAX_FAILURES = 5
    UserFactory(username="camille")
    client = Client(REMOTE_ADDR=OFFICE)
    _fail(client, "camille", 4)

    assert client.post("/login/", {"username": "camille", "password": PASSWORD}).status_code == 302
    client.post("/logout/")
    _fail(client, "camille", 4)  # counted again from the successful login from this client
    assert client.post("/login/", {"username": "camille", "password": PASSWORD}).status_code == 302


def test_lockout_ends_after_the_window(settings, monkeypatch):
    settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_MINUTES = 3, 15
    UserFactory(username="camille")
    client = Client(REMOTE_ADDR=ATTACKER)
    _fail(client, "camille", 3)
    assert client.post("/login/", {"username": "camille", "password": PASSWORD}).status_code == 200

    later = timezone.now() + dt.timedelta(minutes=16)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert client.post("/login/", {"username": "camille", "password": PASSWORD}).status_code == 302


def test_unknown_username_is_locked_the_same_way(settings):
    settings.LOGIN_MAX_FAILURES = 2
    client = Client(REMOTE_ADDR=ATTACKER)
    _fail(client, "nobody-here", 2)

    r = client.post("/login/", {"username": "nobody-here", "password": "x"})

    assert r.context["form"].errors.as_data()["__all__"][0].code == "locked_out"


def test_trusted_proxy_address_is_the_client(settings):
    settings.LOGIN_MAX_FAILURES, settings.CGH_TRUSTED_PROXY_COUNT = 2, 1
    UserFactory(username="camille")
    behind_proxy = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}")
    _fail(behind_proxy, "camille", 2)

    colleague = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=OFFICE)
    assert colleague.post("/login/", {"username": "camille", "password": PASSWORD}).status_code == 302
    assert list(AuditEvent.objects.filter(action="auth.login_failed").values_list("data__ip", flat=True)) == [
        ATTACKER, ATTACKER]


def test_api_token_endpoint_is_throttled_too(settings, api):
    settings.LOGIN_MAX_FAILURES = 2
    UserFactory(username="camille")
    for _ in range(2):
        api().post("/api/auth/token/", {"username": "camille", "password": "wrong"}, format="json")

    r = api().post("/api/auth/token/", {"username": "camille", "password": PASSWORD}, format="json")

    assert r.status_code == 400
    assert r.json() == {"code": "invalid_credentials", "detail": "Unable to log in with the credentials provided.",
                        "extra": {}}
