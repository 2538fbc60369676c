"""Each role's journey in a real browser, counting the clicks it takes after logging in; the
counts are the ones the README gives in "Journeys" (read from it, so that they stay true).

A click is a pointer action: a link, a button, a box or radio button, a choice in a list.
Typing in a field is not counted."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cases.models import Case
from cases.source_reference import current_source_key, encrypt_source_reference
from reidentification.enums import RequestState
from reidentification.models import ReidentificationRequest
from reidentification.services import reidentification_request
from reviews import services
from reviews.enums import CampaignState
from reviews.models import Campaign
from tests.browser.login import log_in
from tests.workflows import build_world, campaign_in, disagreeing_campaign, submit_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_clicks(journey: str) -> int:
    """The click count the README gives for a journey: its heading, then "(N clicks)"."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Journeys"):]
    match = re.search(rf"^### {re.escape(journey)} \((\d+) clicks\)$", section, flags=re.MULTILINE)
    assert match, f"no journey {journey!r} with its click count in the README"
    return int(match.group(1))


class Clicks:
    """Counts the pointer actions of a journey."""

    def __init__(self, page):
        self.page = page
        self.n = 0

    def click(self, locator) -> None:
        locator.click()
        self.n += 1

    def check(self, locator) -> None:
        locator.check()
        self.n += 1

    def choose(self, locator, value: str) -> None:
        locator.select_option(value)
        self.n += 1


def test_quality_team_journey(open_page, live_server):
    world = build_world(n_cases=6, n_clinicians=3, n_patient_reps=1)
    page = open_page().page
    log_in(page, live_server.url, world.quality.username, landing="/campaigns/")
    c = Clicks(page)
    c.click(page.get_by_role("link", name="Nouvelle campagne"))
    page.get_by_label("Nom").fill("Campagne parcours")
    c.choose(page.locator("#id_ai_system"), str(world.ai_system.pk))
    c.choose(page.locator("#id_committee"), str(world.committee.pk))
    page.get_by_label("Début de la période").fill("2026-01-01")
    page.get_by_label("Fin de la période").fill("2026-06-30")
    page.get_by_label("Date limite de relecture").fill("2026-12-31")
    c.click(page.get_by_role("button", name="Prévisualiser l'échantillon"))
    expect(page.locator("#preview")).to_be_visible()
    c.click(page.get_by_role("button", name="Créer la campagne"))
    for action in ("Planifier", "Tirer l'échantillon", "Commencer la relecture"):
        form = page.locator("form.transition-form").filter(has=page.get_by_role("button", name=action, exact=True))
        c.check(form.get_by_role("checkbox"))
        c.click(form.get_by_role("button", name=action, exact=True))
        expect(page.locator(".messages")).to_contain_text(action)
    c.click(page.get_by_role("link", name="Tableau de suivi"))
    expect(page.get_by_role("table", name="Relectures par relecteur")).to_be_visible()
    assert Campaign.objects.get(name="Campagne parcours").state == CampaignState.IN_REVIEW
    assert c.n == documented_clicks("Quality team")


def test_data_protection_officer_journey(open_page, live_server):
    world = build_world()
    campaign = disagreeing_campaign(world)
    cc = campaign.campaign_cases.order_by("pk").first()
    key = current_source_key()
    Case.objects.filter(pk=cc.case_id).update(source_reference=encrypt_source_reference("ACC-77", key),
                                              source_reference_key_id=key.key_id)
    request = reidentification_request(actor=world.chair, campaign_case=cc,
                                       justification="L'IA a manqué une fracture ; rappel du patient.")
    page = open_page().page
    log_in(page, live_server.url, world.dpo.username, landing="/reidentification/")
    c = Clicks(page)
    c.click(page.locator(f"main a[href='/reidentification/{request.pk}/']"))
    page.get_by_label("Commentaire").fill("Justifié : rappel nécessaire.")
    c.check(page.get_by_role("checkbox", name=re.compile("Je confirme ma décision")))
    c.click(page.get_by_role("button", name="Approuver"))
    expect(page.locator(".messages")).to_be_visible()
    assert ReidentificationRequest.objects.get(pk=request.pk).state == RequestState.APPROVED
    assert c.n == documented_clicks("Data-protection officer")


def test_management_journey(open_page, live_server):
    world = build_world(n_cases=6, n_clinicians=3, n_patient_reps=1)
    done = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    submit_all(done)
    services.campaign_close_review(actor=world.quality, campaign=done)
    services.campaign_start_analysis(actor=world.quality, campaign=done)
    watch = open_page()
    page = watch.page
    log_in(page, live_server.url, world.management.username, landing="/reports/")
    c = Clicks(page)
    c.click(page.get_by_role("link", name=world.ai_system.name, exact=True))
    expect(page.get_by_role("heading", name=re.compile("Tableau de bord du système d'IA"))).to_be_visible()
    expect(page.locator(".plotly-figure .main-svg").first).to_be_attached(timeout=15_000)  # drawn by plotly
    c.click(page.get_by_role("link", name="Tableaux de bord"))
    c.click(page.get_by_role("link", name=done.name))
    expect(page.get_by_role("heading", level=1)).to_contain_text(done.name)
    watch.assert_clean()
    assert c.n == documented_clicks("Management")
