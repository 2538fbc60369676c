"""Charts in the reader's language: French month names and number separators, labels that push
the margins instead of being cut, and a sentence instead of empty charts for an AI system
without any campaign."""

import pandas as pd
import pytest
from django.utils import translation

from reports import charts
from tests.helpers import html
from tests.login import login
from tests.workflows import build_world

ROWS = pd.DataFrame([
    {"month": "2026-02", "site": "Nord", "rate": 0.5}, {"month": "2026-01", "site": "Nord", "rate": 0.25},
    {"month": "2026-01", "site": "Sud", "rate": 0.75},
])


@pytest.mark.parametrize("language, january, february, decimal", [
    ("fr", "janvier 2026", "février 2026", ","), ("en", "January 2026", "February 2026", "."),
])
def test_monthly_lines_name_the_months_in_the_readers_language(language, january, february, decimal):
    with translation.override(language):
        fig = charts.to_dict(charts.monthly_lines(ROWS, "rate", "Taux"))
    assert fig["layout"]["xaxis"]["type"] == "category"
    assert fig["layout"]["xaxis"]["categoryarray"] == [january, february]
    assert [t["x"] for t in fig["data"]] == [[january, february], [january]]
    assert fig["layout"]["separators"][0] == decimal


def test_every_chart_pushes_its_margins_for_long_labels():
    long_name = "Campagne de relecture du premier semestre, site de l'hôpital Nord"
    points = pd.DataFrame({"period": [long_name], "estimate": [0.8], "lower": [0.6], "upper": [0.9]})
    bars = pd.DataFrame({"label": [long_name], "count": [3]})
    for fig in (charts.control_chart(points, "Accord", 0.8, 0.7), charts.category_bar(bars),
                charts.monthly_lines(ROWS, "rate", "Taux")):
        layout = charts.to_dict(fig)["layout"]
        assert layout["xaxis"]["automargin"] is True and layout["yaxis"]["automargin"] is True


@pytest.mark.django_db
def test_an_ai_system_without_campaign_shows_a_sentence_not_empty_charts():
    world = build_world(n_cases=2)
    body = html(login(world.management).get(f"/reports/ai-systems/{world.ai_system.pk}/"))
    assert "Aucune campagne terminée pour l'instant." in body
    assert "data-plotly-figure" not in body
    assert "Carte de contrôle, campagne après campagne" not in body
