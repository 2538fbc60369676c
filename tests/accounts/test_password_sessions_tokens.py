"""Own password change, password validators, session lifetime and API tokens."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.middleware import LOGIN_AT, SEEN_AT
from accounts.validators import PersonalInformationValidator
from tests.factories import PASSWORD, UserFactory
from tests.login import verified_client

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Another long passphrase 42"


@pytest.mark.parametrize("password", ["HELENE-garantie-2026", "xx-Dupont-Moreau-xx", "hdupont-garantie-99",
                                      "h.dupont.garantie.77", "garantie-Hélène!!42"])
def test_password_containing_names_is_refused_case_and_accent_insensitively(password):
    user = UserFactory.build(username="hdupont", first_name="Hélène", last_name="Dupont-Moreau",
                             email="h.dupont@chu.example")
    with pytest.raises(ValidationError) as exc:
        PersonalInformationValidator().validate(password, user)
    assert exc.value.code == "password_contains_personal_information"


def test_password_without_names_passes_every_validator():
    user = UserFactory.build(username="hdupont", first_name="Hélène", last_name="Dupont", email="hd@chu.example")
    assert validate_password("violet tramway orbit 7", user) is None
    with pytest.raises(ValidationError):
        validate_password("short1!", user)  # the minimum length of 12 stays


def _client_with_token(user, api):
    _, token = AuthToken.objects.create(user=user)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_own_password_change_ends_other_sessions_and_tokens(api):
    user = UserFactory(role="clinician", username="pwchanger")
    current, other = verified_client(user), verified_client(user)
    token_client = _client_with_token(user, api)
    assert token_client.get("/api/campaigns/").status_code == 200

    r = current.post("/account/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                   "new_password2": NEW_PASSWORD})

    assert (r.status_code, r["Location"]) == (302, "/account/")
    assert current.get("/campaigns/").status_code == 200
    assert other.get("/campaigns/")["Location"] == "/login/?next=/campaigns/"
    assert token_client.get("/api/campaigns/").status_code == 403
    assert AuthToken.objects.filter(user=user).count() == 0


def test_own_password_change_needs_the_old_password_and_validators():
    user = UserFactory(role="clinician", username="pwchanger", first_name="Camille")
    client = verified_client(user)
    wrong_old = client.post("/account/", {"old_password": "nope", "new_password1": NEW_PASSWORD,
                                          "new_password2": NEW_PASSWORD})
    named = client.post("/account/", {"old_password": PASSWORD, "new_password1": "camille garantie 2026",
                                      "new_password2": "camille garantie 2026"})
    assert wrong_old.status_code == 400 and named.status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_idle_session_expires_after_30_minutes(settings):
    settings.CGH_SESSION_IDLE_MINUTES = 30
    client = verified_client(UserFactory(role="clinician"))
    session = client.session
    session[SEEN_AT] = int(time.time()) - 31 * 60
    session.save()
    r = client.get("/campaigns/")
    assert (r.status_code, r["Location"]) == (302, "/login/?next=/campaigns/")
    assert client.get("/campaigns/").status_code == 302


def test_session_expires_after_12_hours_even_when_active(settings):
    settings.CGH_SESSION_MAX_HOURS = 12
    client = verified_client(UserFactory(role="clinician"))
    session = client.session
    session[LOGIN_AT] = int(time.time()) - 12 * 3600 - 60
    session[SEEN_AT] = int(time.time())
    session.save()
    assert client.get("/campaigns/")["Location"] == "/login/?next=/campaigns/"


def test_active_session_within_limits_carries_on():
    client = verified_client(UserFactory(role="clinician"))
    session = client.session
    session[SEEN_AT] = int(time.time()) - 29 * 60
    session.save()
    assert client.get("/campaigns/").status_code == 200


def test_session_key_rotates_at_login():
    UserFactory(username="rotating", role="clinician")
    client = Client()
    client.get("/login/")
    client.cookies["sessionid"] = "presetsessionkeyfromanattacker00"
    client.post("/login/", {"username": "rotating", "password": PASSWORD})
    assert client.cookies["sessionid"].value != "presetsessionkeyfromanattacker00"


def test_api_token_is_stored_hashed_expires_and_is_revoked_at_logout(api, settings):
    UserFactory(username="tok", role="clinician")
    r = api().post("/api/auth/token/", {"username": "tok", "password": PASSWORD}, format="json")
    key = r.json()["token"]
    row = AuthToken.objects.get()
    assert key not in (row.digest, row.token_key) and row.token_key == key[:15]
    assert 9.9 * 3600 < (row.expiry - row.created).total_seconds() <= 10 * 3600
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/campaigns/").status_code == 200

    assert client.post("/api/auth/logout/").status_code == 204

    assert AuthToken.objects.count() == 0
    assert client.get("/api/campaigns/").status_code == 403


def test_expired_api_token_is_refused(api):
    user = UserFactory(role="clinician")

    _, key = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    r = client.get("/api/campaigns/")
    assert r.status_code == 403 and r.json()["code"] == "authentication_failed"


def test_api_request_reads_its_token_with_the_user_in_one_query_and_leaves_other_tokens():
    user = UserFactory(username="reader", role="clinician")
    _, key = AuthToken.objects.create(user=user)
    old, _ = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/campaigns/").status_code == 200

    token_queries = [q["sql"] for q in queries if "knox_authtoken" in q["sql"]]
    assert len(token_queries) == 1 and "accounts_user" in token_queries[0]
    assert AuthToken.objects.filter(pk=old.pk).exists()  # swept when a token is issued, below

    r = client.post("/api/auth/token/", {"username": "reader", "password": PASSWORD}, format="json")

    assert r.status_code == 200
    assert not AuthToken.objects.filter(pk=old.pk).exists()
    assert AuthToken.objects.filter(user=user).count() == 2  # the one in use and the new one
