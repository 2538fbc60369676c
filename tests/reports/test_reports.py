"""Reports: dashboards per role, query counts, frozen reports and corrections, the public page,
exports, and no external URL anywhere."""

import csv
import datetime as dt
import io
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import Case
from reports import selectors, services
from reports.enums import Audience, ReportState
from reports.models import Report
from reviews import services as review_services
from reviews.enums import CampaignState
from tests.factories import CaseFactory
from tests.helpers import html
from tests.login import login
from tests.workflows import build_world, campaign_in, submit_all

pytestmark = pytest.mark.django_db

AI_VERSION = "AIVER-REPORT-SENTINEL"


def analysed_campaign(world, *, sample_size: int = 4, seed: int = 20260315):
    """A campaign brought to analysis by the real services (every clinician reads "fracture")."""
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=sample_size, seed=seed)
    submit_all(campaign)
    campaign = review_services.campaign_close_review(actor=world.quality, campaign=campaign)
    campaign = review_services.campaign_start_analysis(actor=world.quality, campaign=campaign)
    assert campaign.state == CampaignState.ANALYSIS
    return campaign


@pytest.fixture
def setup():
    world = build_world(n_cases=6)
    Case.objects.update(ai_version=AI_VERSION)
    campaign = analysed_campaign(world)
    return world, campaign


# --- Campaign dashboard ------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "status"), [
    ("quality", 200), ("admin", 200), ("chair", 200), ("secretary", 200), ("management", 200), ("dpo", 404),
])
def test_campaign_dashboard_by_role(setup, who, status):
    world, campaign = setup
    response = login(getattr(world, who)).get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code == status
    if status == 200:
        text = html(response)
        assert "figure-confusion" in text
        assert "reports/vendor/plotly.min.js" in text


def _end_term(world, user):
    """``user`` no longer sits on the committee (a member in office reads its dashboards)."""
    world.committee.members.filter(user=user).update(term_end=timezone.localdate())


def test_campaign_dashboard_clinician_is_refused(setup):
    world, campaign = setup
    _end_term(world, world.clinicians[0])
    assert login(world.clinicians[0]).get(f"/reports/campaigns/{campaign.pk}/").status_code == 403


def test_campaign_dashboard_unknown_campaign_is_404(setup):
    world, _ = setup
    assert login(world.quality).get("/reports/campaigns/999999/").status_code == 404


def test_campaign_dashboard_anonymous_goes_to_login(setup):
    _, campaign = setup
    response = Client().get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code == 302


def test_campaign_dashboard_management_gets_no_case_level_data(setup):
    world, campaign = setup
    text = html(login(world.management).get(f"/reports/campaigns/{campaign.pk}/"))
    assert AI_VERSION not in text
    assert html(login(world.quality).get(f"/reports/campaigns/{campaign.pk}/")).count(AI_VERSION) >= 1


def test_campaign_dashboard_refused_with_blind_reviews_pending():
    world = build_world(n_cases=6)
    campaign = campaign_in(world, CampaignState.IN_REVIEW)
    chair_assignments = campaign.campaign_cases.filter(assignments__reviewer=world.chair).exists()
    reviewer = world.chair if chair_assignments else world.clinicians[0]
    response = login(reviewer).get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code == 403
    if reviewer is world.chair:
        assert login(world.secretary).get(f"/reports/campaigns/{campaign.pk}/").status_code == 200


def test_campaign_dashboard_figures(setup):
    world, campaign = setup
    figures = selectors.campaign_dashboard(campaign, with_ai_version=True)
    assert figures["summary"]["n_cases"] == 4
    assert figures["summary"]["n_with_reference"] == 4
    assert figures["small_sample"] is True
    assert figures["accuracy"]["sensitivity"]["n"] == 4
    assert "categories" not in figures["three_way"]
    assert {r["dimension"] for r in figures["equity"]["rows"]} == {"sex", "age_band", "site", "ai_version"}
    assert {r["dimension"] for r in selectors.campaign_dashboard(campaign, with_ai_version=False)["equity"]["rows"]} \
        == {"sex", "age_band", "site"}


@pytest.mark.parametrize("n_cases", [1, 3])
def test_campaign_dashboard_query_count_is_constant(db, django_assert_num_queries, n_cases):
    world = build_world(n_cases=6)
    campaign = analysed_campaign(world, sample_size=n_cases)
    client = login(world.quality)
    client.get(f"/reports/campaigns/{campaign.pk}/")  # warm the session and the content types
    # session, user, the user's committee seats (the menu),
    # campaign, blind check (once: publishing reuses it), case rows and verdicts
    # (the discordant-case list), the campaign's revision (2), the cached figures (the warm-up
    # computed them), reports, and the quality team's per-reader table (one query)
    with django_assert_num_queries(12):
        assert client.get(f"/reports/campaigns/{campaign.pk}/").status_code == 200


# --- AI system dashboard and population ------------------------------------------------------

@pytest.mark.parametrize(("who", "status"), [
    ("quality", 200), ("admin", 200), ("chair", 200), ("secretary", 200), ("management", 200), ("dpo", 403),
])
def test_ai_system_dashboard_by_role(setup, who, status):
    world, _ = setup
    for url in (f"/reports/ai-systems/{world.ai_system.pk}/", f"/reports/ai-systems/{world.ai_system.pk}/population/"):
        response = login(getattr(world, who)).get(url)
        assert response.status_code == status, url
        if status == 200:
            assert AI_VERSION not in html(response)


def test_ai_system_dashboard_clinician_refused_and_unknown_404(setup):
    world, _ = setup
    assert login(world.clinicians[0]).get(f"/reports/ai-systems/{world.ai_system.pk}/").status_code == 403
    assert login(world.quality).get("/reports/ai-systems/999999/").status_code == 404


@pytest.mark.parametrize("n_campaigns", [1, 3])
def test_ai_system_dashboard_query_count_is_constant(db, django_assert_num_queries, n_campaigns):
    world = build_world(n_cases=6)
    for i in range(n_campaigns):
        analysed_campaign(world, sample_size=2, seed=100 + i)
    client = login(world.management)
    client.get(f"/reports/ai-systems/{world.ai_system.pk}/")
    # session, user, AI system, campaigns, case rows, verdicts, corrective actions, vigilance reports
    with django_assert_num_queries(9):
        response = client.get(f"/reports/ai-systems/{world.ai_system.pk}/")
    assert response.status_code == 200
    series = selectors.ai_system_series(world.ai_system, selectors.campaigns_in_series(world.management,
                                                                                       world.ai_system))
    assert len(series["campaigns"]) == n_campaigns
    assert len(series["metrics"]["sensitivity"]["chart"]["points"]) == n_campaigns


def test_population_aggregates_in_the_database(db, django_assert_num_queries):
    world = build_world(n_cases=0)
    for i in range(12):
        CaseFactory(ai_system=world.ai_system, site="Nord", exam_date=dt.date(2026, 1, 5 + i),
                    ai_label="fracture" if i < 6 else "no_fracture", final_label="fracture")
    CaseFactory(ai_system=world.ai_system, site="Sud", exam_date=dt.date(2026, 2, 3), ai_label="fracture",
                final_label="")
    with django_assert_num_queries(1):
        rows = selectors.population_table(world.ai_system)
    # The one-case cell is suppressed (fewer than 10 cases), its figures not given.
    assert [(r["month"], r["site"], r["n"], r["ai_positive"], r["n_decided"], r["overridden"], r["suppressed"])
            for r in rows] == [("2026-01", "Nord", 12, 6, 12, 6, False), ("2026-02", "Sud", 1, None, None, None, True)]


# --- Published reports -------------------------------------------------------------------------

def test_report_publish_freezes_figures_and_hash(setup):
    world, campaign = setup
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    assert (report.version, report.state) == (1, ReportState.PUBLISHED)
    assert report.content_hash == services.content_hash(report.figures)
    assert AuditEvent.objects.filter(action="report.publish", object_id=str(report.pk)).count() == 1
    frozen, digest = report.figures, report.content_hash
    # The data change afterwards: the published report does not.
    Case.objects.update(ai_label="no_fracture")
    report.refresh_from_db()
    assert (report.figures, report.content_hash) == (frozen, digest)
    assert services.content_hash(report.figures) == digest
    page = login(world.quality).get(f"/reports/published/{report.pk}/")
    assert page.status_code == 200
    assert digest in html(page)


def test_report_correction_creates_version_2_and_supersedes_version_1(setup):
    world, campaign = setup
    first = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    response = login(world.quality).post(f"/reports/published/{first.pk}/correct/", {"reason": "Erreur de saisie"})
    assert response.status_code == 302
    second = Report.objects.get(campaign=campaign, version=2)
    first.refresh_from_db()
    assert (first.state, second.state, second.reason, second.supersedes_id) == (
        ReportState.SUPERSEDED, ReportState.PUBLISHED, "Erreur de saisie", first.pk)
    assert AuditEvent.objects.filter(action="report.correct", object_id=str(second.pk)).count() == 1


def test_report_correction_needs_a_reason_and_a_published_report(setup):
    world, campaign = setup
    first = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    client = login(world.quality)
    assert client.post(f"/reports/published/{first.pk}/correct/", {"reason": " "}).status_code == 400
    client.post(f"/reports/published/{first.pk}/correct/", {"reason": "Erreur"})
    assert client.post(f"/reports/published/{first.pk}/correct/", {"reason": "Encore"}).status_code == 409
    assert Report.objects.filter(campaign=campaign).count() == 2


def test_report_editing_a_published_report_is_409(setup):
    world, campaign = setup
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    response = login(world.quality).post(f"/reports/published/{report.pk}/edit/", {"title": "Autre"})
    assert response.status_code == 409
    report.refresh_from_db()
    assert report.title != "Autre"


def test_report_publish_twice_is_409_and_management_cannot_publish(setup):
    world, campaign = setup
    client = login(world.management)
    assert client.post(f"/reports/campaigns/{campaign.pk}/publish/", {"audience": "internal"}).status_code == 403
    assert Report.objects.count() == 0
    client = login(world.quality)
    assert client.post(f"/reports/campaigns/{campaign.pk}/publish/", {"audience": "internal"}).status_code == 302
    assert client.post(f"/reports/campaigns/{campaign.pk}/publish/", {"audience": "internal"}).status_code == 409
    assert Report.objects.count() == 1


def test_report_publish_during_review_is_409():
    world = build_world(n_cases=6)
    campaign = campaign_in(world, CampaignState.IN_REVIEW)
    response = login(world.quality).post(f"/reports/campaigns/{campaign.pk}/publish/", {"audience": "internal"})
    assert response.status_code == 409


def test_internal_report_hidden_from_anonymous_and_clinicians(setup):
    world, campaign = setup
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    assert Client().get(f"/reports/published/{report.pk}/").status_code == 404
    _end_term(world, world.clinicians[0])
    assert login(world.clinicians[0]).get(f"/reports/published/{report.pk}/").status_code == 404
    assert Client().get(f"/reports/published/{report.pk}/export.csv").status_code == 404


def test_report_exports(setup):
    world, campaign = setup
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    client = login(world.quality)
    html_export = client.get(f"/reports/published/{report.pk}/export.html")
    assert html_export.status_code == 200
    text = html_export.content.decode()
    assert "Plotly" in text and "figure-confusion" in text and report.content_hash in text
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", text)
    csv_export = client.get(f"/reports/published/{report.pk}/export.csv")
    rows = list(csv.reader(io.StringIO(csv_export.content.decode())))
    assert rows[0] == ["figure", "value"]
    assert ["report.content_hash", report.content_hash] in rows
    assert ["dashboard.summary.n_cases", "4"] in rows


# --- Public page -------------------------------------------------------------------------------

def test_public_page_suppresses_cells_under_10(setup):
    world, campaign = setup
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.PUBLIC)
    public = report.figures["public"]
    assert public["n_cases"] is None  # 4 cases
    for key in ("agreement", "override", "ai_wrong_caught"):
        assert public[key] == {"suppressed": True, "x": None, "n": None, "estimate": None}
    response = Client().get("/public/")
    assert response.status_code == 200
    text = html(response)
    assert report.title in text
    assert "%" not in re.sub(r"<[^>]+>", "", text.split("<main", 1)[1]).replace("10 cas", "")


def test_public_summary_shows_large_cells():
    figures = {"campaign": {"id": 1},
               "summary": {"n_cases": 40, "ai_vs_reference": {"n": 40, "percent_agreement": 0.5}},
               "three_way": {"counts": {"ai_wrong_overridden": 3}, "n_complete": 40,
                             "override_rate": {"x": 12, "n": 40}}}
    public = selectors.public_summary(figures)
    assert public["n_cases"] == 40
    assert public["agreement"] == {"suppressed": False, "x": 20, "n": 40, "estimate": 0.5}
    assert public["override"] == {"suppressed": False, "x": 12, "n": 40, "estimate": 0.3}
    # A rare event among 40 cases is shown: the cell is the 40 cases, not the 3 events.
    assert public["ai_wrong_caught"] == {"suppressed": False, "x": 3, "n": 40, "estimate": 0.075}
    assert public["equity"] is None  # the dashboard had no equity table


def test_public_summary_suppresses_every_figure_of_a_cell_under_10():
    figures = {"campaign": {"id": 1},
               "summary": {"n_cases": 9, "ai_vs_reference": {"n": 9, "percent_agreement": 1.0}},
               "three_way": {"counts": {"ai_wrong_overridden": 0}, "n_complete": 9,
                             "override_rate": {"x": 0, "n": 9}}}
    public = selectors.public_summary(figures)
    assert public["n_cases"] is None
    for key in ("agreement", "override", "ai_wrong_caught"):
        assert public[key] == {"suppressed": True, "x": None, "n": None, "estimate": None}


# --- No external URL, plotly.js served by the application ---------------------------------------

def test_no_external_url_in_any_page(setup):
    world, campaign = setup
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.PUBLIC)
    client = login(world.quality)
    for url in ("/reports/", f"/reports/campaigns/{campaign.pk}/", f"/reports/ai-systems/{world.ai_system.pk}/",
                f"/reports/ai-systems/{world.ai_system.pk}/population/", f"/reports/published/{report.pk}/",
                "/public/"):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=[\"']?(https?:)?//", text), url
        assert "cdn" not in text.lower(), url


def test_plotly_js_is_served_from_the_plotly_package():
    found = finders.find("reports/vendor/plotly.min.js")
    assert found and found.endswith("plotly/package_data/plotly.min.js")
    assert finders.find("reports/figures.js")


def test_pages_speak_french_first(setup):
    world, campaign = setup
    client = login(world.quality)
    assert "Tableau de bord de la campagne" in html(client.get(f"/reports/campaigns/{campaign.pk}/"))
    assert "L'IA sous garantie humaine : résultats publics" in html(Client().get("/public/"))
    assert "Tableaux de bord" in html(client.get("/reports/"))


@pytest.mark.parametrize("n_campaigns", [1, 3])
def test_index_and_public_query_counts_are_constant(db, django_assert_num_queries, n_campaigns):
    world = build_world(n_cases=6)
    for i in range(n_campaigns):
        campaign = analysed_campaign(world, sample_size=2, seed=200 + i)
        services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.PUBLIC)
    client = login(world.chair)
    client.get("/reports/")
    # session, user, blind campaigns, campaign list, committee ids, AI systems
    with django_assert_num_queries(6):
        response = client.get("/reports/")
    assert html(response).count("/reports/campaigns/") == n_campaigns
    anonymous = Client()
    with django_assert_num_queries(1):
        response = anonymous.get("/public/")
    assert html(response).count('class="panel"') == n_campaigns


@pytest.mark.parametrize("state", [CampaignState.DRAFT, CampaignState.IN_REVIEW])
def test_campaign_dashboard_before_any_verdict(db, state):
    world = build_world(n_cases=6)
    campaign = campaign_in(world, state)
    response = login(world.quality).get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    assert "Publier un rapport figé" not in html(response)  # the review is not over


def test_ai_system_dashboard_without_campaign_and_population_without_case(db):
    world = build_world(n_cases=0)
    client = login(world.management)
    assert client.get(f"/reports/ai-systems/{world.ai_system.pk}/").status_code == 200
    assert client.get(f"/reports/ai-systems/{world.ai_system.pk}/population/").status_code == 200


def test_ai_system_dashboard_raises_threshold_alerts(setup):
    world, campaign = setup
    Case.objects.update(ai_label="no_fracture")  # every reference is "fracture": the AI misses them all
    series = selectors.ai_system_series(world.ai_system, [campaign])
    sensitivity = series["metrics"]["sensitivity"]
    assert sensitivity["threshold"] == 0.9
    assert [(a["period"], a["x"], a["n"], a["level"]) for a in sensitivity["alerts"]] == [
        (campaign.name, 0, 4, "conclusive")]
    text = html(login(world.management).get(f"/reports/ai-systems/{world.ai_system.pk}/"))
    assert "Seuil non atteint" in text


def test_report_pdf_export(setup):
    world, campaign = setup
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    response = login(world.management).get(f"/reports/published/{report.pk}/export.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert Client().get(f"/reports/published/{report.pk}/export.pdf").status_code == 404
