"""Single sign-on pages: start the login at the provider, come back from it, log out.

``sso_start``: authorization code request with ``state``, ``nonce`` and a PKCE challenge (S256),
all three kept in the session by mozilla-django-oidc; ``acr_values`` asked for when configured.
``sso_callback``: the ``state`` must be one this session issued (used once, then forgotten); the
code is exchanged and the ID token verified (``accounts.oidc.backend``); the account is found or
created under the role allow-list (``accounts.oidc.services``). The session then opens like a
local login (``auth.login``: new session key, ``auth.login`` audit event with the method and
issuer). The second factor: when the signed ID token shows a multi-factor authentication the
configuration accepts (``CGH_OIDC_MFA_ACR``, ``CGH_OIDC_MFA_AMR``) the session is verified;
otherwise a role that needs a second factor goes through the product's own TOTP step, exactly as
after a password. Every refusal is audited (``auth.sso_refused``) and answered with a page that
names the problem without revealing anything else.
``LogoutView``: ends the local session, then sends a single sign-on session to the provider's
end-session endpoint when it advertises one (RP-initiated logout).
"""

from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from accounts.oidc.backend import BACKEND_PATH, OIDCBackend
from accounts.oidc.claims import multi_factor_evidence
from accounts.oidc.config import provider_endpoints
from accounts.oidc.services import SSORefused, sso_refusal_record
from accounts.second_factor import (
    has_confirmed_device,
    mark_verified_by_provider,
    requires_second_factor,
    session_is_verified,
)

from .account import NEXT_KEY

STATES_KEY = "oidc_states"  # mozilla-django-oidc's: state -> {nonce, code_verifier, added_on}
NEXT_URL_KEY = "oidc_login_next"  # mozilla-django-oidc's: the checked ``next`` of the login
ID_TOKEN_KEY = "cgh_oidc_id_token"  # the logout hint for the provider

REFUSAL_STATUS = {
    "no_allowed_role": 403, "account_disabled": 403, "role_not_for_sso": 403,
    "invalid_state": 400, "invalid_token": 400, "provider_error": 400, "provider_unreachable": 502,
}


def _config():
    config = getattr(settings, "CGH_OIDC", None)
    if config is None:
        raise Http404
    return config


def _refusal_message(reason: str, provider: str) -> str:
    messages = {
        "no_allowed_role": _("Your %(provider)s account gives you no role on this platform. Ask the platform's "
                             "administrator to be given access; no account has been created."),
        "account_disabled": _("This account has been deactivated on this platform. Contact its administrator."),
        "role_not_for_sso": _("This account cannot log in through %(provider)s: use the local login."),
        "invalid_state": _("This login through %(provider)s has expired or was not started here. Start again."),
        "invalid_token": _("The answer of %(provider)s could not be verified: the login is refused. Start again; "
                           "if it happens again, tell the platform's administrator."),
        "provider_error": _("%(provider)s did not complete the login. Start again."),
        "provider_unreachable": _("%(provider)s cannot be reached at the moment. Try again in a few minutes or "
                                  "use the local login."),
    }
    return messages[reason] % {"provider": provider}


def _refuse(request, config, reason: str, *, record: bool = True, issuer: str = ""):
    if record:
        sso_refusal_record(request=request, reason=reason, issuer=issuer)
    return render(request, "web/sso_refused.html", {
        "message": _refusal_message(reason, config.provider_name), "provider_name": config.provider_name,
        "local_login": settings.CGH_LOCAL_LOGIN,
    }, status=REFUSAL_STATUS[reason])


@method_decorator(never_cache, name="dispatch")
class SSOStartView(OIDCAuthenticationRequestView):
    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)  # the library's __init__ reads its own settings, not ours

    def get_settings(self, attr, *args):
        config = _config()
        values = {
            "OIDC_RP_SCOPES": config.scopes,
            "OIDC_USE_NONCE": True,
            "OIDC_USE_PKCE": True,
            "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
            "OIDC_AUTHENTICATION_CALLBACK_URL": "web:sso_callback",
            "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {"acr_values": config.acr_values} if config.acr_values else {},
        }
        return values[attr] if attr in values else (args[0] if args else None)

    def get(self, request):
        config = _config()
        try:
            endpoints = provider_endpoints(config)
        except (requests.RequestException, ValueError):
            return _refuse(request, config, "provider_unreachable", record=False)
        self.OIDC_OP_AUTH_ENDPOINT = endpoints["authorization_endpoint"]
        self.OIDC_RP_CLIENT_ID = config.client_id
        return super().get(request)


@never_cache
def sso_callback(request):
    config = _config()
    states = request.session.get(STATES_KEY)
    states = states if isinstance(states, dict) else {}
    state = request.GET.get("state", "")
    entry = states.pop(state, None) if state else None  # a state serves once, whatever happens next
    request.session[STATES_KEY] = states
    if request.method != "GET":
        return _refuse(request, config, "invalid_state")
    if request.GET.get("error"):
        return _refuse(request, config, "provider_error" if entry is not None else "invalid_state")
    code = request.GET.get("code", "")
    if entry is None or not code or not entry.get("nonce"):
        return _refuse(request, config, "invalid_state")
    backend = OIDCBackend()
    try:
        login = backend.authenticate(request, oidc_code=code, oidc_nonce=entry["nonce"],
                                     oidc_code_verifier=entry.get("code_verifier"))
    except SSORefused as refused:  # already audited, with the subject
        return _refuse(request, config, refused.reason, record=False)
    except SuspiciousOperation:
        return _refuse(request, config, "invalid_token", issuer=getattr(backend, "issuer", ""))
    except (requests.RequestException, ValueError):
        return _refuse(request, config, "provider_unreachable", issuer=getattr(backend, "issuer", ""))

    user = login.user
    evidence = multi_factor_evidence(config, login.id_token_claims)
    next_url = request.session.get(NEXT_URL_KEY) or ""
    request.cgh_login_details = {"method": "oidc", "issuer": login.id_token_claims["iss"],
                                 "provider_mfa": evidence or {}}
    auth.login(request, user, backend=BACKEND_PATH)  # new session key; auth.login audit event
    request.session[ID_TOKEN_KEY] = login.id_token
    if evidence is not None:
        mark_verified_by_provider(request, evidence)
    if requires_second_factor(user) and not session_is_verified(request):
        request.session[NEXT_KEY] = next_url
        return redirect("web:otp_verify" if has_confirmed_device(user) else "web:otp_setup")
    return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


class LogoutView(auth_views.LogoutView):
    """Django's logout (POST only), then the provider's end-session endpoint for a session that
    single sign-on opened, when the provider advertises one."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get(ID_TOKEN_KEY)
        response = super().post(request, *args, **kwargs)
        config = getattr(settings, "CGH_OIDC", None)
        if not id_token or config is None:
            return response
        try:
            end_session = provider_endpoints(config)["end_session_endpoint"]
        except (requests.RequestException, ValueError):
            return response
        if not end_session:
            return response
        query = urlencode({
            "id_token_hint": id_token, "client_id": config.client_id,
            "post_logout_redirect_uri": request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL)),
        })
        return redirect(f"{end_session}{'&' if '?' in end_session else '?'}{query}")
