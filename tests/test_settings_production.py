"""Production settings refuse weak or missing keys (DESIGN §10): a pseudonymization key (current or
retired) shorter than 32 bytes, and a missing or malformed Fernet source key. Each case imports
the settings module in a fresh interpreter with exactly the given environment, as a server would."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BACKEND = Path(__file__).resolve().parents[1] / "backend"
PROBE = "import config.settings.production as p; print(p.DEBUG, p.SESSION_COOKIE_SECURE)"


def _env(**overrides) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CGH_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        CGH_SECRET_KEY=secrets.token_urlsafe(60),
        CGH_PSEUDONYM_KEY=secrets.token_urlsafe(32),  # 43 characters
        CGH_SOURCE_KEY=Fernet.generate_key().decode(),
        CGH_AUDIT_KEY=secrets.token_urlsafe(32),
        CGH_ALLOWED_HOSTS="example.org",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def _start(env: dict[str, str]) -> tuple[int, str]:
    """(exit code, last line of stderr or stdout) of importing the production settings."""
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=BACKEND, env=env, capture_output=True, text=True,
                            timeout=60)
    lines = (result.stderr or result.stdout).strip().splitlines()
    return result.returncode, lines[-1] if lines else ""


def test_settings_production_start_with_strong_keys(tmp_path):
    ring = tmp_path / "old-keys"
    ring.write_text(f"# retired 2025\nk0:{secrets.token_urlsafe(32)}\n", encoding="utf-8")
    source = tmp_path / "source.key"
    source.write_text(Fernet.generate_key().decode() + "\n", encoding="utf-8")
    env = _env(CGH_PSEUDONYM_OLD_KEYS=f"k1:{secrets.token_urlsafe(32)},k2:{'x' * 32}",
               CGH_PSEUDONYM_OLD_KEYS_FILE=str(ring), CGH_SOURCE_KEY=None, CGH_SOURCE_KEY_FILE=str(source))
    assert _start(env) == (0, "False True")


def test_settings_production_reads_the_pseudonym_key_file(tmp_path):
    key = tmp_path / "pseudonym.key"
    key.write_text("k" * 32 + "\n", encoding="utf-8")
    assert _start(_env(CGH_PSEUDONYM_KEY=None, CGH_PSEUDONYM_KEY_FILE=str(key))) == (0, "False True")
    key.write_text("k" * 31 + "\n", encoding="utf-8")
    assert _start(_env(CGH_PSEUDONYM_KEY=None, CGH_PSEUDONYM_KEY_FILE=str(key))) == (
        1, "django.core.exceptions.ImproperlyConfigured: The pseudonymization key (CGH_PSEUDONYM_KEY or "
           "CGH_PSEUDONYM_KEY_FILE) must be at least 32 bytes: python -c 'import secrets; "
           "print(secrets.token_urlsafe(48))'")


SHORT_PSEUDONYM = ("django.core.exceptions.ImproperlyConfigured: The pseudonymization key (CGH_PSEUDONYM_KEY or "
                   "CGH_PSEUDONYM_KEY_FILE) must be at least 32 bytes: python -c 'import secrets; "
                   "print(secrets.token_urlsafe(48))'")
BAD_SOURCE = ("django.core.exceptions.ImproperlyConfigured: CGH_SOURCE_KEY must be a Fernet key (32 bytes, url-safe "
              "base64-encoded): python -c 'from cryptography.fernet import Fernet; "
              "print(Fernet.generate_key().decode())'")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"CGH_PSEUDONYM_KEY": "p" * 31}, SHORT_PSEUDONYM),
    # 31 bytes of UTF-8 in 16 characters: bytes count, not characters.
    ({"CGH_PSEUDONYM_KEY": "é" * 15 + "x"}, SHORT_PSEUDONYM),
    ({"CGH_PSEUDONYM_OLD_KEYS": f"k1:{'o' * 32},k0:{'o' * 31}"},
     "django.core.exceptions.ImproperlyConfigured: The retired pseudonymization key k0 must be at least 32 bytes."),
    ({"CGH_PSEUDONYM_OLD_KEYS": "k0"},
     "django.core.exceptions.ImproperlyConfigured: CGH_PSEUDONYM_OLD_KEYS: entry 1 is not 'id:secret'."),
    ({"CGH_PSEUDONYM_OLD_KEYS_FILE": "/nonexistent/old-keys"},
     "django.core.exceptions.ImproperlyConfigured: Cannot read the key file /nonexistent/old-keys: "
     "No such file or directory."),
    ({"CGH_SOURCE_KEY": None},
     "django.core.exceptions.ImproperlyConfigured: Set CGH_SOURCE_KEY or CGH_SOURCE_KEY_FILE: the source references "
     "are encrypted with it (a Fernet key, distinct from the pseudonymization key)."),
    ({"CGH_SOURCE_KEY": "not-a-fernet-key"}, BAD_SOURCE),
    # Valid base64, but 16 bytes once decoded.
    ({"CGH_SOURCE_KEY": base64.urlsafe_b64encode(b"s" * 16).decode()}, BAD_SOURCE),
    # 32 characters, not 32 bytes of key.
    ({"CGH_SOURCE_KEY": "s" * 32}, BAD_SOURCE),
    ({"CGH_SOURCE_KEY_FILE": "/nonexistent/source.key", "CGH_SOURCE_KEY": None},
     "django.core.exceptions.ImproperlyConfigured: Cannot read the key file /nonexistent/source.key: "
     "No such file or directory."),
])
def test_settings_production_refuse_weak_or_missing_keys(overrides, message):
    assert _start(_env(**overrides)) == (1, message)


def test_settings_production_refuse_the_same_key_for_source_and_pseudonyms():
    key = Fernet.generate_key().decode()
    assert _start(_env(CGH_PSEUDONYM_KEY=key, CGH_SOURCE_KEY=key)) == (
        1, "django.core.exceptions.ImproperlyConfigured: The source key and the pseudonymization key must differ.")
