"""Each role's journey through one case, walked and measured in a real browser: clicks, page
loads (full document loads; an htmx swap is not one) and time, from the moment the case is in
front of the person to the moment the next one is.

Before the one-page workspace, the same reviewer journey (queue, open, start, answer with the
mouse, tick the confirmation, lock, see the AI output, classify, back to the queue, open the next
case) took 12 clicks and 7 page loads (measured with this module's ``JourneyMeter`` on the
previous pages; about 2.9 s of browser time). The targets asserted here: one case in at most 4
clicks and 2 page loads."""

import pytest
from playwright.sync_api import expect

from audit.models import AuditEvent
from cases import services as case_services
from cases.models import AISystem, Case
from reviews import services
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment, CampaignCase, Classification, Verdict
from tests.browser.journey import JourneyMeter
from tests.browser.login import log_in
from tests.workflows import build_world, campaign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AI_VERSION = "AIVER-SENTINEL"
FINAL_LABEL = "FINAL-SENTINEL"
REFERENCE = "REFERENCE-SENTINEL"
SEALED = ("0.987654", "0,987654", AI_VERSION, FINAL_LABEL, REFERENCE)
TRACE = "Notice remise le jour de l'examen ; accord oral noté par le manipulateur."
SUMMARY = "Radiographie du poignet après une chute ; l'outil aide à repérer une fracture."
SHEET = "Votre examen peut être relu par un logiciel d'aide au diagnostic."
CLINICAL = "Chute de sa hauteur, douleur du poignet."
MAX_CLICKS = 4
MAX_PAGE_LOADS = 2


@pytest.fixture
def world():
    world = build_world(n_cases=2, n_clinicians=2, n_patient_reps=1)
    Case.objects.update(ai_score=0.987654, ai_version=AI_VERSION, final_label=FINAL_LABEL,
                        information_trace=TRACE, plain_summary=SUMMARY, clinical_context=CLINICAL)
    case_services.ai_system_set_patient_information(actor=world.quality, ai_system=world.ai_system, text=SHEET)
    world.campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)
    # Planted where it could leak: a reference label on the cases still read blind.
    CampaignCase.objects.update(reference_label=REFERENCE)
    return world


def assert_no_sealed_data(page) -> None:
    content = page.content()
    for sentinel in SEALED:
        assert sentinel not in content


def start_first_case(page) -> None:
    """From the queue: the active campaign's "continue", then the recorded start of the reading."""
    page.get_by_role("link", name="Continuer avec Campagne T1").click()
    page.get_by_role("button", name="Commencer la relecture").click()


def test_reviewer_reads_blind_locks_sees_the_ai_in_place_classifies_and_goes_on(world, open_page, live_server):
    clinician = world.clinicians[0]
    watch = open_page()
    page = watch.page
    log_in(page, live_server.url, clinician.username, landing="/reviews/")
    assert_no_sealed_data(page)
    start_first_case(page)
    expect(page.get_by_role("heading", name="Éléments du dossier")).to_be_visible()
    first = Assignment.objects.get(reviewer=clinician, state=AssignmentState.OPENED)
    ai_label = first.campaign_case.case.ai_label

    # The hints are on the page; a digit typed in a text field is text, not an answer.
    expect(page.get_by_text("les touches 1 à 9 répondent à la question surlignée", exact=False)).to_be_visible()
    page.get_by_label("Justification").focus()
    page.keyboard.press("1")
    expect(page.get_by_label("Justification")).to_have_value("1")
    expect(page.get_by_label("Fracture", exact=True)).not_to_be_checked()
    page.get_by_label("Justification").fill("")
    page.locator("h1").click()  # focus out of the text field (not part of the measured journey)

    meter = JourneyMeter(page)
    meter.start()
    meter.press("2")  # the reading: its 2nd label, "Pas de fracture"
    meter.press("4")  # the next question, the confidence: 4
    expect(page.get_by_label("Pas de fracture")).to_be_checked()
    expect(page.get_by_label("4", exact=True)).to_be_checked()
    assert_no_sealed_data(page)

    meter.click(page.get_by_role("button", name="Verrouiller ma lecture et voir la sortie de l'IA"))
    dialog = page.get_by_role("dialog", name="Verrouiller votre avis ?")
    expect(dialog).to_be_visible()
    assert Assignment.objects.get(pk=first.pk).state == AssignmentState.OPENED  # nothing sent yet
    assert_no_sealed_data(page)
    meter.click(dialog.get_by_role("button", name="Verrouiller mon avis"))

    sealed = page.locator("section.sealed")
    expect(sealed).to_contain_text(AI_VERSION)  # revealed in place
    expect(sealed).to_contain_text(FINAL_LABEL)
    expect(page.locator("#assignment-state")).to_have_text("Levée de l'aveugle")
    assert Assignment.objects.get(pk=first.pk).state == AssignmentState.UNBLINDED
    assert Verdict.objects.get(assignment=first).label == "no_fracture"
    concur = page.get_by_label("Concordance", exact=True)
    if ai_label == "no_fracture":
        expect(concur).to_have_count(1)
    else:  # the reading differs from the AI output: "concur" is not offered
        expect(concur).to_have_count(0)

    meter.press("1")  # the discrepancy: the 1st grade offered
    meter.press("2")  # would the AI output have changed my answer: No
    meter.click(page.get_by_role("button", name="Enregistrer et passer au dossier suivant"))
    dialog = page.get_by_role("dialog", name="Enregistrer votre classement ?")
    expect(dialog).to_be_visible()
    second = Assignment.objects.exclude(pk=first.pk).get(reviewer=clinician)
    meter.click(dialog.get_by_role("button", name="Enregistrer mon classement"))

    page.wait_for_url(f"**/reviews/{second.pk}/")
    expect(page.get_by_role("heading", name="Votre avis")).to_be_visible()
    figures = meter.stop()
    print(f"\nAFTER reviewer, one case: {figures}")
    assert figures["clicks"] <= MAX_CLICKS
    assert figures["page_loads"] <= MAX_PAGE_LOADS
    assert_no_sealed_data(page)  # the next case is read blind again

    classification = Classification.objects.get(assignment=first)
    assert classification.discrepancy == ("concur" if ai_label == "no_fracture" else "understandable")
    assert classification.would_have_changed is False
    second.refresh_from_db()
    assert second.state == AssignmentState.OPENED  # "next case" is the recorded start of the next reading
    assert page.url.endswith(f"/reviews/{second.pk}/")
    actions = list(AuditEvent.objects.filter(actor_id=clinician.pk).order_by("pk").values_list("action", flat=True))
    assert actions[-5:] == ["assignment.open", "assignment.submit", "assignment.unblind", "assignment.classify",
                            "assignment.open"]
    watch.assert_clean()


def test_patient_representative_reads_their_material_locks_and_goes_on(world, open_page, live_server):
    rep = world.patient_reps[0]
    watch = open_page()
    page = watch.page
    log_in(page, live_server.url, rep.username, landing="/reviews/")
    start_first_case(page)

    expect(page.get_by_role("heading", name="La notice d'information des patients du système d'IA")).to_be_visible()
    expect(page.get_by_text(SHEET)).to_be_visible()
    expect(page.get_by_text(TRACE)).to_be_visible()
    expect(page.get_by_text(SUMMARY)).to_be_visible()
    assert CLINICAL not in page.content()  # the clinical reading is not theirs to judge
    assert "Classer" not in page.content() and 'name="discrepancy"' not in page.content()
    assert_no_sealed_data(page)
    first = Assignment.objects.get(reviewer=rep, state=AssignmentState.OPENED)

    meter = JourneyMeter(page)
    meter.start()
    for key in ("2", "3", "1", "1"):  # informed: No; understandable: Cannot tell; rights: Yes; equity: Yes
        meter.press(key)
    meter.click(page.get_by_role("button", name="Verrouiller et passer au dossier suivant"))
    dialog = page.get_by_role("dialog", name="Verrouiller votre avis ?")
    expect(dialog).to_be_visible()
    second = Assignment.objects.exclude(pk=first.pk).get(reviewer=rep)
    meter.click(dialog.get_by_role("button", name="Verrouiller mon avis"))
    page.wait_for_url(f"**/reviews/{second.pk}/")
    expect(page.get_by_text(SHEET)).to_be_visible()
    figures = meter.stop()
    print(f"\nAFTER patient representative, one case: {figures}")
    assert figures["clicks"] <= MAX_CLICKS
    assert figures["page_loads"] <= MAX_PAGE_LOADS
    assert_no_sealed_data(page)

    v = Verdict.objects.get(assignment=first)
    assert (v.patient_informed, v.information_understandable, v.rights_respected, v.equity_concern) == (
        "no", "unknown", "yes", True)
    assert Assignment.objects.get(pk=first.pk).state == AssignmentState.SUBMITTED  # never unblinded nor classified
    second.refresh_from_db()
    assert second.state == AssignmentState.OPENED

    # The campaign ends (cancelled): the pending review is withdrawn and the queue is empty.
    services.campaign_cancel(actor=world.quality, campaign=world.campaign, reason="Version retirée.")
    page.goto(f"{live_server.url}/reviews/")
    expect(page.get_by_text("Aucun dossier à relire pour le moment.")).to_be_visible()
    assert Assignment.objects.get(pk=second.pk).state == AssignmentState.WITHDRAWN
    watch.assert_clean()


def test_no_script_lock_still_needs_the_confirmation(world, browser, live_server):
    """Without JavaScript the same form posts to the server, which asks for the confirmation box."""
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, live_server.url, world.clinicians[0].username, landing="/reviews/")
        start_first_case(page)
        page.get_by_label("Pas de fracture").check()
        page.get_by_label("4", exact=True).check()
        box = page.get_by_label("Je confirme : mon avis sera verrouillé et ne pourra plus être modifié.")
        expect(box).to_be_visible()
        box.check()
        page.get_by_role("button", name="Verrouiller ma lecture et voir la sortie de l'IA").click()
        expect(page.locator("section.sealed")).to_contain_text(AI_VERSION)
    finally:
        context.close()
    assert AISystem.objects.get().patient_information == SHEET
