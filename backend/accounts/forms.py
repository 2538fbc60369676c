from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .lockout import is_locked_out


class LoginForm(AuthenticationForm):
    """The login form, which says so when repeated failures have locked the username out."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            if getattr(self.request, "cgh_locked_out", False) or is_locked_out(self.cleaned_data.get("username")):
                raise forms.ValidationError(
                    _("Too many failed attempts: logging in with this username is suspended for %(minutes)s "
                      "minutes."), code="locked_out", params={"minutes": settings.LOGIN_LOCKOUT_MINUTES}) from None
            raise
