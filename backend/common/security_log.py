"""Structured records of refused authorizations, on the ``security`` logger.

Every 403, and every 404 answered for something the caller may not see, is logged with who,
when, which path and which object, as one flat dict (``record.security``, also the message in
JSON) that a log shipper can index as is. These records go to the logs, never to the audit chain:
an attacker who keeps probing must not be able to make the tamper-evident trail grow at will.
"""

import json
import logging

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger("security")


def client_address(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or, behind ``CGH_TRUSTED_PROXY_COUNT`` reverse
    proxies, the address the outermost trusted proxy saw (the entries before it in
    X-Forwarded-For are written by the client and are not trusted)."""
    if request is None:
        return ""
    proxies = getattr(settings, "CGH_TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(chain) >= proxies:
            return chain[-proxies][:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _object_of(request, obj=None) -> dict:
    if obj is not None and hasattr(obj, "_meta"):
        return {"object_type": obj._meta.label_lower, "object_id": str(obj.pk)}
    match = getattr(request, "resolver_match", None)
    kwargs = dict(match.kwargs) if match is not None else {}
    return {"object_type": match.view_name if match is not None else "",
            "object_id": ",".join(f"{k}={v}" for k, v in sorted(kwargs.items()))}


def log_denied(request, *, status: int, reason: str = "", obj=None) -> dict:
    """Log one refused authorization (403) or hidden object (404) and return the record."""
    user = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    record = {
        "event": "authorization_denied",
        "status": status,
        "at": timezone.now().isoformat(),
        "user_id": user.pk if authenticated else None,
        "username": user.get_username() if authenticated else "",
        "role": getattr(user, "role", "") if authenticated else "",
        "method": getattr(request, "method", ""),
        "path": getattr(request, "path", "")[:500],
        "client": client_address(request),
        "reason": reason,
        **_object_of(request, obj),
    }
    logger.warning(json.dumps(record, sort_keys=True), extra={"security": record})
    return record


def log_auth_event(request, event: str, **fields) -> dict:
    """Log an authentication anomaly (throttled login, refused second factor) the same way."""
    user = getattr(request, "user", None)
    record = {
        "event": event,
        "at": timezone.now().isoformat(),
        "method": getattr(request, "method", ""),
        "path": getattr(request, "path", "")[:500],
        "client": client_address(request),
        "user_id": user.pk if user is not None and user.is_authenticated else None,
        **fields,
    }
    logger.warning(json.dumps(record, sort_keys=True, default=str), extra={"security": record})
    return record
