"""Test settings: same database switch as base (SQLite, or PostgreSQL with CGH_DB_ENGINE=postgres)."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, UPLOAD_STORAGE, database_from_env

INSTALLED_APPS = [*INSTALLED_APPS, "demo"]  # manage.py load_demo (demo tests, make fuzz)
SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
DEBUG = False
DATABASES = {"default": database_from_env()}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; base keeps Argon2
PSEUDONYM_KEY = "test-pseudonymization-key"
PSEUDONYM_KEY_ID = "test1"
SOURCE_KEY = "pLZp31PspAf1UKnCTNvPita6t3Fgiiht7Ob-oZ1RwBY="
SOURCE_KEY_ID = "stest1"
AUDIT_KEY = "test-audit-key-0123456789-abcdefghijklmnop"
AUDIT_KEY_ID = "atest1"
AUDIT_ANCHOR_PATH = None  # tests that anchor point it at a temporary directory
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # No persistent connections in tests: threads and the live server must not keep the test
    # database open when it is dropped.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# ---- Uploads storage (no shared filesystem between processes) ----
STORAGES = {**STORAGES, "uploads": UPLOAD_STORAGE}
