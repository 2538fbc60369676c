"""Production: every secret from the environment, HTTPS only, PostgreSQL expected."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, env_bool

DEBUG = False
SECRET_KEY = env("CGH_SECRET_KEY") or ""
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("CGH_SECRET_KEY must be set to a random value of at least 50 characters.")
if not (env("CGH_PSEUDONYM_KEY") or env("CGH_PSEUDONYM_KEY_FILE")):
    raise ImproperlyConfigured("Set CGH_PSEUDONYM_KEY or CGH_PSEUDONYM_KEY_FILE: pseudonyms need a secret key.")

SECURE_SSL_REDIRECT = env_bool("CGH_SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(env("CGH_HSTS_SECONDS", "31536000") or 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
