"""The reviewer's journey through one case, measured in a real browser: clicks, page loads and
time from the moment the case is in front of them to the moment the next one is."""

import pytest
from playwright.sync_api import expect

from reviews.enums import CampaignState
from tests.browser.journey import JourneyMeter
from tests.browser.login import log_in
from tests.workflows import build_world, campaign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_cases():
    world = build_world(n_cases=2, n_clinicians=2, n_patient_reps=1)
    campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)
    return world


def test_before_reviewer_journey_for_one_case(two_cases, open_page, live_server):
    watch = open_page()
    page = watch.page
    log_in(page, live_server.url, two_cases.clinicians[0].username, landing="/reviews/")
    meter = JourneyMeter(page)
    meter.start()
    meter.click(page.get_by_role("link", name="Ouvrir dossier n° 1"))
    meter.click(page.get_by_role("button", name="Commencer la relecture"))
    meter.check(page.get_by_label("Pas de fracture"))
    meter.check(page.get_by_label("4", exact=True))
    meter.check(page.get_by_label("Je confirme : mon avis sera verrouillé et ne pourra plus être modifié."))
    meter.click(page.get_by_role("button", name="Verrouiller mon avis"))
    meter.click(page.get_by_role("button", name="Voir la sortie de l'IA"))
    meter.check(page.get_by_label("Écart manifeste, cliniquement significatif probable"))
    meter.check(page.locator("fieldset", has_text="aurait-il changé votre réponse").get_by_label("Non"))
    meter.click(page.get_by_role("button", name="Enregistrer mon classement"))
    expect(page.get_by_role("heading", name="Votre classement", exact=True)).to_be_visible()
    meter.click(page.get_by_role("navigation", name="Fil d'Ariane").get_by_role("link", name="Mes relectures"))
    meter.click(page.get_by_role("link", name="Ouvrir dossier n° 2"))
    expect(page.get_by_role("heading", name="Avant de commencer")).to_be_visible()
    figures = meter.stop()
    print(f"\nBEFORE reviewer, one case: {figures}")
    watch.assert_clean()
