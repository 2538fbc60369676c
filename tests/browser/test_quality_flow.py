"""The quality team in a real browser: create a campaign with the wizard (preview of the
population and the strata, then create), schedule it, draw the sample, start the review, and
follow the reviewers on the progress board."""

import re

import pytest
from playwright.sync_api import expect

from reviews.enums import CampaignState
from reviews.models import Assignment, Campaign
from tests.browser.login import log_in
from tests.workflows import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_quality_creates_and_launches_a_campaign_then_follows_it(open_page, live_server):
    world = build_world(n_cases=6, n_clinicians=3, n_patient_reps=1)
    watch = open_page()
    page = watch.page
    log_in(page, live_server.url, world.quality.username, landing="/campaigns/")

    page.get_by_role("link", name="Nouvelle campagne").click()
    expect(page.get_by_role("heading", name="Nouvelle campagne")).to_be_visible()
    page.get_by_label("Nom").fill("Campagne navigateur")
    page.locator("#id_ai_system").select_option(str(world.ai_system.pk))
    page.locator("#id_committee").select_option(str(world.committee.pk))
    page.get_by_label("Début de la période").fill("2026-01-01")
    page.get_by_label("Fin de la période").fill("2026-06-30")
    page.get_by_label("Stratifié").check()
    page.get_by_label("Sortie de l'IA", exact=True).check()
    page.get_by_label("Date limite de relecture").fill("2026-12-31")
    page.get_by_role("button", name="Prévisualiser l'échantillon").click()

    strata = page.get_by_role("table", name="Échantillon par strate")
    expect(strata).to_be_visible()
    expect(strata).to_contain_text("Sortie de l'IA : Fracture")  # the stratum as a person reads it
    expect(page.locator("#preview")).to_contain_text("6")
    assert not Campaign.objects.exists()
    watch.screenshot("wizard_preview")

    page.get_by_role("button", name="Créer la campagne").click()
    expect(page.get_by_role("heading", name=re.compile("Campagne navigateur"))).to_be_visible()
    campaign = Campaign.objects.get()
    assert campaign.state == CampaignState.DRAFT and campaign.sample_size == 6

    for action in ("Planifier", "Tirer l'échantillon", "Commencer la relecture"):
        form = page.locator("form.transition-form").filter(
            has=page.get_by_role("button", name=action, exact=True))
        state = Campaign.objects.get().state
        form.get_by_role("button", name=action, exact=True).click()  # refused by the browser: not confirmed
        expect(form.locator("input[name=confirm]:invalid")).to_have_count(1)
        assert Campaign.objects.get().state == state
        form.get_by_role("checkbox").check()
        form.get_by_role("button", name=action, exact=True).click()
        expect(page.locator(".messages")).to_contain_text(action)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.IN_REVIEW

    page.get_by_role("link", name="Tableau de suivi").click()
    expect(page.get_by_role("heading", name="Tableau de suivi")).to_be_visible()
    n = Assignment.objects.filter(campaign_case__campaign=campaign).count()
    assert n > 0
    expect(page.get_by_role("table", name="Relectures par relecteur")).to_contain_text("clin0")
    assert "ai_label" not in page.content()  # no stratum on the board
    watch.screenshot("progress_board")
    watch.assert_clean()
