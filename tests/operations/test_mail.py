"""E-mail through SMTP (configured from CGH_EMAIL_*): the product's real e-mail paths sent to a real
SMTP server on loopback (aiosmtpd), with STARTTLS and authentication, and what arrived read back."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from reviews.enums import CampaignState
from reviews.models import Assignment, ReminderSent
from tests.operations.smtp import SmtpServer, self_signed_certificate
from tests.workflows import build_world, campaign_in

BACKEND = Path(__file__).resolve().parents[2] / "backend"
DEADLINE = dt.date(2026, 12, 31)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@pytest.fixture
def reviewing(db):
    world = build_world(n_cases=2, n_clinicians=2, n_patient_reps=1)
    world.campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)
    return world


def _smtp_settings(settings, server: SmtpServer, **overrides) -> None:
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "college-garantie-humaine@chu-exemple.fr"
    settings.SITE_URL = "https://college.chu-exemple.fr"
    for name, value in overrides.items():
        setattr(settings, name, value)


def _send_reminders(day: dt.date, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True), open(os.devnull, "w") as out:
        call_command("send_review_reminders", today=day.isoformat(), stdout=out)


def test_mail_reminders_arrive_through_smtp_in_french_and_blind(reviewing, settings,
                                                                 django_capture_on_commit_callbacks):
    pending = list(Assignment.objects.filter(campaign_case__campaign=reviewing.campaign)
                   .select_related("reviewer", "campaign_case__case"))
    with SmtpServer() as server:
        _smtp_settings(settings, server)
        _send_reminders(DEADLINE - dt.timedelta(days=1), django_capture_on_commit_callbacks)

    # One reminder per pending review, each counting the reviewer's reviews waiting in the campaign.
    waiting = {}
    for a in pending:
        waiting[a.reviewer.email] = waiting.get(a.reviewer.email, 0) + 1
    assert sorted(r for m in server.received for r in m.rcpt_tos) == sorted(a.reviewer.email for a in pending)
    for message in server.received:
        (recipient,) = message.rcpt_tos
        assert message.mail_from == "college-garantie-humaine@chu-exemple.fr"
        assert message.header("From") == "college-garantie-humaine@chu-exemple.fr"
        assert message.header("To") == recipient
        assert message.header("Subject") == ("[Collège de garantie humaine] Campagne T1 : relecture attendue avant le "
                                     "31/12/2026")
        assert message.body == (
            f"Bonjour,\n\n{waiting[recipient]} relecture(s) de la campagne « Campagne T1 » vous attendent, à rendre "
            "avant le 31/12/2026.\n\nhttps://college.chu-exemple.fr/reviews/\n")
        # Nothing of the cases: no pseudonym, no source key, no AI output, no clinical text.
        raw = message.raw.decode("utf-8", errors="replace") + message.body
        for a in pending:
            case = a.campaign_case.case
            for value in (case.patient_pseudonym, case.source_key, case.clinical_context, case.report_text):
                assert value not in raw
        assert "fracture" not in raw
    assert set(ReminderSent.objects.values_list("outcome", flat=True)) == {"sent"}


def test_mail_reminders_through_starttls_with_authentication(reviewing, settings, tmp_path, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the relay's CA, as a hospital adds its own
    with SmtpServer(tls_files=(cert, key), credentials=("college", "s3cret-relay")) as server:
        _smtp_settings(settings, server, EMAIL_USE_TLS=True, EMAIL_HOST_USER="college",
                       EMAIL_HOST_PASSWORD="s3cret-relay")
        _send_reminders(DEADLINE - dt.timedelta(days=1), django_capture_on_commit_callbacks)

    assert server.received
    assert {(m.encrypted, m.login) for m in server.received} == {(True, "college")}


def test_mail_refused_password_sends_nothing(reviewing, settings, tmp_path, monkeypatch,
                                             django_capture_on_commit_callbacks):
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with SmtpServer(tls_files=(cert, key), credentials=("college", "s3cret-relay")) as server:
        _smtp_settings(settings, server, EMAIL_USE_TLS=True, EMAIL_HOST_USER="college",
                       EMAIL_HOST_PASSWORD="wrong-password")
        _send_reminders(DEADLINE - dt.timedelta(days=1), django_capture_on_commit_callbacks)

    # The task failed (SMTPAuthenticationError, logged by the worker): its transaction is rolled
    # back, the reminders stay pending for the next run, and nothing was delivered.
    assert server.received == []
    assert set(ReminderSent.objects.values_list("outcome", flat=True)) == {"pending"}


def test_mail_untrusted_certificate_is_refused(reviewing, settings, tmp_path, monkeypatch,
                                               django_capture_on_commit_callbacks):
    cert, key = self_signed_certificate(tmp_path)
    other, _ = self_signed_certificate(tmp_path / "..")  # another certificate: not the server's
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    with SmtpServer(tls_files=(cert, key)) as server:
        _smtp_settings(settings, server, EMAIL_USE_TLS=True)
        _send_reminders(DEADLINE - dt.timedelta(days=1), django_capture_on_commit_callbacks)

    assert server.received == []
    assert set(ReminderSent.objects.values_list("outcome", flat=True)) == {"pending"}


PROBE = ("from django.conf import settings; import django; django.setup(); "
         "print(settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS, "
         "settings.EMAIL_USE_SSL, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD, settings.EMAIL_TIMEOUT, "
         "settings.DEFAULT_FROM_EMAIL)")


def _settings_with(env: dict[str, str]) -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CGH_")}
    base.update(DJANGO_SETTINGS_MODULE="config.settings.local", **env)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=BACKEND, env=base, capture_output=True, text=True,
                            timeout=60)
    lines = (result.stdout if result.returncode == 0 else result.stderr).strip().splitlines()
    return result.returncode, lines[-1] if lines else ""


def test_mail_settings_read_from_the_environment(tmp_path):
    password = tmp_path / "smtp.password"
    password.write_text("from-a-file\n", encoding="utf-8")
    assert _settings_with({}) == (
        0, "django.core.mail.backends.console.EmailBackend  25 False False   10.0 "
           "college-garantie-humaine@localhost")
    assert _settings_with({"CGH_EMAIL_HOST": "smtp.chu-exemple.fr", "CGH_EMAIL_PORT": "587",
                           "CGH_EMAIL_USE_TLS": "true", "CGH_EMAIL_USER": "college",
                           "CGH_EMAIL_PASSWORD_FILE": str(password), "CGH_EMAIL_TIMEOUT": "5",
                           "CGH_FROM_EMAIL": "college@chu-exemple.fr"}) == (
        0, "django.core.mail.backends.smtp.EmailBackend smtp.chu-exemple.fr 587 True False college from-a-file 5.0 "
           "college@chu-exemple.fr")
    assert _settings_with({"CGH_EMAIL_HOST": "smtp", "CGH_EMAIL_USE_TLS": "1", "CGH_EMAIL_USE_SSL": "1"}) == (
        1, "django.core.exceptions.ImproperlyConfigured: Set CGH_EMAIL_USE_TLS (STARTTLS) or CGH_EMAIL_USE_SSL "
           "(implicit TLS), not both.")
    assert _settings_with({"CGH_EMAIL_HOST": "smtp", "CGH_EMAIL_PASSWORD_FILE": str(tmp_path / "missing")}) == (
        1, "django.core.exceptions.ImproperlyConfigured: CGH_EMAIL_PASSWORD_FILE cannot be read: "
           "No such file or directory.")
