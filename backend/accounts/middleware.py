"""Session lifetime and second-factor gate, for every request of a web session.

``SessionLifetimeMiddleware``: a session idle for ``CGH_SESSION_IDLE_MINUTES`` (default 30) or
older than ``CGH_SESSION_MAX_HOURS`` (default 12) since login is ended (logged out and flushed,
recorded on the ``security`` logger). The last-activity mark is written at most once a minute,
so that ordinary reads do not rewrite the session.

``SecondFactorMiddleware``: a logged-in user whose role requires a second factor
(``accounts.second_factor.requires_second_factor``) and whose session is not verified yet can
reach only the second-factor pages and logout: every other page sends them to the verification
step (or to enrolment when they have no device yet), every API call answers 403 with the
project error shape. API calls authenticated by a token are not concerned: a token of such a
role is issued only with a valid code (``accounts.api``).
"""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from common.security_log import log_auth_event

from .second_factor import has_confirmed_device, requires_second_factor, session_is_verified

LOGIN_AT = "cgh_login_at"
SEEN_AT = "cgh_seen_at"
TOUCH_EVERY_SECONDS = 60

ALLOWED_UNVERIFIED = frozenset({
    "web:otp_verify", "web:otp_setup", "web:otp_backup_codes", "web:logout", "web:login", "set_language",
    "web:sso_start", "web:sso_callback",
})


def start_session_clock(request) -> None:
    now = int(time.time())
    request.session[LOGIN_AT] = now
    request.session[SEEN_AT] = now


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            login_at = request.session.get(LOGIN_AT)
            seen_at = request.session.get(SEEN_AT)
            if login_at is None or seen_at is None:
                # A session opened without our login views (the test client's force_login, or
                # a session from before this rule): its clock starts now.
                request.session[LOGIN_AT] = request.session.get(LOGIN_AT, now)
                request.session[SEEN_AT] = now
            elif now - seen_at > settings.CGH_SESSION_IDLE_MINUTES * 60:
                return self._expire(request, "session_idle_timeout")
            elif now - login_at > settings.CGH_SESSION_MAX_HOURS * 3600:
                return self._expire(request, "session_lifetime_exceeded")
            elif now - seen_at >= TOUCH_EVERY_SECONDS:
                request.session[SEEN_AT] = now
        return self.get_response(request)

    def _expire(self, request, event: str):
        log_auth_event(request, event)
        logout(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"code": "session_expired", "detail": _("Your session has expired: log in again."),
                                 "extra": {}}, status=401)
        return redirect_to_login(request.get_full_path())


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user.is_verified = lambda: session_is_verified(request)  # what django-otp's admin site asks
            if requires_second_factor(user) and not session_is_verified(request):
                blocked = self._gate(request, user)
                if blocked is not None:
                    return blocked
        return self.get_response(request)

    def _gate(self, request, user):
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
        if match is not None and match.view_name in ALLOWED_UNVERIFIED:
            return None
        if request.path_info.startswith(settings.STATIC_URL):
            return None
        if request.path_info.startswith("/api/"):
            return JsonResponse({"code": "second_factor_required",
                                 "detail": _("Verify your second factor before using the API."), "extra": {}},
                                status=403)
        target = "web:otp_verify" if has_confirmed_device(user) else "web:otp_setup"
        return redirect(target)
