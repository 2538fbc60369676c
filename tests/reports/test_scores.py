"""Score outputs on the campaign dashboard and in frozen reports (ROC and AUC, calibration,
threshold what-if), who sees them, and the charts of the PDF exports drawn as static SVG."""

import base64
import datetime as dt
import json
import math
import re

import pandas as pd
import pytest
from django.test import Client
from django.utils import translation

from cases.models import AISystem, Case
from common import pdf
from reports import charts, selectors, services, static_charts
from reports.enums import Audience
from reports.selectors.scores import score_grid
from reviews import services as review_services
from reviews.enums import CampaignState
from reviews.models import Assignment
from tests.helpers import html
from tests.login import login
from tests.workflows import build_world, campaign_in, submit_all

pytestmark = pytest.mark.django_db

POSITIVE_SCORES = (0.9, 0.6, 0.2)
NEGATIVE_SCORES = (0.7, 0.3, 0.1)
SECTION = 'id="score-outputs"'


def scored_campaign(*, threshold: float | None = 0.5):
    """Six cases, all sampled (inclusion probability 1), read "fracture" by both clinicians when
    the AI scored 0.9, 0.6 or 0.2 and "no_fracture" when it scored 0.7, 0.3 or 0.1."""
    world = build_world(n_cases=6)
    for case, score in zip(world.cases, POSITIVE_SCORES + NEGATIVE_SCORES, strict=True):
        Case.objects.filter(pk=case.pk).update(ai_score=score)
    AISystem.objects.filter(pk=world.ai_system.pk).update(score_threshold=threshold)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=6)
    submit_all(campaign, label_for=lambda a: "fracture" if a.campaign_case.case.ai_score in POSITIVE_SCORES
               else "no_fracture")
    campaign = review_services.campaign_close_review(actor=world.quality, campaign=campaign)
    campaign = review_services.campaign_start_analysis(actor=world.quality, campaign=campaign)
    return world, campaign


@pytest.fixture
def scored():
    return scored_campaign()


def test_score_figures_hand_checked(scored):
    """Positives 0.9, 0.6, 0.2 against negatives 0.7, 0.3, 0.1: placement values V10 = (1, 2/3,
    1/3), V01 = (1/3, 2/3, 1), AUC = 2/3; S10 = S01 = ((1/3)^2 + 0 + (1/3)^2) / 2 = 1/9,
    var = 1/27 + 1/27 = 2/27. At the threshold 0.5 the AI flags 0.9, 0.6 and 0.7: sensitivity
    2/3, specificity 2/3, workload 3/6. Brier: (0.01 + 0.16 + 0.64 + 0.49 + 0.09 + 0.01) / 6 =
    1.4 / 6."""
    _, campaign = scored
    scores = selectors.campaign_dashboard(campaign, with_ai_version=False)["scores"]

    assert scores["n_scored"] == scores["n_scored_with_reference"] == 6
    assert scores["auc"]["auc"] == pytest.approx(2 / 3)
    assert scores["auc"]["se"] == pytest.approx(math.sqrt(2 / 27))
    assert scores["auc_weighted"]["auc"] == pytest.approx(2 / 3)
    assert scores["unequal_weights"] is False and scores["roc_weighted"] is None
    assert scores["roc"] == {"fpr": pytest.approx([0, 0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1]),
                             "tpr": pytest.approx([0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1])}
    assert "threshold" not in scores["roc"]  # the cases' own scores never leave the selector
    assert scores["brier"]["score"] == pytest.approx(1.4 / 6)
    current = [r for r in scores["what_if"] if r["current"]]
    assert [r["threshold"] for r in current] == [0.5]
    assert (current[0]["sensitivity"]["estimate"], current[0]["specificity"]["estimate"],
            current[0]["workload"]["estimate"]) == pytest.approx((2 / 3, 2 / 3, 0.5))
    assert [r["threshold"] for r in scores["what_if"]] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert [(r["low"], r["n"], r["expected"], r["observed"]) for r in scores["calibration"]] == [
        (0.1, 1, 0.1, 0.0), (0.2, 1, 0.2, 1.0), (0.3, 1, 0.3, 0.0), (0.6, 1, 0.6, 1.0), (0.7, 1, 0.7, 0.0),
        (0.9, 1, 0.9, 1.0)]


def test_what_if_at_the_threshold_in_force_is_the_dashboard_accuracy(scored):
    """The AI's labels follow its score here (threshold 0.5): the what-if row in force gives the
    design-weighted sensitivity and specificity of the dashboard."""
    world, campaign = scored
    for case in Case.objects.filter(ai_system=world.ai_system):
        Case.objects.filter(pk=case.pk).update(ai_label="fracture" if case.ai_score >= 0.5 else "no_fracture")
    figures = selectors.campaign_dashboard(campaign, with_ai_version=False)
    current = next(r for r in figures["scores"]["what_if"] if r["current"])
    for metric in ("sensitivity", "specificity"):
        assert current[metric] == figures["design_weighted"][metric]


def test_score_outputs_on_the_dashboard_in_french(scored):
    world, campaign = scored
    for who in (world.quality, world.management, world.chair):
        text = html(login(who).get(f"/reports/campaigns/{campaign.pk}/"))
        section = text.split(SECTION, 1)[1]
        assert "Sorties de score" in text
        for figure in ("figure-roc", "figure-calibration", "figure-threshold"):
            assert f'id="{figure}"' in section
        assert "0,67" in section  # the AUC
        assert re.search(r"0,50 <strong>\(en vigueur\)</strong></th><td>66,7 %.*?</td><td>66,7 %.*?</td>"
                         r"<td>50,0 %", section)
        assert "le score de l'IA est plus élevé pour le cas positif 67 fois sur 100" in section
        assert "Score de Brier 0,233" in section


def test_no_score_output_without_scores(scored):
    world, campaign = scored
    Case.objects.update(ai_score=None)
    figures = selectors.campaign_dashboard(campaign, with_ai_version=True)
    text = html(login(world.quality).get(f"/reports/campaigns/{campaign.pk}/"))

    assert figures["scores"] is None
    assert SECTION not in text and "figure-roc" not in text and "Sorties de score" not in text


def test_no_score_output_without_a_positive_label(scored):
    world, campaign = scored
    AISystem.objects.filter(pk=world.ai_system.pk).update(positive_label="")
    assert selectors.campaign_dashboard(campaign, with_ai_version=True)["scores"] is None


def test_a_score_that_is_not_a_probability_gets_no_calibration_and_round_thresholds(scored):
    world, campaign = scored
    for case in Case.objects.filter(ai_system=world.ai_system):
        Case.objects.filter(pk=case.pk).update(ai_score=case.ai_score * 37 + 1.3)  # 5.0 to 34.6
    AISystem.objects.filter(pk=world.ai_system.pk).update(score_threshold=20)
    scores = selectors.campaign_dashboard(campaign, with_ai_version=False)["scores"]
    text = html(login(world.quality).get(f"/reports/campaigns/{campaign.pk}/"))

    assert scores["is_probability"] is False
    assert scores["brier"] is None and scores["calibration"] == []
    assert scores["auc"]["auc"] == pytest.approx(2 / 3)  # ranks are unchanged
    assert [r["threshold"] for r in scores["what_if"]] == [5, 10, 15, 20, 25, 30, 35]  # scores 5.0 to 34.6
    assert "figure-calibration" not in text and "la calibration ne s'applique pas" in text


def test_score_grid_is_round():
    assert score_grid(4.99, 34.6) == [0, 5, 10, 15, 20, 25, 30, 35]
    assert score_grid(0.013, 0.087) == [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09]
    assert score_grid(-3.2, 2.9) == [-4, -3, -2, -1, 0, 1, 2, 3]
    assert score_grid(2.0, 2.0) == [2.0]


def test_report_freezes_the_score_outputs(scored):
    world, campaign = scored
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    assert report.figures["dashboard"]["scores"]["auc"]["auc"] == pytest.approx(2 / 3)
    assert {"roc", "calibration", "threshold"} <= set(report.figures["charts"])

    Case.objects.update(ai_score=None)  # the frozen report does not follow the cases
    text = html(login(world.management).get(f"/reports/published/{report.pk}/"))
    assert SECTION in text and 'id="figure-roc"' in text and "0,67" in text


def test_public_report_has_no_score_outputs(scored):
    world, campaign = scored
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.PUBLIC)
    assert "scores" not in report.figures["public"]
    for response in (Client().get("/public/"), Client().get(f"/reports/published/{report.pk}/")):
        assert response.status_code == 200
        assert SECTION not in html(response) and "figure-roc" not in html(response)


def test_a_reviewer_reading_blind_never_gets_the_score_outputs():
    """The chair reads one case of the campaign blind: the dashboard is refused and none of the
    pages they reach carries the section; once the review is over it does."""
    world = build_world(n_cases=6)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    pending = Assignment.objects.filter(campaign_case__campaign=campaign, reviewer=world.chair).first()
    assert pending is not None
    client = login(world.chair)
    urls = [f"/reports/campaigns/{campaign.pk}/", "/reports/", f"/campaigns/{campaign.pk}/", "/", "/reviews/",
            f"/reviews/{pending.pk}/", f"/campaigns/{campaign.pk}/board/", f"/campaigns/{campaign.pk}/progress/"]
    for url in urls:
        response = client.get(url)
        assert SECTION not in html(response) and "figure-roc" not in html(response), url
    assert client.get(f"/reports/campaigns/{campaign.pk}/").status_code == 403
    assert SECTION in html(login(world.quality).get(f"/reports/campaigns/{campaign.pk}/"))


@pytest.mark.parametrize("n_cases", [2, 6])
def test_dashboard_with_scores_query_count_is_constant(django_assert_num_queries, n_cases):
    world = build_world(n_cases=6)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=n_cases)
    submit_all(campaign, label_for=lambda a: "fracture" if a.campaign_case.case_id % 2 else "no_fracture")
    client = login(world.management)
    assert SECTION in html(client.get(f"/reports/campaigns/{campaign.pk}/"))
    # session, user, the user's committee seats (the menu), campaign, blind check, the campaign's
    # revision (2), the cached figures, reports
    with django_assert_num_queries(9):
        assert client.get(f"/reports/campaigns/{campaign.pk}/").status_code == 200


# --- Charts in the PDF exports ----------------------------------------------------------------------

@pytest.fixture
def printed(monkeypatch):
    """The HTML handed to WeasyPrint, and the PDF it made, of every print in the test."""
    out = []
    original = pdf.render_pdf

    def spy(html_text, **kwargs):
        made = original(html_text, **kwargs)
        out.append((html_text, made))
        return made

    monkeypatch.setattr(pdf, "render_pdf", spy)
    return out


def test_report_pdf_carries_its_charts_as_svg(scored, printed, caplog):
    world, campaign = scored
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    response = login(world.management).get(f"/reports/published/{report.pk}/export.pdf")

    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    (body, made), = printed
    assert made == response.content
    keys = set(report.figures["charts"])
    assert {"confusion", "three_way", "roc", "calibration", "threshold"} <= keys
    drawings = {}
    for fig_id, encoded in re.findall(r'<img class="static-chart" id="figure-([\w-]+)" alt="[^"]+" '
                                      r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)">', body):
        drawings[fig_id] = base64.b64decode(encoded).decode("utf-8")
    assert set(drawings) == {k.replace("_", "-") for k in keys}
    assert all(svg.startswith('<svg class="main-svg"') for svg in drawings.values())
    assert "data-plotly-figure" not in body and "<script" not in body
    assert not re.search(r"(href|src)=\"https?://", body)
    assert "Courbe ROC" in drawings["roc"] and "Sensibilité" in drawings["roc"]  # French, drawn into the SVG
    assert "Calibration" in drawings["calibration"] and "Charge de travail" in drawings["threshold"]
    assert "data:image/png;base64," in drawings["confusion"]  # plotly draws a heatmap as a bitmap
    assert not [r for r in caplog.records if r.name.startswith("weasyprint") and r.levelname == "ERROR"]
    assert b"Courbe ROC" not in response.content  # the PDF's text streams are compressed: just check the size
    assert len(response.content) > 20_000


def test_printing_reads_data_urls_only():
    fetcher = pdf.url_fetcher()
    assert fetcher("data:text/plain;base64,b2s=").read() == b"ok"
    for url in ("https://example.org/chart.png", "file:///etc/passwd", "http://127.0.0.1/x.svg"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher(url)
    for url in ("file:///etc/passwd", "https://example.org/chart.png"):
        with pytest.raises(ValueError, match="no resource is fetched"):
            pdf.refuse_fetch(url)


def test_pdf_without_a_browser_is_a_clear_503(scored, printed, settings):
    world, campaign = scored
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    settings.CHART_BROWSER_PATH = "/nonexistent/chromium"

    response = login(world.management).get(f"/reports/published/{report.pk}/export.pdf")

    assert response.status_code == 503
    assert "le serveur n'a pas de navigateur pour les dessiner" in html(response)
    assert printed == []
    with pytest.raises(static_charts.ChartRenderingUnavailable, match="/nonexistent/chromium"):
        static_charts.render_svgs({"roc": report.figures["charts"]["roc"]})


def test_pdf_without_a_browser_is_a_clear_503_with_an_empty_setting(settings):
    settings.CHART_BROWSER_PATH = ""
    with pytest.raises(static_charts.ChartRenderingUnavailable, match="CGH_CHART_BROWSER_PATH"):
        static_charts.render_svgs({"one": {"data": [], "layout": {}}})
    assert static_charts.render_svgs({}) == {}  # nothing to draw: no browser needed


def test_static_charts_speak_french():
    rows = pd.DataFrame([{"month": "2026-01", "site": "Nord", "rate": 0.5},
                         {"month": "2026-02", "site": "Nord", "rate": 0.25}])
    decimals = {"data": [{"type": "scatter", "x": ["Nord", "Sud"], "y": [0.5, 1.5]}], "layout": {}}
    with translation.override("fr"):
        figure = charts.to_dict(charts.monthly_lines(rows, "rate", "Taux"))
        as_frozen = json.loads(json.dumps(figure))
        prepared = static_charts.prepare(figure)
        svgs = static_charts.render_svgs({"monthly": figure, "decimals": decimals})

    # the months are French categories from the start (charts.month_label): nothing left to translate
    assert prepared["data"][0]["x"] == ["janvier 2026", "février 2026"]
    assert "ticktext" not in prepared["layout"]["xaxis"]
    assert prepared["layout"]["separators"] == ",\u202f"
    assert "février 2026" in svgs["monthly"] and "janvier 2026" in svgs["monthly"]
    assert ">0,5<" in svgs["decimals"] and ">1,5<" in svgs["decimals"] and ">1.5<" not in svgs["decimals"]
    assert figure == as_frozen  # the frozen figure is left as it was
    with translation.override("fr"):
        daily = static_charts.prepare({"data": [{"x": [dt.date(2026, 1, 1).isoformat(), "2026-01-15"]}]})
        untouched = static_charts.prepare(decimals)
    assert daily["layout"]["xaxis"]["ticktext"] == ["1 janvier 2026", "15 janvier 2026"]
    assert "xaxis" not in untouched["layout"]
