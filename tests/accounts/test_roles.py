"""No path from administrator to re-identification: roles, flags and credentials of sensitive accounts."""

import pytest
from django.contrib.auth.hashers import check_password

from accounts import services
from accounts.enums import ChangeRequestKind, ChangeRequestState
from accounts.models import SensitiveChangeRequest, User
from audit.models import AuditEvent
from common.exceptions import Forbidden
from tests.factories import PASSWORD, UserFactory
from tests.helpers import snapshot
from tests.login import enrolled_device, verified_client

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Another long passphrase 42"


@pytest.fixture
def admins():
    a = UserFactory(role="admin", username="admin-a", is_staff=True, is_superuser=True)
    b = UserFactory(role="admin", username="admin-b", is_staff=True, is_superuser=True)
    return a, b


def test_role_change_is_audited_with_old_new_who_and_whom(admins):
    a, _ = admins
    user = UserFactory(role="clinician")

    services.user_role_change(actor=a, user=user, role="secretary")

    user.refresh_from_db()
    event = AuditEvent.objects.get(action="accounts.role_changed")
    assert (user.role, event.actor_id, event.object_id, event.data["old_role"], event.data["new_role"]) == (
        "secretary", a.pk, str(user.pk), "clinician", "secretary")


def test_nobody_changes_their_own_role_or_flags(admins):
    a, _ = admins
    before = snapshot(accounts=True)
    with pytest.raises(Forbidden):
        services.user_role_change(actor=a, user=a, role="dpo")
    with pytest.raises(Forbidden):
        services.user_set_staff_flags(actor=a, user=a, is_staff=False, is_superuser=False)
    assert snapshot(accounts=True) == before


def test_giving_the_dpo_role_needs_a_second_administrator(admins):
    a, b = admins
    user = UserFactory(role="clinician")

    pending = services.user_role_change(actor=a, user=user, role="dpo", reason="New DPO")
    user.refresh_from_db()
    assert (user.role, pending.state, pending.old_role, pending.new_role) == ("clinician", "pending", "clinician",
                                                                             "dpo")
    before = snapshot(accounts=True)
    with pytest.raises(Forbidden):
        services.change_request_approve(actor=a, change=pending)  # the requester
    with pytest.raises(Forbidden):
        services.change_request_approve(actor=user, change=pending)  # the target
    assert snapshot(accounts=True) == before

    services.change_request_approve(actor=b, change=pending)

    user.refresh_from_db()
    pending.refresh_from_db()
    assert (user.role, pending.state, pending.decided_by_id) == ("dpo", ChangeRequestState.APPROVED, b.pk)
    event = AuditEvent.objects.get(action="accounts.role_changed")
    assert (event.data["old_role"], event.data["new_role"], event.data["approved_by"]) == ("clinician", "dpo", b.pk)


def test_removing_the_dpo_role_needs_a_second_administrator(admins):
    a, b = admins
    dpo = UserFactory(role="dpo")
    pending = services.user_role_change(actor=a, user=dpo, role="clinician", reason="Left")
    dpo.refresh_from_db()
    assert dpo.role == "dpo"
    services.change_request_refuse(actor=b, change=pending)
    dpo.refresh_from_db()
    assert dpo.role == "dpo"


def test_creating_a_dpo_account_leaves_it_inactive_until_approved(admins):
    a, b = admins
    user, pending = services.user_create(actor=a, username="new-dpo", role="dpo", password=NEW_PASSWORD)
    assert (user.is_active, pending.kind, pending.new_role) == (False, ChangeRequestKind.ROLE, "dpo")
    services.change_request_approve(actor=b, change=pending)
    user.refresh_from_db()
    assert (user.is_active, user.role) == (True, "dpo")


@pytest.mark.parametrize("role", ["dpo", "chair"])
def test_admin_cannot_reset_password_or_second_factor_of_dpo_or_chair_alone(admins, role):
    a, b = admins
    target = UserFactory(role=role)
    enrolled_device(target)
    before = snapshot(accounts=True)
    with pytest.raises(Forbidden):
        services.user_password_set(actor=a, user=target, password=NEW_PASSWORD)
    with pytest.raises(Forbidden):
        services.user_second_factor_reset(actor=a, user=target)
    assert snapshot(accounts=True) == before and target.totpdevice_set.count() == 1

    change = services.change_request_create(actor=a, target=target, kind=ChangeRequestKind.PASSWORD_RESET,
                                            reason="Forgotten", password=NEW_PASSWORD)
    assert NEW_PASSWORD not in change.password_hash
    services.change_request_approve(actor=b, change=change)
    target.refresh_from_db()
    change.refresh_from_db()
    assert check_password(NEW_PASSWORD, target.password) and change.password_hash == ""


def test_admin_resets_an_ordinary_accounts_second_factor_and_it_is_audited(admins):
    a, _ = admins
    target = UserFactory(role="quality")
    enrolled_device(target)
    services.user_second_factor_reset(actor=a, user=target)
    assert target.totpdevice_set.count() == 0
    assert AuditEvent.objects.filter(action="accounts.second_factor_reset", actor=a).count() == 1


def test_admin_site_role_change_of_self_is_read_only(admins):
    a, _ = admins
    client = verified_client(a)
    r = client.get(f"/admin/accounts/user/{a.pk}/change/")
    assert r.status_code == 200
    assert 'name="role"' not in r.content.decode() and 'name="is_superuser"' not in r.content.decode()


def test_admin_site_role_change_to_dpo_creates_a_request(admins):
    a, _ = admins
    target = UserFactory(role="clinician", username="will-be-dpo")
    client = verified_client(a)
    form = client.get(f"/admin/accounts/user/{target.pk}/change/").context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("password", "groups",
                                                                                   "user_permissions")}
    data.update(role="dpo", date_joined_0="2026-01-01", date_joined_1="10:00:00", is_active="on")
    data.pop("date_joined", None)
    data.pop("last_login", None)
    client.post(f"/admin/accounts/user/{target.pk}/change/", data)
    target.refresh_from_db()
    assert target.role == "clinician"
    assert list(SensitiveChangeRequest.objects.values_list("target_id", "new_role", "requested_by_id")) == [
        (target.pk, "dpo", a.pk)]


@pytest.mark.parametrize("role", ["dpo", "chair"])
def test_admin_site_password_form_of_dpo_or_chair_is_refused(admins, role):
    a, _ = admins
    target = UserFactory(role=role)
    before = snapshot(accounts=True)
    client = verified_client(a)
    url = f"/admin/accounts/user/{target.pk}/password/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 403
    assert snapshot(accounts=True) == before
    assert check_password(PASSWORD, User.objects.get(pk=target.pk).password)


def test_otp_devices_and_tokens_are_not_in_the_admin(admins):
    a, _ = admins
    client = verified_client(a)
    for url in ["/admin/otp_totp/totpdevice/", "/admin/otp_static/staticdevice/", "/admin/knox/authtoken/"]:
        assert client.get(url).status_code == 404, url
