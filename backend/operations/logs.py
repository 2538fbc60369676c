"""Structured logs: one JSON object per line, each carrying the request it belongs to.

``RequestLogMiddleware`` (first in ``MIDDLEWARE``) puts the current request in a context variable
until the response is sent (``request_finished``); ``RequestContextFilter`` reads it when any logger emits a record
during that request (the application's, Django's own ``django.request`` on a 500, the ``security``
logger of refused accesses), so that every line of one request carries its request id and the
caller's user id. ``JsonFormatter`` writes the line.

What a line may hold is fixed here: the request id, the user's primary key (never a name or an
e-mail address), the method and the path without its query string (a query string may carry an
identifier), the status and the duration, and the message. Production sends these lines to
stdout (``config.settings.production``); the demo keeps Django's human-readable output.
"""

import contextvars
import datetime as dt
import json
import logging
import re
import uuid

from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy or a client may send as a request id (a UUID, nginx's $request_id, a trace id):
# anything else is replaced by a fresh id, so that a log line cannot be forged through the header.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,127}")

_current_request: contextvars.ContextVar = contextvars.ContextVar("cgh_request", default=None)
_current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("cgh_request_id", default=None)

# Record attributes copied to the JSON line when a caller passes them in ``extra``.
EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "task", "task_id")


def request_id_from(header: str | None) -> str:
    """The incoming request id when it is well formed, a new random one otherwise."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def bind_request(request, request_id: str) -> None:
    """Make ``request`` the current one in this context, until ``clear_request``."""
    _current_request.set(request)
    _current_request_id.set(request_id)


def clear_request(**kwargs) -> None:
    """Receiver of ``request_finished``: the response has been sent (and closed). Not cleared
    when the middleware returns: Django logs a 4xx or 5xx response (``django.request``) after the
    middleware chain, and that line belongs to the request too."""
    _current_request.set(None)
    _current_request_id.set(None)


def current_request_id() -> str | None:
    return _current_request_id.get()


def user_id_of(request) -> int | None:
    """The primary key of the request's authenticated user, without ever loading it: a user that
    nothing has asked for yet (a lazy ``request.user`` still unevaluated, or no authentication
    at all, e.g. a static file) is left unknown rather than costing a query."""
    if request is None:
        return None
    user = request.__dict__.get("user")
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:
            return None
        user = user._wrapped
    if not getattr(user, "is_authenticated", False):
        return None
    return user.pk


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``user_id`` to every record emitted during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current_request_id.get()
        if not hasattr(record, "user_id"):
            record.user_id = user_id_of(_current_request.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (UTC, ISO 8601), level, logger, message, request id,
    user id, the request fields of an access line, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        security = getattr(record, "security", None)
        if isinstance(security, dict):
            line["security"] = security
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def json_logging(*, level: str = "INFO") -> dict:
    """The ``LOGGING`` of production: every record as one JSON line on stdout (the service
    manager or the container runtime collects it), the request's lines at ``level``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "operations.logs.RequestContextFilter"}},
        "formatters": {"json": {"()": "operations.logs.JsonFormatter"}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                                "formatter": "json", "filters": ["request_context"]}},
        "root": {"handlers": ["stdout"], "level": "WARNING"},
        "loggers": {
            "cgh.request": {"level": level},
            "security": {"level": "INFO"},
            "operations": {"level": level},
            "cases": {"level": level},
            "reviews": {"level": level},
            "audit": {"level": level},
            "django_tasks": {"level": level},
            "django_tasks_db": {"level": level},
            "gunicorn.error": {"level": "INFO"},
        },
    }
