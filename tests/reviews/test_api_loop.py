"""The whole loop through the HTTP API only, as the right role at each step, and the concordance
figures checked against scikit-learn on the verdicts the test chose."""

import csv
import datetime as dt
import io
from collections import Counter
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from sklearn.metrics import accuracy_score, cohen_kappa_score

from accounts.enums import Role
from accounts.second_factor import requires_second_factor
from audit.services import audit_verify
from reviews import selectors, services
from tests.factories import PASSWORD, AISystemFactory, CaseFactory, UserFactory
from tests.login import enrolled_device, next_code
from tests.workflows import build_world, submit_all

User = get_user_model()
F, N = "fracture", "no_fracture"

# One row per imported case: AI output, clinician's final decision, the first and the second
# clinician reader's blind verdicts, and the chair's adjudication where the readers split.
PLAN = [
    (F, F, F, F, None),
    (F, F, F, F, None),
    (F, N, F, N, F),
    (F, F, N, N, None),  # AI wrong and followed: the case the human guarantee is for
    (N, N, N, N, None),
    (N, N, N, N, None),
    (N, F, F, F, None),  # AI wrong, overridden
    (N, N, N, F, N),
    (F, F, F, F, None),
    (N, N, N, N, None),
    (N, F, F, N, F),
    (F, N, N, N, None),
]


def import_csv() -> bytes:
    """The hospital's export: `;`-separated, decimal comma, dd/mm/yyyy dates, Windows-1252."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["accession_number", "patient_id", "exam_date", "site", "service", "sex", "age",
                     "ai_label", "ai_score", "final_label", "clinician_id", "clinical_context",
                     "report_text"])
    for i, (ai, final, *_) in enumerate(PLAN):
        writer.writerow([
            f"ACC-{i:04d}", f"IPP{i:06d}", f"{i + 1:02d}/03/2026", "Nord" if i % 2 else "Sud", "Urgences",
            "F" if i % 3 else "M", 30 + 4 * i, ai, f"0,{91 - 5 * i if ai == F else 20 + i}", final,
            f"DR-{i % 3}", f"Dossier {i} : chute, douleur du poignet.", "Radiographie face et profil.",
        ])
    return out.getvalue().encode("cp1252")


def as_(user) -> APIClient:
    """A client for ``user`` loaded afresh, like a request would (no per-object caches)."""
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def token_client(username: str) -> APIClient:
    """A token client; roles that need a second factor send the code of their authenticator."""
    anonymous = APIClient()
    user = User.objects.get(username=username)
    body = {"username": username, "password": PASSWORD}
    if requires_second_factor(user):
        body["otp"] = next_code(enrolled_device(user))
    r = anonymous.post("/api/auth/token/", body, format="json")
    assert r.status_code == 200, r.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    return client


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def all_pages(client: APIClient, url: str) -> list[dict]:
    rows, body = [], ok(client.get(url))
    rows.extend(body["results"])
    while body["next"]:
        body = ok(client.get(body["next"]))
        rows.extend(body["results"])
    return rows


@pytest.mark.django_db
def test_whole_loop_through_the_api():
    # Arrange: people exist (accounts are provisioned by the administrator, outside this API).
    UserFactory(role=Role.QUALITY, username="qualite")
    chair = UserFactory(role=Role.CHAIR, username="presidente")
    secretary = UserFactory(role=Role.SECRETARY, username="secretaire")
    clinicians = [UserFactory(role=Role.CLINICIAN, username=f"radiologue{i}") for i in range(3)]
    reps = [UserFactory(role=Role.PATIENT_REP, username=f"usager{i}") for i in range(2)]
    q = token_client("qualite")  # a real token for the quality team; the others are authenticated directly

    # Quality registers the AI system and imports its cases.
    ai = ok(q.post("/api/ai-systems/", {
        "name": "PoignetIA", "vendor": "Radiolab SAS", "version": "3.0",
        "intended_use": "Fractures du poignet", "output_type": "binary", "labels": [F, N],
        "positive_label": F,
        "acceptance_thresholds": {"sensitivity": 0.9},
    }, format="json"), 201)
    batch = ok(q.post("/api/import-batches/", {
        "ai_system": ai["id"], "file": SimpleUploadedFile("export_mars.csv", import_csv(), "text/csv"),
    }, format="multipart"), 201)
    assert (batch["status"], batch["rows_total"], batch["rows_created"], batch["rows_rejected"],
            batch["errors"]) == ("completed", 12, 12, 0, [])
    imported = all_pages(q, f"/api/cases/?ai_system={ai['id']}")
    assert [(c["ai_label"], c["final_label"]) for c in imported] == [(p[0], p[1]) for p in PLAN]
    assert imported[2]["ai_score"] == 0.81
    assert imported[2]["exam_date"] == "2026-03-03"

    # The chair composes the committee.
    committee = ok(as_(chair).post("/api/committees/", {
        "name": "Collège imagerie", "hospital_group": "GHT Nord", "ai_system_ids": [ai["id"]],
    }, format="json"), 201)
    seats = [(chair, "chair", "Direction médicale"), (secretary, "secretary", "Qualité"),
             *[(u, "clinician", "Radiologie") for u in clinicians], *[(u, "patient_rep", "") for u in reps]]
    for user, role, service in seats:
        ok(as_(chair).post(f"/api/committees/{committee['id']}/members/", {
            "user": user.pk, "role": role, "term_start": "2026-01-01", "service": service,
        }, format="json"), 201)
    assert len(ok(as_(secretary).get(f"/api/committees/{committee['id']}/"))["members"]) == 7

    # Quality creates and runs the campaign up to the review.
    campaign = ok(q.post("/api/campaigns/", {
        "name": "Campagne mars 2026", "ai_system": ai["id"], "committee": committee["id"],
        "period_start": "2026-03-01", "period_end": "2026-03-31", "sample_size": 12,
        "review_deadline": "2026-05-31", "seed": 73,
    }, format="json"), 201)
    url = f"/api/campaigns/{campaign['id']}/"
    for step, state in [("schedule", "scheduled"), ("draw_sample", "sampled"), ("start_review", "in_review")]:
        assert ok(q.post(url + f"{step}/"))["state"] == state
    assert ok(q.get(url))["population_size"] == 12

    # Who reads what: the quality team sees the assignments (never their content).
    staff_rows = all_pages(q, "/api/assignments/")
    assert len(staff_rows) == 12 * 3
    case_of = {row["id"]: row["campaign_case"] for row in staff_rows}
    order = {}  # campaign case id -> clinician assignment ids in reader order (first, second)
    for row in sorted(staff_rows, key=lambda r: r["id"]):
        if row["kind"] == "clinician":
            order.setdefault(row["campaign_case"], []).append(row["id"])
    plan_of_case = {c["id"]: PLAN[i] for i, c in enumerate(imported)}

    # Every reviewer lists their queue, opens, submits blind, unblinds, classifies.
    for reviewer in [chair, *clinicians, *reps]:
        me = as_(reviewer)
        queue = all_pages(me, "/api/assignments/")
        assert [row["display_order"] for row in queue] == list(range(1, len(queue) + 1))
        for row in queue:
            assert "ai_label" not in row["case"] and "final_label" not in row["case"]
            a_url = f"/api/assignments/{row['id']}/"
            assert ok(me.post(a_url + "open/"))["state"] == "opened"
            plan = plan_of_case[row["case"]["id"]]
            if row["kind"] == "clinician":
                label = plan[2] if order[case_of[row["id"]]][0] == row["id"] else plan[3]
                verdict = {"label": label, "confidence": 4, "rationale": "Lecture à l'aveugle."}
            else:
                verdict = {"patient_informed": "yes", "information_understandable": "yes",
                           "rights_respected": "yes", "equity_concern": False}
            assert ok(me.post(a_url + "submit/", verdict, format="json"))["state"] == "submitted"
            unblinded = ok(me.post(a_url + "unblind/"))
            assert unblinded["case"]["ai_label"] == plan[0]
            if row["kind"] != "clinician":  # a patient representative never grades a clinical discrepancy
                refused = me.post(a_url + "classify/", {"discrepancy": "concur", "would_have_changed": False},
                                  format="json")
                assert (refused.status_code, refused.json()["code"]) == (409, "classification_clinicians_only")
                continue
            discrepancy = "concur" if label == plan[0] else "understandable"
            ok(me.post(a_url + "classify/", {"discrepancy": discrepancy, "would_have_changed": False},
                       format="json"))

    # Quality closes the review; the chair adjudicates the split cases found in the case list.
    assert ok(q.post(url + "close_review/"))["state"] == "adjudication"
    chair_client = as_(chair)
    cases = all_pages(chair_client, url + "cases/")
    split = [c for c in cases if c["state"] == "needs_adjudication"]
    assert sorted(plan_of_case[c["case"]["id"]][4] for c in split) == [F, F, N]
    for c in split:
        label = plan_of_case[c["case"]["id"]][4]
        adj = ok(chair_client.post(f"/api/campaign-cases/{c['id']}/adjudicate/", {
            "label": label, "reasoning": "Relecture collégiale en séance.", "method": "consensus",
        }, format="json"))
        assert (adj["label"], adj["decided_by"]) == (label, "presidente")

    assert ok(q.post(url + "start_analysis/"))["state"] == "analysis"
    assert ok(q.post(url + "publish/"))["state"] == "published"

    # Act: the chair reads the results.
    results = ok(as_(chair).get(url + "results/"))

    # Assert: against figures computed independently from the verdicts chosen above.
    ai_labels = [p[0] for p in PLAN]
    finals = [p[1] for p in PLAN]
    first, second = [p[2] for p in PLAN], [p[3] for p in PLAN]
    reference = [p[2] if p[2] == p[3] else p[4] for p in PLAN]
    approx = lambda x: pytest.approx(x, abs=1e-12)  # noqa: E731
    assert results["campaign"] == campaign["id"]
    # Every split case was adjudicated: none is left without a reference.
    assert (results["n_cases"], results["n_with_reference"], results["n_needs_adjudication"]) == (12, 12, 0)
    assert results["ai_vs_reference"]["n"] == 12
    assert results["ai_vs_reference"]["percent_agreement"] == approx(accuracy_score(reference, ai_labels))
    assert results["ai_vs_reference"]["kappa"] == approx(cohen_kappa_score(ai_labels, reference))
    assert results["readers"]["percent_agreement"] == approx(accuracy_score(first, second))
    assert results["readers"]["kappa"] == approx(cohen_kappa_score(first, second))
    assert results["ai_vs_final"]["percent_agreement"] == approx(accuracy_score(finals, ai_labels))
    assert results["ai_vs_final"]["kappa"] == approx(cohen_kappa_score(ai_labels, finals))
    confusion = Counter(zip(ai_labels, reference, strict=True))
    assert results["confusion"] == {a: {r: confusion[(a, r)] for r in (F, N)} for a in (F, N)}
    # The figures are not trivial: the readers disagree and the AI is neither perfect nor useless.
    assert (results["readers"]["percent_agreement"], results["ai_vs_reference"]["percent_agreement"]) == (
        approx(9 / 12), approx(8 / 12))
    assert 0 < results["ai_vs_reference"]["kappa"] < 1
    assert 0 < results["readers"]["kappa"] < 1
    assert audit_verify().ok


REFDATA = Path(__file__).resolve().parents[1] / "refdata"


def test_concordance_reproduces_cohen_wikipedia_example(db):
    # Arrange: 50 cases whose AI output against the readers' reference is the published table
    # (rows: the AI, columns: the reference); the two clinician readers agree on the reference.
    with open(REFDATA / "cohen_wikipedia_2x2.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    columns = rows[0][1:]
    table = {row[0]: dict(zip(columns, map(int, row[1:]), strict=True)) for row in rows[1:]}
    world = build_world(n_cases=0, n_clinicians=1, n_patient_reps=0)  # readers: the chair and clin0
    ai = AISystemFactory(labels=["yes", "no"], positive_label="yes")
    world.committee.ai_systems.add(ai)
    truth = {}
    for ai_label, counts in table.items():
        for reference, n in counts.items():
            for _ in range(n):
                truth[CaseFactory(ai_system=ai, ai_label=ai_label, final_label=ai_label).pk] = reference
    q = world.quality
    campaign = services.campaign_create(
        actor=q, ai_system=ai, committee=world.committee, name="Cohen", period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31), sample_size=50, review_deadline=dt.date(2027, 1, 31),
        patient_reps_per_case=0, seed=1960)
    for step in (services.campaign_schedule, services.campaign_draw_sample, services.campaign_start_review):
        campaign = step(actor=q, campaign=campaign)
    submit_all(campaign, label_for=lambda a: truth[a.campaign_case.case_id])

    # Act
    results = selectors.campaign_results(campaign)

    # Assert
    agreement = results["ai_vs_reference"]
    observed, kappa = agreement["percent_agreement"], agreement["kappa"]
    chance = (observed - kappa) / (1 - kappa)
    assert (results["n_cases"], results["n_with_reference"], agreement["n"]) == (50, 50, 50)
    assert observed == pytest.approx(0.70, abs=1e-12)
    assert kappa == pytest.approx(0.40, abs=1e-12)
    assert chance == pytest.approx(0.50, abs=1e-12)
    assert results["confusion"] == table
    assert results["readers"] == {"percent_agreement": 1.0, "kappa": 1.0, "n": 50}
