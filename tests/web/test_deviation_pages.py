"""The campaign page's "Protocol deviations" section: the frozen protocol, the deviations
recorded since (date, author, item, what changed, reason) and the quality team's form.

Deviations may name strata built on the AI output: following pretalx's rule, the leak tests
first record a deviation carrying a sentinel, then assert that reviewers and management get
neither the section nor the sentinel, in the HTML or in the template context.
"""

import datetime as dt

import pytest

from audit.models import AuditEvent
from reviews import services
from reviews.enums import CampaignState
from reviews.models import Assignment, Campaign, ProtocolDeviation
from tests.web.test_pages import html, login
from tests.workflows import build_world, campaign_in

pytestmark = pytest.mark.django_db

SENTINEL = "DEVSEAL-ai_label=fracture"
VALID = {"item": "Taille de l'échantillon", "description": "Échantillon porté de 4 à 6 cas.",
         "reason": "Strate rare sous-représentée."}


@pytest.fixture
def world():
    return build_world(n_cases=6, n_clinicians=3, n_patient_reps=1)


@pytest.fixture
def campaign(world):
    return campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)


def url(campaign) -> str:
    return f"/campaigns/{campaign.pk}/deviations/"


def record(world, campaign, n: int = 1) -> None:
    for i in range(n):
        services.protocol_deviation_record(actor=world.quality, campaign=campaign, item=f"Strates {i}",
                                           description=f"Strate {SENTINEL} fusionnée", reason="Strate vide.")


def deviation_audits(campaign) -> int:
    return AuditEvent.objects.filter(action="campaign.protocol_deviation", object_type="reviews.campaign",
                                     object_id=str(campaign.pk)).count()


def test_deviation_quality_sees_the_frozen_protocol_and_the_form(world, campaign):
    body = html(login(world.quality).get(f"/campaigns/{campaign.pk}/"))
    assert "Écarts au protocole" in body
    assert "Protocole gelé" in body
    assert "Aléatoire simple" in body  # the frozen design
    assert "2 médecin(s), 1 représentant(s) des usagers" in body
    assert "Aucun écart au protocole gelé n'a été enregistré." in body
    assert f'action="/campaigns/{campaign.pk}/deviations/"' in body
    for label in ("Élément du protocole", "Ce qui a changé", "Raison de l'écart"):
        assert label in body


def test_deviation_protocol_summary_reads_the_frozen_copy(world):
    """A stratified design, thresholds and the deadline as frozen at scheduling; a later change
    of the campaign's own fields does not rewrite the summary."""

    world.ai_system.acceptance_thresholds = {"sensitivity": 0.9}
    world.ai_system.save(update_fields=["acceptance_thresholds"])
    campaign = services.campaign_create(
        actor=world.quality, ai_system=world.ai_system, committee=world.committee, name="Stratifiée",
        period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 6, 30), sample_size=4,
        review_deadline=dt.date(2026, 12, 31), seed=7,
        design={"type": "stratified", "strata_by": ["ai_label"], "allocation": "proportional",
                "oversample": {"ai_label=no_fracture": 2}})
    campaign = services.campaign_schedule(actor=world.quality, campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(sample_size=40)
    rows = dict(login(world.quality).get(f"/campaigns/{campaign.pk}/").context["deviations"]["protocol"])
    assert rows["Plan d'échantillonnage"] == "Stratifié"
    assert rows["Strates"] == "Sortie de l'IA"
    assert rows["Répartition entre les strates"] == "Proportionnelle"
    assert rows["Poids de suréchantillonnage"] == "Sortie de l'IA : Pas de fracture → 2"
    assert rows["Taille d'échantillon"] == "4"
    assert rows["Date limite de relecture"] == "31 décembre 2026"
    assert rows["Seuils d'acceptation"] == "Sensibilité ≥ 0,9"


def test_deviation_quality_records_one_audited_and_listed(world, campaign):
    client = login(world.quality)
    r = client.post(url(campaign), VALID)
    assert r.status_code == 302 and r["Location"] == f"/campaigns/{campaign.pk}/#deviations"
    d = ProtocolDeviation.objects.get(campaign=campaign)
    assert (d.recorded_by, d.item, d.description, d.reason, d.campaign_state) == (
        world.quality, VALID["item"], VALID["description"], VALID["reason"], CampaignState.IN_REVIEW)
    event = AuditEvent.objects.get(action="campaign.protocol_deviation", object_id=str(campaign.pk))
    assert event.data["reason"] == VALID["reason"]
    r = client.get(f"/campaigns/{campaign.pk}/")
    body = html(r)
    assert "L'écart au protocole est enregistré." in body
    for text in (VALID["item"], VALID["description"], VALID["reason"], world.quality.display_name):
        assert text in body
    assert [row["reason"] for row in r.context["deviations"]["rows"]] == [VALID["reason"]]


@pytest.mark.parametrize("role", ["clinician", "rep", "management"])
def test_deviation_section_is_never_shown_to_reviewers_or_management(world, campaign, role):
    record(world, campaign)
    user = {"clinician": world.clinicians[0], "rep": world.patient_reps[0]}.get(role) or world.management
    if role != "management":
        assert Assignment.objects.filter(reviewer=user, campaign_case__campaign=campaign).exists()
    client = login(user)
    r = client.get(f"/campaigns/{campaign.pk}/")
    assert r.status_code == 200
    body = html(r)
    assert SENTINEL not in body
    assert "Écarts au protocole" not in body and "/deviations/" not in body
    assert r.context["deviations"] is None
    for context in r.context:
        for key, value in context.flatten().items():
            assert SENTINEL not in repr(value), key
    r = client.post(url(campaign), VALID)
    assert r.status_code == 403
    assert SENTINEL not in html(r)
    assert ProtocolDeviation.objects.filter(campaign=campaign).count() == 1
    assert deviation_audits(campaign) == 1


def test_deviation_secretary_reads_the_list_but_cannot_record(world, campaign):
    record(world, campaign)
    client = login(world.secretary)
    body = html(client.get(f"/campaigns/{campaign.pk}/"))
    assert SENTINEL in body and "Écarts au protocole" in body
    assert "Enregistrer l'écart" not in body
    assert client.post(url(campaign), VALID).status_code == 403
    assert ProtocolDeviation.objects.filter(campaign=campaign).count() == 1


def test_deviation_in_a_draft_campaign_is_a_409_and_changes_nothing(world):
    campaign = campaign_in(world, CampaignState.DRAFT)
    client = login(world.quality)
    body = html(client.get(f"/campaigns/{campaign.pk}/"))
    assert "Le protocole est gelé lors de la planification" in body
    assert f'action="/campaigns/{campaign.pk}/deviations/"' not in body
    r = client.post(url(campaign), VALID)
    assert r.status_code == 409
    assert "cette campagne est à l'état « Brouillon »" in html(r)
    assert ProtocolDeviation.objects.count() == 0
    assert deviation_audits(campaign) == 0
    assert Campaign.objects.get(pk=campaign.pk).state == CampaignState.DRAFT


def test_deviation_in_a_cancelled_campaign_is_a_409_even_with_an_empty_form(world, campaign):
    services.campaign_cancel(actor=world.quality, campaign=campaign, reason="Test")
    r = login(world.quality).post(url(campaign), {})
    assert r.status_code == 409
    assert ProtocolDeviation.objects.count() == 0


def test_deviation_without_reason_is_a_400_naming_the_field(world, campaign):
    r = login(world.quality).post(url(campaign), VALID | {"reason": "   "})
    assert r.status_code == 400
    assert list(r.context["deviations"]["form"].errors) == ["reason"]
    body = html(r)
    assert 'href="#id_reason">Raison de l\'écart</a> : Ce champ est obligatoire.' in body
    assert VALID["description"] in body  # what was typed is kept
    assert ProtocolDeviation.objects.count() == 0
    assert deviation_audits(campaign) == 0


def test_deviation_of_an_unknown_campaign_is_a_404(world):
    assert login(world.quality).post("/campaigns/99999/deviations/", VALID).status_code == 404


def test_deviation_get_is_not_allowed(world, campaign):
    assert login(world.quality).get(url(campaign)).status_code == 405


# session, user, campaign (AI system and committee joined), deviations (author joined), progress
# (case states, assignment states), results (the campaign's revision: case and assignment states;
# then the cached summary, computed by the warm-up request); one blind check for the caller in
# the campaign (``reads_campaign_blind``, answered once per page).
CAMPAIGN_PAGE_QUERIES = 10


@pytest.mark.parametrize("n", [1, 3])
def test_deviation_list_query_count_is_constant(world, campaign, django_assert_num_queries, n):
    record(world, campaign, n)
    client = login(world.quality)
    client.get(f"/campaigns/{campaign.pk}/")  # warm the session and the cached results
    with django_assert_num_queries(CAMPAIGN_PAGE_QUERIES):
        r = client.get(f"/campaigns/{campaign.pk}/")
    assert r.status_code == 200
    assert len(r.context["deviations"]["rows"]) == n
