"""The quality team in a real browser: open the page of text naming the AI from the import page,
see the mention highlighted, and clear one case's flag with a reason."""

import pytest
from playwright.sync_api import expect

from cases.importing.service import import_cases
from cases.models import Case
from tests.browser.login import log_in
from tests.workflows import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = ("accession_number;patient_id;exam_date;site;clinical_context;report_text;ai_label\n"
       "ACCB1;PATB1;2026-03-10;Nord;Résultat IA : positif, chute.;Radiographie.;fracture\n").encode()


def test_quality_clears_a_flagged_case(open_page, live_server):
    world = build_world(n_cases=0)
    import_cases(actor=world.quality, ai_system=world.ai_system, raw=CSV, filename="lot.csv")
    (case,) = Case.objects.exclude(blinding_flags=[])
    page = open_page().page
    log_in(page, live_server.url, world.quality.username)

    page.goto(f"{live_server.url}/imports/")
    page.locator("main").get_by_role("link", name="Texte citant l'IA").click()
    expect(page.locator("mark")).to_have_text("IA : positif")
    page.locator(f"#id_case-{case.pk}-clear-reason").fill("Mention d'un examen antérieur.")
    page.get_by_role("button", name="Lever le signalement").click()
    expect(page.get_by_text(f"Dossier n° {case.pk} : le signalement est levé")).to_be_visible()
    case.refresh_from_db()
    assert (case.blinding_flags, case.blinding_review) == ([], "cleared")
