"""A reviewer's whole job in a real browser: log in, open the queue, read a case blind, lock
the verdict, see the AI output, classify; and a patient representative's form. Every page is
checked for sealed data (before unblinding), external requests and CSP violations."""

import re

import pytest
from playwright.sync_api import expect

from cases.models import Case
from reviews import services
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment, Classification, Verdict
from tests.browser.login import log_in
from tests.workflows import build_world, campaign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AI_VERSION = "AIVER-SENTINEL"
FINAL_LABEL = "FINAL-SENTINEL"
SEALED = ("0.987654", "0,987654", AI_VERSION, FINAL_LABEL)


@pytest.fixture
def review():
    world = build_world(n_cases=1, n_clinicians=1, n_patient_reps=1)
    Case.objects.update(ai_score=0.987654, ai_version=AI_VERSION, final_label=FINAL_LABEL,
                        image_url="https://pacs.example.org/viewer?study=42")
    campaign_in(world, CampaignState.IN_REVIEW, sample_size=1)
    chair_assignment = Assignment.objects.get(reviewer=world.chair)
    services.assignment_submit(actor=world.chair, assignment=chair_assignment,
                               data={"label": "fracture", "confidence": 3, "rationale": "Trait fin."})
    return world


def assert_no_sealed_data(page) -> None:
    content = page.content()
    for sentinel in SEALED:
        assert sentinel not in content


def test_clinician_reads_blind_locks_unblinds_and_classifies(review, open_page, live_server):
    clinician = review.clinicians[0]
    watch = open_page()
    page = watch.page
    log_in(watch.page, live_server.url, clinician.username, landing="/reviews/")

    expect(page.get_by_role("heading", name="Mes relectures")).to_be_visible()
    expect(page.get_by_text("0 verrouillé(s) / 1")).to_be_visible()
    assert_no_sealed_data(page)
    watch.screenshot("queue")
    page.get_by_role("link", name="Ouvrir dossier n° 1").click()

    expect(page.get_by_role("heading", name="Avant de commencer")).to_be_visible()
    assert "Chute de sa hauteur" not in page.content()
    page.get_by_role("button", name="Commencer la relecture").click()

    expect(page.get_by_role("heading", name="Éléments du dossier")).to_be_visible()
    expect(page.get_by_text("Chute de sa hauteur, douleur du poignet.")).to_be_visible()
    viewer = page.get_by_role("link", name=re.compile("Ouvrir les images dans la visionneuse"))
    expect(viewer).to_have_attribute("target", "_blank")
    expect(viewer).to_have_attribute("rel", "noopener noreferrer")
    assert_no_sealed_data(page)
    watch.screenshot("blind_case")

    # The lock needs the confirmation: the browser itself refuses to send the form without it.
    page.get_by_label("Pas de fracture").check()
    page.get_by_label("4", exact=True).check()
    page.get_by_label("Justification").fill("Corticale continue.")

    # A draft: saved without the confirmation, not locked, restored when the reviewer comes back.
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text("Votre brouillon est enregistré.", exact=False)).to_be_visible()
    page.goto(page.url)
    expect(page.get_by_text("Votre brouillon enregistré est restauré.", exact=False)).to_be_visible()
    expect(page.get_by_label("Pas de fracture")).to_be_checked()
    expect(page.get_by_label("4", exact=True)).to_be_checked()
    expect(page.get_by_label("Justification")).to_have_value("Corticale continue.")
    assert Assignment.objects.get(reviewer=clinician).state == AssignmentState.OPENED
    assert not Verdict.objects.filter(assignment__reviewer=clinician).exists()
    assert_no_sealed_data(page)

    # The lock asks for a confirmation first (a dialog); accepted with the keyboard only.
    page.get_by_role("button", name="Verrouiller ma lecture et voir la sortie de l'IA").click()
    dialog = page.get_by_role("dialog", name="Verrouiller votre avis ?")
    expect(dialog).to_be_visible()
    assert Assignment.objects.get(reviewer=clinician).state == AssignmentState.OPENED
    assert_no_sealed_data(page)
    watch.screenshot("lock_confirmation")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Verrouiller mon avis"
    page.keyboard.press("Enter")

    # Locked, and the AI output revealed in place (no new page).
    expect(page.get_by_role("heading", name="Avis verrouillé", exact=True)).to_be_visible()
    expect(page.get_by_text("Votre avis est verrouillé.", exact=False)).to_be_visible()
    verdict = Verdict.objects.get(assignment__reviewer=clinician)
    assert (verdict.label, verdict.confidence, verdict.rationale) == ("no_fracture", 4, "Corticale continue.")
    expect(page.get_by_role("heading", name="Sortie de l'IA et décision finale")).to_be_visible()
    sealed = page.locator("section.sealed")
    expect(sealed).to_contain_text("Pas de fracture")  # the first case of build_world: AI said no_fracture
    expect(sealed).to_contain_text("0,987654")
    expect(sealed).to_contain_text(AI_VERSION)
    expect(sealed).to_contain_text(FINAL_LABEL)
    others = page.get_by_role("table", name="Avis verrouillés des autres relecteurs")
    expect(others).to_contain_text("Fracture")
    expect(others).to_contain_text("3 / 5")
    assert "Trait fin." not in page.content()  # another reviewer's rationale is not shown
    watch.screenshot("unblinded_case")

    page.get_by_label("Écart manifeste, cliniquement significatif probable").check()
    page.locator("fieldset", has_text="aurait-il changé votre réponse").get_by_label("Non").check()
    page.get_by_label(re.compile("^Événement indésirable possible")).check()
    page.get_by_label("Commentaire").fill("À discuter en séance.")
    page.get_by_role("button", name="Enregistrer mon classement").click()
    page.get_by_role("dialog", name="Enregistrer votre classement ?").get_by_role(
        "button", name="Enregistrer mon classement").click()

    expect(page.get_by_role("heading", name="Votre classement", exact=True)).to_be_visible()
    expect(page.get_by_text("Votre classement est enregistré.")).to_be_visible()
    c = Classification.objects.get(assignment__reviewer=clinician)
    assert (c.discrepancy, c.would_have_changed, c.possible_adverse_event, c.comment) == (
        "clear_significant", False, True, "À discuter en séance.")
    assert Assignment.objects.get(reviewer=clinician).state == AssignmentState.CLASSIFIED
    watch.screenshot("classified_case")
    watch.assert_clean()


def test_patient_representative_completes_their_form(review, open_page, live_server):
    rep = review.patient_reps[0]
    watch = open_page()
    page = watch.page
    log_in(watch.page, live_server.url, rep.username, landing="/reviews/")
    page.get_by_role("link", name="Ouvrir dossier n° 1").click()
    page.get_by_role("button", name="Commencer la relecture").click()
    assert_no_sealed_data(page)

    def answer(question: str, choice: str) -> None:
        group = page.get_by_role("group", name=re.compile(re.escape(question)))
        group.get_by_label(choice, exact=True).check()

    answer("Le patient a-t-il été informé", "Non")
    answer("L'information donnée au patient était-elle compréhensible", "Ne sait pas")
    answer("Les droits du patient ont-ils été respectés", "Oui")
    answer("Voyez-vous un problème d'équité", "Oui")
    page.get_by_label("Commentaires").fill("Aucune trace de l'information du patient.")
    watch.screenshot("patient_rep_form")
    page.get_by_role("button", name="Verrouiller et passer au dossier suivant").click()
    dialog = page.get_by_role("dialog", name="Verrouiller votre avis ?")
    dialog.get_by_role("button", name="Verrouiller mon avis").click()

    # Their only case is done: back to the queue.
    expect(page.get_by_text("Vous n'avez pas d'autre dossier à relire pour le moment.")).to_be_visible()
    assert_no_sealed_data(page)
    v = Verdict.objects.get(assignment__reviewer=rep)
    assert (v.patient_informed, v.information_understandable, v.rights_respected, v.equity_concern) == (
        "no", "unknown", "yes", True)
    watch.assert_clean()


def test_quality_campaign_page_loads_htmx_and_stays_local(review, open_page, live_server):
    watch = open_page()
    page = watch.page
    log_in(page, live_server.url, review.quality.username, landing="/campaigns/")
    page.get_by_role("link", name="Campagne T1").click()
    expect(page.get_by_role("heading", name="Avancement")).to_be_visible()
    assert page.evaluate("typeof window.htmx") == "object"  # served by the application, ran under the CSP
    with page.expect_response(re.compile(r"/campaigns/\d+/progress/$")):
        page.evaluate("htmx.ajax('GET', document.querySelector('#campaign-progress').getAttribute('hx-get'), "
                      "{target: '#campaign-progress', swap: 'outerHTML'})")
    expect(page.get_by_role("heading", name="Avancement")).to_be_visible()
    expect(page.get_by_role("table", name="Matrice de confusion", exact=False)).to_be_visible()
    watch.screenshot("campaign_summary")

    # A stale page: its button posts a transition that the state no longer allows -> 409 page.
    page.evaluate("""() => {
        const form = document.querySelector('form[action$="/close_review/"]');
        form.action = form.action.replace('close_review', 'publish');
        form.querySelector('input[name="confirm"]').checked = true;
    }""")
    with page.expect_response(re.compile(r"/transitions/publish/$")) as response:
        page.get_by_role("button", name="Clore la relecture").click()
    assert response.value.status == 409
    expect(page.get_by_role("heading", name="Action impossible dans l'état actuel")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("n'est pas possible : cette campagne est à l'état")
    watch.screenshot("error_409")
    watch.console_errors = [e for e in watch.console_errors if "409" not in e]  # the page's own status
    watch.assert_clean()
