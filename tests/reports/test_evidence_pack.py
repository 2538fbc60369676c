"""The evidence pack of an AI system: each duty's records from a world built through the real
services, who may read it (404 for everyone else), the exports, and a query count that does not
grow with the number of campaigns."""

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone, translation

from audit.models import AuditEvent
from reports import evidence, services
from reports.enums import Audience
from reviews import services as review_services
from reviews.enums import CampaignState
from sittings import services as sittings
from tests.factories import UserFactory
from tests.helpers import html
from tests.login import login
from tests.workflows import build_world, campaign_in, disagreeing_campaign, present_quorum, submit_all
from vigilance import services as vigilance

pytestmark = pytest.mark.django_db


def analysed_campaign(world, *, sample_size: int = 2, seed: int = 20260315):
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=sample_size, seed=seed)
    submit_all(campaign)
    campaign = review_services.campaign_close_review(actor=world.quality, campaign=campaign)
    return review_services.campaign_start_analysis(actor=world.quality, campaign=campaign)


@pytest.fixture
def pack_world():
    """A campaign whose readers disagree, decided in a session with signed minutes, a corrective
    action, a declared vigilance report, and a published report: all through the services."""
    world = build_world(n_cases=6)
    campaign = disagreeing_campaign(world, sample_size=2)
    session = sittings.session_create(actor=world.secretary, committee=world.committee, title="Séance d'essai",
                                        scheduled_at=timezone.now() + dt.timedelta(hours=1), place="Salle 2")
    sittings.session_start(actor=world.secretary, session=session)
    present_quorum(session, world.secretary)
    decision = None
    for item in session.items.order_by("position"):
        decision = sittings.decision_record(actor=world.chair, item=item, summary="Discussion.", text="Retenu.",
                                              votes_for=4, votes_against=1, dissent="Doute.",
                                              reference_label="fracture")
    action = sittings.action_create(actor=world.chair, committee=world.committee, kind="train_users",
                                      title="Former les urgentistes", owner=world.quality,
                                      due_date=timezone.localdate() + dt.timedelta(days=30), decision=decision)
    sittings.session_close(actor=world.secretary, session=session)
    session = sittings.session_sign(actor=world.chair, session=session)
    campaign = review_services.campaign_close_review(actor=world.quality, campaign=campaign)
    campaign = review_services.campaign_start_analysis(actor=world.quality, campaign=campaign)
    report = services.report_publish(actor=world.chair, campaign=campaign, audience=Audience.INTERNAL)
    draft = vigilance.vigilance_create(actor=world.quality, committee=world.committee, ai_system=world.ai_system,
                                       event_date=timezone.localdate(), description="SECRET-DESCRIPTION erreur.")
    draft = vigilance.vigilance_update(actor=world.quality, report=draft, seriousness="serious_harm",
                                       patient_consequences="Retard de prise en charge.")
    declared = vigilance.vigilance_declare(actor=world.quality, report=draft, reference="MRV-1")
    return world, {"campaign": campaign, "session": session, "action": action, "report": report,
                   "vigilance": declared}


def test_evidence_pack_maps_records_to_each_duty(pack_world):
    world, made = pack_world

    with translation.override("en"):
        pack = evidence.evidence_pack(world.ai_system, user=world.management)

    duties = {d.key: d for d in pack["duties"]}
    assert list(duties) == ["l4001_3", "art14", "art26", "art72", "art73"]
    labels = {k: [r.label for r in d.records] for k, d in duties.items()}
    values = {k: {r.label: r.value for r in d.records} for k, d in duties.items()}
    refs = {k: [r.reference for r in d.records] for k, d in duties.items()}
    campaign = made["campaign"]
    assert any(campaign.name in label for label in labels["l4001_3"])
    assert f"sha256:{made['session'].minutes_sha256}" in refs["art14"]
    assert any(label.startswith("Clinician reviewers, specialty") for label in labels["art14"])
    assert values["art26"]["Audit trail verification"] == "intact"
    assert values["art26"]["Corrective actions"] == "1, 1 open, 0 overdue"
    assert f"action:{made['action'].pk}" in refs["art26"]
    assert f"sha256:{made['report'].content_hash}" in refs["art72"]
    assert f"vigilance:{made['vigilance'].pk}" in refs["art73"]
    assert "declared in time" in [str(r.value) for r in duties["art73"].records]
    assert "SECRET-DESCRIPTION" not in repr(pack)
    assert pack["audit_ok"] is True


def test_evidence_pack_counts_blind_rereads_and_informed_patients(pack_world):
    world, made = pack_world
    with translation.override("en"):
        pack = evidence.evidence_pack(world.ai_system, user=world.quality)
    values = {r.label: r.value for d in pack["duties"] for r in d.records}
    campaign = made["campaign"]
    assert values["Blind re-reads by clinicians (locked verdicts)"] == 2 * campaign.clinicians_per_case
    assert values["Blind re-reads by patient representatives (locked answers)"] == 2 * campaign.patient_reps_per_case
    assert values["Monitoring campaigns run"] == 1


@pytest.mark.parametrize("who", ["quality", "admin", "management", "chair", "secretary"])
def test_evidence_pack_page_readers(pack_world, who):
    world, made = pack_world

    response = login(getattr(world, who)).get(f"/reports/ai-systems/{world.ai_system.pk}/evidence/")

    assert response.status_code == 200
    text = html(response)
    assert "L4001-3" in text and "art. 73" in text
    assert made["session"].minutes_sha256 in text
    assert "SECRET-DESCRIPTION" not in text  # no description of a vigilance report


def test_evidence_pack_is_404_for_clinicians_patient_reps_dpo_anonymous_and_other_officers(pack_world):
    world, _ = pack_world
    url = f"/reports/ai-systems/{world.ai_system.pk}/evidence/"
    outsider = UserFactory(role="chair", username="other-chair")

    for user in (world.clinicians[0], world.patient_reps[0], world.dpo, outsider):
        for suffix in ("", ".pdf"):
            assert login(user).get(url.rstrip("/") + suffix if suffix else url).status_code == 404
    assert Client().get(url).status_code == 404
    assert Client().get(f"/reports/ai-systems/{world.ai_system.pk}/evidence.csv").status_code == 404
    assert login(world.quality).get("/reports/ai-systems/999999/evidence/").status_code == 404


def test_evidence_pack_exports(pack_world):
    world, made = pack_world
    client = login(world.management)
    base = f"/reports/ai-systems/{world.ai_system.pk}/evidence"
    events = AuditEvent.objects.count()

    export = client.get(base + ".html")
    pdf = client.get(base + ".pdf")
    index = client.get(base + ".csv")

    assert export.status_code == 200 and "attachment" in export["Content-Disposition"]
    text = html(export)
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert made["report"].content_hash in text
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    rows = list(csv.reader(io.StringIO(index.content.decode())))
    assert rows[0] == ["duty", "record", "value", "date", "reference", "link"]
    assert {r[0] for r in rows[1:]} == {"l4001_3", "art14", "art26", "art72", "art73"}
    assert ["art73"] == list({r[0] for r in rows if r[4] == f"vigilance:{made['vigilance'].pk}"})
    assert AuditEvent.objects.count() == events  # reading the pack writes nothing


def test_ai_system_dashboard_shows_actions_and_vigilance_clocks_to_management(pack_world):
    world, made = pack_world

    text = html(login(world.management).get(f"/reports/ai-systems/{world.ai_system.pk}/"))

    assert "Former les urgentistes" in text
    assert "SECRET-DESCRIPTION" not in text
    assert f"/reports/ai-systems/{world.ai_system.pk}/evidence/" in text


@pytest.mark.parametrize("n_campaigns", [1, 3])
def test_evidence_pack_query_count_is_constant(db, django_assert_num_queries, n_campaigns):
    world = build_world(n_cases=6)
    for i in range(n_campaigns):
        campaign = analysed_campaign(world, seed=300 + i)
        services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    client = login(world.management)
    url = f"/reports/ai-systems/{world.ai_system.pk}/evidence/"
    client.get(url)
    # session, user, AI system, committees, campaigns, locked reads, case aggregates, members,
    # reviewers' specialties, classifications, sessions, reports, series (campaigns, case rows,
    # verdicts), actions, vigilance, audit chain (rows, head), audit counts
    with django_assert_num_queries(21):
        assert client.get(url).status_code == 200
