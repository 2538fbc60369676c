"""Settings shared by every environment. Environment-specific modules import * from here."""

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from common.storage_settings import storage_from_env

BASE_DIR = Path(__file__).resolve().parents[2]  # backend/
PROJECT_DIR = BASE_DIR.parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = env("CGH_SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS: list[str] = [h for h in (env("CGH_ALLOWED_HOSTS", "") or "").split(",") if h]

INSTALLED_APPS = [
    "accounts.apps.VerifiedAdminConfig",  # django.contrib.admin, behind the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "common",
    "operations",
    "accounts",
    "audit",
    "cases",
    "committees",
    "reviews",
    "vigilance",
    "reidentification",
    "sittings",
    "reports",
    "transparency",
    "web",
]

MIDDLEWARE = [
    # Request id and access line first, then /healthz answered before the host, HTTPS and login
    # checks (operations.middleware).
    "operations.middleware.RequestLogMiddleware",
    "operations.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "common.middleware.RequestHardeningMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "common.middleware.FrenchFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "common.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "frontend_templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.can",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"


def database_from_env() -> dict:
    """SQLite by default; PostgreSQL when CGH_DB_ENGINE=postgres (host, port, name, user from env)."""
    if env("CGH_DB_ENGINE", "sqlite") == "postgres":
        password = env("CGH_DB_PASSWORD", "") or ""
        if not password and env("CGH_DB_PASSWORD_FILE"):
            try:
                password = Path(env("CGH_DB_PASSWORD_FILE")).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ImproperlyConfigured(f"CGH_DB_PASSWORD_FILE cannot be read: {exc.strerror}.") from exc
        options = {"connect_timeout": int(env("CGH_DB_CONNECT_TIMEOUT", "10") or 10)}
        if env("CGH_DB_SSLMODE"):  # e.g. verify-full, with the CA in PGSSLROOTCERT
            options["sslmode"] = env("CGH_DB_SSLMODE")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env("CGH_DB_NAME", "cgh"),
            "USER": env("CGH_DB_USER", "cgh"),
            "PASSWORD": password,
            "HOST": env("CGH_DB_HOST", "127.0.0.1"),
            "PORT": env("CGH_DB_PORT", "5432"),
            "CONN_MAX_AGE": int(env("CGH_DB_CONN_MAX_AGE", "60") or 0),
            "CONN_HEALTH_CHECKS": True,  # a connection kept across requests is checked before reuse
            "OPTIONS": options,
            "TEST": {"NAME": env("CGH_DB_TEST_NAME", "test_cgh")},
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env("CGH_SQLITE_PATH", str(PROJECT_DIR / "var" / "cgh.sqlite3")),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.PersonalInformationValidator"},
]
AUTHENTICATION_BACKENDS = ["accounts.lockout.LockoutModelBackend"]
# Login throttling (accounts.lockout), counted from the audit trail so that every application
# server sees the same counts: failures within the window per (client address, username), and
# per client address whatever the username.
LOGIN_MAX_FAILURES = int(env("CGH_LOGIN_MAX_FAILURES", "5") or 5)
LOGIN_MAX_FAILURES_PER_CLIENT = int(env("CGH_LOGIN_MAX_FAILURES_PER_CLIENT", "20") or 20)
LOGIN_LOCKOUT_MINUTES = int(env("CGH_LOGIN_LOCKOUT_MINUTES", "15") or 15)
# Number of reverse proxies in front of the application that append the client address to
# X-Forwarded-For (0: the client is REMOTE_ADDR). Only those trusted proxies' entries are read.
CGH_TRUSTED_PROXY_COUNT = int(env("CGH_TRUSTED_PROXY_COUNT", "0") or 0)
# Sessions: idle timeout and absolute lifetime (accounts.middleware.SessionLifetimeMiddleware).
CGH_SESSION_IDLE_MINUTES = int(env("CGH_SESSION_IDLE_MINUTES", "30") or 30)
CGH_SESSION_MAX_HOURS = int(env("CGH_SESSION_MAX_HOURS", "12") or 12)
SESSION_COOKIE_AGE = CGH_SESSION_MAX_HOURS * 3600
# TOTP second factor (django-otp): required for the roles in accounts.enums.SECOND_FACTOR_ROLES and
# for staff, in every environment. This one switch exists for an emergency and for no test.
CGH_SECOND_FACTOR_REQUIRED = env_bool("CGH_SECOND_FACTOR_REQUIRED", True)
OTP_TOTP_ISSUER = env("CGH_OTP_ISSUER", "Collège de garantie humaine")
OTP_TOTP_THROTTLE_FACTOR = 1
# API tokens (django-rest-knox): stored as a hash only, expire, revoked at logout and password change.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=float(env("CGH_API_TOKEN_HOURS", "10") or 10)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = PROJECT_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "web" / "static_src"]
# plotly.js is served from the installed plotly package (reports/finders.py), never from a CDN.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "reports.finders.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Everything is served by the application itself: no CDN, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; "
    "form-action 'self'"
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.TokenAuthentication",  # knox's tokens, one query per request
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Bounded parsers and pagination (common.parsers, common.pagination): bad input is a 4xx.
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.BoundedJSONParser",
        "common.parsers.NulRefusingFormParser",
        "common.parsers.NulRefusingMultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Collège de garantie humaine API",
    "DESCRIPTION": "Blind re-reading of AI-assisted cases, committee work and concordance reporting.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema is for logged-in users (a token or a verified session): anonymous callers get 401.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": ["accounts.authentication.TokenAuthentication",
                             "rest_framework.authentication.SessionAuthentication"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CampaignStateEnum": "reviews.enums.CampaignState",
        "CampaignCaseStateEnum": "reviews.enums.CampaignCaseState",
        "AssignmentStateEnum": "reviews.enums.AssignmentState",
        "YesNoUnknownEnum": "reviews.enums.YesNoUnknown",
        "AssignmentKindEnum": "reviews.enums.AssignmentKind",
        "ConflictKindEnum": "committees.enums.ConflictKind",
        "PublicTextKindEnum": "transparency.enums.TextKind",
        "PublicTextStateEnum": "transparency.enums.TextState",
    },
}

# Request bounds (common.middleware, common.uploads, common.parsers). A file upload larger than
# CGH_MAX_UPLOAD_MB is refused (413) before it is read; an upload over FILE_UPLOAD_MAX_MEMORY_SIZE
# streams to a temporary file of this process (never held in memory, and swept by the import
# recovery if a process dies); a non-file body (JSON, form fields) is held in memory and
# bounded by DATA_UPLOAD_MAX_MEMORY_SIZE; JSON nests at most API_JSON_MAX_DEPTH levels.
MAX_UPLOAD_BYTES = int(env("CGH_MAX_UPLOAD_MB", "200") or 200) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "common.uploads.MaxSizeUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Local scratch of this process only (an upload being received, an import's copy of its file):
# never shared between processes; swept of files a killed process left by the import recovery.
FILE_UPLOAD_TEMP_DIR = env("CGH_UPLOAD_TEMP_DIR") or str(PROJECT_DIR / "var" / "uploading")
FILE_UPLOAD_PERMISSIONS = 0o600
API_JSON_MAX_DEPTH = 20
API_MAX_PAGE_SIZE = 200
# JSON and FHIR documents are parsed whole (CSV and JSON Lines stream): bounded so that an import
# stays under 300 MB of memory; larger exports go through CSV or JSON Lines.
MAX_DOCUMENT_BYTES = int(env("CGH_MAX_DOCUMENT_MB", "20") or 20) * 1024 * 1024

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# The charts of a PDF export are drawn as static SVG by plotly's kaleido in a headless Chromium
# (reports.static_charts), started from this executable; nothing is fetched from the network.
CHART_BROWSER_PATH = env("CGH_CHART_BROWSER_PATH", "/usr/bin/chromium") or ""

DEFAULT_FROM_EMAIL = env("CGH_FROM_EMAIL", "college-garantie-humaine@localhost")
# Public address of the site, for the links in e-mails sent by background work (no request there).
SITE_URL = (env("CGH_SITE_URL", "") or "").rstrip("/")
# Public address of the transparency pages, printed as a QR code on the posters (the site's address
# when unset; the address of the request when both are unset).
PUBLIC_BASE_URL = (env("CGH_PUBLIC_BASE_URL", "") or SITE_URL).rstrip("/")

# Pseudonymization keys live outside the database: in the environment or in a key file.
# The key id is stored with every pseudonym so that keys can be rotated.
PSEUDONYM_KEY = env("CGH_PSEUDONYM_KEY")
PSEUDONYM_KEY_FILE = env("CGH_PSEUDONYM_KEY_FILE")
PSEUDONYM_KEY_ID = env("CGH_PSEUDONYM_KEY_ID", "k1")
# Retired keys, kept to match the pseudonyms they made (never to make new ones): "id:secret"
# entries separated by commas or spaces, or one per line in a key-ring file (cases.pseudonymization).
PSEUDONYM_OLD_KEYS = env("CGH_PSEUDONYM_OLD_KEYS")
PSEUDONYM_OLD_KEYS_FILE = env("CGH_PSEUDONYM_OLD_KEYS_FILE")
# The source references (accession numbers) needed for a recall are encrypted with a second,
# separate key (a Fernet key), which the reviewers' side never holds.
SOURCE_KEY = env("CGH_SOURCE_KEY")
SOURCE_KEY_FILE = env("CGH_SOURCE_KEY_FILE")
SOURCE_KEY_ID = env("CGH_SOURCE_KEY_ID", "s1")
# Audit trail (audit.models): events are sealed with HMAC-SHA256 under a key held outside the
# database; retired keys (files named <key id>.key) stay readable for verification only.
AUDIT_KEY = env("CGH_AUDIT_KEY")
AUDIT_KEY_FILE = env("CGH_AUDIT_KEY_FILE")
AUDIT_KEY_ID = env("CGH_AUDIT_KEY_ID", "a1")
AUDIT_RETIRED_KEYS_DIR = env("CGH_AUDIT_RETIRED_KEYS_DIR")
# Signed checkpoints go to an append-only file on other storage (a write-once mount, a log
# shipper's directory): a file, or a directory that receives audit-anchors.jsonl.
AUDIT_ANCHOR_PATH = env("CGH_AUDIT_ANCHOR_PATH")
AUDIT_ANCHOR_EVERY = int(env("CGH_AUDIT_ANCHOR_EVERY", "500") or 0)  # events of one lane; 0: never
AUDIT_ANCHOR_MINUTES = float(env("CGH_AUDIT_ANCHOR_MINUTES", "10") or 0)  # per process; 0: never
AUDIT_LANES = int(env("CGH_AUDIT_LANES", "8") or 1)  # concurrent audited transactions before one waits

# ---------------------------------------------------------------- operations (deployment)
# E-mail: through SMTP when CGH_EMAIL_HOST is set, printed on the console otherwise (the demo).
# CGH_EMAIL_USE_TLS is STARTTLS (usually port 587), CGH_EMAIL_USE_SSL implicit TLS (usually 465).
EMAIL_HOST = env("CGH_EMAIL_HOST", "") or ""
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                 else "django.core.mail.backends.console.EmailBackend")
EMAIL_PORT = int(env("CGH_EMAIL_PORT", "25") or 25)
EMAIL_USE_TLS = env_bool("CGH_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("CGH_EMAIL_USE_SSL", False)
EMAIL_HOST_USER = env("CGH_EMAIL_USER", "") or ""
EMAIL_HOST_PASSWORD = env("CGH_EMAIL_PASSWORD", "") or ""
if not EMAIL_HOST_PASSWORD and env("CGH_EMAIL_PASSWORD_FILE"):
    try:
        EMAIL_HOST_PASSWORD = Path(env("CGH_EMAIL_PASSWORD_FILE")).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"CGH_EMAIL_PASSWORD_FILE cannot be read: {exc.strerror}.") from exc
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set CGH_EMAIL_USE_TLS (STARTTLS) or CGH_EMAIL_USE_SSL (implicit TLS), not both.")
EMAIL_TIMEOUT = float(env("CGH_EMAIL_TIMEOUT", "10") or 10)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# /healthz (operations.health): the worker's heartbeat and the queue's oldest waiting task.
CGH_WORKER_HEARTBEAT_SECONDS = float(env("CGH_WORKER_HEARTBEAT_SECONDS", "15") or 15)
CGH_HEALTH_WORKER_STALE_SECONDS = float(env("CGH_HEALTH_WORKER_STALE_SECONDS", "60") or 60)
CGH_HEALTH_MAX_QUEUE_WAIT_SECONDS = float(env("CGH_HEALTH_MAX_QUEUE_WAIT_SECONDS", "900") or 900)
# ---------------------------------------------------------------- end of operations

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # Refused authorizations and authentication anomalies (common.security_log), one structured
    # record each; kept out of the audit chain so that an attacker cannot make it grow at will.
    "loggers": {"security": {"level": "INFO"}},
}

# ---- Uploads storage (no shared filesystem between processes) ----
# Uploads waiting for the task worker live in STORAGES["uploads"], reached by every application
# server and worker: the database by default, or S3-compatible object storage with CGH_STORAGE=s3
# (common.storage_settings.storage_from_env lists the CGH_S3_* variables).
UPLOAD_STORAGE = storage_from_env()
STORAGES = {**STORAGES, "uploads": UPLOAD_STORAGE}

# ---------------------------------------------------------------- single sign-on (OpenID Connect)
# Off unless CGH_OIDC_ENABLED is true; accounts.oidc.config reads and checks every CGH_OIDC_*
# variable (README, "Single sign-on") and stops the start-up on a bad one. The backend is always
# listed: it only serves the sessions it opened, and never sees a username and password.
# CGH_LOCAL_LOGIN=false turns the local accounts' password login off (web form, API tokens, admin).

from accounts.oidc.config import oidc_config_from_env, provider_origins  # noqa: E402

CGH_OIDC = oidc_config_from_env(os.environ)
CGH_LOCAL_LOGIN = env_bool("CGH_LOCAL_LOGIN", True)
if not CGH_LOCAL_LOGIN and CGH_OIDC is None:
    raise ImproperlyConfigured("CGH_LOCAL_LOGIN is off and single sign-on is not on: nobody could log in.")
AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "accounts.oidc.backend.OIDCBackend"]
if CGH_OIDC is not None:
    # The logout form is redirected to the provider's end-session endpoint.
    CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", " ".join(["form-action 'self'", *provider_origins(CGH_OIDC)]))

# --- Cache of computed staff pages (campaign board, figures) ---------------------------------
# The database cache: shared by every application server and the worker, no broker to run. Its
# table is created by a migration (reviews 0005_cache_table). Each entry holds the revision of the
# data it derives from and is used only at that revision (common.cache), so it is never stale;
# one entry per page and campaign, so the table stays small; TIMEOUT drops unused ones.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "cgh_cache",
        "TIMEOUT": int(env("CGH_CACHE_SECONDS", "3600") or 3600),
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}

# --- Legal notice and accessibility statement ---------------------------------------------------
# The editor of the site is the hospital that runs it: these values fill the public "Mentions
# légales" and "Déclaration d'accessibilité" pages (web.views.legal). An empty value is shown as
# not given yet, never invented.
LEGAL_NOTICE = {
    "editor": env("CGH_LEGAL_EDITOR", "") or "",
    "editor_address": env("CGH_LEGAL_EDITOR_ADDRESS", "") or "",
    "editor_phone": env("CGH_LEGAL_EDITOR_PHONE", "") or "",
    "publication_director": env("CGH_LEGAL_PUBLICATION_DIRECTOR", "") or "",
    "contact_email": env("CGH_LEGAL_CONTACT_EMAIL", "") or "",
    "host": env("CGH_LEGAL_HOST", "") or "",
    "host_address": env("CGH_LEGAL_HOST_ADDRESS", "") or "",
    "dpo_contact": env("CGH_LEGAL_DPO_CONTACT", "") or "",
    "accessibility_contact": env("CGH_ACCESSIBILITY_CONTACT", "") or "",
    "accessibility_date": env("CGH_ACCESSIBILITY_STATEMENT_DATE", "") or "",
}
