"""The validated comparison on the campaign dashboard and in frozen reports: AI against clinician
(McNemar), weighted kappa of ordinal outputs, reliability across all readers, the discrepancy
grades and their clinically significant rate, automation bias, equity of every headline figure,
design-weighted override and reliance rates; the per-reader table for the quality team only;
none of it for someone still reading blind; the evidence pack's automation bias.

Each figure is checked against a value worked by hand on the campaign of
``tests.reports.test_discordant_cases.PLAN`` (six cases, two clinician readers each, inclusion
probabilities all 1)::

    case  AI  final  readers  reference  AI right  clinician right
    0     F   F      F F      F          yes       yes
    1     N   N      F F      F          no        no      (graded clear_significant)
    2     F   N      F F      F          yes       no      (graded clear_significant)
    3     F   F      F N      none       -         -       (awaiting adjudication)
    4     N   F      F F      F          no        yes
    5     N   N      F F      F          no        no

(F fracture, N no_fracture).
"""

import json

import pytest
from django.utils import translation

from cases.enums import OutputType
from cases.models import AISystem, Case
from reports import pages, selectors, services
from reports.enums import Audience
from reports.models import Report
from reviews import services as review_services
from reviews.enums import AssignmentKind, CampaignState
from reviews.models import Assignment
from tests.factories import CaseFactory, UserFactory
from tests.helpers import html
from tests.login import login
from tests.reports.test_discordant_cases import _adjudicate_and_analyse, discordant_world
from tests.workflows import build_world, campaign_in, submit_all

pytestmark = pytest.mark.django_db

NEW_SECTIONS = ('id="validated-figures"', 'id="discrepancies"', 'id="equity-all"')
READER_TABLE = 'id="reader-table"'


@pytest.fixture
def setup():
    return discordant_world()


# --- Figures against hand-worked values -------------------------------------------------------

def test_ai_vs_clinician_reliability_and_discrepancies_by_hand(setup):
    """McNemar on the 5 complete cases: both right 1 (case 0), AI only right 1 (case 2),
    clinician only right 1 (case 4), both wrong 2 (cases 1, 5); b + c = 2: exact test,
    p = min(1, 2 P(X <= 1), X ~ Bin(2, 1/2)) = 1. AI and clinician both right 2/5.
    Krippendorff's alpha (nominal), 6 cases read twice: o_FF = 10, o_FN = o_NF = 1; n_F = 11,
    n_N = 1, n = 12; D_o = 2/12, D_e = 2 * 11 / (12 * 11) = 1/6: alpha = 0. Two readers per
    case: no Fleiss' kappa. Grades: 2 readings, both clear_significant: significant rate 2/2.
    Automation bias: the reading of case 1 (fracture) differed from the AI (no_fracture) and its
    reader would not have changed it: 0 / 1; the reading of case 2 agreed with the AI: not in
    the denominator."""
    _world, campaign, _ccs = setup
    figures = selectors.campaign_dashboard(campaign, with_ai_version=False)
    paired = figures["ai_vs_clinician"]
    assert (paired["n"], paired["both_right"], paired["ai_only_right"], paired["clinician_only_right"],
            paired["both_wrong"]) == (5, 1, 1, 1, 2)
    assert (paired["method"], paired["p_value"]) == ("exact binomial", 1.0)
    assert paired["ai_accuracy"]["x"] == paired["clinician_accuracy"]["x"] == 2
    assert paired["too_small"] is True

    reliability = figures["reliability"]
    assert reliability["alpha"] == pytest.approx(0.0, abs=1e-12)
    assert (reliability["n_units"], reliability["n_values"], reliability["max_readers"]) == (6, 12, 2)
    assert reliability["fleiss_kappa"] is None
    assert figures["weighted_kappa"] is None  # binary output: no weighted kappa

    grades = figures["discrepancies"]
    assert grades["n"] == 2 and grades["counts"]["clear_significant"] == 2
    assert (grades["significant"]["x"], grades["significant"]["n"]) == (2, 2)
    bias = figures["automation_bias"]
    assert (bias["automation_bias"]["x"], bias["automation_bias"]["n"], bias["n_rows"]) == (0, 1, 2)


def test_equity_of_every_headline_figure_and_weighted_rates_by_hand(setup):
    """Every case is of the same sex (the factory's), so the sex row of each figure is the whole
    campaign: agreement 2/5, sensitivity 2/5 (reference always positive), specificity 0/0,
    PPV 2/2 (cases 0 and 2), NPV 0/3, clinician agreement 2/5 (cases 0, 4), override 2/6 (cases
    2, 4; case 3 has both labels), reliance on a wrong AI 2/3 (cases 1, 5 of 1, 4, 5).
    Inclusion probabilities are all 1: the weighted override rate is 2/6, the weighted reliance
    2/3, each with n its domain."""
    _world, campaign, _ccs = setup
    figures = selectors.campaign_dashboard(campaign, with_ai_version=False)
    by_metric = {b["metric"]: [r for r in b["rows"] if r["dimension"] == "sex"] for b in figures["equity_by_metric"]}
    assert {m: [(r["x"], r["n"]) for r in rows] for m, rows in by_metric.items()} == {
        "agreement": [(2, 5)], "sensitivity": [(2, 5)], "specificity": [(0, 0)], "ppv": [(2, 2)], "npv": [(0, 3)],
        "clinician_agreement": [(2, 5)], "override_rate": [(2, 6)], "reliance_on_wrong_ai": [(2, 3)],
    }
    weighted = figures["design_weighted"]
    assert (weighted["override_rate"]["estimate"], weighted["override_rate"]["n"]) == (pytest.approx(2 / 6), 6)
    assert (weighted["reliance_on_wrong_ai"]["estimate"], weighted["reliance_on_wrong_ai"]["n"]) == (
        pytest.approx(2 / 3), 3)


def test_weighted_kappa_of_an_ordinal_output_by_hand():
    """Three ordered grades g1 < g2 < g3, four cases (AI, reference of two agreeing readers):
    (g1, g1), (g3, g2), (g3, g3), (g1, g3). Linear weights 1 - |i - j| / 2: 1, 0.5, 1, 0;
    p_o = 2.5 / 4 = 0.625. Marginals: AI g1 1/2, g3 1/2; reference g1 1/4, g2 1/4, g3 1/2;
    p_e = 1/2 (1/4 + 1/8) + 1/2 (1/8 + 1/2) = 0.5; kappa_w = (0.625 - 0.5) / 0.5 = 0.25.
    Reliability is ordinal too."""
    grades = ["g1", "g2", "g3"]
    plan = [("g1", "g1"), ("g3", "g2"), ("g3", "g3"), ("g1", "g3")]
    world = build_world(n_cases=len(plan))
    AISystem.objects.filter(pk=world.ai_system.pk).update(labels=grades, positive_label="",
                                                          output_type=OutputType.ORDINAL)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=len(plan))
    ccs = list(campaign.campaign_cases.order_by("pk"))
    for cc, (ai, _ref) in zip(ccs, plan, strict=True):
        Case.objects.filter(pk=cc.case_id).update(ai_label=ai, final_label=ai)
    reference = {cc.pk: ref for cc, (_ai, ref) in zip(ccs, plan, strict=True)}
    submit_all(campaign, lambda a: reference[a.campaign_case_id])
    campaign.refresh_from_db()
    figures = selectors.campaign_dashboard(campaign, with_ai_version=False)
    weighted = figures["weighted_kappa"]
    assert weighted["weights"] == "linear"
    assert weighted["kappa"] == pytest.approx(0.25)
    assert weighted["n"] == 4
    assert figures["reliability"]["level"] == "ordinal"
    text = html(login(world.quality).get(f"/reports/campaigns/{campaign.pk}/"))
    assert 'id="weighted-kappa-row"' in text and "0,25" in text and "pondération linéaire" in text


def test_dashboard_shows_the_new_sections_with_a_reading_under_each_chart(setup):
    world, campaign, _ccs = setup
    text = html(login(world.management).get(f"/reports/campaigns/{campaign.pk}/"))
    for section in NEW_SECTIONS:
        assert section in text, section
    assert 'data-plotly-figure="figure-discrepancies"' in text
    assert text.count('class="reading"') >= 4  # confusion, three-way, forest, discrepancies
    for words in ("Comment le lire", "Taux de désaccords cliniquement significatifs", "Biais d'automatisation",
                  "Test de McNemar", "Alpha de Krippendorff", "Trop peu de dossiers pour conclure"):
        assert words in text, words


# --- The per-reader table: quality team only ----------------------------------------------------

def test_reader_table_for_the_quality_team(setup):
    world, campaign, _ccs = setup
    text = html(login(world.quality).get(f"/reports/campaigns/{campaign.pk}/"))
    assert READER_TABLE in text
    table = text[text.index(READER_TABLE):text.index("</table>", text.index(READER_TABLE))]
    for reader in ("chair", "clin0", "clin1", "clin2"):
        assert f'<th scope="row">{reader}</th>' in table


def _user(world, who):
    return {"clinician": world.clinicians[0], "patient_rep": world.patient_reps[0]}.get(who) or getattr(world, who)


@pytest.mark.parametrize("who", ["management", "chair", "secretary", "admin", "clinician", "patient_rep"])
def test_reader_table_never_for_other_roles(setup, who):
    """Management, the officers and the committee's members (clinicians and patient
    representatives in office read its dashboards) see the aggregates, never the reader table."""
    world, campaign, _ccs = setup
    response = login(_user(world, who)).get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    text = html(response)
    assert 'id="validated-figures"' in text  # the aggregates, yes
    assert READER_TABLE not in text
    for reader in ("clin0", "clin1", "clin2"):
        assert reader not in text


@pytest.mark.parametrize("who", ["dpo", "clinician", "patient_rep"])
def test_other_roles_get_no_dashboard(setup, who):
    """The DPO, and clinicians and patient representatives who sit on no committee of the
    campaign, read no dashboard of it."""
    world, campaign, _ccs = setup
    user = world.dpo if who == "dpo" else UserFactory(role=who, username=f"outside-{who}")
    response = login(user).get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code in (403, 404)
    text = html(response)
    assert READER_TABLE not in text and not any(s in text for s in NEW_SECTIONS)


@pytest.mark.parametrize("audience", [Audience.INTERNAL, Audience.PUBLIC])
def test_frozen_reports_carry_the_aggregates_never_the_reader_table(setup, audience):
    world, campaign, ccs = setup
    campaign = _adjudicate_and_analyse(world, campaign, ccs)
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=audience)
    frozen = json.dumps(report.figures)
    assert "clin0" not in frozen and "n_readings" not in frozen
    client = login(world.quality)
    pages = {
        "page": html(client.get(f"/reports/published/{report.pk}/")),
        "html": html(client.get(f"/reports/published/{report.pk}/export.html")),
        "csv": client.get(f"/reports/published/{report.pk}/export.csv").content.decode(),
    }
    for name, text in pages.items():
        assert READER_TABLE not in text, name
        assert "clin0" not in text and "clin1" not in text, name
    if audience == Audience.INTERNAL:
        dashboard = report.figures["dashboard"]
        for key in ("ai_vs_clinician", "reliability", "discrepancies", "automation_bias", "equity_by_metric"):
            assert key in dashboard, key
        assert "discrepancies" in report.figures["charts"]
        for section in NEW_SECTIONS:
            assert section in pages["page"] and section in pages["html"], section
        assert "ai_vs_clinician.clinician_only_right" in pages["csv"]


def test_reports_frozen_before_the_new_figures_still_render(setup):
    world, campaign, ccs = setup
    campaign = _adjudicate_and_analyse(world, campaign, ccs)
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    old = dict(report.figures)
    old["dashboard"] = {k: v for k, v in old["dashboard"].items() if k not in (
        "ai_vs_clinician", "weighted_kappa", "reliability", "discrepancies", "automation_bias", "equity_by_metric")}
    old["charts"] = {k: v for k, v in old["charts"].items() if k != "discrepancies"}
    Report.objects.filter(pk=report.pk).update(figures=old)  # as stored by an earlier version
    client = login(world.quality)
    for url in (f"/reports/published/{report.pk}/", f"/reports/published/{report.pk}/export.html"):
        response = client.get(url)
        assert response.status_code == 200, url
        text = html(response)
        assert "figure-confusion" in text
        assert not any(s in text for s in NEW_SECTIONS), url


# --- Blinding ---------------------------------------------------------------------------------

def test_chair_reading_blind_gets_none_of_the_new_figures():
    """The chair still has a blind review in the campaign: the dashboard is refused, the
    AI-system dashboard leaves the campaign out of its series, and the evidence pack withholds
    automation bias (drawn from verdicts and AI outputs of the cell)."""
    world = build_world(n_cases=12, n_clinicians=1)  # the pack's cell: 12 cases, over the small-cell rule
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    assert Assignment.objects.filter(campaign_case__campaign=campaign, reviewer=world.chair).exists()
    others = Assignment.objects.filter(campaign_case__campaign=campaign,
                                       kind=AssignmentKind.CLINICIAN).exclude(reviewer=world.chair)
    for a in others:
        review_services.assignment_submit(actor=a.reviewer, assignment=a, data={
            "label": "no_fracture", "confidence": 4, "rationale": "Trait visible."})
        review_services.assignment_unblind(actor=a.reviewer, assignment=a)
        review_services.assignment_classify(actor=a.reviewer, assignment=a, discrepancy="clear_significant",
                                            would_have_changed=True)
    client = login(world.chair)
    dashboard = client.get(f"/reports/campaigns/{campaign.pk}/")
    assert dashboard.status_code == 403
    assert not any(s in html(dashboard) for s in NEW_SECTIONS) and READER_TABLE not in html(dashboard)
    series = html(client.get(f"/reports/ai-systems/{world.ai_system.pk}/"))
    assert "Campagne T1" not in series
    evidence = client.get(f"/reports/ai-systems/{world.ai_system.pk}/evidence.csv").content.decode()
    line = next(row for row in evidence.splitlines() if "automatisation" in row)
    assert "Non affiché tant que vous avez des relectures en aveugle" in line
    assert " / " not in line
    quality = login(world.quality).get(f"/reports/ai-systems/{world.ai_system.pk}/evidence.csv").content.decode()
    # every other reading said no_fracture and would have changed: those of cases the AI called
    # fracture differed from it, and all of them would have changed
    differed = sum(a.campaign_case.case.ai_label != "no_fracture" for a in others)
    assert differed and f"{differed} / {differed} (100,0 %)" in next(
        row for row in quality.splitlines() if "automatisation" in row)


# --- The evidence pack's automation bias ------------------------------------------------------

def test_evidence_pack_automation_bias_uses_the_library_definition(setup):
    """Classified readings of the campaign (``discordant_world`` flags cases 1 and 2): case 1's
    reading (fracture) differed from the AI (no_fracture), its reader would not have changed it;
    case 2's reading agreed with the AI. Here case 5's reader (fracture against no_fracture)
    says they would have changed it. Library definition: among the readings that differed from
    the AI (cases 1 and 5), those that would have changed: 1 / 2 (the old count, every
    classification, said 1 / 3)."""
    world, campaign, ccs = setup
    CaseFactory.create_batch(4, ai_system=world.ai_system)  # 10 cases: the pack's cell is shown
    reader = Assignment.objects.filter(campaign_case=ccs[5], kind=AssignmentKind.CLINICIAN).order_by("pk").first()
    review_services.assignment_unblind(actor=reader.reviewer, assignment=reader)
    review_services.assignment_classify(actor=reader.reviewer, assignment=reader, discrepancy="clear",
                                        would_have_changed=True)
    text = login(world.quality).get(f"/reports/ai-systems/{world.ai_system.pk}/evidence.csv").content.decode()
    line = next(row for row in text.splitlines() if "automatisation" in row)
    assert "1 / 2 (50,0 %)" in line


# --- Plain readings -----------------------------------------------------------------------------

def test_control_chart_reading_by_hand():
    """Two campaigns, 18/20 then 20/25: the reading names the last one (80,0 % on 25 cases), the
    centre line (38/45 = 84,4 %) and the points outside the limits; 25 < 30 cases: too small."""
    chart = {"centre": 38 / 45, "n_out": 0, "points": [
        {"period": "T1", "x": 18, "n": 20, "estimate": 0.9}, {"period": "T2", "x": 20, "n": 25, "estimate": 0.8}]}
    with translation.override("fr"):
        text = pages.control_reading(chart)
    assert text.startswith("Dernière campagne (T2) : 80,0 % sur 25 dossiers ; moyenne de la série 84,4 % ; "
                           "0 campagne(s) hors des limites de contrôle")
    assert text.endswith("Trop peu de dossiers pour conclure (25, moins de 30) : lisez l'intervalle, pas la valeur.")
    chart["points"][-1] |= {"x": 28, "n": 35, "estimate": 0.8}
    with translation.override("fr"):
        assert "Trop peu" not in pages.control_reading(chart)


def test_population_reading_by_hand():
    """Three cells: 20 % and 50 % shown, one suppressed: the range 20,0 % to 50,0 % over 2 cells,
    and 1 cell not shown."""
    rows = [{"ai_positive_rate": 0.2}, {"ai_positive_rate": 0.5}, {"ai_positive_rate": None}]
    with translation.override("fr"):
        text = pages.population_reading(rows, "ai_positive_rate")
        assert text == ("Sur les 2 cellules mois × site affichées, le taux est allé de 20,0 % à 50,0 %. 1 cellule(s) "
                        "ne sont pas affichées (moins de 10 cas, ou des cas que vous relisez encore en aveugle).")
        empty = pages.population_reading([], "override_rate")
        assert empty == "Aucune cellule mois × site ne peut encore être affichée."
