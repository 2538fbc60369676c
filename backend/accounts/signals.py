"""Authentication events go to the audit trail: who logged in or out, and failed attempts
(the username tried, never the password). Django only reports these through its auth
signals, so receivers are the one place to catch them."""

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from audit.services import audit_record
from common.security_log import client_address

from .middleware import start_session_clock


def _client(request) -> dict:
    if request is None:
        return {}
    return {"ip": client_address(request), "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200]}


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session") and request.session.get(SESSION_KEY) == str(user.pk):
        start_session_clock(request)
    with transaction.atomic():
        # A single sign-on login adds how it was made (method, issuer, second factor): see web.views.sso.
        details = getattr(request, "cgh_login_details", None) or {}
        audit_record(actor=user, action="auth.login", target=user, data={**_client(request), **details})


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        with transaction.atomic():
            audit_record(actor=user, action="auth.logout", target=user, data=_client(request))


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    known = get_user_model().objects.filter(username=username).first()
    locked = {"locked_out": True} if getattr(request, "cgh_locked_out", False) else {}
    with transaction.atomic():
        audit_record(actor=None, action="auth.login_failed", object_type="accounts.user",
                     object_id=str(known.pk) if known else "",
                     data={"username": username, **locked, **_client(request)})
