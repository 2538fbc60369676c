"""The public pages (no login): the register, a report's page, its easy-to-read version, its
poster (HTML and PDF) with a QR code. Published material only, small cells suppressed, nothing
from unpublished reports or unapproved texts, constant queries, French first with English."""

import re

import pytest
from django.test import Client, override_settings
from django.utils import translation

from reports import selectors as report_selectors
from reports.enums import Audience, ReportState
from reports.models import Report
from tests.helpers import html
from transparency import falc, services
from transparency.enums import TextKind, TextState
from transparency.models import PublicText
from transparency.qr import qr_matrix

pytestmark = pytest.mark.django_db


def _publish(world, text: PublicText) -> PublicText:
    services.public_text_submit(actor=world.quality, text=text)
    services.public_text_approve(actor=world.patient_reps[0], text=text)
    return services.public_text_publish(actor=world.quality, text=text)


def _public_urls(report) -> list[str]:
    base = f"/public/reports/{report.pk}/"
    return ["/public/", "/public/register/", base, base + "easy-to-read/", base + "poster/"]


def test_public_figures_reproduce_hand_checked_values(tworld):
    """12 cases, every clinician reads "fracture" (the reference); the world's AI says "fracture"
    for cases 1, 2, 4, 5, 7, 8, 10, 11 (i % 3 != 0) and the doctors' final decision is "fracture"
    for the odd cases. By hand: agreement 8/12 (66.7 %, rounded, not truncated); the final
    decision differs from the AI on cases 0, 2, 4, 6, 8, 10 minus 0 and 6, plus 3 and 9: 6/12
    (50.0 %); AI wrong and the doctor right: cases 3 and 9 (AI "no_fracture", final "fracture"):
    2/12 (16.7 %)."""
    public = tworld.report.figures["public"]
    assert public["n_cases"] == 12
    assert public["agreement"] == {"suppressed": False, "x": 8, "n": 12, "estimate": 8 / 12}
    assert public["override"] == {"suppressed": False, "x": 6, "n": 12, "estimate": 0.5}
    assert public["ai_wrong_caught"] == {"suppressed": False, "x": 2, "n": 12, "estimate": 2 / 12}
    page = html(Client().get(f"/public/reports/{tworld.report.pk}/"))
    for shown in ("66,7 %", "50,0 %", "16,7 %"):
        assert shown in page
    assert "non affiché" not in page.split("Le même chiffre pour chaque groupe")[0]


def test_public_equity_suppresses_a_small_cell_and_its_complement(tworld):
    """The fixture planted one case alone on site "Isolé": it is suppressed, and so is "Nord"
    (11 cases), the only other site, which would give it away by subtraction."""
    sites = next(d for d in tworld.report.figures["public"]["equity"]["dimensions"] if d["dimension"] == "site")
    assert sites["groups"] == [{"group": "Isolé", "n": None, "estimate": None, "suppressed": True},
                               {"group": "Nord", "n": None, "estimate": None, "suppressed": True}]
    sex = next(d for d in tworld.report.figures["public"]["equity"]["dimensions"] if d["dimension"] == "sex")
    assert sex["groups"] == [{"group": "F", "n": 12, "estimate": 8 / 12, "suppressed": False}]
    page = html(Client().get(f"/public/reports/{tworld.report.pk}/"))
    table = page.split("<caption>Site</caption>")[1].split("</table>")[0]
    assert "Isolé" in table and "Nord" in table and "%" not in table and ">11<" not in table and ">1<" not in table


def test_public_equity_rule_by_hand():
    rows = [{"dimension": "sex", "group": "F", "n": 30, "estimate": 0.9},
            {"dimension": "sex", "group": "M", "n": 25, "estimate": 0.8},
            {"dimension": "sex", "group": "U", "n": 3, "estimate": 1.0},
            {"dimension": "age_band", "group": "18-39", "n": 10, "estimate": 0.7},
            {"dimension": "age_band", "group": "40-59", "n": 9, "estimate": 0.6},
            {"dimension": "age_band", "group": "60+", "n": 8, "estimate": 0.5},
            {"dimension": "site", "group": "Nord", "n": 40, "estimate": 0.75},
            {"dimension": "ai_version", "group": "v2", "n": 58, "estimate": 0.8}]
    out = report_selectors.public_equity({"metric": "sensitivity", "rows": rows})
    by = {d["dimension"]: {g["group"]: g["estimate"] for g in d["groups"]} for d in out["dimensions"]}
    assert by == {"sex": {"F": 0.9, "M": None, "U": None},  # U under 10, M hidden with it
                  "age_band": {"18-39": 0.7, "40-59": None, "60+": None},  # two hidden: no subtraction
                  "site": {"Nord": 0.75}}  # never the AI version
    assert report_selectors.public_equity(None) is None


def test_falc_text_follows_the_rules_and_states_the_figures(tworld):
    text = services.falc_text_draft(actor=tworld.quality, report=tworld.report)
    lines = text.content["lines"]
    for line in lines:
        assert falc.words(line["text"]) <= falc.MAX_WORDS, line
        assert not re.search(r"[.!?]\s+\S", line["text"]), line
        assert line["icon"] in ("", *falc.ICONS)
    texts = [line["text"] for line in lines]
    assert "Ils ont relu 12 dossiers." in texts
    assert "L'outil était d'accord avec eux 8 fois sur 12." in texts
    assert "Le médecin n'a pas suivi l'outil 6 fois sur 12." in texts
    assert "L'outil s'est trompé et le médecin l'a corrigé 2 fois sur 12." in texts
    assert "Ces dossiers datent du 1 janvier 2026 au 30 juin 2026." in texts
    _publish(tworld, text)
    page = html(Client().get(f"/public/reports/{tworld.report.pk}/easy-to-read/"))
    items = re.findall(r"<li>(.*?)</li>", page.split('class="falc"')[1].split("</ul>")[0], flags=re.S)
    assert len(items) == len(lines)  # one sentence per line
    for item, line in zip(items, lines, strict=True):
        assert re.sub(r"<[^>]+>", "", re.sub(r"<title>.*?</title>", "", item)).strip() == line["text"]
        if line["icon"]:
            label = str(falc.ICONS[line["icon"]][0])
            assert "<svg" in item and 'role="img"' in item and f'aria-label="{label}"' in item
            assert f"<title>{label}</title>" in item
        else:
            assert "<svg" not in item


def test_falc_of_a_suppressed_report_says_the_figures_are_hidden():
    public = {"campaign": {"period_start": "2026-01-01", "period_end": "2026-03-31"}, "n_cases": None,
              "agreement": {"suppressed": True}, "override": {"suppressed": True}, "min_cell": 10}
    with translation.override("en"):
        texts = [line["text"] for line in falc.build_lines(public, ai_system_name="Outil")]
    assert "They read again fewer than 10 files." in texts
    assert "How often the doctor corrected the tool is hidden." in texts  # missing from an old summary
    assert "A figure drawn from fewer than 10 files is hidden." in texts
    assert not any(re.search(r"\d+ times out of", t) for t in texts)


def _svg_matrix(page: str) -> list[list[bool]]:
    svg = re.search(r'<svg class="qr"[^>]*viewBox="0 0 (\d+) \d+".*?<path fill="#000" d="([^"]*)"', page, re.S)
    size = int(svg.group(1))
    matrix = [[False] * size for _ in range(size)]
    for x, y in re.findall(r"M(\d+),(\d+)h1v1h-1z", svg.group(2)):
        matrix[int(y)][int(x)] = True
    return matrix


@override_settings(PUBLIC_BASE_URL="https://college.chu-exemple.fr")
def test_poster_qr_code_encodes_the_report_public_page(tworld):
    url = f"https://college.chu-exemple.fr/public/reports/{tworld.report.pk}/"
    page = html(Client().get(f"/public/reports/{tworld.report.pk}/poster/"))
    assert _svg_matrix(page) == qr_matrix(url)
    assert _svg_matrix(page) != qr_matrix(f"https://college.chu-exemple.fr/public/reports/{tworld.report.pk + 1}/")
    assert url in page
    assert "@page{size:A4" in page and "@media print" in page


@override_settings(PUBLIC_BASE_URL="")
def test_without_a_public_base_url_the_qr_code_uses_the_request_address(tworld):
    page = html(Client().get(f"/public/reports/{tworld.report.pk}/poster/", HTTP_HOST="testserver"))
    assert _svg_matrix(page) == qr_matrix(f"http://testserver/public/reports/{tworld.report.pk}/")


def test_poster_pdf_is_produced(tworld):
    response = Client().get(f"/public/reports/{tworld.report.pk}/poster.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert len(response.content) > 5000


def test_a_superseded_report_page_leads_to_the_correction(tworld):
    from reports import services as report_services  # noqa: PLC0415 - the correction is this test's own

    corrected = report_services.report_correct(actor=tworld.quality, report=tworld.report, reason="Erratum.")
    response = Client().get(f"/public/reports/{tworld.report.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/public/reports/{corrected.pk}/"


def test_nothing_unpublished_reaches_a_public_page(tworld):
    w = tworld
    # An internal report, and a public report still a draft, each with a sentinel figure.
    internal = Report.objects.create(campaign=w.campaign, audience=Audience.INTERNAL, version=1,
                                     title="INTERNAL-SENTINEL", author=w.quality, state=ReportState.DRAFT,
                                     figures={"public": {"n_cases": 987654}})
    draft = Report.objects.create(campaign=w.campaign, audience=Audience.PUBLIC, version=2,
                                  title="DRAFT-SENTINEL", author=w.quality, state=ReportState.DRAFT,
                                  reason="Brouillon.", figures={"public": {"n_cases": 876543}})
    # The profile changed after the entry was published; a FALC text approved, not yet published.
    entry = _publish(w, services.register_text_draft(actor=w.quality, ai_system=w.ai_system))
    w.ai_system.public_purpose = "PROFILE-SENTINEL"
    w.ai_system.save()
    services.register_text_draft(actor=w.quality, ai_system=w.ai_system)
    text = services.falc_text_draft(actor=w.quality, report=w.report)
    services.public_text_revise(actor=w.quality, text=text, lines="UNAPPROVED-SENTINEL est ici.")
    services.public_text_submit(actor=w.quality, text=text)
    services.public_text_approve(actor=w.patient_reps[0], text=text)
    assert PublicText.objects.filter(state=TextState.APPROVED, kind=TextKind.FALC).exists()
    client = Client()
    for url in _public_urls(w.report):
        response = client.get(url)
        page = html(response)
        for sentinel in ("INTERNAL-SENTINEL", "DRAFT-SENTINEL", "987654", "876543", "PROFILE-SENTINEL",
                         "UNAPPROVED-SENTINEL", w.quality.username, w.patient_reps[0].username, "rep0"):
            assert sentinel not in page, (url, sentinel)
        assert response.status_code == (404 if url.endswith("easy-to-read/") else 200), url
    assert entry.content["public_purpose"] in html(client.get("/public/register/"))
    for report in (internal, draft):
        for suffix in ("", "easy-to-read/", "poster/", "poster.pdf"):
            assert client.get(f"/public/reports/{report.pk}/{suffix}").status_code == 404


def test_register_without_entry_or_report_says_so(db):
    from tests.factories import AISystemFactory  # noqa: PLC0415 - a bare AI system, no world

    AISystemFactory(name="Outil sans fiche", public_purpose="PROFILE-SENTINEL")
    page = html(Client().get("/public/register/"))
    assert "Outil sans fiche" in page and "PROFILE-SENTINEL" not in page
    assert "Aucun résultat n'a encore été publié pour cet outil." in page
    assert "La description de cet outil est en préparation" in page


def test_register_links_the_latest_published_report(tworld):
    _publish(tworld, services.register_text_draft(actor=tworld.quality, ai_system=tworld.ai_system))
    page = html(Client().get("/public/register/"))
    assert f'href="/public/reports/{tworld.report.pk}/"' in page
    assert "Classe IIa" in page and "CE 0123-4567" in page and "Maison des usagers, 01 23 45 67 89" in page


def test_public_pages_query_counts_are_constant(tworld, django_assert_max_num_queries):
    _publish(tworld, services.register_text_draft(actor=tworld.quality, ai_system=tworld.ai_system))
    _publish(tworld, services.falc_text_draft(actor=tworld.quality, report=tworld.report))
    client = Client()
    with django_assert_max_num_queries(2):
        client.get("/public/register/")
    with django_assert_max_num_queries(3):
        client.get(f"/public/reports/{tworld.report.pk}/")
    with django_assert_max_num_queries(3):
        client.get(f"/public/reports/{tworld.report.pk}/easy-to-read/")
    with django_assert_max_num_queries(2):
        client.get(f"/public/reports/{tworld.report.pk}/poster/")


def test_public_pages_in_english(tworld):
    client = Client()
    client.cookies["django_language"] = "en"
    assert "Register of the AI tools in use" in html(client.get("/public/register/"))
    page = html(client.get(f"/public/reports/{tworld.report.pk}/poster/"))
    assert "Scan this code to read all the results:" in page
