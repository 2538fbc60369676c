"""Cases whose reviewer-visible text names the AI or its output are held out of sampling until the
quality team redacts the text or clears the flag, each step audited without the text; a
re-import that changes the text flags it again."""

import datetime as dt

import pytest

from audit.models import AuditEvent
from cases.importing.service import import_cases
from cases.models import Case
from reviews.sampling import Design, population_for, stratum_counts
from tests.helpers import csv_bytes
from tests.workflows import build_world

CLEAN = "Chute sur le poignet droit."
FLAGGED = "Résultat IA : positif, chute sur le poignet."


def _row(i: int, context: str) -> dict:
    return {"accession_number": f"ACCH{i:03d}", "patient_id": f"PATH{i:03d}", "exam_date": "2026-03-10",
            "site": "Nord", "clinical_context": context, "report_text": "Radiographie, deux incidences.",
            "ai_label": "fracture"}


@pytest.fixture
def held(db):
    world = build_world(n_cases=0)
    rows = [_row(0, FLAGGED), _row(1, CLEAN), _row(2, CLEAN)]
    result = import_cases(actor=world.quality, ai_system=world.ai_system, raw=csv_bytes(rows), filename="h.csv")
    assert (result.created, result.errors) == (3, [])
    flagged = Case.objects.get(blinding_flags__0__field="clinical_context")
    return world, result, flagged


def _population(world):
    return population_for(ai_system_id=world.ai_system.pk, period_start=dt.date(2026, 1, 1),
                          period_end=dt.date(2026, 12, 31), sites=[])


def test_blinding_holdout_flagged_case_is_out_of_every_population(held):
    world, result, flagged = held
    assert flagged.blinding_flags == [{"field": "clinical_context", "mention": "IA : positif"}]
    assert [w["kind"] for w in result.batch.warnings] == ["blinding"]  # the import report counts it
    population = _population(world)
    assert flagged.pk not in set(population.values_list("pk", flat=True))
    assert population.count() == 2
    stratified = Design.from_dict({"type": "stratified", "strata_by": ["ai_label"]})
    assert stratum_counts(population, stratified) == {"ai_label=fracture": 2}


def test_blinding_holdout_clear_returns_the_case_and_audits_without_text(held, api):
    world, _, flagged = held
    response = api(world.quality).post(f"/api/cases/{flagged.pk}/blinding-clear/",
                                       {"reason": "Mention d'un examen antérieur, sans lien."}, format="json")
    assert response.status_code == 200
    assert (response.json()["blinding_flags"], response.json()["blinding_review"]) == ([], "cleared")
    assert _population(world).count() == 3
    event = AuditEvent.objects.filter(action="case.blinding_clear").get()
    assert event.data == {"action": "clear", "fields": ["clinical_context"],
                          "reason": "Mention d'un examen antérieur, sans lien."}
    assert FLAGGED not in str(event.data)


def test_blinding_holdout_redact_rescans_and_audits_without_text(held, api):
    world, _, flagged = held
    client = api(world.quality)
    still = client.post(f"/api/cases/{flagged.pk}/blinding-redact/",
                        {"clinical_context": "L'algorithme conclut à une fracture."}, format="json")
    identifier = client.post(f"/api/cases/{flagged.pk}/blinding-redact/",
                             {"clinical_context": "Chute. Rappeler le 06 12 34 56 78."}, format="json")
    assert (still.status_code, still.json()) == (400, {
        "code": "invalid", "detail": "The new text is refused.",
        "extra": {"clinical_context": ["The text still names the AI or its output."]}})
    assert identifier.status_code == 400
    assert identifier.json()["extra"] == {
        "clinical_context": ["The text carries a phone number: direct identifiers are not stored."]}
    assert "06 12" not in identifier.content.decode()
    flagged.refresh_from_db()
    assert (flagged.clinical_context, len(flagged.blinding_flags)) == (FLAGGED, 1)  # nothing changed
    ok = client.post(f"/api/cases/{flagged.pk}/blinding-redact/",
                     {"clinical_context": "Chute sur le poignet."}, format="json")
    assert ok.status_code == 200
    flagged.refresh_from_db()
    assert (flagged.clinical_context, flagged.blinding_flags, flagged.blinding_review) == (
        "Chute sur le poignet.", [], "redacted")
    event = AuditEvent.objects.filter(action="case.blinding_redact").get()
    assert event.data == {"action": "redact", "fields": ["clinical_context"]}
    assert _population(world).count() == 3


@pytest.mark.parametrize("role", ["chair", "secretary", "management", "dpo", "clinician"])
def test_blinding_holdout_only_the_quality_team_reviews(held, api, role):
    world, _, flagged = held
    user = {"chair": world.chair, "secretary": world.secretary, "management": world.management,
            "dpo": world.dpo, "clinician": world.clinicians[0]}[role]
    client = api(user)
    listing = client.get("/api/cases/blinding-flags/")
    clear = client.post(f"/api/cases/{flagged.pk}/blinding-clear/", {"reason": "x"}, format="json")
    redact = client.post(f"/api/cases/{flagged.pk}/blinding-redact/", {"clinical_context": "Chute."},
                         format="json")
    assert (listing.status_code, clear.status_code, redact.status_code) == (403, 403, 403)
    for r in (listing, clear, redact):
        assert FLAGGED not in r.content.decode()
    flagged.refresh_from_db()
    assert (flagged.clinical_context, len(flagged.blinding_flags), flagged.blinding_review) == (FLAGGED, 1, "")
    assert not AuditEvent.objects.filter(action__startswith="case.blinding").exists()


def test_blinding_holdout_list_and_wrong_state(held, api):
    world, _, flagged = held
    client = api(world.quality)
    listing = client.get("/api/cases/blinding-flags/").json()
    assert [(c["id"], c["blinding_flags"]) for c in listing["results"]] == [
        (flagged.pk, [{"field": "clinical_context", "mention": "IA : positif"}])]
    clean = Case.objects.exclude(pk=flagged.pk).first()
    response = client.post(f"/api/cases/{clean.pk}/blinding-clear/", {"reason": "Rien."}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "transition_not_allowed")


def test_blinding_holdout_reimport_with_changed_text_flags_again(held, api):
    world, _, flagged = held
    api(world.quality).post(f"/api/cases/{flagged.pk}/blinding-clear/", {"reason": "Vu."}, format="json")
    rows = [_row(0, "Selon l'IA : fracture."), _row(1, CLEAN), _row(2, CLEAN)]
    import_cases(actor=world.quality, ai_system=world.ai_system, raw=csv_bytes(rows), filename="h2.csv")
    flagged.refresh_from_db()
    assert flagged.blinding_flags == [{"field": "clinical_context", "mention": "IA : fracture"}]
    assert _population(world).count() == 2
