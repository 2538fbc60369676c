"""TOTP second factor: enrolment, verification, enforcement by role, the admin and API tokens."""

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.login import enrolled_device, next_code, totp_code, verified_client

pytestmark = pytest.mark.django_db


def password_login(user, **kwargs) -> tuple[Client, object]:
    client = Client(**kwargs)
    r = client.post("/login/", {"username": user.username, "password": PASSWORD, "next": "/campaigns/"})
    return client, r


@pytest.mark.parametrize("role", ["admin", "dpo", "chair", "quality"])
def test_second_factor_roles_without_device_are_sent_to_enrolment_and_kept_there(role):
    user = UserFactory(role=role)
    client, r = password_login(user)

    assert (r.status_code, r["Location"]) == (302, "/account/second-factor/setup/")
    for url in ["/", "/campaigns/", "/reidentification/", "/account/", "/admin/"]:
        assert client.get(url)["Location"] == "/account/second-factor/setup/", url
    api = client.get("/api/campaigns/")
    assert (api.status_code, api.json()["code"]) == (403, "second_factor_required")


@pytest.mark.parametrize("role", ["clinician", "patient_rep", "secretary", "management"])
def test_second_factor_is_optional_for_other_roles(role):
    user = UserFactory(role=role)
    client, r = password_login(user)
    assert (r.status_code, r["Location"]) == (302, "/campaigns/")


def test_enrolment_shows_a_local_svg_qr_and_confirms_with_a_code_then_backup_codes_once():
    user = UserFactory(role="dpo", username="dpo-one")
    client, _ = password_login(user)
    page = client.get("/account/second-factor/setup/")
    body = page.content.decode()
    assert page.status_code == 200 and "<svg" in body and "<script>" not in body and "otpauth" not in body
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    session_before = client.session.session_key

    r = client.post("/account/second-factor/setup/", {"otp": totp_code(device)})

    assert r.status_code == 200
    codes = r.context["codes"]
    assert len(codes) == 10 and all(code in r.content.decode() for code in codes)
    assert sorted(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == sorted(codes)
    assert TOTPDevice.objects.get(user=user).confirmed is True
    assert client.session.session_key != session_before  # rotated at verification
    assert client.get("/campaigns/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.second_factor_enrolled", object_id=str(user.pk)).count() == 1


def test_wrong_code_at_enrolment_enrols_nothing():
    user = UserFactory(role="quality")
    client, _ = password_login(user)
    client.get("/account/second-factor/setup/")
    device = TOTPDevice.objects.get(user=user)
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    r = client.post("/account/second-factor/setup/", {"otp": wrong})
    assert r.status_code == 400
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 0
    assert client.get("/campaigns/")["Location"] == "/account/second-factor/setup/"


def test_password_alone_cannot_replace_an_enrolled_authenticator():
    user = UserFactory(role="dpo")
    device = enrolled_device(user)
    client, r = password_login(user)

    assert (r.status_code, r["Location"]) == (302, "/account/second-factor/")
    assert client.get("/account/second-factor/setup/")["Location"] == "/account/second-factor/"
    assert list(TOTPDevice.objects.filter(user=user).values_list("pk", flat=True)) == [device.pk]


def test_verification_with_a_totp_code_rotates_the_session_and_goes_to_next():
    user = UserFactory(role="chair")
    device = enrolled_device(user)
    client, _ = password_login(user)
    before = client.session.session_key

    wrong = client.post("/account/second-factor/", {"otp": "123456" if totp_code(device) != "123456" else "654321"})
    assert wrong.status_code == 400 and client.get("/campaigns/")["Location"] == "/account/second-factor/"
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    r = client.post("/account/second-factor/", {"otp": next_code(device)})

    assert (r.status_code, r["Location"]) == (302, "/campaigns/")
    assert client.session.session_key != before
    assert client.get("/campaigns/").status_code == 200


def test_a_totp_code_is_accepted_once_only():
    user = UserFactory(role="quality")
    device = enrolled_device(user)
    code = totp_code(device)
    first, _ = password_login(user)
    assert first.post("/account/second-factor/", {"otp": code}).status_code == 302
    second, _ = password_login(user)
    assert second.post("/account/second-factor/", {"otp": code}).status_code == 400


def test_a_backup_code_works_once():
    user = UserFactory(role="admin")
    enrolled_device(user)
    client = verified_client(user)
    codes = client.post("/account/second-factor/backup-codes/").context["codes"]

    other, _ = password_login(user)
    assert other.post("/account/second-factor/", {"otp": codes[0]}).status_code == 302
    again, _ = password_login(user)
    assert again.post("/account/second-factor/", {"otp": codes[0]}).status_code == 400


def test_admin_site_needs_a_verified_second_factor():
    root = UserFactory(role="admin", is_staff=True, is_superuser=True)
    enrolled_device(root)
    half, _ = password_login(root)
    assert half.get("/admin/")["Location"] == "/account/second-factor/"
    assert half.get("/admin/login/")["Location"] == "/account/second-factor/"
    assert verified_client(root).get("/admin/").status_code == 200


def test_admin_login_page_is_the_platform_login():
    r = Client().get("/admin/login/?next=/admin/")
    assert (r.status_code, r["Location"]) == (302, "/login/?next=%2Fadmin%2F")


def test_api_token_for_a_second_factor_role_needs_a_valid_code(api):
    user = UserFactory(role="dpo", username="dpo-api")
    device = enrolled_device(user)
    body = {"username": "dpo-api", "password": PASSWORD}

    missing = api().post("/api/auth/token/", body, format="json")
    good = api().post("/api/auth/token/", body | {"otp": next_code(device)}, format="json")
    wrong = api().post("/api/auth/token/", body | {"otp": "12"}, format="json")

    assert (missing.status_code, missing.json()["code"]) == (400, "second_factor_required")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "second_factor_required")
    assert good.status_code == 200 and set(good.json()) == {"token", "expiry"}


def test_api_token_refused_until_enrolment(api):
    UserFactory(role="quality", username="q-api")
    r = api().post("/api/auth/token/", {"username": "q-api", "password": PASSWORD}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "second_factor_enrolment_required"


@pytest.mark.django_db(transaction=True)
def test_second_factor_code_accepted_outside_a_test_transaction(api):
    """A code is checked under a row lock, which needs a transaction of its own: in autocommit, as
    a served request runs, PostgreSQL refused the lock (a 500 on every login with a code)."""
    user = UserFactory(role="quality", username="q-autocommit")
    device = enrolled_device(user)
    token = api().post("/api/auth/token/", {"username": "q-autocommit", "password": PASSWORD,
                                            "otp": next_code(device)}, format="json")
    client = Client()
    client.force_login(user)
    page = client.post("/account/second-factor/", {"otp": next_code(device)})
    assert (token.status_code, set(token.json()), page.status_code) == (200, {"token", "expiry"}, 302)
