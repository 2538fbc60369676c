"""Public transparency in a real browser: the quality team drafts and submits the easy-to-read
text, a patient representative approves it on its page, the quality team publishes it; then an
anonymous visitor opens the register, the report's page, the easy-to-read version and the poster.
axe-core (as in ``test_accessibility``) finds no serious or critical violation on any of them, and
nothing is fetched from outside the application."""

import re

import pytest
from playwright.sync_api import expect

from cases.services import ai_system_update_public_profile
from reports import services as report_services
from reports.enums import Audience
from tests.browser.login import log_in
from tests.browser.test_accessibility import violations
from tests.transparency.conftest import PROFILE, analysed
from tests.workflows import build_world
from transparency import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_public_texts_and_public_pages_in_the_browser(open_page, live_server):
    world = build_world(n_cases=12, n_clinicians=2, n_patient_reps=1)
    campaign = analysed(world, sample_size=12)
    report = report_services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.PUBLIC)
    ai_system_update_public_profile(actor=world.quality, ai_system=world.ai_system, **PROFILE)
    entry = services.register_text_draft(actor=world.quality, ai_system=world.ai_system)
    services.public_text_submit(actor=world.quality, text=entry)
    services.public_text_approve(actor=world.patient_reps[0], text=entry)
    services.public_text_publish(actor=world.quality, text=entry)
    base = live_server.url
    found: dict[str, list] = {}

    quality = open_page()
    log_in(quality.page, base, world.quality.username)
    quality.page.goto(f"{base}/transparency/")
    found["texts (quality)"] = violations(quality.page)
    quality.page.get_by_role("button", name="Préparer la version facile à lire").click()
    expect(quality.page.get_by_role("heading", level=1)).to_contain_text("Version facile à lire d'un rapport")
    found["text draft"] = violations(quality.page)
    quality.page.get_by_role("button", name="Soumettre aux représentants des usagers").click()
    expect(quality.page.locator(".messages")).to_contain_text("Le texte est soumis")
    text_url = quality.page.url
    quality.page.goto(f"{base}/transparency/ai-systems/{world.ai_system.pk}/")
    found["public profile form"] = violations(quality.page)

    rep = open_page()
    log_in(rep.page, base, world.patient_reps[0].username)
    rep.page.goto(text_url)
    found["text to approve"] = violations(rep.page)
    rep.page.get_by_role("button", name="Approuver le texte").click()
    expect(rep.page.locator(".messages")).to_contain_text("Le texte est approuvé")

    quality.page.goto(text_url)
    quality.page.get_by_role("button", name="Publier").click()
    expect(quality.page.locator(".messages")).to_contain_text("Le texte est publié")

    visitor = open_page()
    page = visitor.page
    page.goto(f"{base}/public/register/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Registre des outils d'IA utilisés")
    expect(page.get_by_text(PROFILE["public_purpose"])).to_be_visible()
    found["register"] = violations(page)
    page.get_by_role("link", name=report.title).click()
    expect(page).to_have_url(f"{base}/public/reports/{report.pk}/")
    found["report page"] = violations(page)
    page.get_by_role("link", name="Version facile à lire").click()
    expect(page.get_by_text("L'outil était d'accord avec eux 8 fois sur 12.")).to_be_visible()
    expect(page.get_by_role("img", name="Médecin").first).to_be_visible()
    found["easy-to-read"] = violations(page)
    page.goto(f"{base}/public/reports/{report.pk}/poster/")
    expect(page.get_by_role("img", name=re.compile("Code QR vers la page des résultats"))).to_be_visible()
    found["poster"] = violations(page)
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".poster")).to_be_visible()

    assert {name: v for name, v in found.items() if v} == {}
    for watch in (quality, rep, visitor):
        watch.assert_clean()
