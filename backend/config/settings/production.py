"""Production: every secret from the environment, HTTPS only, PostgreSQL expected."""

import base64
import binascii
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from cases.pseudonymization import read_secret, retired_key_entries
from operations.logs import json_logging

from .base import *  # noqa: F403
from .base import PROJECT_DIR, UPLOAD_STORAGE, env, env_bool

DEBUG = False
SECRET_KEY = env("CGH_SECRET_KEY") or ""
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("CGH_SECRET_KEY must be set to a random value of at least 50 characters.")
if not (env("CGH_PSEUDONYM_KEY") or env("CGH_PSEUDONYM_KEY_FILE")):
    raise ImproperlyConfigured("Set CGH_PSEUDONYM_KEY or CGH_PSEUDONYM_KEY_FILE: pseudonyms need a secret key.")

# Keys: read once at start-up, so that a short, malformed or unreadable key stops the server
# before any pseudonym or ciphertext is made with it. Key files are read here and again where
# the keys are used (cases.pseudonymization, cases.source_reference).
MIN_KEY_BYTES = 32
_pseudonym_key = read_secret(env("CGH_PSEUDONYM_KEY"), env("CGH_PSEUDONYM_KEY_FILE"))
if len(_pseudonym_key.encode("utf-8")) < MIN_KEY_BYTES:
    raise ImproperlyConfigured(
        f"The pseudonymization key (CGH_PSEUDONYM_KEY or CGH_PSEUDONYM_KEY_FILE) must be at least {MIN_KEY_BYTES} "
        "bytes: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
for _key_id, _old_secret in retired_key_entries(env("CGH_PSEUDONYM_OLD_KEYS"), env("CGH_PSEUDONYM_OLD_KEYS_FILE")):
    if len(_old_secret.encode("utf-8")) < MIN_KEY_BYTES:
        raise ImproperlyConfigured(
            f"The retired pseudonymization key {_key_id} must be at least {MIN_KEY_BYTES} bytes.")
_source_key = read_secret(env("CGH_SOURCE_KEY"), env("CGH_SOURCE_KEY_FILE"))
if not _source_key:
    raise ImproperlyConfigured("Set CGH_SOURCE_KEY or CGH_SOURCE_KEY_FILE: the source references are encrypted with "
                               "it (a Fernet key, distinct from the pseudonymization key).")
try:
    _decoded = base64.urlsafe_b64decode(_source_key.encode("ascii"))
    Fernet(_source_key.encode("ascii"))
except (ValueError, UnicodeEncodeError, binascii.Error):
    _decoded = b""
if len(_decoded) != MIN_KEY_BYTES:
    raise ImproperlyConfigured(
        "CGH_SOURCE_KEY must be a Fernet key (32 bytes, url-safe base64-encoded): "
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'")
if _source_key == _pseudonym_key:
    raise ImproperlyConfigured("The source key and the pseudonymization key must differ.")
del _pseudonym_key, _source_key, _decoded
# The audit key seals the audit trail; the database administrator must not hold it.
_audit_key = (env("CGH_AUDIT_KEY") or "").encode()
if not _audit_key and env("CGH_AUDIT_KEY_FILE"):
    try:
        _audit_key = Path(env("CGH_AUDIT_KEY_FILE")).read_bytes().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"CGH_AUDIT_KEY_FILE cannot be read: {exc.strerror}.") from exc
if len(_audit_key) < 32:
    raise ImproperlyConfigured("Set CGH_AUDIT_KEY or CGH_AUDIT_KEY_FILE to a random secret of at least 32 bytes.")
del _audit_key

SECURE_SSL_REDIRECT = env_bool("CGH_SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(env("CGH_HSTS_SECONDS", "31536000") or 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# "__Host-" cookies: the browser accepts them only with Secure, Path=/ and no Domain, so that no
# other host of the hospital's domain (nor plain HTTP) can set or overwrite them.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
SESSION_COOKIE_PATH = "/"
CSRF_COOKIE_PATH = "/"
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# ---------------------------------------------------------------- operations (deployment)
# Collected static files, served by WhiteNoise from each application server (hashed names,
# compressed, cached for a year); a directory of its own when servers run from other directories.
STATIC_ROOT = env("CGH_STATIC_ROOT") or str(PROJECT_DIR / "var" / "static")
# A health probe comes over plain HTTP on the server's own address: /healthz is answered before
# the HTTPS redirect and the host check (operations.middleware); this keeps it so if reordered.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# One JSON object per line on stdout, with the request id and the user id (operations.logs).
LOGGING = json_logging(level=env("CGH_LOG_LEVEL", "INFO") or "INFO")

# ---- Uploads storage (no shared filesystem between processes) ----
STORAGES = {**STORAGES, "uploads": UPLOAD_STORAGE}
