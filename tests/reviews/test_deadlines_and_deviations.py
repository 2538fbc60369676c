"""Protocol deviations (service, API, audit) and deadlines: reminders sent once through the
periodic command and the background task, overdue reviews expired and reassigned."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command

from audit.models import AuditEvent
from reviews import services
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment, ProtocolDeviation, ReminderSent
from tests.workflows import build_world, campaign_in

DEADLINE = dt.date(2026, 12, 31)
PAYLOAD = {"item": "review_deadline", "description": "Échéance repoussée au 15/01.", "reason": "Congés."}


# --- Protocol deviations ---------------------------------------------------------------------------

def test_deviation_recorded_and_audited(world, api):
    campaign = campaign_in(world, CampaignState.IN_REVIEW)

    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/deviations/", PAYLOAD, format="json")

    assert r.status_code == 201
    d = ProtocolDeviation.objects.get()
    assert r.json() == {"id": d.pk, "campaign": campaign.pk, "created_at": r.json()["created_at"],
                        "recorded_by": "quality", "campaign_state": "in_review", **PAYLOAD}
    event = AuditEvent.objects.get(action="campaign.protocol_deviation")
    assert event.data == {"deviation": d.pk, "item": "review_deadline", "description": PAYLOAD["description"],
                          "reason": "Congés."}


def test_deviation_on_a_draft_is_409(world, api):
    campaign = campaign_in(world, CampaignState.DRAFT)
    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/deviations/", PAYLOAD, format="json")
    assert r.status_code == 409
    assert r.json()["detail"] == "Cannot record a protocol deviation: the campaign is draft."
    assert not ProtocolDeviation.objects.exists()


@pytest.mark.parametrize("who", ["chair", "secretary", "management"])
def test_deviation_wrong_role_is_403_and_changes_nothing(world, api, who):
    campaign = campaign_in(world, CampaignState.SAMPLED)
    audit = AuditEvent.objects.count()
    r = api(getattr(world, who)).post(f"/api/campaigns/{campaign.pk}/deviations/", PAYLOAD, format="json")
    assert r.status_code == 403
    assert not ProtocolDeviation.objects.exists() and AuditEvent.objects.count() == audit


def test_deviation_missing_reason_is_400_and_unknown_campaign_404(world, api):
    campaign = campaign_in(world, CampaignState.SAMPLED)
    q = api(world.quality)
    assert q.post(f"/api/campaigns/{campaign.pk}/deviations/", {**PAYLOAD, "reason": " "},
                  format="json").status_code == 400
    assert q.post("/api/campaigns/999999/deviations/", PAYLOAD, format="json").status_code == 404
    assert q.get("/api/campaigns/999999/deviations/").status_code == 404


def test_deviations_hidden_from_readers_with_blind_reviews(world, api):
    campaign = campaign_in(world, CampaignState.IN_REVIEW)
    services.protocol_deviation_record(actor=world.quality, campaign=campaign, **PAYLOAD)
    blind_chair = Assignment.objects.filter(reviewer=world.chair, campaign_case__campaign=campaign).exists()
    assert api(world.chair).get(f"/api/campaigns/{campaign.pk}/deviations/").status_code == (
        403 if blind_chair else 200)
    assert api(world.clinicians[0]).get(f"/api/campaigns/{campaign.pk}/deviations/").status_code == 403
    assert api(world.quality).get(f"/api/campaigns/{campaign.pk}/deviations/").status_code == 200


@pytest.mark.parametrize("n", [1, 3])
def test_deviation_list_query_count(world, api, django_assert_num_queries, n):
    campaign = campaign_in(world, CampaignState.SAMPLED)
    for i in range(n):
        services.protocol_deviation_record(actor=world.quality, campaign=campaign, item=f"item{i}",
                                           description="x", reason="y")
    client = api(world.quality)
    with django_assert_num_queries(4):  # campaign, blind check, count, page (with the recorder joined)
        r = client.get(f"/api/campaigns/{campaign.pk}/deviations/")
    assert [row["item"] for row in r.json()["results"]] == [f"item{i}" for i in range(n)]


# --- Reminders and expiry ----------------------------------------------------------------------------

@pytest.fixture
def reviewing(db):
    world = build_world(n_cases=2, n_clinicians=2, n_patient_reps=1)
    world.campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)
    return world


def run(today, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_review_reminders", today=today.isoformat(), stdout=open("/dev/null", "w"))


def test_reminders_sent_once_per_threshold(reviewing, django_capture_on_commit_callbacks):
    pending = Assignment.objects.filter(campaign_case__campaign=reviewing.campaign).count()

    run(DEADLINE - dt.timedelta(days=10), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 0
    run(DEADLINE - dt.timedelta(days=7), django_capture_on_commit_callbacks)
    run(DEADLINE - dt.timedelta(days=6), django_capture_on_commit_callbacks)  # idempotent
    assert len(mail.outbox) == pending
    assert set(ReminderSent.objects.values_list("days_before", "outcome")) == {(7, "sent")}
    run(DEADLINE - dt.timedelta(days=1), django_capture_on_commit_callbacks)
    run(DEADLINE - dt.timedelta(days=1), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2 * pending
    assert ReminderSent.objects.count() == 2 * pending


def test_reminder_is_blind_and_skips_submitted_reviews(reviewing, django_capture_on_commit_callbacks):
    a = Assignment.objects.filter(campaign_case__campaign=reviewing.campaign, kind="clinician").first()
    services.assignment_submit(actor=a.reviewer, assignment=a, data={"label": "fracture", "rationale": "x"})
    run(DEADLINE - dt.timedelta(days=1), django_capture_on_commit_callbacks)

    assert a.reviewer.email not in {m.to[0] for m in mail.outbox} or Assignment.objects.filter(
        reviewer=a.reviewer, state__in=["assigned", "opened"]).exists()
    case = a.campaign_case.case
    for message in mail.outbox:
        assert case.ai_label not in message.body and "fracture" not in message.body
        assert reviewing.campaign.name in message.subject


def test_late_start_sends_only_the_closest_reminder(reviewing, django_capture_on_commit_callbacks):
    run(DEADLINE, django_capture_on_commit_callbacks)
    assert set(ReminderSent.objects.values_list("days_before", flat=True)) == {1}


def test_overdue_reviews_expire_and_are_reassigned(db, django_capture_on_commit_callbacks):
    world = build_world(n_cases=1, n_clinicians=3, n_patient_reps=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=1)
    before = list(Assignment.objects.filter(campaign_case__campaign=campaign).values_list("pk", flat=True))

    run(DEADLINE + dt.timedelta(days=1), django_capture_on_commit_callbacks)

    assert set(Assignment.objects.filter(pk__in=before).values_list("state", flat=True)) == {AssignmentState.EXPIRED}
    replacements = Assignment.objects.filter(replaces__in=before)
    assert replacements.count() >= 1
    assert AuditEvent.objects.filter(action="assignment.expire", actor__isnull=True).count() == len(before)


def test_reminder_links_to_the_queue_at_the_site_url(reviewing, django_capture_on_commit_callbacks, settings):
    settings.SITE_URL = "https://college.chu-exemple.fr"
    run(DEADLINE - dt.timedelta(days=1), django_capture_on_commit_callbacks)

    assert mail.outbox
    assert all("https://college.chu-exemple.fr/reviews/\n" in m.body for m in mail.outbox)
