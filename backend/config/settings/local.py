"""The embedded default: SQLite, demo keys, served on the loopback interface."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env

INSTALLED_APPS = [*INSTALLED_APPS, "demo"]  # manage.py load_demo (make demo)
DEBUG = env("CGH_DEBUG", "1") == "1"
SECRET_KEY = env("CGH_SECRET_KEY", "local-demo-secret-key-not-for-production-use-0123456789")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SITE_URL = (env("CGH_SITE_URL", "") or "http://127.0.0.1:8000").rstrip("/")
# Demo keys only: a deployment sets CGH_PSEUDONYM_KEY (or a key file) outside the database.
PSEUDONYM_KEY = env("CGH_PSEUDONYM_KEY", "demo-pseudonymization-key-change-me")
SOURCE_KEY = env("CGH_SOURCE_KEY", "fV48jzE6VgaYty3HaZAZOoQFEzPMEBhORSSRPG3Ru3s=")  # demo only
AUDIT_KEY = env("CGH_AUDIT_KEY", "demo-audit-key-change-me-0123456789abcdef")  # demo only
# Serve static files straight from the apps and packages (plotly.js, API docs assets) without
# needing collectstatic first; production serves the collected, hashed files.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
