"""Settings of the application servers started by ``bench/load_bench.py``: the test settings
(PostgreSQL from the CGH_DB_* environment, fixed test keys) made production-like where it costs
or saves time per request: DEBUG off, persistent database connections, no static-file
re-scanning. Cookies stay plain (no ``__Host-`` prefix, no ``Secure``) because the benchmark
speaks HTTP on loopback."""

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES

DEBUG = False
DATABASES["default"]["CONN_MAX_AGE"] = 600
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
WHITENOISE_AUTOREFRESH = False
WHITENOISE_USE_FINDERS = True  # nothing collected in the scratch checkout; finders are read once
