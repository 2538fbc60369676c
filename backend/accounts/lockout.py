"""Login throttling (DESIGN §10), counted from the audit trail.

Every failed login is in the audit trail with the username tried and the client address, so
the counts need no second store and hold across any number of application servers. Two limits
apply within the last ``LOGIN_LOCKOUT_MINUTES``:

- per (client address, username): ``LOGIN_MAX_FAILURES`` failures since that client's last
  successful login as that user suspend that pair;
- per client address: ``LOGIN_MAX_FAILURES_PER_CLIENT`` failures, whatever the usernames,
  suspend that client (password spraying).

An attacker therefore cannot lock the data-protection officer out: the officer, from another
address, still logs in. Refused attempts count as failures, so a client that keeps trying stays
refused. Unknown usernames are treated exactly like known ones, so that the answer says nothing
about which accounts exist. The same backend serves the web login and the API token endpoint.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.utils import timezone

from audit.models import AuditEvent
from common.security_log import client_address, log_auth_event


def throttle_reason(username: str, client: str) -> str | None:
    """``"client_username"`` or ``"client"`` when a login attempt from ``client`` for
    ``username`` must be refused without checking the password, else ``None``."""
    username = str(username or "")[:150]
    since = timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    failures = AuditEvent.objects.filter(action="auth.login_failed", created_at__gt=since)
    if client and failures.filter(data__ip=client).count() >= settings.LOGIN_MAX_FAILURES_PER_CLIENT:
        return "client"
    if not username:
        return None
    pair_since = since
    user_id = get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()
    if user_id is not None:
        last_login = AuditEvent.objects.filter(
            action="auth.login", object_type="accounts.user", object_id=str(user_id), created_at__gt=since,
            data__ip=client).aggregate(at=Max("created_at"))["at"]
        if last_login is not None:
            pair_since = last_login
    pair = failures.filter(created_at__gt=pair_since, data__username=username, data__ip=client).count()
    return "client_username" if pair >= settings.LOGIN_MAX_FAILURES else None


def is_locked_out(username: str, client: str = "") -> bool:
    return throttle_reason(username, client) is not None


class LockoutModelBackend(ModelBackend):
    """Django's model backend, refusing a throttled (client, username) before checking the password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not getattr(settings, "CGH_LOCAL_LOGIN", True):
            return None  # local accounts switched off (single sign-on only): no password is checked
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is not None:
            reason = throttle_reason(username, client_address(request))
            if reason is not None:
                if request is not None:
                    request.cgh_locked_out = True
                    log_auth_event(request, "login_throttled", username=str(username)[:150], scope=reason)
                raise PermissionDenied  # stops authenticate(), which then reports a failed login
        return super().authenticate(request, username=username, password=password, **kwargs)
