"""On a phone (375 × 812), the pages a person opens on the move do not scroll sideways: the
reviewer's queue, the progress board and the dashboards. A wide table scrolls inside its own
container, never the page."""

import pytest

from reviews import services
from reviews.enums import CampaignState
from reviews.models import Assignment
from tests.browser.login import log_in
from tests.workflows import build_world, campaign_in, submit_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}


def page_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


WIDEST = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .filter(e => !e.parentElement.closest('table, .plotly-figure'))
    .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def measure(page) -> tuple[int, list[str]]:
    """The page's scroll width, and the first elements that stick out (to say what to fix)."""
    return page_width(page), page.evaluate(WIDEST)


def phone_page(browser, live_server):
    context = browser.new_context(locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def test_queue_board_and_dashboards_fit_a_phone(browser, live_server):
    world = build_world(n_cases=6, n_clinicians=3, n_patient_reps=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    # Results for the dashboards: a second campaign, every review locked.
    done = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2, seed=7)
    submit_all(done)
    services.campaign_close_review(actor=world.quality, campaign=done)
    clinician = Assignment.objects.filter(
        campaign_case__campaign=campaign, reviewer__in=world.clinicians).first().reviewer
    base = live_server.url
    widths = {}
    contexts = []
    try:
        context, page = phone_page(browser, live_server)
        contexts.append(context)
        log_in(page, base, clinician.username, landing="/reviews/")
        widths["queue"] = measure(page)

        context, page = phone_page(browser, live_server)
        contexts.append(context)
        log_in(page, base, world.quality.username, landing="/campaigns/")
        for name, url in (("campaigns", "/campaigns/"), ("campaign", f"/campaigns/{campaign.pk}/"),
                          ("board", f"/campaigns/{campaign.pk}/board/"), ("dashboards", "/reports/"),
                          ("campaign dashboard", f"/reports/campaigns/{done.pk}/"),
                          ("AI system dashboard", f"/reports/ai-systems/{world.ai_system.pk}/"),
                          ("population", f"/reports/ai-systems/{world.ai_system.pk}/population/")):
            page.goto(base + url)
            page.wait_for_load_state("networkidle")
            widths[name] = measure(page)

        context, page = phone_page(browser, live_server)
        contexts.append(context)
        log_in(page, base, world.management.username, landing="/reports/")
        widths["management dashboards"] = measure(page)
        page.goto(f"{base}/reports/ai-systems/{world.ai_system.pk}/")
        page.wait_for_load_state("networkidle")
        widths["management AI system dashboard"] = measure(page)
    finally:
        for context in contexts:
            context.close()
    assert {name: w for name, w in widths.items() if w[0] > PHONE["width"]} == {}
