"""Login, second factor (verification and enrolment, backup codes) and password change.

The second factor comes after the password: ``LoginView`` logs the user in (Django rotates the
session key), then sends anyone whose role requires a second factor to the verification step, or
to enrolment when they have no device yet; ``accounts.middleware.SecondFactorMiddleware`` keeps
them there until the session is verified, which rotates the session key again. Enrolment is
reachable without a verified session only while the account has no confirmed device: someone
who knows only the password cannot replace the owner's authenticator.
"""

from base64 import b32encode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.forms import EnrolmentForm, LoginForm, SecondFactorForm
from accounts.second_factor import (
    has_confirmed_device,
    mark_verified,
    new_backup_codes,
    pending_totp_device,
    qr_svg,
    requires_second_factor,
    session_is_verified,
    verify_code,
)
from common.security_log import log_auth_event

NEXT_KEY = "cgh_next"


def _next_url(request) -> str:
    url = request.session.get(NEXT_KEY) or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return ""


class LoginView(auth_views.LoginView):
    """The local form and, when single sign-on is on, the button to the provider
    (``web.views.sso``). With ``CGH_LOCAL_LOGIN`` off the form is neither shown nor accepted."""

    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        config = getattr(settings, "CGH_OIDC", None)
        context.update(sso_provider_name=config.provider_name if config is not None else "",
                       local_login=settings.CGH_LOCAL_LOGIN)
        return context

    def post(self, request, *args, **kwargs):
        if not settings.CGH_LOCAL_LOGIN:
            return self.render_to_response(self.get_context_data(), status=403)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)  # logs in: new session key
        user = form.get_user()
        if requires_second_factor(user):
            self.request.session[NEXT_KEY] = self.get_redirect_url()
            return redirect("web:otp_verify" if has_confirmed_device(user) else "web:otp_setup")
        return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def otp_verify(request):
    user = request.user
    if session_is_verified(request):
        return redirect(_next_url(request) or "web:home")
    if not has_confirmed_device(user):
        return redirect("web:otp_setup")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = verify_code(user, form.cleaned_data["otp"])
        if device is not None:
            next_url = _next_url(request)
            mark_verified(request, device)
            request.session.pop(NEXT_KEY, None)
            return redirect(next_url or "web:home")
        log_auth_event(request, "second_factor_failed", username=user.get_username())
        form.add_error("otp", _("This code is not valid. Wait for the next code and try again."))
    return render(request, "web/otp_verify.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def otp_setup(request):
    """Enrol an authenticator app: QR code drawn by the server (SVG, no script), the secret for
    manual entry, and a code to confirm. On success the session is verified and the backup codes
    are shown, once."""
    user = request.user
    if has_confirmed_device(user) and not session_is_verified(request):
        return redirect("web:otp_verify")
    device = pending_totp_device(user)
    form = EnrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token("".join(form.cleaned_data["otp"].split())):
            codes = services.second_factor_enrolled(user=user, device=device)
            next_url = _next_url(request)
            mark_verified(request, device)
            request.session.pop(NEXT_KEY, None)
            return render(request, "web/otp_backup_codes.html", {"codes": codes, "next_url": next_url})
        form.add_error("otp", _("This code is not valid. Check the time on your phone and try again."))
    return render(request, "web/otp_setup.html", {
        "form": form, "qr_svg": qr_svg(device), "secret": b32encode(device.bin_key).decode(),
        "required": requires_second_factor(user),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def otp_backup_codes(request):
    """New backup codes (the old ones stop working), shown once: a verified session only."""
    if not session_is_verified(request):
        raise Http404
    codes = new_backup_codes(request.user)
    log_auth_event(request, "backup_codes_renewed", username=request.user.get_username())
    return render(request, "web/otp_backup_codes.html", {"codes": codes, "next_url": ""})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def password_change(request):
    """Change one's own password: the current one is asked, the new one goes through every
    password validator; every other session and every API token of the account is ended."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_change_own(user=request.user, new_password=form.cleaned_data["new_password1"],
                                     request=request)
        messages.success(request, _("Your password has been changed. Your other sessions and API tokens "
                                    "have been ended."))
        return redirect("web:password_change")
    return render(request, "web/password_change.html", {
        "form": form, "has_device": has_confirmed_device(request.user),
        "verified": session_is_verified(request),
    }, status=400 if form.errors else 200)
