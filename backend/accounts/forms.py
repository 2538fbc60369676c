from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from common.security_log import client_address

from .lockout import is_locked_out


class LoginForm(AuthenticationForm):
    """The login form, which says so when repeated failures have locked the username out."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            if getattr(self.request, "cgh_locked_out", False) or is_locked_out(
                    self.cleaned_data.get("username"), client_address(self.request)):
                raise forms.ValidationError(
                    _("Too many failed attempts: logging in with this username is suspended for %(minutes)s "
                      "minutes."), code="locked_out", params={"minutes": settings.LOGIN_LOCKOUT_MINUTES}) from None
            raise


class SecondFactorForm(forms.Form):
    """The six-digit code of the authenticator app, or one backup code."""

    otp = forms.CharField(label=_("Code"), max_length=16, strip=True,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                        "autofocus": True}),
                          help_text=_("The 6-digit code shown by your authenticator app, or one of your backup "
                                      "codes."))


class EnrolmentForm(forms.Form):
    otp = forms.CharField(label=_("Code shown by the app"), max_length=8, strip=True,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
