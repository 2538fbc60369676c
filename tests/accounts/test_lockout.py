"""Lockout after repeated failed logins, counted from the audit trail."""

import datetime as dt

import pytest
from django.contrib.auth import authenticate
from django.utils import timezone

from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _fail(client, username: str, times: int) -> None:
    for _ in range(times):
        client.post("/login/", {"username": username, "password": "not the password"})


def test_right_password_refused_after_five_failures_and_said_so(client, settings):
    settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_MINUTES = 5, 15
    UserFactory(username="camille")
    _fail(client, "camille", 5)

    r = client.post("/login/", {"username": "camille", "password": PASSWORD})

    assert r.status_code == 200 and "_auth_user_id" not in client.session
    assert r.context["form"].errors.as_data()["__all__"][0].code == "locked_out"
    last = AuditEvent.objects.filter(action="auth.login_failed").last()
    assert last.data["locked_out"] is True and last.data["username"] == "camille"


def test_four_failures_then_right_password_logs_in_and_resets(client, settings):
    settings.LOGIN_MAX_FAILURES = 5
    UserFactory(username="camille")
    _fail(client, "camille", 4)

    assert client.post("/login/", {"username": "camille", "password": PASSWORD}).status_code == 302
    client.post("/logout/")
    _fail(client, "camille", 4)  # counted again from the successful login
    assert client.post("/login/", {"username": "camille", "password": PASSWORD}).status_code == 302


def test_lockout_ends_after_the_window(client, settings, monkeypatch):
    settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_MINUTES = 3, 15
    user = UserFactory(username="camille")
    _fail(client, "camille", 3)
    assert authenticate(username="camille", password=PASSWORD) is None

    later = timezone.now() + dt.timedelta(minutes=16)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert authenticate(username="camille", password=PASSWORD) == user


def test_unknown_username_is_locked_the_same_way(client, settings):
    settings.LOGIN_MAX_FAILURES = 2
    _fail(client, "nobody-here", 2)

    r = client.post("/login/", {"username": "nobody-here", "password": "x"})

    assert r.context["form"].errors.as_data()["__all__"][0].code == "locked_out"


def test_api_token_endpoint_is_locked_too(client, settings, api):
    settings.LOGIN_MAX_FAILURES = 2
    UserFactory(username="camille")
    for _ in range(2):
        api().post("/api/auth/token/", {"username": "camille", "password": "wrong"}, format="json")

    r = api().post("/api/auth/token/", {"username": "camille", "password": PASSWORD}, format="json")

    assert r.status_code == 400 and "token" not in r.json()
