"""Lockout after repeated failed logins (DESIGN §10).

The failures are read from the audit trail, which records every failed login with the username
tried: no second counter to keep in step. A username with ``LOGIN_MAX_FAILURES`` failures within
the last ``LOGIN_LOCKOUT_MINUTES`` (and since its last successful login) is refused, whatever the
password, until the window has passed; refused attempts are failures too, so that an attacker who
keeps trying stays locked out. The rule applies to any username, known or not, so that the answer
says nothing about which accounts exist.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.utils import timezone

from audit.models import AuditEvent


def is_locked_out(username: str) -> bool:
    username = str(username or "")[:150]
    if not username:
        return False
    since = timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    user_id = get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()
    if user_id is not None:
        last_login = AuditEvent.objects.filter(action="auth.login", object_type="accounts.user",
                                               object_id=str(user_id)).aggregate(at=Max("created_at"))["at"]
        if last_login is not None and last_login > since:
            since = last_login
    failures = AuditEvent.objects.filter(action="auth.login_failed", created_at__gt=since,
                                         data__username=username).count()
    return failures >= settings.LOGIN_MAX_FAILURES


class LockoutModelBackend(ModelBackend):
    """Django's model backend, refusing a locked-out username before checking the password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is not None and is_locked_out(username):
            if request is not None:
                request.cgh_locked_out = True
            raise PermissionDenied  # stops authenticate(), which then reports a failed login
        return super().authenticate(request, username=username, password=password, **kwargs)
