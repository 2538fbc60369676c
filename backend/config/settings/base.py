"""Settings shared by every environment. Environment-specific modules import * from here."""

import os
from pathlib import Path

from django.utils.translation import gettext_lazy as _

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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "common",
    "accounts",
    "audit",
    "cases",
    "committees",
    "reviews",
    "vigilance",
    "reidentification",
    "reports",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "common.middleware.FrenchFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"


def database_from_env() -> dict:
    """SQLite by default; PostgreSQL when CGH_DB_ENGINE=postgres (host, port, name, user from env)."""
    if env("CGH_DB_ENGINE", "sqlite") == "postgres":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env("CGH_DB_NAME", "cgh"),
            "USER": env("CGH_DB_USER", "cgh"),
            "PASSWORD": env("CGH_DB_PASSWORD", ""),
            "HOST": env("CGH_DB_HOST", "127.0.0.1"),
            "PORT": env("CGH_DB_PORT", "5432"),
            "CONN_MAX_AGE": int(env("CGH_DB_CONN_MAX_AGE", "60") or 0),
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
]
AUTHENTICATION_BACKENDS = ["accounts.lockout.LockoutModelBackend"]
# Lockout after repeated failed logins (accounts.lockout): failures within the window, per username.
LOGIN_MAX_FAILURES = int(env("CGH_LOGIN_MAX_FAILURES", "5") or 5)
LOGIN_LOCKOUT_MINUTES = int(env("CGH_LOGIN_LOCKOUT_MINUTES", "15") or 15)
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
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Collège de garantie humaine API",
    "DESCRIPTION": "Blind re-reading of AI-assisted cases, committee work and concordance reporting.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
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
    },
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("CGH_FROM_EMAIL", "college-garantie-humaine@localhost")
# Public address of the site, for the links in e-mails sent by background work (no request there).
SITE_URL = (env("CGH_SITE_URL", "") or "").rstrip("/")

# Pseudonymization keys live outside the database: in the environment or in a key file.
# The key id is stored with every pseudonym so that keys can be rotated.
PSEUDONYM_KEY = env("CGH_PSEUDONYM_KEY")
PSEUDONYM_KEY_FILE = env("CGH_PSEUDONYM_KEY_FILE")
PSEUDONYM_KEY_ID = env("CGH_PSEUDONYM_KEY_ID", "k1")
# The source references (accession numbers) needed for a recall are encrypted with a second,
# separate key (a Fernet key), which the reviewers' side never holds.
SOURCE_KEY = env("CGH_SOURCE_KEY")
SOURCE_KEY_FILE = env("CGH_SOURCE_KEY_FILE")
SOURCE_KEY_ID = env("CGH_SOURCE_KEY_ID", "s1")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
