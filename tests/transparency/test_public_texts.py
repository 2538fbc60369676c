"""Public texts: draft → submitted → approved / rejected → published, through the API and the web
pages, for every role; forbidden transitions are 409 and change nothing; every step is audited;
free text is scanned for direct identifiers."""

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.helpers import html
from tests.login import login
from transparency.enums import TextKind, TextState
from transparency.models import PublicText

pytestmark = pytest.mark.django_db

API = "/api/public-texts/"


def _user(world, who):
    return {"clinician": world.clinicians[0], "rep": world.patient_reps[0], "outsider_rep": world.outsider_rep,
            "former_rep": world.former_rep}.get(who) or getattr(world, who)


def _snapshot(text: PublicText) -> tuple:
    text.refresh_from_db()
    return text.state, text.content, text.rejection_reason, text.decided_by_id, text.published_at


def _register_submitted(world, api) -> PublicText:
    q = api(world.quality)
    response = q.post(API, {"kind": TextKind.REGISTER, "ai_system": world.ai_system.pk}, format="json")
    assert response.status_code == 201
    pk = response.json()["id"]
    assert q.post(f"{API}{pk}/submit/").status_code == 200
    return PublicText.objects.get(pk=pk)


def test_full_flow_through_the_api_is_audited(tworld, api):
    w = tworld
    text = _register_submitted(w, api)
    assert text.content["public_purpose"].startswith("Repérer les fractures")
    rep = api(w.patient_reps[0])
    response = rep.post(f"{API}{text.pk}/reject/", {"reason": "Phrase trop longue sur l'opposition."}, format="json")
    assert response.status_code == 200 and response.json()["state"] == TextState.REJECTED
    q = api(w.quality)
    assert q.post(f"{API}{text.pk}/revise/", {}, format="json").json()["state"] == TextState.DRAFT
    assert q.post(f"{API}{text.pk}/submit/").status_code == 200
    assert rep.post(f"{API}{text.pk}/approve/").json()["state"] == TextState.APPROVED
    assert q.post(f"{API}{text.pk}/publish/").json()["state"] == TextState.PUBLISHED
    events = list(AuditEvent.objects.filter(action__startswith="public_text.").order_by("pk")
                  .values_list("action", "actor_id"))
    assert events == [("public_text.draft", w.quality.pk), ("public_text.submit", w.quality.pk),
                      ("public_text.reject", w.patient_reps[0].pk), ("public_text.revise", w.quality.pk),
                      ("public_text.submit", w.quality.pk), ("public_text.approve", w.patient_reps[0].pk),
                      ("public_text.publish", w.quality.pk)]
    reject = AuditEvent.objects.get(action="public_text.reject")
    assert reject.data["reason"] == "Phrase trop longue sur l'opposition."
    assert "Repérer les fractures" in html(Client().get("/public/register/"))


def test_publishing_a_new_entry_supersedes_the_previous_one(tworld, api):
    w = tworld
    first = _register_submitted(w, api)
    api(w.patient_reps[0]).post(f"{API}{first.pk}/approve/")
    api(w.quality).post(f"{API}{first.pk}/publish/")
    api(w.quality).patch(f"/api/ai-systems/{w.ai_system.pk}/public-profile/",
                         {"public_purpose": "Nouvelle finalité."}, format="json")
    second = _register_submitted(w, api)
    api(w.patient_reps[1]).post(f"{API}{second.pk}/approve/")
    assert api(w.quality).post(f"{API}{second.pk}/publish/").status_code == 200
    first.refresh_from_db()
    assert first.state == TextState.SUPERSEDED
    page = html(Client().get("/public/register/"))
    assert "Nouvelle finalité." in page and "Repérer les fractures" not in page
    assert AuditEvent.objects.filter(action="public_text.supersede", object_id=str(first.pk)).exists()


@pytest.mark.parametrize(("who", "step", "status"), [
    ("quality", "approve", 403), ("admin", "approve", 403), ("chair", "approve", 404),
    ("secretary", "approve", 404), ("management", "approve", 404), ("clinician", "approve", 404),
    ("dpo", "approve", 404), ("outsider_rep", "approve", 404), ("former_rep", "approve", 404),
    ("rep", "approve", 200),
    ("outsider_rep", "reject", 404), ("clinician", "reject", 404), ("quality", "reject", 403),
    ("rep", "publish", 403), ("chair", "publish", 404), ("rep", "submit", 403), ("rep", "revise", 403),
])
def test_who_may_take_each_step_through_the_api(tworld, api, who, step, status):
    text = _register_submitted(tworld, api)
    before = _snapshot(text)
    n_events = AuditEvent.objects.count()
    response = api(_user(tworld, who)).post(f"{API}{text.pk}/{step}/", {"reason": "Non."}, format="json")
    assert response.status_code == status
    if status != 200:
        assert _snapshot(text) == before and AuditEvent.objects.count() == n_events
        assert "Repérer" not in response.content.decode()


@pytest.mark.parametrize(("who", "listed", "detail"), [
    ("quality", True, 200), ("admin", True, 200), ("rep", True, 200), ("outsider_rep", False, 404),
    ("former_rep", False, 404), ("chair", None, 404), ("management", None, 404), ("clinician", None, 404),
    ("dpo", None, 404),
])
def test_who_reads_a_submitted_text_through_the_api(tworld, api, who, listed, detail):
    text = _register_submitted(tworld, api)
    client = api(_user(tworld, who))
    response = client.get(API)
    if listed is None:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert (text.pk in [t["id"] for t in response.json()["results"]]) is listed
    assert client.get(f"{API}{text.pk}/").status_code == detail


def test_a_draft_is_hidden_from_the_patient_representatives(tworld, api):
    response = api(tworld.quality).post(API, {"kind": TextKind.REGISTER, "ai_system": tworld.ai_system.pk},
                                        format="json")
    pk = response.json()["id"]
    rep = api(tworld.patient_reps[0])
    assert rep.get(f"{API}{pk}/").status_code == 404
    assert rep.post(f"{API}{pk}/approve/").status_code == 404


@pytest.mark.parametrize(("state_steps", "step"), [
    ([], "publish"),
    (["submit"], "submit"), (["submit"], "publish"), (["submit"], "revise"),
    (["submit", "approve"], "approve"), (["submit", "approve"], "reject"), (["submit", "approve"], "submit"),
    (["submit", "approve", "publish"], "publish"), (["submit", "approve", "publish"], "revise"),
    (["submit", "reject"], "approve"), (["submit", "reject"], "publish"),
])
def test_forbidden_transitions_are_409_and_change_nothing(tworld, api, state_steps, step):
    w = tworld
    pk = api(w.quality).post(API, {"kind": TextKind.REGISTER, "ai_system": w.ai_system.pk}, format="json").json()["id"]
    deciders = {"approve", "reject"}
    for s in state_steps:
        who = w.patient_reps[0] if s in deciders else w.quality
        assert api(who).post(f"{API}{pk}/{s}/", {"reason": "Trop long."}, format="json").status_code == 200, s
    text = PublicText.objects.get(pk=pk)
    before = _snapshot(text)
    n_events = AuditEvent.objects.count()
    who = w.patient_reps[0] if step in deciders else w.quality
    response = api(who).post(f"{API}{pk}/{step}/", {"reason": "Encore."}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"
    assert _snapshot(text) == before and AuditEvent.objects.count() == n_events


def test_a_second_open_text_for_the_same_subject_is_409(tworld, api):
    q = api(tworld.quality)
    payload = {"kind": TextKind.REGISTER, "ai_system": tworld.ai_system.pk}
    assert q.post(API, payload, format="json").status_code == 201
    assert q.post(API, payload, format="json").status_code == 409
    assert PublicText.objects.count() == 1


def test_submitting_an_incomplete_register_entry_is_400_naming_the_fields(tworld, api):
    api(tworld.quality).patch(f"/api/ai-systems/{tworld.ai_system.pk}/public-profile/",
                              {"how_to_object": "", "public_contact": ""}, format="json")
    q = api(tworld.quality)
    pk = q.post(API, {"kind": TextKind.REGISTER, "ai_system": tworld.ai_system.pk}, format="json").json()["id"]
    response = q.post(f"{API}{pk}/submit/")
    assert response.status_code == 400
    assert set(response.json()["extra"]) == {"how_to_object", "public_contact"}
    assert PublicText.objects.get(pk=pk).state == TextState.DRAFT


def test_rejection_needs_a_reason_without_identifier(tworld, api):
    text = _register_submitted(tworld, api)
    rep = api(tworld.patient_reps[0])
    assert rep.post(f"{API}{text.pk}/reject/", {"reason": "   "}, format="json").status_code == 400
    response = rep.post(f"{API}{text.pk}/reject/", {"reason": "Voir avec Mme Martin au 06 12 34 56 78."},
                        format="json")
    assert response.status_code == 400 and response.json()["code"] == "direct_identifier"
    assert "06 12" not in response.content.decode()
    text.refresh_from_db()
    assert text.state == TextState.SUBMITTED and text.rejection_reason == ""
    assert not AuditEvent.objects.filter(action="public_text.reject").exists()


def test_falc_lines_are_checked_before_they_are_stored(tworld, api):
    q = api(tworld.quality)
    pk = q.post(API, {"kind": TextKind.FALC, "report": tworld.report.pk}, format="json").json()["id"]
    before = PublicText.objects.get(pk=pk).content
    long_line = "Ceci est une phrase beaucoup trop longue pour un texte facile à lire et à comprendre par tous."
    response = q.post(f"{API}{pk}/revise/", {"lines": f"[doctor] Le médecin décide.\n{long_line}\n"
                                                      "Première phrase. Deuxième phrase.\n[robot] Bonjour."},
                      format="json")
    assert response.status_code == 400
    errors = response.json()["extra"]["lines"]
    assert any(e.startswith("Line 2: At most 15 words") for e in errors)
    assert any(e.startswith("Line 3: One sentence per line") for e in errors)
    assert any(e.startswith("Line 4: unknown pictogram [robot]") for e in errors)
    response = q.post(f"{API}{pk}/revise/", {"lines": "Le patient Jean habite 12 rue des Lilas, 75011 Paris."},
                      format="json")
    assert response.status_code == 400 and response.json()["code"] == "direct_identifier"
    assert PublicText.objects.get(pk=pk).content == before
    response = q.post(f"{API}{pk}/revise/", {"lines": "[doctor] Le médecin décide.\n\nL'outil aide le médecin."},
                      format="json")
    assert response.status_code == 200
    assert response.json()["content"] == {"lines": [{"icon": "doctor", "text": "Le médecin décide."},
                                                    {"icon": "", "text": "L'outil aide le médecin."}]}


def test_falc_text_only_for_a_published_public_report(tworld, api):
    from reports import services as report_services  # noqa: PLC0415 - the internal report is this test's own

    internal = report_services.report_publish(actor=tworld.quality, campaign=tworld.campaign, audience="internal")
    response = api(tworld.quality).post(API, {"kind": TextKind.FALC, "report": internal.pk}, format="json")
    assert response.status_code == 400
    corrected = report_services.report_correct(actor=tworld.quality, report=tworld.report, reason="Erratum.")
    response = api(tworld.quality).post(API, {"kind": TextKind.FALC, "report": tworld.report.pk}, format="json")
    assert response.status_code == 409
    assert api(tworld.quality).post(API, {"kind": TextKind.FALC, "report": corrected.pk},
                                    format="json").status_code == 201


# --- Web pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "status"), [
    ("quality", 200), ("admin", 200), ("rep", 200), ("outsider_rep", 200), ("chair", 403), ("secretary", 403),
    ("management", 403), ("clinician", 403), ("dpo", 403),
])
def test_web_list_by_role(tworld, api, who, status):
    text = _register_submitted(tworld, api)
    response = login(_user(tworld, who)).get("/transparency/")
    assert response.status_code == status
    page = html(response)
    shown = f"/transparency/texts/{text.pk}/" in page
    assert shown is (who in ("quality", "admin", "rep"))


@pytest.mark.parametrize(("who", "status"), [
    ("quality", 200), ("admin", 200), ("rep", 200), ("outsider_rep", 404), ("former_rep", 404), ("chair", 404),
    ("management", 404), ("clinician", 404), ("dpo", 404),
])
def test_web_text_page_by_role(tworld, api, who, status):
    text = _register_submitted(tworld, api)
    response = login(_user(tworld, who)).get(f"/transparency/texts/{text.pk}/")
    assert response.status_code == status
    assert ("Repérer les fractures" in html(response)) is (status == 200)


def test_web_flow_quality_and_patient_representative(tworld):
    w = tworld
    quality, rep = login(w.quality), login(w.patient_reps[0])
    response = quality.post(f"/transparency/reports/{w.report.pk}/falc-draft/")
    assert response.status_code == 302
    text = PublicText.objects.get(kind=TextKind.FALC)
    url = f"/transparency/texts/{text.pk}/"
    page = html(quality.get(url))
    assert "Soumettre aux représentants des usagers" in page and "Approuver le texte" not in page
    response = quality.post(url + "edit/", {"lines": "Une phrase. Puis une autre."})
    assert response.status_code == 400 and "One sentence per line" in html(response)
    assert quality.post(url + "edit/", {"lines": "[ai] L'hôpital utilise un outil d'IA.\n"
                                                 "[doctor] Le médecin décide toujours."}).status_code == 302
    assert quality.post(url + "submit/").status_code == 302
    assert rep.get(url).status_code == 200
    response = rep.post(url + "reject/", {"reason": ""})
    assert response.status_code == 400
    assert rep.post(url + "approve/").status_code == 302
    response = rep.post(url + "publish/")
    assert response.status_code == 403
    response = quality.post(url + "approve/")
    assert response.status_code == 403
    response = quality.post(url + "submit/")
    assert response.status_code == 409
    assert quality.post(url + "publish/").status_code == 302
    assert quality.post(url + "frobnicate/").status_code == 404
    text.refresh_from_db()
    assert text.state == TextState.PUBLISHED and text.decided_by == w.patient_reps[0]
    falc = html(Client().get(f"/public/reports/{w.report.pk}/easy-to-read/"))
    assert "Le médecin décide toujours." in falc


def test_web_draft_buttons_are_for_the_quality_team_only(tworld):
    for user in (tworld.patient_reps[0], tworld.management):
        client = login(user)
        assert client.post(f"/transparency/ai-systems/{tworld.ai_system.pk}/register-draft/").status_code == 403
        assert client.post(f"/transparency/reports/{tworld.report.pk}/falc-draft/").status_code == 403
    assert not PublicText.objects.exists()
    assert Client().post(f"/transparency/reports/{tworld.report.pk}/falc-draft/").status_code == 302
    assert not PublicText.objects.exists()


def test_hostile_input_is_refused_and_changes_nothing(tworld, api):
    q = api(tworld.quality)
    assert q.get(f"{API}99999999999999999999/").status_code == 404
    assert Client().get("/public/reports/99999999999999999999/").status_code == 404
    assert q.post(API, {"kind": "register", "ai_system": 99999999999999999999}, format="json").status_code == 400
    assert q.post(API, {"kind": "falc"}, format="json").status_code == 400
    pk = q.post(API, {"kind": TextKind.FALC, "report": tworld.report.pk}, format="json").json()["id"]
    before = PublicText.objects.get(pk=pk).content
    assert q.post(f"{API}{pk}/revise/", {"lines": "Le médecin\x00 décide."}, format="json").status_code == 400
    assert PublicText.objects.get(pk=pk).content == before
