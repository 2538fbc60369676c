"""Logging in from the browser as a person does: the password form, then the second factor for
the roles that need one (the code computed from the user's device key, as the authenticator app
does). Shared by every browser test."""

from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.second_factor import requires_second_factor
from tests.factories import PASSWORD
from tests.login import next_code, totp_code


def pass_second_factor(page, base_url: str, username: str) -> None:
    """After the password step: when the role needs a second factor, type the code of the user's
    authenticator (computed from the device key, as the app does) into the verification page,
    or enrol one first when the user has none (then continue past the backup codes). Nothing for
    roles without a second factor."""
    user = get_user_model().objects.get(username=username)
    if not requires_second_factor(user):
        return
    page.wait_for_load_state()
    submit = page.locator("form.panel button[type=submit]")
    if page.url.endswith("/account/second-factor/setup/"):
        device = TOTPDevice.objects.get(user=user, confirmed=False)
        page.locator("#id_otp").fill(totp_code(device))
        submit.click()
        page.locator(".backup-codes").wait_for()
        page.locator("main a.button-primary").click()
    else:
        assert page.url.endswith("/account/second-factor/"), page.url
        page.locator("#id_otp").fill(next_code(TOTPDevice.objects.get(user=user, confirmed=True)))
        submit.click()
    page.wait_for_load_state()


def log_in(page, base_url: str, username: str, *, password: str = PASSWORD, landing: str | None = None):
    """The whole login on ``page``: password, then second factor when the role needs one. With
    ``landing`` (a path such as ``"/reviews/"``), also asserts where the person lands. Returns
    ``page``."""
    page.goto(f"{base_url}/login/")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    pass_second_factor(page, base_url, username)
    if landing is not None:
        expect(page).to_have_url(f"{base_url}{landing}")
    return page
