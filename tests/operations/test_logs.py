"""JSON logs: one object per line with the request id (taken from X-Request-ID when well formed,
echoed in the response) and the user's id, in every line emitted during the request: the access
line, the API's refusals, Django's own 500 record. Production's LOGGING writes them to stdout."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from operations.logs import JsonFormatter, RequestContextFilter
from tests.factories import UserFactory

BACKEND = Path(__file__).resolve().parents[2] / "backend"
LINE_KEYS = {"timestamp", "level", "logger", "message", "request_id", "user_id"}
ACCESS_KEYS = LINE_KEYS | {"method", "path", "status", "duration_ms"}


@pytest.fixture
def json_lines():
    """Every log record of the test, formatted as production formats it; returns a reader."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root, access = logging.getLogger(), logging.getLogger("cgh.request")
    root.addHandler(handler)
    previous = access.level
    access.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        access.setLevel(previous)


def _access(lines):
    return [line for line in lines if line["logger"] == "cgh.request"]


def test_logs_access_line_is_json_with_the_request_fields(db, json_lines):
    response = Client().get("/public/?patient=PAT0001234", HTTP_X_REQUEST_ID="req-0123456789abcdef")

    (line,) = _access(json_lines())
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-0123456789abcdef"
    assert set(line) == ACCESS_KEYS
    assert (line["level"], line["method"], line["path"], line["status"], line["request_id"], line["user_id"]) == (
        "INFO", "GET", "/public/", 200, "req-0123456789abcdef", None)
    assert "PAT0001234" not in json.dumps(json_lines())  # the query string is never logged
    assert line["duration_ms"] > 0
    assert line["timestamp"].endswith("+00:00")


@pytest.mark.parametrize("header", ["", "short", "bad id with spaces", "x" * 129, "a\nforged line", "é" * 10])
def test_logs_malformed_request_id_is_replaced(db, json_lines, header):
    response = Client().get("/public/", HTTP_X_REQUEST_ID=header)

    (line,) = _access(json_lines())
    assert response["X-Request-ID"] == line["request_id"]
    assert len(line["request_id"]) == 32 and line["request_id"] != header
    int(line["request_id"], 16)


def test_logs_request_id_and_user_id_reach_the_api_refusal(db, json_lines):
    user = UserFactory(role="clinician", username="lecteur")
    client = Client()
    client.force_login(user)

    response = client.get("/api/campaigns/999999/", HTTP_X_REQUEST_ID="trace-api-000001")

    lines = json_lines()
    assert response.status_code == 404
    assert [(line["logger"], line["request_id"], line["user_id"]) for line in lines] == [
        ("security", "trace-api-000001", user.pk),
        ("cgh.request", "trace-api-000001", user.pk),
        ("django.request", "trace-api-000001", user.pk),  # Django's "Not Found", after the middlewares
    ]
    assert "lecteur@example.org" not in json.dumps(_access(lines))


def test_logs_token_authenticated_api_call_names_the_user(db, json_lines):
    user = UserFactory(role="clinician")
    client = Client()
    token = _token_for(user)

    response = client.get("/api/assignments/", HTTP_AUTHORIZATION=f"Token {token}")

    (line,) = _access(json_lines())
    assert (response.status_code, line["path"], line["user_id"]) == (200, "/api/assignments/", user.pk)


def _token_for(user) -> str:
    from knox.models import AuthToken  # noqa: PLC0415 - only this test needs a token

    return AuthToken.objects.create(user=user)[1]


@pytest.mark.urls("tests.operations.urls")
@pytest.mark.parametrize(("url", "message"), [("/test-failing/", "about to fail"),
                                              ("/api/test-failing/", "about to fail in the API")])
def test_logs_request_id_reaches_the_500_lines(db, json_lines, url, message):
    response = Client(raise_request_exception=False).get(url, HTTP_X_REQUEST_ID="trace-500-0000001")

    lines = json_lines()
    assert response.status_code == 500
    assert response["X-Request-ID"] == "trace-500-0000001"
    assert [(line["logger"], line["level"], line["message"], line["request_id"]) for line in lines] == [
        ("cases.failing", "WARNING", message, "trace-500-0000001"),
        ("django.request", "ERROR", f"Internal Server Error: {url}", "trace-500-0000001"),
        ("cgh.request", "INFO", f"GET {url} 500 {lines[-1]['duration_ms']:.1f} ms", "trace-500-0000001"),
    ]
    assert "RuntimeError: failing on purpose" in lines[1]["exception"]


def test_logs_outside_a_request_have_no_request_id(json_lines):
    logging.getLogger("cases.worker").warning("background line")

    assert [(line["message"], line["request_id"], line["user_id"]) for line in json_lines()] == [
        ("background line", None, None)]


PROBE = """
import logging, logging.config
import config.settings.production as p
logging.config.dictConfig(p.LOGGING)
logging.getLogger("cgh.request").info("GET /x 200", extra={"method": "GET", "path": "/x", "status": 200,
                                                          "duration_ms": 1.5})
logging.getLogger("django.request").debug("not shown")
"""


def test_logs_production_writes_json_lines_on_stdout():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CGH_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(CGH_SECRET_KEY="s" * 60, CGH_PSEUDONYM_KEY="p" * 40, CGH_AUDIT_KEY="a" * 40,
               CGH_SOURCE_KEY="Yr3mW8F3qXyHjz2p8q0U1hP7t9nC4bV6sK2dL5eR0aQ=", CGH_ALLOWED_HOSTS="example.org")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=BACKEND, env=env, capture_output=True, text=True,
                            timeout=60)

    assert (result.returncode, result.stderr) == (0, "")
    (line,) = [json.loads(text) for text in result.stdout.splitlines()]
    assert {k: v for k, v in line.items() if k != "timestamp"} == {
        "level": "INFO", "logger": "cgh.request", "message": "GET /x 200", "request_id": None, "user_id": None,
        "method": "GET", "path": "/x", "status": 200, "duration_ms": 1.5}
