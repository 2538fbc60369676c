"""Security settings and HTTP hygiene (DESIGN §10): the deployment checklist, secrets from the
environment, Argon2, a Content-Security-Policy with no external origin, API documentation that
works on a closed network, and one error shape for unauthenticated API calls."""

import importlib
import json
import logging
import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from knox.models import AuthToken

from audit.models import AuditEvent
from committees.models import Committee
from config.settings import base
from tests.factories import MemberFactory, UserFactory
from tests.login import verified_client

BACKEND = Path(__file__).resolve().parents[1] / "backend"


def _random_secret(n: int = 60) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits + "-_") for _ in range(n))


def _production_env(**overrides) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CGH_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        CGH_SECRET_KEY=_random_secret(),
        CGH_PSEUDONYM_KEY=_random_secret(40),
        CGH_AUDIT_KEY=_random_secret(40),
        CGH_SOURCE_KEY="Yr3mW8F3qXyHjz2p8q0U1hP7t9nC4bV6sK2dL5eR0aQ=",
        CGH_ALLOWED_HOSTS="example.org",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


# --- Production settings -----------------------------------------------------------------------


def test_security_deployment_checklist_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BACKEND,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout.strip(), result.stderr) == (
        0,
        "System check identified no issues (0 silenced).",
        "",
    )


def _import_production(env: dict[str, str]):
    """Import ``config.settings.production`` afresh under ``env`` (it reads the environment once)."""
    with mock.patch.dict(os.environ, env, clear=True):
        sys.modules.pop("config.settings.production", None)
        try:
            return importlib.import_module("config.settings.production")
        finally:
            sys.modules.pop("config.settings.production", None)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"CGH_SECRET_KEY": None}, "CGH_SECRET_KEY must be set"),
        ({"CGH_SECRET_KEY": ""}, "CGH_SECRET_KEY must be set"),
        ({"CGH_SECRET_KEY": "too-short-0123456789"}, "CGH_SECRET_KEY must be set"),
        ({"CGH_PSEUDONYM_KEY": None}, "Set CGH_PSEUDONYM_KEY or CGH_PSEUDONYM_KEY_FILE"),
    ],
)
def test_security_production_settings_refuse_to_start_without_their_secrets(overrides, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        _import_production(_production_env(**overrides))


@pytest.mark.unit
def test_security_production_settings_with_their_secrets(tmp_path):
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text(_random_secret(40), encoding="utf-8")
    env = _production_env(CGH_PSEUDONYM_KEY=None, CGH_PSEUDONYM_KEY_FILE=str(key_file))
    production = _import_production(env)
    assert production.SECRET_KEY == env["CGH_SECRET_KEY"]
    assert production.DEBUG is False
    assert (
        production.SESSION_COOKIE_SECURE,
        production.CSRF_COOKIE_SECURE,
        production.SECURE_SSL_REDIRECT,
    ) == (True, True, True)
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_security_production_refusal_is_what_an_operator_sees():
    """Started for real without a secret key, the project stops with the reason."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BACKEND,
        env=_production_env(CGH_SECRET_KEY=None),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: CGH_SECRET_KEY must be set to a random value of at least 50 characters." in (
        result.stderr
    )


# --- Passwords ---------------------------------------------------------------------------------


@pytest.mark.unit
def test_security_passwords_are_hashed_with_argon2_in_base_settings():
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS):
        encoded = make_password("correct horse battery staple")
        assert encoded.startswith("argon2$argon2id$")
        assert identify_hasher(encoded).algorithm == "argon2"
        assert check_password("correct horse battery staple", encoded)
        assert not check_password("correct horse battery stapler", encoded)


@pytest.mark.unit
def test_security_password_validators_ask_for_twelve_characters():
    lengths = [v["OPTIONS"]["min_length"] for v in base.AUTH_PASSWORD_VALIDATORS if "MinimumLength" in v["NAME"]]
    assert lengths == [12]


# --- Content-Security-Policy and local assets --------------------------------------------------


def _csp_sources(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, *sources = part.split()
        directives[name] = sources
    return directives


PAGES = ["/login/", "/api/", "/api/docs/", "/api/redoc/", "/api/schema/", "/api/campaigns/", "/no-such-page/"]


@pytest.mark.parametrize("url", PAGES)
def test_security_every_response_carries_a_csp_without_external_origin(client, db, url):
    response = client.get(url)
    assert response.status_code < 500
    directives = _csp_sources(response["Content-Security-Policy"])
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no inline script, no eval, no CDN
    assert directives["frame-ancestors"] == ["'none'"]
    allowed = {"'self'", "'none'", "'unsafe-inline'", "data:"}
    for name, sources in directives.items():
        assert set(sources) <= allowed, (name, sources)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


ASSET = re.compile(
    r"""<(?:script|link|img|iframe|source|embed|object)\b[^>]*\b(?:src|href|data)\s*=\s*["']([^"']+)""",
    re.IGNORECASE,
)


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/", "/login/"])
def test_security_pages_load_only_local_assets(client, db, url):
    if url.startswith("/api/"):
        client.force_login(UserFactory(role="clinician"))  # the API documentation needs a login
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assets = ASSET.findall(html)
    assert assets
    for asset in assets:
        assert not re.match(r"^(?:[a-z]+:)?//", asset, re.IGNORECASE), asset
    assert not re.search(r"https?://", html), "an absolute URL in a page that must work offline"
    assert not re.search(r"<script\b(?![^>]*\bsrc=)[^>]*>\s*\S", html), "inline script: CSP would block it"
    # Every static asset the page needs ships with the application.
    for asset in assets:
        if asset.startswith(settings.STATIC_URL):
            assert finders.find(asset.removeprefix(settings.STATIC_URL).split("?")[0]), asset


def test_security_api_docs_and_schema_are_served(client, db):
    client.force_login(UserFactory(role="clinician"))
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["info"]["title"] == "Collège de garantie humaine API"
    assert "/api/assignments/{id}/submit/" in spec["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b'id="swagger-ui"' in docs.content
    script = client.get("/api/docs/", {"script": ""})
    assert (script.status_code, script["Content-Type"]) == (200, "application/javascript")
    assert b"/api/schema/" in script.content
    assert not re.search(rb"https?://", script.content)
    assert client.options("/api/docs/").status_code == 405  # not a 500 from its template renderer
    redoc = client.get("/api/redoc/")
    assert redoc.status_code == 200 and b'spec-url="/api/schema/"' in redoc.content


# --- Unauthenticated API calls -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/"),
        ("get", "/api/campaigns/"),
        ("get", "/api/cases/"),
        ("get", "/api/cases/1/"),
        ("get", "/api/assignments/"),
        ("get", "/api/assignments/1/"),
        ("get", "/api/campaign-cases/1/"),
        ("get", "/api/committees/"),
        ("get", "/api/import-batches/"),
        ("get", "/api/ai-systems/"),
        ("post", "/api/campaigns/"),
        ("post", "/api/assignments/1/submit/"),
        ("post", "/api/import-batches/"),
        ("options", "/api/campaigns/"),
    ],
)
def test_security_unauthenticated_api_calls_get_the_error_shape(api, db, method, url):
    response = getattr(api(None), method)(url)
    assert response.status_code == 403
    body = response.json()
    assert set(body) == {"code", "detail", "extra"}
    assert (body["code"], body["extra"]) == ("not_authenticated", {})
    assert isinstance(body["detail"], str) and body["detail"]


def test_security_a_bad_token_gets_the_error_shape(api, db):
    """Session authentication comes first and sends no challenge, so DRF answers 403, not 401."""
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/campaigns/")
    assert response.status_code == 403
    assert response.json() == {"code": "authentication_failed", "detail": "Token non valide.", "extra": {}}


# --- API documentation behind a login; refused authorizations on the security logger -------------


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_security_api_docs_send_anonymous_visitors_to_login(client, db, url):
    response = client.get(url)
    assert (response.status_code, response["Location"]) == (302, f"/login/?next={url}")


def test_security_api_schema_needs_authentication(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_security_api_schema_with_a_token(api, db):
    _, key = AuthToken.objects.create(user=UserFactory(role="clinician"))
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/schema/", {"format": "json"}).status_code == 200


def _security_records(caplog) -> list[dict]:
    return [r.security for r in caplog.records if r.name == "security" and hasattr(r, "security")]


def test_security_api_404_for_a_hidden_object_is_logged_with_user_path_and_object(api, world, caplog):
    other = Committee.objects.create(name="Collège B", hospital_group="GHT")
    MemberFactory(committee=other, user=UserFactory(role="chair", username="chair-b"), role="chair")
    with caplog.at_level(logging.INFO, logger="security"):
        response = api(world.chair).get(f"/api/committees/{other.pk}/members/")
    assert response.status_code == 404
    [record] = _security_records(caplog)
    assert {k: record[k] for k in ("event", "status", "user_id", "username", "method", "path", "object_id")} == {
        "event": "authorization_denied", "status": 404, "user_id": world.chair.pk, "username": "chair",
        "method": "GET", "path": f"/api/committees/{other.pk}/members/", "object_id": f"pk={other.pk}"}
    [message] = [r.getMessage() for r in caplog.records if r.name == "security"]
    assert record["at"] and json.loads(message) == record


def test_security_api_403_is_logged(api, world, caplog):
    with caplog.at_level(logging.INFO, logger="security"):
        response = api(world.clinicians[0]).get("/api/committees/")
    assert response.status_code == 403
    [record] = _security_records(caplog)
    assert (record["status"], record["user_id"], record["path"], record["reason"]) == (
        403, world.clinicians[0].pk, "/api/committees/", "permission_denied")


def test_security_web_404_for_a_hidden_object_is_logged(world, caplog):
    client = verified_client(world.management)  # holds no seat: the committee is hidden from them
    with caplog.at_level(logging.INFO, logger="security"):
        response = client.get(f"/committees/{world.committee.pk}/")
    assert response.status_code == 404
    [record] = _security_records(caplog)
    assert (record["status"], record["user_id"], record["path"]) == (
        404, world.management.pk, f"/committees/{world.committee.pk}/")


def test_security_denials_stay_out_of_the_audit_chain(api, world):
    before = AuditEvent.objects.count()
    for _ in range(3):
        api(world.clinicians[0]).get("/api/committees/")
    assert AuditEvent.objects.count() == before
