"""The reviewer's one-page workspace and the patient representative's reading form, from the
outside: blinding of every response before the lock (pages, htmx fragments, API), the reveal in
place, "lock and next", the refused "concur" and the refused patient-representative
classification (web and API, changing nothing), the queue that empties when a campaign ends,
constant query counts, the AI system's patient information sheet and the new import columns."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import AuditEvent
from cases import services as case_services
from cases.importing.service import import_cases
from cases.models import AISystem, Case
from cases.rows import RowError
from common.exceptions import Forbidden, ValidationFailed
from reviews import services
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment, CampaignCase, Classification, Verdict
from tests.helpers import csv_bytes, html, snapshot
from tests.login import login
from tests.workflows import build_world, campaign_in, submit_all
from web import reads

pytestmark = pytest.mark.django_db

AI_OUTPUT = "AIOUT-SENTINEL"
AI_VERSION = "AIVER-SENTINEL"
FINAL_LABEL = "FINAL-SENTINEL"
REFERENCE = "REFERENCE-SENTINEL"
OTHER_RATIONALE = "OTHER-READER-SENTINEL"
SEALED = (AI_OUTPUT, "0.987654", "0,987654", AI_VERSION, FINAL_LABEL, REFERENCE, OTHER_RATIONALE)
TRACE = "Information orale donnée avant l'examen, notée au dossier."
SUMMARY = "Radiographie du poignet après une chute."
SHEET = "Un logiciel d'aide au diagnostic peut relire votre examen."
HX = {"HTTP_HX_REQUEST": "true"}
CLINICIAN_VERDICT = {"label": "no_fracture", "confidence": "4", "rationale": "Corticale continue.", "confirm": "on"}
REP_VERDICT = {"patient_informed": "no", "information_understandable": "unknown", "rights_respected": "yes",
               "equity_concern": "yes", "comments": "", "confirm": "on"}
CLASSIFY = {"discrepancy": "understandable", "would_have_changed": "no", "confirm": "on"}


def build(n_cases: int = 2, *, ai_output: str = AI_OUTPUT):
    """``n_cases`` cases in review, each read by the clinician, the chair and the patient
    representative, with sealed values planted where they could leak: the AI output, score and
    version, the final decision, a reference label, and the chair's locked verdict."""
    world = build_world(n_cases=n_cases, n_clinicians=1, n_patient_reps=1)
    Case.objects.update(ai_label=ai_output, ai_score=0.987654, ai_version=AI_VERSION, final_label=FINAL_LABEL,
                        information_trace=TRACE, plain_summary=SUMMARY)
    case_services.ai_system_set_patient_information(actor=world.quality, ai_system=world.ai_system, text=SHEET)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=n_cases)
    CampaignCase.objects.update(reference_label=REFERENCE)
    for a in Assignment.objects.filter(reviewer=world.chair):
        services.assignment_submit(actor=world.chair, assignment=a, data={
            "label": "fracture", "confidence": 3, "rationale": OTHER_RATIONALE})
    clinician, rep = world.clinicians[0], world.patient_reps[0]
    return SimpleNamespace(
        world=world, campaign=campaign, clinician=clinician, rep=rep,
        mine=list(Assignment.objects.filter(reviewer=clinician).order_by("due_date", "display_order")),
        reps=list(Assignment.objects.filter(reviewer=rep).order_by("due_date", "display_order")),
    )


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def assert_sealed_absent(body: str) -> None:
    for sentinel in SEALED:
        assert sentinel not in body, sentinel


def state_of(a) -> str:
    return Assignment.objects.get(pk=a.pk).state


@pytest.mark.parametrize("who", ["clinician", "rep"])
def test_nothing_sealed_reaches_a_blind_reader_through_any_response(who):
    w = build()
    user = getattr(w, who)
    a = (w.mine if who == "clinician" else w.reps)[0]
    web, api = login(user), api_client(user)
    verdict = CLINICIAN_VERDICT if who == "clinician" else REP_VERDICT
    url = f"/reviews/{a.pk}/"
    responses = [web.get("/reviews/"), web.get(url), web.get(url, **HX)]
    responses.append(web.post(f"{url}open/"))
    responses += [web.get(url), web.get(url, **HX)]
    responses.append(web.post(f"{url}draft/", {**verdict, "confirm": ""}, **HX))  # a draft, in place
    responses.append(web.post(f"{url}submit/", {**verdict, "confirm": ""}, **HX))  # unconfirmed: 400
    responses.append(web.post(f"{url}unblind/", **HX))  # not locked yet: 409
    responses.append(web.post(f"{url}classify/", CLASSIFY, **HX))  # 409
    responses.append(web.post(f"{url}next/"))
    responses += [api.get(f"/api/assignments/{a.pk}/"), api.get("/api/assignments/")]
    statuses = [r.status_code for r in responses]
    assert statuses == [200, 200, 200, 302, 200, 200, 200, 400, 409, 409, 302, 200, 200]
    for r in responses:
        assert_sealed_absent(r.content.decode())
    assert state_of(a) == AssignmentState.OPENED
    assert not Verdict.objects.filter(assignment=a).exists()
    if who == "rep":  # the patient representative's own material is on their form
        body = html(web.get(url))
        assert SHEET in body and TRACE in body and SUMMARY in body
        assert 'name="discrepancy"' not in body


def test_a_patient_representative_never_sees_the_sealed_output_even_after_the_lock():
    w = build()
    a = w.reps[0]
    web = login(w.rep)
    web.post(f"/reviews/{a.pk}/open/")
    r = web.post(f"/reviews/{a.pk}/submit/", REP_VERDICT, **HX)
    assert r.status_code == 200
    assert state_of(a) == AssignmentState.SUBMITTED
    for response in (r, web.get(f"/reviews/{a.pk}/")):
        body = html(response)
        assert_sealed_absent(body)
        assert "Voir la sortie de l'IA" not in body and 'name="discrepancy"' not in body


def test_lock_with_reveal_swaps_the_workspace_in_place():
    w = build()
    a = w.mine[0]
    web = login(w.clinician)
    web.post(f"/reviews/{a.pk}/open/")
    r = web.post(f"/reviews/{a.pk}/submit/", {**CLINICIAN_VERDICT, "reveal": "1"}, **HX)
    assert r.status_code == 200
    assert [t.name for t in r.templates][0] == "web/_workspace.html"
    body = html(r)
    assert "<html" not in body  # a fragment, not a page
    assert AI_OUTPUT in body and AI_VERSION in body and FINAL_LABEL in body
    assert OTHER_RATIONALE not in body and REFERENCE not in body  # never shown to a reviewer
    assert 'id="assignment-state" hx-swap-oob="true"' in body
    assert state_of(a) == AssignmentState.UNBLINDED
    actions = list(AuditEvent.objects.filter(object_id=str(a.pk), object_type="reviews.assignment")
                   .order_by("pk").values_list("action", flat=True))
    assert actions == ["assignment.open", "assignment.submit", "assignment.unblind"]


def test_classify_and_next_opens_the_next_case_then_returns_to_the_queue():
    w = build()
    first, second = w.mine
    web = login(w.clinician)
    web.post(f"/reviews/{first.pk}/open/")
    web.post(f"/reviews/{first.pk}/submit/", {**CLINICIAN_VERDICT, "reveal": "1"})
    r = web.post(f"/reviews/{first.pk}/classify/", {**CLASSIFY, "next": "1"})
    assert r.status_code == 302 and r["Location"] == f"/reviews/{second.pk}/"
    assert state_of(first) == AssignmentState.CLASSIFIED
    assert state_of(second) == AssignmentState.OPENED
    assert AuditEvent.objects.filter(action="assignment.open", object_id=str(second.pk)).count() == 1

    r = web.post(f"/reviews/{second.pk}/submit/", {**CLINICIAN_VERDICT, "reveal": "1"}, **HX)
    r = web.post(f"/reviews/{second.pk}/classify/", {**CLASSIFY, "next": "1"}, **HX)
    assert (r.status_code, r["HX-Redirect"]) == (204, "/reviews/")
    assert "Vous n'avez pas d'autre dossier à relire pour le moment." in html(web.get("/reviews/"))


def test_concur_is_not_offered_and_refused_when_the_reading_differs_web_and_api():
    w = build(ai_output="fracture")  # the clinician reads "no_fracture"
    a, b = w.mine
    web = login(w.clinician)
    for x in (a, b):
        services.assignment_open(actor=w.clinician, assignment=x)
        web.post(f"/reviews/{x.pk}/submit/", {**CLINICIAN_VERDICT, "reveal": "1"})
    body = html(web.get(f"/reviews/{a.pk}/"))
    assert 'value="concur"' not in body and 'value="understandable"' in body
    before = snapshot()

    r = web.post(f"/reviews/{a.pk}/classify/", {**CLASSIFY, "discrepancy": "concur"})
    assert r.status_code == 400
    assert "Votre lecture verrouillée diffère de la sortie de l'IA" in html(r)
    r = api_client(w.clinician).post(f"/api/assignments/{b.pk}/classify/",
                                     {"discrepancy": "concur", "would_have_changed": False}, format="json")
    assert (r.status_code, r.json()["code"]) == (400, "concur_contradicts_reading")
    with pytest.raises(ValidationFailed) as refused:
        services.assignment_classify(actor=w.clinician, assignment=a, discrepancy="concur", would_have_changed=False)
    assert refused.value.code == "concur_contradicts_reading"
    assert snapshot() == before
    assert not Classification.objects.exists()


def test_concur_is_offered_and_accepted_when_the_reading_is_the_ai_output():
    w = build(ai_output="no_fracture")
    a = w.mine[0]
    web = login(w.clinician)
    web.post(f"/reviews/{a.pk}/open/")
    web.post(f"/reviews/{a.pk}/submit/", {**CLINICIAN_VERDICT, "reveal": "1"})
    assert 'value="concur"' in html(web.get(f"/reviews/{a.pk}/"))
    r = web.post(f"/reviews/{a.pk}/classify/", {**CLASSIFY, "discrepancy": "concur"})
    assert r.status_code == 302
    assert Classification.objects.get(assignment=a).discrepancy == "concur"


def test_a_patient_representative_is_refused_a_classification_web_and_api():
    w = build()
    a = w.reps[0]
    services.assignment_open(actor=w.rep, assignment=a)
    services.assignment_submit(actor=w.rep, assignment=a, data={**REP_VERDICT, "equity_concern": True})
    services.assignment_unblind(actor=w.rep, assignment=a)  # the API still allows it
    web = login(w.rep)
    before = snapshot()
    r = web.post(f"/reviews/{a.pk}/classify/", CLASSIFY)
    assert r.status_code == 409
    assert "n'a jamais à classer un écart clinique" in html(r)
    r = api_client(w.rep).post(f"/api/assignments/{a.pk}/classify/",
                               {"discrepancy": "understandable", "would_have_changed": False}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "classification_clinicians_only")
    assert snapshot() == before
    # Not offered either: the transition cannot succeed for them.
    api = api_client(w.rep)
    assert api.get(f"/api/assignments/{a.pk}/").json()["available_transitions"] == []
    row = next(r for r in api.get("/api/assignments/").json()["results"] if r["id"] == a.pk)
    assert row["available_transitions"] == []


def test_the_queue_empties_when_the_campaign_is_cancelled_and_pending_reviews_are_withdrawn():
    w = build()
    web = login(w.rep)
    assert "Continuer avec Campagne T1" in html(web.get("/reviews/"))
    services.campaign_cancel(actor=w.world.quality, campaign=w.campaign, reason="Version retirée.")
    body = html(web.get("/reviews/"))
    assert "Aucun dossier à relire pour le moment." in body
    assert {state_of(a) for a in w.reps} == {AssignmentState.WITHDRAWN}
    events = AuditEvent.objects.filter(action="assignment.withdraw", object_id__in=[str(a.pk) for a in w.reps])
    assert events.count() == len(w.reps)


def test_the_patient_representatives_queue_empties_when_the_review_round_closes():
    w = build(n_cases=1)
    for a in Assignment.objects.filter(state=AssignmentState.ASSIGNED):
        data = REP_VERDICT | {"equity_concern": True} if a.kind == "patient_rep" else {"label": "fracture"}
        services.assignment_submit(actor=a.reviewer, assignment=a, data=data)
    services.campaign_close_review(actor=w.world.quality, campaign=w.campaign)
    assert "Aucun dossier à relire pour le moment." in html(login(w.rep).get("/reviews/"))
    # A clinician still has their classification to do: their row stays, first in the queue.
    assert f"/reviews/{w.mine[0].pk}/" in html(login(w.clinician).get("/reviews/"))


def _queries(client, method: str, url: str, data=None, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {}, **headers)
    assert response.status_code in (200, 204, 302), (url, response.status_code)
    return len(ctx.captured_queries)


def _workspace_counts(n_cases: int) -> list[int]:
    w = build(n_cases=n_cases)
    first = w.mine[0]
    web = login(w.clinician)
    counts = [_queries(web, "get", "/reviews/")]
    web.post(f"/reviews/{first.pk}/open/")
    counts.append(_queries(web, "get", f"/reviews/{first.pk}/"))
    counts.append(_queries(web, "post", f"/reviews/{first.pk}/submit/", {**CLINICIAN_VERDICT, "reveal": "1"}, **HX))
    counts.append(_queries(web, "post", f"/reviews/{first.pk}/classify/", {**CLASSIFY, "next": "1"}, **HX))
    rep = login(w.rep)
    rep_first = w.reps[0]
    rep.post(f"/reviews/{rep_first.pk}/open/")
    counts.append(_queries(rep, "get", f"/reviews/{rep_first.pk}/"))
    counts.append(_queries(rep, "post", f"/reviews/{rep_first.pk}/submit/", {**REP_VERDICT, "next": "1"}, **HX))
    return counts


WORKSPACE_QUERIES = [4, 5, 23, 19, 5, 22]
"""Per request of ``_workspace_counts``: the queue, the blind case page, the lock with the reveal
(htmx), the classification with "next" (htmx), the patient representative's form page and their
lock with "next" (htmx). The same whatever the number of cases in the queue."""


@pytest.mark.parametrize("n_cases", [2, 6])
def test_workspace_query_counts_do_not_grow_with_the_queue(n_cases):
    assert _workspace_counts(n_cases) == WORKSPACE_QUERIES


def test_patient_information_sheet_is_the_quality_teams_and_audited():
    world = build_world(n_cases=0, n_clinicians=1)
    ai = world.ai_system
    case_services.ai_system_set_patient_information(actor=world.quality, ai_system=ai, text=f"  {SHEET}  ")
    assert AISystem.objects.get(pk=ai.pk).patient_information == SHEET
    event = AuditEvent.objects.get(action="ai_system.patient_information")
    assert event.data == {"chars_before": 0, "chars_after": len(SHEET)}
    before = snapshot()
    with pytest.raises(Forbidden):
        case_services.ai_system_set_patient_information(actor=world.clinicians[0], ai_system=ai, text="Autre.")
    with pytest.raises(ValidationFailed):
        case_services.ai_system_set_patient_information(actor=world.quality, ai_system=ai,
                                                        text="Contact : jean.martin@example.org")
    assert snapshot() == before
    r = api_client(world.quality).put(f"/api/ai-systems/{ai.pk}/patient_information/", {"text": "Nouvelle notice."},
                                      format="json")
    assert (r.status_code, r.json()["patient_information"]) == (200, "Nouvelle notice.")
    r = api_client(world.clinicians[0]).put(f"/api/ai-systems/{ai.pk}/patient_information/", {"text": "X"},
                                            format="json")
    assert r.status_code in (403, 404)
    assert AISystem.objects.get(pk=ai.pk).patient_information == "Nouvelle notice."


def test_import_reads_the_trace_and_summary_columns_and_scans_them():
    world = build_world(n_cases=0)

    def row(i: int, **extra) -> dict:
        return {"accession_number": f"ACCW{i:03d}", "patient_id": f"PATW{i:03d}", "exam_date": "2026-03-10",
                "site": "Nord", "ai_label": "fracture", "information_trace": "", "plain_summary": ""} | extra

    rows = [row(0, information_trace=TRACE, plain_summary=SUMMARY),
            row(1, information_trace="Joindre le patient au 06 12 34 56 78."),
            row(2, plain_summary="Résultat IA : fracture, chute sur le poignet.")]
    result = import_cases(actor=world.quality, ai_system=world.ai_system, raw=csv_bytes(rows), filename="t.csv")
    assert result.created == 2
    assert result.errors == [RowError(3, "information_trace", "the text carries a phone number: the row is rejected")]
    clean = Case.objects.get(information_trace=TRACE)
    assert clean.plain_summary == SUMMARY
    flagged = Case.objects.exclude(pk=clean.pk).get()
    assert [f["field"] for f in flagged.blinding_flags] == ["plain_summary"]  # names the AI output: held out


def test_the_queue_puts_the_campaign_under_review_first():
    """A campaign out of review (adjudication, earlier deadline) where the clinician still has
    classifications to do comes after the campaign under review (later deadline)."""
    world = build_world(n_cases=4, n_clinicians=1, n_patient_reps=1)
    earlier = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)
    submit_all(earlier)
    services.campaign_close_review(actor=world.quality, campaign=earlier)
    later = services.campaign_create(
        actor=world.quality, ai_system=world.ai_system, committee=world.committee, name="Campagne T2",
        period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 6, 30), sample_size=2,
        review_deadline=dt.date(2027, 1, 31), seed=7)
    for step in (services.campaign_schedule, services.campaign_draw_sample, services.campaign_start_review):
        later = step(actor=world.quality, campaign=later)
    clinician = world.clinicians[0]
    assert earlier.review_deadline < later.review_deadline

    groups = reads.reviewer_queue(clinician)
    assert [g["name"] for g in groups] == ["Campagne T2", "Campagne T1"]
    assert all(row["needs_action"] for row in groups[1]["rows"])  # classifications still to do
    body = html(login(clinician).get("/reviews/"))
    assert "Continuer avec Campagne T2" in body
    assert body.index("Campagne T2") < body.index("Campagne T1")
    # The patient representative has nothing left in the campaign out of review.
    assert [g["name"] for g in reads.reviewer_queue(world.patient_reps[0])] == ["Campagne T2"]
