"""The web interface, through Django's test client: pages per role, the reviewer's whole flow,
blinding of every page and context, error pages, language switch and query counts.

Leak tests follow pretalx's rule: first create the data that could leak (a distinctive AI score
and version, a final decision that is not one of the labels, another reviewer's verdict), then
assert that the exact strings are absent.
"""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db.models import Model
from django.test import Client

from audit.models import AuditEvent
from cases.models import Case
from reviews import services
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment, Campaign, CampaignCase, Classification, Verdict
from tests.factories import PASSWORD, CommitteeFactory, MemberFactory
from tests.helpers import html
from tests.login import login
from tests.workflows import build_world, campaign_in, submit_all

pytestmark = pytest.mark.django_db

AI_SCORE = 0.987654
AI_VERSION = "AIVER-SENTINEL"
FINAL_LABEL = "FINAL-SENTINEL"
OTHER_RATIONALE = "OTHER-READER-SENTINEL"
SEALED_STRINGS = ("0.987654", "0,987654", "0,9877", AI_VERSION, FINAL_LABEL, OTHER_RATIONALE)
CASE_CONTEXT = "Chute de sa hauteur, douleur du poignet."
SEALED_MODELS = (Case, CampaignCase, Assignment, Verdict, Classification)

CLINICIAN_VERDICT = {"label": "no_fracture", "confidence": "4", "rationale": "Pas de trait visible.",
                     "confirm": "on"}
CONFIRM = {"confirm": "on"}
PATIENT_REP_VERDICT = {"patient_informed": "no", "information_understandable": "unknown",
                       "rights_respected": "yes", "equity_concern": "yes", "comments": "Notice absente.",
                       "confirm": "on"}


def audit_count(action: str, obj) -> int:
    return AuditEvent.objects.filter(
        action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk)).count()


def state_of(assignment) -> str:
    return Assignment.objects.get(pk=assignment.pk).state


def assert_blind(response) -> None:
    """Neither the HTML nor the template context holds anything sealed."""
    body = html(response)
    for sentinel in SEALED_STRINGS:
        assert sentinel not in body
    for context in response.context:
        for key, value in context.flatten().items():
            assert not isinstance(value, SEALED_MODELS), key
            if not isinstance(value, Model) and key not in ("request", "csrf_token", "perms", "messages"):
                for sentinel in SEALED_STRINGS:
                    assert sentinel not in repr(value), key


@pytest.fixture
def review():
    """One case with distinctive sealed data, read by one clinician, the chair (a clinician
    reader too) and one patient representative."""
    world = build_world(n_cases=1, n_clinicians=1, n_patient_reps=1)
    Case.objects.update(ai_score=AI_SCORE, ai_version=AI_VERSION, final_label=FINAL_LABEL,
                        image_url="https://pacs.example.org/viewer?study=42")
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=1)
    clinician = world.clinicians[0]
    return SimpleNamespace(
        world=world, campaign=campaign, clinician=clinician, rep=world.patient_reps[0],
        a=Assignment.objects.get(reviewer=clinician),
        chair_a=Assignment.objects.get(reviewer=world.chair),
        rep_a=Assignment.objects.get(reviewer=world.patient_reps[0]),
    )


def chair_locks_verdict(review) -> None:
    services.assignment_submit(actor=review.world.chair, assignment=review.chair_a, data={
        "label": "no_fracture", "confidence": 3, "rationale": OTHER_RATIONALE})


# --- Login, layout, home -------------------------------------------------------------------------

def test_login_page_is_french_and_accessible(client):
    r = client.get("/login/")
    assert r.status_code == 200
    body = html(r)
    assert '<html lang="fr">' in body
    assert "Se connecter" in body
    assert 'href="#main"' in body and 'id="main"' in body
    assert "/static/web/app.css" in body and "/static/web/htmx.min.js" in body
    assert "<script>" not in body and " onclick=" not in body  # the CSP forbids inline scripts


def test_login_through_the_form_lands_on_the_queue(review):
    client = Client()
    r = client.post("/login/", {"username": review.clinician.username, "password": PASSWORD})
    assert r.status_code == 302
    r = client.get(r["Location"])
    assert r.status_code == 302 and r["Location"] == "/reviews/"


def test_login_with_a_wrong_password_says_so_in_french(review):
    r = Client().post("/login/", {"username": review.clinician.username, "password": "wrong"})
    assert r.status_code == 200
    assert "Saisissez un nom d’utilisateur et un mot de passe valides" in html(r)


@pytest.mark.parametrize("url", ["/", "/reviews/", "/reviews/1/", "/campaigns/", "/campaigns/1/"])
def test_anonymous_is_sent_to_login(client, url):
    r = client.get(url)
    assert r.status_code == 302
    assert r["Location"] == f"/login/?next={url}"


def test_logout_is_a_post(review):
    client = login(review.clinician)
    assert client.get("/logout/").status_code == 405
    r = client.post("/logout/")
    assert r.status_code == 302 and r["Location"] == "/login/"
    assert client.get("/reviews/").status_code == 302


def test_header_shows_name_role_and_language_switch(review):
    body = html(login(review.clinician).get("/reviews/"))
    assert "Collège de garantie humaine" in body
    assert review.clinician.display_name in body
    assert "Expert relecteur (médecin)" in body
    assert 'action="/i18n/setlang/"' in body
    assert 'action="/logout/"' in body


@pytest.mark.parametrize("role, expected", [
    ("clinician", "/reviews/"), ("patient_rep", "/reviews/"), ("chair", "/committees/{committee}/"),
    ("secretary", "/committees/{committee}/"), ("quality", "/campaigns/"), ("management", "/reports/"),
    ("admin", "/campaigns/"), ("dpo", "/reidentification/"),
])
def test_home_sends_each_role_to_the_page_of_its_work(review, role, expected):
    user = {"clinician": review.clinician, "patient_rep": review.rep, "chair": review.world.chair,
            "quality": review.world.quality, "secretary": review.world.secretary,
            "management": review.world.management, "admin": review.world.admin, "dpo": review.world.dpo}[role]
    r = login(user).get("/")
    assert r.status_code == 302 and r["Location"] == expected.format(committee=review.world.committee.pk)


def test_home_sends_an_officer_of_several_committees_to_the_committee_list(world):
    other = CommitteeFactory()
    MemberFactory(committee=other, user=world.chair)
    r = login(world.chair).get("/")
    assert r.status_code == 302 and r["Location"] == "/committees/"


# --- Queue ---------------------------------------------------------------------------------------

def test_queue_lists_own_assignments_by_campaign_without_sealed_data(review):
    chair_locks_verdict(review)
    r = login(review.clinician).get("/reviews/")
    assert r.status_code == 200
    body = html(r)
    assert "Mes relectures" in body
    assert review.campaign.name in body
    assert "Dossier n° 1" in body
    assert "0 verrouillé(s) / 1" in body
    assert "Attribuée" in body
    assert f'href="/reviews/{review.a.pk}/"' in body
    assert f'href="/reviews/{review.chair_a.pk}/"' not in body
    assert_blind(r)


def test_queue_of_a_reviewer_without_assignments_is_empty(world):
    r = login(world.clinicians[0]).get("/reviews/")
    assert r.status_code == 200
    assert "Aucun dossier à relire pour le moment." in html(r)


def test_queue_is_ordered_by_due_date_then_shuffled_position(db):
    world = build_world(n_cases=3, n_clinicians=1, n_patient_reps=1)
    campaign_in(world, CampaignState.IN_REVIEW, sample_size=3)
    user = world.clinicians[0]
    r = login(user).get("/reviews/")
    rows = r.context["groups"][0]["rows"]
    assert [row["position"] for row in rows] == [1, 2, 3]
    expected = list(Assignment.objects.filter(reviewer=user).order_by("due_date", "display_order")
                    .values_list("pk", flat=True))
    assert [row["id"] for row in rows] == expected


QUEUE_QUERIES = 4  # session, user, the seats the user holds (menu), the assignments with their campaign and AI system


@pytest.mark.parametrize("n", [1, 3])
def test_queue_query_count_is_constant(django_assert_num_queries, n):
    world = build_world(n_cases=3, n_clinicians=1, n_patient_reps=1)
    campaign_in(world, CampaignState.IN_REVIEW, sample_size=n)
    user = world.clinicians[0]
    assert Assignment.objects.filter(reviewer=user).count() == n
    client = login(user)
    with django_assert_num_queries(QUEUE_QUERIES):
        r = client.get("/reviews/")
    assert r.status_code == 200
    assert html(r).count('class="button-link"') == n


# --- The reviewer's flow -------------------------------------------------------------------------

def test_assigned_case_shows_nothing_of_the_case_before_starting(review):
    r = login(review.clinician).get(f"/reviews/{review.a.pk}/")
    assert r.status_code == 200
    body = html(r)
    assert "Commencer la relecture" in body
    assert CASE_CONTEXT not in body
    assert state_of(review.a) == AssignmentState.ASSIGNED  # a GET changes nothing
    assert audit_count("assignment.open", review.a) == 0
    assert_blind(r)


def test_clinician_flow_from_blind_reading_to_classification(review):
    chair_locks_verdict(review)
    client = login(review.clinician)
    url = f"/reviews/{review.a.pk}/"

    r = client.post(f"{url}open/")
    assert r.status_code == 302 and r["Location"] == url
    assert state_of(review.a) == AssignmentState.OPENED
    assert audit_count("assignment.open", review.a) == 1

    r = client.get(url)
    assert r.status_code == 200
    body = html(r)
    assert CASE_CONTEXT in body
    assert "Radiographie du poignet, deux incidences." in body
    assert "15 mars 2026" in body
    assert "Urgences" in body and "Nord" in body and "Femme" in body and "40-59" in body
    assert 'href="https://pacs.example.org/viewer?study=42" target="_blank" rel="noopener noreferrer"' in body
    assert 'value="fracture"' in body and ">Fracture</label>" in body
    assert ">Pas de fracture</label>" in body
    assert "Je confirme : mon avis sera verrouillé et ne pourra plus être modifié." in body
    assert_blind(r)

    r = client.post(f"{url}submit/", {k: v for k, v in CLINICIAN_VERDICT.items() if k != "confirm"})
    assert r.status_code == 400
    assert "Cochez cette case pour verrouiller votre avis." in html(r)
    assert state_of(review.a) == AssignmentState.OPENED
    assert not Verdict.objects.filter(assignment=review.a).exists()
    assert_blind(r)

    r = client.post(f"{url}submit/", CLINICIAN_VERDICT)
    assert r.status_code == 302 and r["Location"] == url
    assert state_of(review.a) == AssignmentState.SUBMITTED
    verdict = Verdict.objects.get(assignment=review.a)
    assert (verdict.label, verdict.confidence, verdict.rationale) == (
        "no_fracture", 4, "Pas de trait visible.")
    assert audit_count("assignment.submit", review.a) == 1

    r = client.get(url)
    body = html(r)
    assert "Avis verrouillé" in body
    assert "Votre avis est verrouillé." in body  # the flash message
    assert "Voir la sortie de l'IA" in body
    assert "Pas de fracture" in body and "4 / 5" in body
    assert_blind(r)

    r = client.post(f"{url}unblind/")
    assert r.status_code == 302
    assert state_of(review.a) == AssignmentState.UNBLINDED
    assert audit_count("assignment.unblind", review.a) == 1

    r = client.get(url)
    body = html(r)
    assert "0,987654" in body and AI_VERSION in body and FINAL_LABEL in body
    assert "Sortie de l'IA et décision finale" in body
    assert "Avis verrouillés des autres relecteurs" in body
    assert "3 / 5" in body  # the chair's locked verdict, without its rationale
    assert OTHER_RATIONALE not in body
    assert "Voir la sortie de l'IA aurait-il changé votre réponse ?" in body

    r = client.post(f"{url}classify/", {"discrepancy": "clear_significant", "would_have_changed": "no",
                                        "possible_adverse_event": "on", "comment": "À revoir en séance.",
                                        "confirm": "on"})
    assert r.status_code == 302
    assert state_of(review.a) == AssignmentState.CLASSIFIED
    c = Classification.objects.get(assignment=review.a)
    assert (c.discrepancy, c.would_have_changed, c.possible_adverse_event, c.comment) == (
        "clear_significant", False, True, "À revoir en séance.")
    assert audit_count("assignment.classify", review.a) == 1

    body = html(client.get(url))
    assert "Votre classement" in body
    assert "Écart manifeste, cliniquement significatif probable" in body
    assert f'action="/reviews/{review.a.pk}/classify/"' not in body


def test_classification_form_errors_are_a_400_and_change_nothing(review):
    client = login(review.clinician)
    for step in ("open", "submit", "unblind"):
        data = CLINICIAN_VERDICT if step == "submit" else {}
        assert client.post(f"/reviews/{review.a.pk}/{step}/", data).status_code == 302
    r = client.post(f"/reviews/{review.a.pk}/classify/", {"discrepancy": "concur"})
    assert r.status_code == 400
    assert "Ce champ est obligatoire." in html(r)
    assert state_of(review.a) == AssignmentState.UNBLINDED
    assert not Classification.objects.filter(assignment=review.a).exists()


def test_patient_representative_completes_their_form(review):
    client = login(review.rep)
    url = f"/reviews/{review.rep_a.pk}/"
    assert client.post(f"{url}open/").status_code == 302
    r = client.get(url)
    body = html(r)
    assert "Le patient a-t-il été informé de l'utilisation d'un outil d'IA ?" in body
    assert "Ne sait pas" in body
    assert 'name="label"' not in body
    assert_blind(r)

    r = client.post(f"{url}submit/", PATIENT_REP_VERDICT)
    assert r.status_code == 302
    assert state_of(review.rep_a) == AssignmentState.SUBMITTED
    v = Verdict.objects.get(assignment=review.rep_a)
    answers = (v.patient_informed, v.information_understandable, v.rights_respected, v.equity_concern,
               v.comments)
    assert answers == ("no", "unknown", "yes", True, "Notice absente.")
    body = html(client.get(url))
    assert "Avis verrouillé" in body and "Notice absente." in body


def test_decline_needs_a_reason_then_reassigns(review):
    client = login(review.clinician)
    url = f"/reviews/{review.a.pk}/"
    r = client.post(f"{url}decline/", {"reason": "   "})
    assert r.status_code == 400
    assert state_of(review.a) == AssignmentState.ASSIGNED

    r = client.post(f"{url}decline/", {"reason": "Je connais le patient."})
    assert r.status_code == 302 and r["Location"] == "/reviews/"
    a = Assignment.objects.get(pk=review.a.pk)
    assert (a.state, a.decline_reason) == (AssignmentState.DECLINED, "Je connais le patient.")
    assert audit_count("assignment.decline", review.a) == 1
    r = client.get(url)
    assert "Je connais le patient." in html(r)
    assert_blind(r)


# --- Visibility, permissions, state --------------------------------------------------------------

@pytest.mark.parametrize("step", ["", "open/", "submit/", "unblind/", "classify/", "decline/"])
def test_another_reviewers_assignment_does_not_exist(review, step):
    client = login(review.rep)
    r = client.post(f"/reviews/{review.a.pk}/{step}", {"reason": "x"}) if step else client.get(
        f"/reviews/{review.a.pk}/")
    assert r.status_code == 404
    assert "Page introuvable" in html(r)
    assert state_of(review.a) == AssignmentState.ASSIGNED


def test_quality_sees_a_follow_up_page_without_the_case_and_cannot_act(review):
    chair_locks_verdict(review)
    client = login(review.world.quality)
    r = client.get(f"/reviews/{review.chair_a.pk}/")
    assert r.status_code == 200
    body = html(r)
    assert "chair" in body and "Avis verrouillé" in body
    assert CASE_CONTEXT not in body and "no_fracture" not in body and "Pas de fracture" not in body
    assert_blind(r)

    r = client.post(f"/reviews/{review.a.pk}/open/")
    assert r.status_code == 403
    assert "Vous n'avez pas le droit de faire cela." in html(r)
    assert state_of(review.a) == AssignmentState.ASSIGNED
    assert audit_count("assignment.open", review.a) == 0


def test_a_transition_the_state_forbids_is_a_409_page(review):
    client = login(review.clinician)
    client.post(f"/reviews/{review.a.pk}/open/")
    r = client.post(f"/reviews/{review.a.pk}/unblind/")
    assert r.status_code == 409
    body = html(r)
    assert "Action impossible dans l'état actuel" in body
    assert ("«\xa0Voir la sortie de l'IA\xa0» n'est pas possible : "
            "cette relecture est à l'état «\xa0Ouverte\xa0».") in body
    assert state_of(review.a) == AssignmentState.OPENED
    assert_blind(r)


def test_csrf_is_enforced_on_posts(review):
    client = Client(enforce_csrf_checks=True)
    client.force_login(review.clinician)
    r = client.post(f"/reviews/{review.a.pk}/open/")
    assert r.status_code == 403
    assert "Formulaire expiré" in html(r)
    assert state_of(review.a) == AssignmentState.ASSIGNED


def test_unknown_url_is_a_french_404_page(review):
    r = login(review.clinician).get("/nowhere/")
    assert r.status_code == 404
    assert "Page introuvable" in html(r)


def test_get_on_an_action_url_is_refused(review):
    r = login(review.clinician).get(f"/reviews/{review.a.pk}/open/")
    assert r.status_code == 405
    assert state_of(review.a) == AssignmentState.ASSIGNED


# --- Campaigns -----------------------------------------------------------------------------------

@pytest.fixture
def two_campaigns(review):
    """The review's campaign plus a draft one nobody reads yet."""
    w = review.world
    draft = services.campaign_create(
        actor=w.quality, ai_system=w.ai_system, committee=w.committee, name="Campagne brouillon",
        period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 6, 30), sample_size=1,
        review_deadline=dt.date(2026, 12, 31), seed=7)
    return SimpleNamespace(review=review, draft=draft)


@pytest.mark.parametrize("role, sees", [
    ("quality", {"Campagne T1", "Campagne brouillon"}), ("admin", {"Campagne T1", "Campagne brouillon"}),
    ("management", {"Campagne T1", "Campagne brouillon"}), ("chair", {"Campagne T1", "Campagne brouillon"}),
    ("secretary", {"Campagne T1", "Campagne brouillon"}), ("clinician", {"Campagne T1"}),
    ("patient_rep", {"Campagne T1"}), ("dpo", set()),
])
def test_campaign_list_per_role(two_campaigns, role, sees):
    w = two_campaigns.review.world
    user = {"quality": w.quality, "admin": w.admin, "management": w.management, "chair": w.chair,
            "secretary": w.secretary, "clinician": w.clinicians[0], "patient_rep": w.patient_reps[0],
            "dpo": w.dpo}[role]
    r = login(user).get("/campaigns/")
    assert r.status_code == 200
    assert {c["name"] for c in r.context["campaigns"]} == sees
    if role in ("clinician", "patient_rep"):
        assert "Échantillon" not in html(r) and "Période" not in html(r)


def test_campaign_summary_for_quality_shows_protocol_progress_results_and_actions(review):
    r = login(review.world.quality).get(f"/campaigns/{review.campaign.pk}/")
    assert r.status_code == 200
    body = html(r)
    c = Campaign.objects.get(pk=review.campaign.pk)
    assert str(c.seed) in body and c.population_hash in body
    assert "En relecture" in body
    assert 'id="campaign-progress"' in body and f'hx-get="/campaigns/{c.pk}/progress/"' in body
    assert "0 avis verrouillé sur 3 relectures." in body
    assert "Concordance" in body and "Échantillon trop petit pour conclure." in body
    assert "non calculable" in body and "aucun cas à comparer" in body
    assert "<th scope=\"col\">Sortie de l'IA / référence</th>" in body
    assert f'action="/campaigns/{c.pk}/transitions/close_review/"' in body
    assert "Clore la relecture" in body and "Annuler la campagne" in body
    assert "Publier" not in body


def test_campaign_summary_for_a_reviewer_has_no_protocol_progress_or_results(review):
    c = Campaign.objects.get(pk=review.campaign.pk)
    r = login(review.clinician).get(f"/campaigns/{c.pk}/")
    assert r.status_code == 200
    body = html(r)
    assert review.campaign.name in body
    assert c.population_hash not in body and str(c.seed) not in body
    assert r.context["progress"] is None and r.context["results"] is None
    reviewer_fields = {"id", "name", "state", "state_label", "ai_system", "review_deadline"}
    assert set(r.context["campaign"]) == reviewer_fields
    assert "Concordance" not in body and "transitions/" not in body


def test_campaign_summary_hides_results_from_a_chair_still_reading_blind(review):
    r = login(review.world.chair).get(f"/campaigns/{review.campaign.pk}/")
    assert r.status_code == 200
    assert r.context["results"] is None and r.context["progress"] is None
    assert "tant qu'il vous reste des relectures en aveugle" in html(r)


def test_campaign_results_with_kappas_and_confusion_matrix(db):
    world = build_world(n_cases=6, n_clinicians=3, n_patient_reps=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    submit_all(campaign, label_for=lambda a: "fracture" if a.campaign_case.case.ai_label == "fracture"
               else "no_fracture")
    r = login(world.management).get(f"/campaigns/{campaign.pk}/")
    assert r.status_code == 200
    results = r.context["results"]
    assert results["n_cases"] == 4 and results["n_with_reference"] == 4
    assert results["ai_vs_reference"]["percent"] == 100.0
    body = html(r)
    assert "100,0\xa0%" in body
    assert '<caption>Matrice de confusion' in body
    assert '<th scope="row">Fracture</th>' in body
    assert '<th scope="col" class="num">Pas de fracture</th>' in body
    assert "Échantillon trop petit pour conclure." in body
    # management reads aggregates: no case-level page, no case content
    assert CASE_CONTEXT not in body and "/reviews/" not in body.replace('href="/reviews/"', "")


def test_campaign_of_someone_else_is_a_404(two_campaigns):
    r = login(two_campaigns.review.clinician).get(f"/campaigns/{two_campaigns.draft.pk}/")
    assert r.status_code == 404


def test_quality_fires_a_campaign_transition(two_campaigns):
    draft = two_campaigns.draft
    client = login(two_campaigns.review.world.quality)
    r = client.post(f"/campaigns/{draft.pk}/transitions/schedule/", CONFIRM)
    assert r.status_code == 302 and r["Location"] == f"/campaigns/{draft.pk}/"
    assert Campaign.objects.get(pk=draft.pk).state == CampaignState.SCHEDULED
    assert audit_count("campaign.schedule", draft) == 1
    assert "Fait : «\xa0Planifier\xa0»." in html(client.get(r["Location"]))


def test_cancel_records_the_reason(two_campaigns):
    draft = two_campaigns.draft
    r = login(two_campaigns.review.world.quality).post(
        f"/campaigns/{draft.pk}/transitions/cancel/", {"reason": "Doublon"} | CONFIRM)
    assert r.status_code == 302
    assert Campaign.objects.get(pk=draft.pk).state == CampaignState.CANCELLED
    assert AuditEvent.objects.get(action="campaign.cancel").data["reason"] == "Doublon"


def test_campaign_transition_refused_by_state_is_a_409_page(review):
    r = login(review.world.quality).post(f"/campaigns/{review.campaign.pk}/transitions/publish/", CONFIRM)
    assert r.status_code == 409
    assert ("«\xa0Publier\xa0» n'est pas possible : "
            "cette campagne est à l'état «\xa0En relecture\xa0».") in html(r)
    assert Campaign.objects.get(pk=review.campaign.pk).state == CampaignState.IN_REVIEW


def test_closing_a_review_with_pending_cases_explains_why(review):
    r = login(review.world.quality).post(f"/campaigns/{review.campaign.pk}/transitions/close_review/", CONFIRM)
    assert r.status_code == 409
    assert ("1 dossier a encore des relectures en attente : "
            "la relecture ne peut pas encore être close.") in html(r)
    assert Campaign.objects.get(pk=review.campaign.pk).state == CampaignState.IN_REVIEW


def test_campaign_transition_by_a_reviewer_is_a_403(review):
    r = login(review.clinician).post(f"/campaigns/{review.campaign.pk}/transitions/close_review/", CONFIRM)
    assert r.status_code == 403
    assert Campaign.objects.get(pk=review.campaign.pk).state == CampaignState.IN_REVIEW


def test_unknown_campaign_transition_is_a_404(review):
    r = login(review.world.quality).post(f"/campaigns/{review.campaign.pk}/transitions/launch_rockets/")
    assert r.status_code == 404


def test_progress_fragment_for_staff_only(review):
    r = login(review.world.quality).get(f"/campaigns/{review.campaign.pk}/progress/")
    assert r.status_code == 200
    assert html(r).lstrip().startswith("<section") or 'id="campaign-progress"' in html(r)
    assert "<html" not in html(r)
    r = login(review.clinician).get(f"/campaigns/{review.campaign.pk}/progress/")
    assert r.status_code == 403


# --- Language ------------------------------------------------------------------------------------

def test_french_by_default_english_on_request(review):
    client = login(review.clinician)
    assert "Mes relectures" in html(client.get("/reviews/"))
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/reviews/"})
    assert r.status_code == 302 and r["Location"] == "/reviews/"
    body = html(client.get("/reviews/"))
    assert "My reviews" in body and "Mes relectures" not in body
    assert '<html lang="en">' in body


def test_interface_is_french_whatever_the_browser_language(client, db):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert response.status_code == 200
    assert response["Content-Language"] == "fr"


def test_interface_follows_the_language_the_user_chose(client, db):
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})

    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="fr-FR")

    assert response["Content-Language"] == "en"
