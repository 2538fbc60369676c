"""gunicorn settings of the application server (``scripts/serve.py prod``, or
``gunicorn -c deploy/gunicorn.conf.py`` from any directory).

Every value comes from the environment (see deploy/env.example):

- ``CGH_BIND`` (127.0.0.1:8000): the address nginx or the hospital's reverse proxy forwards to;
- ``CGH_WEB_WORKERS`` (3): worker processes; the reviewer's work is CPU-bound Python, so about one
  per core, plus one;
- ``CGH_WEB_THREADS`` (1): threads per worker; above 1, gunicorn's threaded worker;
- ``CGH_WEB_TIMEOUT`` (300 s): a request running longer is killed with its worker. The API imports
  an upload within the request: 200 MB of CSV takes about a minute on two cores;
- ``CGH_FORWARDED_ALLOW_IPS`` (127.0.0.1,::1): the proxies whose X-Forwarded-Proto gunicorn
  trusts (Django reads it through ``SECURE_PROXY_SSL_HEADER``);
- ``CGH_WEB_MAX_REQUESTS`` (2000): a worker is replaced after that many requests (with jitter),
  which bounds the memory a long-running worker can accumulate.

Logs: gunicorn's own records (start, worker boot, timeouts) are JSON lines on stdout like the
application's (``operations.logs``). Its access log is off: the application writes the access line
itself (``operations.middleware.RequestLogMiddleware``), with the request id and the user id that
gunicorn cannot know.
"""

import os
import sys
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent / "backend"
sys.path.insert(0, str(BACKEND))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}.") from None


wsgi_app = "config.wsgi:application"
chdir = str(BACKEND)
bind = [address.strip() for address in os.environ.get("CGH_BIND", "127.0.0.1:8000").split(",") if address.strip()]
workers = _int("CGH_WEB_WORKERS", 3)
threads = _int("CGH_WEB_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("CGH_WEB_TIMEOUT", 300)
graceful_timeout = 30
keepalive = 5
max_requests = _int("CGH_WEB_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("CGH_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The workers' liveness files on a memory file system when there is one (a slow disk stalls them).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# The application is imported once in the master, then forked: less memory per worker.
preload_app = True

accesslog = None
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "operations.logs.RequestContextFilter"}},
    "formatters": {"json": {"()": "operations.logs.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                            "formatter": "json", "filters": ["request_context"]}},
    "root": {"level": "WARNING", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
}
