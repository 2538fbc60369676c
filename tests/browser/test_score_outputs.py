"""The score outputs (ROC curve, calibration, threshold what-if) as the quality team and the
management read them in a real browser: every dashboard and the public page open cleanly (nothing
loaded from outside, no console error, no serious accessibility violation), the score charts are
drawn by plotly.js, and a reviewer still reading the campaign blind never meets them."""

import pytest
from playwright.sync_api import expect

from reports import services as report_services
from reports.enums import Audience
from reviews.enums import CampaignState
from reviews.models import Assignment
from tests.browser.login import log_in
from tests.browser.test_accessibility import violations
from tests.reports.test_scores import scored_campaign
from tests.workflows import build_world, campaign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCORE_FIGURES = ("figure-roc", "figure-calibration", "figure-threshold")


def _drawn(page, fig_id: str):
    return page.locator(f'[data-plotly-figure="{fig_id}"] svg.main-svg').first


def test_every_dashboard_opens_and_draws_the_score_outputs(open_page, live_server):
    world, campaign = scored_campaign()
    internal = report_services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    report_services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.PUBLIC)
    base = live_server.url
    ai = world.ai_system.pk
    found: dict[str, list] = {}

    for who in (world.quality, world.management):
        watch = open_page()
        page = log_in(watch.page, base, who.username)
        for name, url in (("index", "/reports/"), ("campaign", f"/reports/campaigns/{campaign.pk}/"),
                          ("ai system", f"/reports/ai-systems/{ai}/"),
                          ("population", f"/reports/ai-systems/{ai}/population/"),
                          ("report", f"/reports/published/{internal.pk}/"), ("public", "/public/")):
            response = page.goto(base + url)
            assert response.status == 200, (who.username, url)
            page.wait_for_load_state("networkidle")
            if name in ("campaign", "report"):
                section = page.locator("#score-outputs")
                expect(section.get_by_role("heading", name="Sorties de score")).to_be_visible()
                for fig_id in SCORE_FIGURES:
                    expect(_drawn(page, fig_id)).to_be_visible()
                expect(page.locator('[data-plotly-figure="figure-roc"]')).to_contain_text("Courbe ROC")
                expect(section.locator("tr.current")).to_contain_text("en vigueur")
                expect(section).to_contain_text("67 fois sur 100")
            else:
                assert page.locator("#score-outputs").count() == 0, url
            found[f"{who.username} {name}"] = violations(page)
        watch.assert_clean()

    assert {name: v for name, v in found.items() if v} == {}


def test_the_pdf_download_of_a_report_carries_its_charts(open_page, live_server):
    world, campaign = scored_campaign()
    report = report_services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    page = log_in(open_page().page, live_server.url, world.management.username)
    page.goto(f"{live_server.url}/reports/published/{report.pk}/")
    with page.expect_download(timeout=90_000) as download:  # a browser start draws the charts first
        page.get_by_role("link", name="Télécharger (PDF)").click(timeout=90_000)
    path = download.value.path()
    content = open(path, "rb").read()
    assert content.startswith(b"%PDF") and len(content) > 20_000
    assert download.value.suggested_filename == f"rapport-{campaign.pk}-v1.pdf"


def test_a_reviewer_reading_blind_meets_no_score_output(open_page, live_server):
    world = build_world(n_cases=6)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    pending = Assignment.objects.filter(campaign_case__campaign=campaign, reviewer=world.chair).first()
    assert pending is not None
    base = live_server.url
    page = log_in(open_page().page, base, world.chair.username)
    for url in ("/", "/reviews/", f"/reviews/{pending.pk}/", f"/campaigns/{campaign.pk}/", "/reports/",
                f"/reports/campaigns/{campaign.pk}/"):
        page.goto(base + url)
        page.wait_for_load_state("networkidle")
        assert page.locator("#score-outputs").count() == 0, url
        assert "Courbe ROC" not in page.content(), url
    quality = log_in(open_page().page, base, world.quality.username)
    quality.goto(f"{base}/reports/campaigns/{campaign.pk}/")
    expect(quality.locator("#score-outputs")).to_be_visible()  # no reference yet: the what-if only
    expect(_drawn(quality, "figure-threshold")).to_be_visible()
