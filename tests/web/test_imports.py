"""The quality team's import pages: upload through the web form, the background task run at once
(django-tasks' ImmediateBackend, on commit), the batch page while queued, running and ended, the
error report as CSV, the failure path, the roles turned away and the list's query count."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import AuditEvent
from cases.enums import ImportStatus
from cases.importing.writer import Writer
from cases.models import Case, ImportBatch
from cases.services import import_enqueue, import_profile_create
from cases.tasks import run_import_batch
from common.models import StoredFile, StoredFileChunk
from tests.factories import AISystemFactory
from tests.helpers import html
from tests.login import login

pytestmark = pytest.mark.django_db

HEADER = "accession_number;patient_id;exam_date;site;report_text;ai_label"
GOOD = f"{HEADER}\nW1;P1;01/03/2026;Nord;Pas de trait.;fracture\nW2;P2;02/03/2026;Sud;Trait net.;no_fracture\n"
ONE_BAD = (f"{HEADER}\nW1;P1;01/03/2026;Nord;Pas de trait.;fracture\n"
           "W2;P2;31/02/2026;Sud;Trait net.;no_fracture\n")
DATE_REASON = "expected a date as dd/mm/yyyy or yyyy-mm-dd"


@pytest.fixture(autouse=True)
def scratch(tmp_path, settings):
    """This process's temporary files in a directory of the test's own."""
    path = tmp_path / "uploading"
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    return path


def leftovers(scratch) -> tuple:
    """What an import may leave behind: stored uploads and local temporary files."""
    return (StoredFile.objects.count(), StoredFileChunk.objects.count(),
            list(scratch.iterdir()) if scratch.exists() else [])


@pytest.fixture
def post_upload(django_capture_on_commit_callbacks):
    """``post_upload(client, ai_system, text, **fields)``: the form's POST, then the callbacks
    registered on commit (the task, run at once by the ImmediateBackend)."""

    def post(client, ai_system, text: str, name: str = "export.csv", **fields):
        data = {"ai_system": ai_system.pk, "file": SimpleUploadedFile(name, text.encode()), **fields}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/imports/", data)

    return post


def only_batch() -> ImportBatch:
    (batch,) = ImportBatch.objects.all()
    return batch


def audit_actions(batch) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="cases.importbatch", object_id=str(batch.pk))
                .order_by("id").values_list("action", flat=True))


# --- Upload and report ---------------------------------------------------------------------------

def test_import_upload_runs_the_task_and_the_page_shows_the_counts(world, post_upload, scratch):
    before = Case.objects.count()
    r = post_upload(login(world.quality), world.ai_system, GOOD)
    batch = only_batch()
    assert (r.status_code, r["Location"]) == (302, f"/imports/{batch.pk}/")
    assert (batch.status, batch.rows_total, batch.rows_created, batch.created_by) == (
        ImportStatus.COMPLETED, 2, 2, world.quality)
    assert Case.objects.count() == before + 2
    assert audit_actions(batch) == ["import.queued", "import.completed"]
    assert leftovers(scratch) == (0, 0, [])  # the stored upload and the local copy are gone
    page = login(world.quality).get(r["Location"])
    body = html(page)
    assert page.status_code == 200
    assert page.context["batch"]["counts"] == {"total": 2, "created": 2, "updated": 0, "unchanged": 0,
                                               "rejected": 0, "redacted": 0}
    assert "Terminé" in body and "Aucune ligne rejetée." in body and "Lignes rejetées" in body
    assert batch.file_sha256 in body
    assert "hx-trigger" not in body  # ended: nothing to poll


def test_import_page_is_french_and_lists_batches_with_the_csv_link(world, post_upload):
    client = login(world.quality)
    post_upload(client, world.ai_system, GOOD)
    batch = only_batch()
    r = client.get("/imports/")
    body = html(r)
    assert r.status_code == 200
    assert '<html lang="fr">' in body
    assert "Importer un fichier" in body and "Essai à blanc" in body
    assert 'enctype="multipart/form-data"' in body
    assert f'href="/imports/{batch.pk}/errors.csv"' in body
    assert f">{batch.file_sha256[:12]}</code>" in body
    assert r.context["batches"][0]["status_label"] == "Terminé"
    assert 'href="/imports/" aria-current="page"' in body  # the quality team's nav link


def test_import_dry_run_writes_no_case(world, post_upload):
    before = Case.objects.count()
    post_upload(login(world.quality), world.ai_system, GOOD, dry_run="on")
    batch = only_batch()
    assert (batch.status, batch.is_dry_run, batch.rows_created) == (ImportStatus.VALIDATED, True, 2)
    assert Case.objects.count() == before
    assert audit_actions(batch) == ["import.queued", "import.validated"]
    body = html(login(world.quality).get(f"/imports/{batch.pk}/"))
    assert "Validé (essai à blanc, rien n'a été écrit)" in body
    assert "Essai à blanc : aucun dossier n'a été écrit." in body


def test_import_rejected_rows_are_listed_with_line_field_and_reason(world, post_upload):
    post_upload(login(world.quality), world.ai_system, ONE_BAD)
    batch = only_batch()
    assert (batch.status, batch.rows_created, batch.rows_rejected) == (ImportStatus.COMPLETED, 1, 1)
    r = login(world.quality).get(f"/imports/{batch.pk}/")
    assert r.context["report"]["errors"] == [{"line": 3, "field": "exam_date", "reason": DATE_REASON, "kind": ""}]
    body = html(r)
    assert "Ligne rejetée (1 erreur)" in body
    assert f'<td class="num">3</td><td><code>exam_date</code></td><td>{DATE_REASON}</td>' in body


def test_import_report_shows_200_rejected_rows_and_points_to_the_csv(world, post_upload):
    rows = "".join(f"X{i};P{i};31/02/2026;Nord;;fracture\n" for i in range(205))
    post_upload(login(world.quality), world.ai_system, f"{HEADER}\n{rows}")
    batch = only_batch()
    assert (batch.status, batch.rows_rejected) == (ImportStatus.REJECTED, 205)
    r = login(world.quality).get(f"/imports/{batch.pk}/")
    assert len(r.context["report"]["errors"]) == 200
    assert "Seules les 200 premières sont affichées : le rapport CSV les contient toutes." in html(r)


def test_import_errors_csv_download_is_exact(world, post_upload):
    name = world.ai_system.name
    text = (f"{HEADER}\nW1;P1;01/03/2026;Nord;Analyse {name} : fracture.;fracture\n"
            "W2;P2;31/02/2026;Sud;Trait net.;no_fracture\n")
    post_upload(login(world.quality), world.ai_system, text)
    batch = only_batch()
    r = login(world.quality).get(f"/imports/{batch.pk}/errors.csv")
    assert r.status_code == 200
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"] == f'attachment; filename="import-{batch.pk}-errors.csv"'
    assert r.content.decode() == (
        "line;field;reason;kind\r\n"
        f"3;exam_date;{DATE_REASON};rejected\r\n"
        f"2;report_text;\"names the AI or its output ('{name} : fracture'): it would unblind the reviewer; "
        "correct the text\";"
        "blinding\r\n")  # quoted: the reason holds the separator
    page = login(world.quality).get(f"/imports/{batch.pk}/")
    assert page.context["report"]["warnings"][0]["kind"] == "Texte qui pourrait lever l'aveugle d'un relecteur"


def test_import_invalid_form_is_a_400_with_french_errors_and_queues_nothing(world):
    r = login(world.quality).post("/imports/", {"ai_system": world.ai_system.pk})
    assert r.status_code == 400
    assert "Ce champ est obligatoire." in html(r)
    assert ImportBatch.objects.count() == 0


def test_import_profile_of_another_ai_system_is_refused(world, post_upload):
    other = AISystemFactory()
    profile = import_profile_create(actor=world.quality, ai_system=other, name="Autre")
    r = post_upload(login(world.quality), world.ai_system, GOOD, profile=profile.pk)
    assert r.status_code == 400
    assert "Ce profil d'import appartient à un autre système d'IA." in html(r)
    assert ImportBatch.objects.count() == 0


# --- Progress while queued or running --------------------------------------------------------------

def queued_batch(world, django_capture_on_commit_callbacks) -> ImportBatch:
    """A batch queued whose task has not run (the on-commit callback is captured, not executed)."""
    with django_capture_on_commit_callbacks(execute=False):
        return import_enqueue(actor=world.quality, ai_system=world.ai_system,
                              upload=SimpleUploadedFile("big.csv", GOOD.encode()))


def test_import_queued_batch_is_polled_every_2_seconds_with_a_reload_link(world, django_capture_on_commit_callbacks):
    batch = queued_batch(world, django_capture_on_commit_callbacks)
    client = login(world.quality)
    for url in (f"/imports/{batch.pk}/", f"/imports/{batch.pk}/status/"):
        body = html(client.get(url))
        assert f'hx-get="/imports/{batch.pk}/status/" hx-trigger="every 2s" hx-swap="outerHTML"' in body
        assert f'<a href="/imports/{batch.pk}/">Recharger la page</a>' in body
        assert "En file d'attente" in body
    assert "<html" not in html(client.get(f"/imports/{batch.pk}/status/"))  # the fragment alone


def test_import_running_batch_shows_rows_rate_and_eta(world, django_capture_on_commit_callbacks):
    batch = queued_batch(world, django_capture_on_commit_callbacks)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.RUNNING)
    now = timezone.now()  # as the worker writes it: 1000 of 5000 rows in 2 s, so 500 rows/s, 8 s left
    ImportBatch.objects.filter(pk=batch.pk).update(rows_done=1000, rows_expected=5000, updated_at=now,
                                                   started_at=now - dt.timedelta(seconds=2))
    r = login(world.quality).get(f"/imports/{batch.pk}/status/")
    assert r.context["progress"] == {"done": 1000, "expected": 5000, "rate": 500,
                                     "eta": {"minutes": 0, "seconds": 8}, "percent": 20, "is_stale": False}
    body = html(r)
    assert "1000 lignes lues sur 5000." in body
    assert "500 lignes/s" in body and "8 s" in body
    assert 'hx-trigger="every 2s"' in body


def test_import_running_batch_without_progress_for_long_is_shown_interrupted(world,
                                                                            django_capture_on_commit_callbacks):
    batch = queued_batch(world, django_capture_on_commit_callbacks)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.RUNNING,
                                                   updated_at=timezone.now() - dt.timedelta(hours=1))
    body = html(login(world.quality).get(f"/imports/{batch.pk}/"))
    assert "Interrompu" in body and "importez à nouveau le fichier" in body
    assert "hx-trigger" not in body


# --- Failure -------------------------------------------------------------------------------------

def test_import_unexpected_failure_marks_the_batch_failed_and_writes_nothing(world, post_upload, monkeypatch,
                                                                           scratch):
    """The import raises after its cases were inserted (in the staging step's transaction): they
    are rolled back, the batch is failed with the message, and the trail says so."""

    def explode(writer):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Writer, "apply_updates", explode)
    before = Case.objects.count()
    r = post_upload(login(world.quality), world.ai_system, GOOD)
    batch = only_batch()
    assert r.status_code == 302
    assert (batch.status, batch.failure, batch.rows_total, batch.file_sha256) == (
        ImportStatus.FAILED, "RuntimeError: disk on fire", 0, "")
    assert Case.objects.count() == before and not Case.objects.filter(import_batch=batch).exists()
    assert audit_actions(batch) == ["import.queued", "import.failed"]
    event = AuditEvent.objects.get(action="import.failed")
    assert (event.actor, event.data) == (world.quality, {"error": "RuntimeError", "dry_run": False})
    assert leftovers(scratch) == (0, 0, [])
    body = html(login(world.quality).get(f"/imports/{batch.pk}/"))
    assert "Échec (rien n'a été écrit)" in body and "Échec de l'import" in body
    assert "RuntimeError: disk on fire" in body
    assert "hx-trigger" not in body


def test_import_task_raises_an_unexpected_error_again_for_the_worker(world, monkeypatch, scratch,
                                                                     django_capture_on_commit_callbacks):
    """The worker records the task as failed with its traceback; a refused file is an outcome."""

    monkeypatch.setattr(Writer, "apply_updates", lambda writer: 1 / 0)
    batch = queued_batch(world, django_capture_on_commit_callbacks)
    assert StoredFile.objects.filter(name=batch.stored_file).exists()
    with pytest.raises(ZeroDivisionError):
        run_import_batch.call(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.failure) == (ImportStatus.FAILED, "ZeroDivisionError: division by zero")
    assert leftovers(scratch) == (0, 0, [])


def test_import_refused_file_marks_the_batch_failed_with_the_reason(world, post_upload):
    # A planted name no factory-made user can carry (factories draw common French surnames).
    post_upload(login(world.quality), world.ai_system, f"{HEADER};nom\nW1;P1;01/03/2026;Nord;;fracture;Zorglubowski\n")
    batch = only_batch()
    assert (batch.status, batch.failure) == (
        ImportStatus.FAILED, "The file carries direct identifiers (nom): remove these columns and import again.")
    assert audit_actions(batch) == ["import.queued", "import.failed"]
    assert AuditEvent.objects.get(action="import.failed").data == {"error": "ValidationFailed", "dry_run": False}
    assert "Zorglubowski" not in html(login(world.quality).get(f"/imports/{batch.pk}/"))


# --- Roles, missing batches, query count -----------------------------------------------------------

@pytest.mark.parametrize("role", ["clinician", "patient_rep", "management"])
def test_import_pages_are_403_for_other_roles(world, post_upload, role):
    post_upload(login(world.quality), world.ai_system, GOOD)
    batch = only_batch()
    user = {"clinician": world.clinicians[0], "patient_rep": world.patient_reps[0],
            "management": world.management}[role]
    client = login(user)
    for url in ("/imports/", f"/imports/{batch.pk}/", f"/imports/{batch.pk}/status/",
                f"/imports/{batch.pk}/errors.csv", "/imports/999999/"):
        r = client.get(url)
        assert r.status_code == 403, url
        assert "Action non autorisée" in html(r)
    r = post_upload(client, world.ai_system, GOOD)
    assert r.status_code == 403
    assert ImportBatch.objects.count() == 1
    assert 'href="/imports/"' not in html(client.get("/campaigns/"))  # no nav link either


@pytest.mark.parametrize("suffix", ["", "status/", "errors.csv"])
def test_import_missing_batch_is_a_404(world, suffix):
    r = login(world.quality).get(f"/imports/999999/{suffix}")
    assert r.status_code == 404
    assert "Page introuvable" in html(r)


def test_import_pages_send_anonymous_to_login(client):
    r = client.get("/imports/")
    assert (r.status_code, r["Location"]) == (302, "/login/?next=/imports/")


LIST_QUERIES = 6  # session, user, the batches with AI system and uploader, the AI systems, the profiles,
#                  the count of cases whose text names the AI


@pytest.mark.parametrize("n", [1, 3])
def test_import_list_query_count_is_constant(world, post_upload, django_assert_num_queries, n):
    client = login(world.quality)
    import_profile_create(actor=world.quality, ai_system=world.ai_system, name="Profil")
    for i in range(n):
        post_upload(client, world.ai_system, GOOD.replace("W1", f"W1-{i}"))
    assert ImportBatch.objects.count() == n
    with django_assert_num_queries(LIST_QUERIES):
        r = client.get("/imports/")
    assert r.status_code == 200
    assert len(r.context["batches"]) == n
