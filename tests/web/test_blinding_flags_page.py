"""The quality team's page of cases held out of sampling because their reviewer-visible text names
the AI: the list with the mentions highlighted (and escaped), clearing with a reason and redacting
through the forms, refusals shown on the field with nothing changed, every other role turned away
with nothing revealed, the count on the import page and a constant query count."""

import datetime as dt

import pytest

from audit.models import AuditEvent
from cases.importing.service import import_cases
from cases.models import Case
from reviews.sampling import population_for
from tests.helpers import csv_bytes, html
from tests.login import verified_client
from tests.workflows import build_world

pytestmark = pytest.mark.django_db

URL = "/imports/flagged-text/"
FLAGGED = "Résultat IA : positif, chute sur le <b>poignet</b>."
CLEAN = "Chute sur le poignet droit."
HEADER = ["accession_number", "patient_id", "exam_date", "site", "clinical_context", "report_text", "ai_label"]


def _csv(contexts: list[str]) -> bytes:
    return csv_bytes([dict(zip(HEADER, [f"ACCF{i:03d}", f"PATF{i:03d}", "2026-03-10", "Nord", context,
                                        "Radiographie, deux incidences.", "fracture"], strict=True))
                      for i, context in enumerate(contexts)])


def _held(world, n_flagged: int = 1, n_clean: int = 2):
    result = import_cases(actor=world.quality, ai_system=world.ai_system, filename="lot-mars.csv",
                          raw=_csv([FLAGGED] * n_flagged + [CLEAN] * n_clean))
    assert (result.created, result.errors) == (n_flagged + n_clean, [])
    return result.batch, list(Case.objects.exclude(blinding_flags=[]).order_by("id"))


@pytest.fixture
def held(db):
    world = build_world(n_cases=0)
    batch, (flagged,) = _held(world)
    return world, batch, flagged


def _population_ids(world) -> set[int]:
    return set(population_for(ai_system_id=world.ai_system.pk, period_start=dt.date(2026, 1, 1),
                              period_end=dt.date(2026, 12, 31), sites=[]).values_list("pk", flat=True))


def _clear(client, case, reason: str):
    return client.post(f"{URL}{case.pk}/clear/?page=1", {f"case-{case.pk}-clear-reason": reason})


def _redact(client, case, text: str):
    return client.post(f"{URL}{case.pk}/redact/?page=1", {f"case-{case.pk}-redact-clinical_context": text})


# --- The list ------------------------------------------------------------------------------------

def test_blinding_flags_page_lists_the_case_with_the_mention_highlighted_and_escaped(held):
    world, batch, flagged = held
    r = verified_client(world.quality).get(URL)
    body = r.content.decode()
    assert r.status_code == 200
    assert r["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert ('<p class="flagged-text">Résultat <mark>IA : positif</mark>, chute sur le '
            '&lt;b&gt;poignet&lt;/b&gt;.</p>') in body
    assert "<b>poignet</b>" not in body  # the imported text is escaped, never markup
    assert f'href="/imports/{batch.pk}/">lot-mars.csv</a>' in body
    assert f"{world.ai_system.name} {world.ai_system.version}" in html(r)
    assert "Contexte clinique" in html(r)
    # The redaction textarea is pre-filled with the current text (escaped).
    assert (f'name="case-{flagged.pk}-redact-clinical_context" cols="40" rows="4" maxlength="20000" '
            f'id="id_case-{flagged.pk}-redact-clinical_context">\nRésultat IA : positif, chute sur le '
            '&lt;b&gt;poignet&lt;/b&gt;.</textarea>') in body
    assert [row["id"] for row in r.context["rows"]] == [flagged.pk]


def test_blinding_flags_page_is_linked_from_the_import_page_with_the_count(held):
    world, _, _ = held
    client = verified_client(world.admin)
    body = html(client.get("/imports/"))
    assert f'<a href="{URL}">Texte citant l\'IA</a> : 1 cas en attente de revue' in body
    assert f'href="{URL}"' in html(client.get("/campaigns/"))  # in the navigation


@pytest.mark.parametrize("role", ["clinician", "patient_rep", "chair", "secretary", "management", "dpo"])
def test_blinding_flags_page_is_refused_to_every_other_role(held, role):
    world, _, flagged = held
    user = {"clinician": world.clinicians[0], "patient_rep": world.patient_reps[0], "chair": world.chair,
            "secretary": world.secretary, "management": world.management, "dpo": world.dpo}[role]
    client = verified_client(user)
    responses = [client.get(URL), client.get(f"{URL}?page=2"), _clear(client, flagged, "Sans lien."),
                 _redact(client, flagged, "Chute."), _clear(client, Case(pk=999999), "x")]
    assert [r.status_code for r in responses] == [403, 403, 403, 403, 403]
    for r in responses:
        body = html(r)
        assert "Action non autorisée" in body
        assert "IA : positif" not in body and "poignet" not in body and "lot-mars" not in body
    assert f'href="{URL}"' not in html(client.get("/campaigns/"))  # no navigation link either
    flagged.refresh_from_db()
    assert (flagged.clinical_context, len(flagged.blinding_flags), flagged.blinding_review) == (FLAGGED, 1, "")
    assert not AuditEvent.objects.filter(action__startswith="case.blinding").exists()


def test_blinding_flags_page_sends_anonymous_to_login(client):
    r = client.get(URL)
    assert (r.status_code, r["Location"]) == (302, f"/login/?next={URL}")


def test_blinding_flags_page_missing_or_already_cleared_case(held):
    world, _, flagged = held
    client = verified_client(world.quality)
    assert _clear(client, Case(pk=999999), "x").status_code == 404
    clean = Case.objects.exclude(pk=flagged.pk).first()
    r = _clear(client, clean, "Rien.")
    assert r.status_code == 409
    assert not AuditEvent.objects.filter(action__startswith="case.blinding").exists()


# --- Clear and redact ----------------------------------------------------------------------------

def test_blinding_flags_page_clear_with_a_reason(held):
    world, _, flagged = held
    client = verified_client(world.quality)
    assert flagged.pk not in _population_ids(world)
    r = _clear(client, flagged, "Mention d'un examen antérieur, sans lien.")
    assert (r.status_code, r["Location"]) == (302, f"{URL}?page=1")
    flagged.refresh_from_db()
    assert (flagged.clinical_context, flagged.blinding_flags, flagged.blinding_review) == (FLAGGED, [], "cleared")
    event = AuditEvent.objects.get(action="case.blinding_clear")
    assert event.data == {"action": "clear", "fields": ["clinical_context"],
                          "reason": "Mention d'un examen antérieur, sans lien."}
    assert "positif" not in str(event.data)
    assert flagged.pk in _population_ids(world)  # samplable again
    page = html(client.get(r["Location"]))
    assert f"Dossier n° {flagged.pk} : le signalement est levé ; le dossier peut de nouveau être tiré au sort." in page
    assert "Aucun cas en attente : aucun texte importé ne cite l'IA." in page


def test_blinding_flags_page_clear_without_a_reason_is_refused_on_the_field(held):
    world, _, flagged = held
    r = _clear(verified_client(world.quality), flagged, "   ")
    assert r.status_code == 400
    form = r.context["rows"][0]["clear_form"]
    assert form.errors == {"reason": ["Ce champ est obligatoire."]}
    flagged.refresh_from_db()
    assert (len(flagged.blinding_flags), flagged.blinding_review) == (1, "")
    assert not AuditEvent.objects.filter(action__startswith="case.blinding").exists()


def test_blinding_flags_page_redact(held):
    world, _, flagged = held
    client = verified_client(world.quality)
    r = _redact(client, flagged, "Chute sur le poignet.")
    assert (r.status_code, r["Location"]) == (302, f"{URL}?page=1")
    flagged.refresh_from_db()
    assert (flagged.clinical_context, flagged.blinding_flags, flagged.blinding_review) == (
        "Chute sur le poignet.", [], "redacted")
    event = AuditEvent.objects.get(action="case.blinding_redact")
    assert event.data == {"action": "redact", "fields": ["clinical_context"]}
    assert "poignet" not in str(event.data)
    assert flagged.pk in _population_ids(world)  # samplable again


@pytest.mark.parametrize(("text", "error"), [
    ("L'algorithme conclut à une fracture.", "Le texte cite encore l'IA ou sa sortie."),
    ("Chute. Rappeler le 06 12 34 56 78.",
     "Le texte contient un numéro de téléphone : les identifiants directs ne sont pas conservés."),
])
def test_blinding_flags_page_refused_redaction_changes_nothing_and_shows_the_error_on_the_field(
        held, text, error):
    world, _, flagged = held
    r = _redact(verified_client(world.quality), flagged, text)
    assert r.status_code == 400
    row = r.context["rows"][0]
    assert (row["id"], row["redact_form"].errors) == (flagged.pk, {"clinical_context": [error]})
    body = html(r)
    assert f'<ul class="errors"><li>{error}</li></ul>' in body
    assert f"La modification du dossier n° {flagged.pk} a été refusée ; rien n'a été modifié." in body
    flagged.refresh_from_db()
    assert (flagged.clinical_context, len(flagged.blinding_flags), flagged.blinding_review) == (FLAGGED, 1, "")
    assert not AuditEvent.objects.filter(action__startswith="case.blinding").exists()
    assert flagged.pk not in _population_ids(world)


# --- Pagination and query count ------------------------------------------------------------------

LIST_QUERIES = 4  # session, user, the count, the page with its AI systems and import batches


@pytest.mark.parametrize("n", [1, 3])
def test_blinding_flags_page_query_count_is_constant(db, django_assert_num_queries, n):
    world = build_world(n_cases=0)
    _held(world, n_flagged=n)
    client = verified_client(world.quality)
    with django_assert_num_queries(LIST_QUERIES):
        r = client.get(URL)
    assert r.status_code == 200
    assert len(r.context["rows"]) == n


def test_blinding_flags_page_paginates(db, settings):
    world = build_world(n_cases=0)
    _, flagged = _held(world, n_flagged=21, n_clean=0)
    client = verified_client(world.quality)
    first, second = client.get(URL), client.get(f"{URL}?page=2")
    assert [row["id"] for row in first.context["rows"]] == [c.pk for c in flagged[:20]]
    assert [row["id"] for row in second.context["rows"]] == [flagged[20].pk]
    assert "Page 2 sur 2" in html(second)
    assert "21 cas sont exclus du tirage au sort" in html(first)
