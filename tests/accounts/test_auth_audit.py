from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory


def test_login_logout_and_failed_login_are_audited(client, db):
    user = UserFactory(username="camille")

    client.post("/login/", {"username": "camille", "password": "wrong password"})
    client.post("/login/", {"username": "camille", "password": PASSWORD})
    client.post("/logout/")

    events = list(AuditEvent.objects.values_list("action", "actor_id", "object_id", "data__username"))
    assert events == [
        ("auth.login_failed", None, str(user.pk), "camille"),
        ("auth.login", user.pk, str(user.pk), None),
        ("auth.logout", user.pk, str(user.pk), None),
    ]


def test_failed_login_never_records_the_password(client, db):
    UserFactory(username="camille")

    client.post("/login/", {"username": "camille", "password": "S3cret-typed-by-mistake"})

    assert "S3cret" not in str(list(AuditEvent.objects.values()))
