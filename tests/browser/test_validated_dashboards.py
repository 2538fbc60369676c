"""The dashboards in a real browser: the campaign dashboard with the validated comparison (AI
against clinician, reliability, discrepancy grades, equity of every figure, a reading under each
chart), the quality team's per-reader table and management without it, the AI-system dashboard
and the public page; every chart drawn by plotly.js, nothing loaded from outside, no CSP or
console error, and no serious or critical axe-core violation."""

import pytest

from reports import services as report_services
from reports.enums import Audience
from tests.browser.login import log_in
from tests.browser.test_accessibility import violations
from tests.reports.test_discordant_cases import _adjudicate_and_analyse, discordant_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECTIONS = ("#validated-figures", "#discrepancies", "#equity-all")


def test_dashboards_show_the_validated_comparison_accessibly(open_page, live_server):
    world, campaign, ccs = discordant_world()
    campaign = _adjudicate_and_analyse(world, campaign, ccs)
    report_services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.PUBLIC)
    internal = report_services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    base = live_server.url
    found: dict[str, list] = {}

    watch = open_page()
    page = log_in(watch.page, base, world.quality.username)
    page.goto(f"{base}/reports/campaigns/{campaign.pk}/")
    for selector in (*SECTIONS, "#reader-table"):
        assert page.locator(selector).is_visible(), selector
    # plotly.js drew the discrepancy chart (an SVG inside its container), with its reading below
    page.locator('[data-plotly-figure="figure-discrepancies"] svg.main-svg').first.wait_for()
    assert page.locator("#discrepancies p.reading").inner_text().startswith("Comment le lire")
    assert page.locator("p.reading").count() >= 4
    assert "Test de McNemar" in page.locator("#validated-figures").inner_text()
    assert "clin0" in page.locator("#reader-table").inner_text()
    found["campaign dashboard (quality)"] = violations(page)
    page.goto(f"{base}/reports/ai-systems/{world.ai_system.pk}/")
    page.locator("p.reading").first.wait_for()
    found["AI-system dashboard"] = violations(page)
    page.goto(f"{base}/reports/ai-systems/{world.ai_system.pk}/population/")
    found["population"] = violations(page)
    page.goto(f"{base}/reports/ai-systems/{world.ai_system.pk}/evidence/")
    assert "Biais d'automatisation" in page.content()
    found["evidence pack"] = violations(page)
    # the frozen report carries the same sections, its charts drawn from the frozen JSON
    page.goto(f"{base}/reports/published/{internal.pk}/")
    for selector in SECTIONS:
        assert page.locator(selector).is_visible(), selector
    assert page.locator("#reader-table").count() == 0
    page.locator('[data-plotly-figure="figure-discrepancies"] svg.main-svg').first.wait_for()
    found["frozen report"] = violations(page)
    watch.assert_clean()

    watch = open_page()
    page = log_in(watch.page, base, world.management.username)
    page.goto(f"{base}/reports/campaigns/{campaign.pk}/")
    for selector in SECTIONS:
        assert page.locator(selector).is_visible(), selector
    assert page.locator("#reader-table").count() == 0
    assert "clin0" not in page.content()
    found["campaign dashboard (management)"] = violations(page)
    watch.assert_clean()

    watch = open_page()
    watch.page.goto(f"{base}/public/")
    found["public page"] = violations(watch.page)
    watch.assert_clean()

    assert {name: v for name, v in found.items() if v} == {}
