"""A killed import leaves no file with raw identifiers; bad rows and documents are reported,
never a crash; every CSV the product writes neutralises formulas."""

import datetime as dt
import json
import os
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from accounts.enums import Role
from audit.models import AuditEvent
from cases.api.views import errors_csv
from cases.enums import ImportStatus
from cases.importing.batches import import_batches_recover
from cases.importing.service import import_cases
from cases.models import Case, ImportBatch
from cases.rows import FREE_TEXT, MAX_LENGTHS
from cases.tasks import run_import_batch
from common.csv_export import neutralise
from common.exceptions import ValidationFailed
from common.models import StoredFile, StoredFileChunk
from common.storage import uploads_storage
from tests.factories import AISystemFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "accession_number;patient_id;exam_date;site;service;report_text;ai_label"


@pytest.fixture(autouse=True)
def scratch(tmp_path, settings):
    """This process's own temporary directory (uploads being received, import copies)."""
    path = tmp_path / "uploading"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    return path


def quality():
    return UserFactory(role=Role.QUALITY)


def stored(name: str, text: str, *, minutes_ago: int = 0) -> str:
    """An upload in the uploads storage (the database in tests), written ``minutes_ago``."""
    name = uploads_storage().save(f"imports/{name}", ContentFile(text.encode()))
    StoredFile.objects.filter(name=name).update(created_at=timezone.now() - dt.timedelta(minutes=minutes_ago))
    return name


def stored_uploads() -> list[str]:
    return uploads_storage().listdir("imports")[1]


def left_by_dead_worker(status, *, minutes_ago: int) -> ImportBatch:
    """A batch row as a killed worker leaves it: queued or running, with its upload stored."""
    user, ai = quality(), AISystemFactory()
    name = stored(f"dead-{status}.upload", f"{HEADER}\nA1;PATIENT-RAW-ID;01/03/2026;Nord;;;fracture\n",
                  minutes_ago=minutes_ago)
    batch = ImportBatch.objects.create(ai_system=ai, created_by=user, filename="export.csv", file_sha256="",
                                       format="csv", status=status, key_id="k", stored_file=name)
    ImportBatch.objects.filter(pk=batch.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=minutes_ago))
    return batch


@pytest.mark.parametrize(("status", "minutes_ago"), [(ImportStatus.RUNNING, 16), (ImportStatus.QUEUED, 24 * 60 + 1)])
def test_import_killed_worker_is_recovered_file_gone_and_audited(scratch, status, minutes_ago):
    batch = left_by_dead_worker(status, minutes_ago=minutes_ago)

    result = import_batches_recover()

    batch.refresh_from_db()
    assert (result.interrupted, batch.status, batch.stored_file) == ([batch.pk], ImportStatus.INTERRUPTED, "")
    assert (stored_uploads(), StoredFile.objects.count(), StoredFileChunk.objects.count()) == ([], 0, 0)
    event = AuditEvent.objects.get(action="import.interrupted")
    assert (event.object_id, event.data) == (str(batch.pk), {"previous_status": status, "dry_run": False})
    assert Case.objects.count() == 0


@pytest.mark.parametrize(("status", "minutes_ago"), [(ImportStatus.RUNNING, 5), (ImportStatus.QUEUED, 60)])
def test_import_live_batches_are_left_alone(status, minutes_ago):
    batch = left_by_dead_worker(status, minutes_ago=minutes_ago)
    assert import_batches_recover().interrupted == []
    batch.refresh_from_db()
    assert (batch.status, uploads_storage().exists(batch.stored_file)) == (status, True)
    assert not AuditEvent.objects.filter(action="import.interrupted").exists()


def test_import_running_batch_with_recent_progress_is_left_alone():
    """The worker's progress on the row is its sign of life, however long ago it started."""
    batch = left_by_dead_worker(ImportStatus.RUNNING, minutes_ago=60)
    ImportBatch.objects.filter(pk=batch.pk).update(rows_done=5000, updated_at=timezone.now() - dt.timedelta(minutes=1))
    assert import_batches_recover().interrupted == []
    batch.refresh_from_db()
    assert (batch.status, uploads_storage().exists(batch.stored_file)) == (ImportStatus.RUNNING, True)


def test_import_recovery_sweeps_orphan_and_temporary_files(scratch):
    orphan = stored("orphan.upload", "raw", minutes_ago=60)
    fresh = stored("fresh.upload", "raw")
    temp = scratch / "tmp123.upload"
    temp.write_text("raw")
    old = (timezone.now() - dt.timedelta(hours=1)).timestamp()
    os.utime(temp, (old, old))
    fresh_temp = scratch / "import-abc.upload"
    fresh_temp.write_text("raw")
    assert import_batches_recover().files_deleted == 2
    assert stored_uploads() == [fresh.removeprefix("imports/")]
    assert orphan.removeprefix("imports/") not in stored_uploads()
    assert (temp.exists(), fresh_temp.exists()) == (False, True)


def test_import_recovery_command_reports():
    batch = left_by_dead_worker(ImportStatus.RUNNING, minutes_ago=30)
    out = StringIO()
    call_command("recover_imports", stdout=out)
    assert out.getvalue() == f"1 batch(es) interrupted: {batch.pk}; 0 stale file(s) deleted.\n"


def test_import_task_on_an_interrupted_batch_imports_nothing_and_deletes_file():
    batch = left_by_dead_worker(ImportStatus.QUEUED, minutes_ago=0)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.INTERRUPTED)
    assert run_import_batch.call(batch.pk) == ImportStatus.INTERRUPTED
    assert (stored_uploads(), Case.objects.count()) == ([], 0)


@pytest.mark.parametrize("crash", [ValidationFailed("refused"), RuntimeError("disk on fire")])
def test_import_file_deleted_whatever_the_outcome(scratch, monkeypatch, crash):
    batch = left_by_dead_worker(ImportStatus.QUEUED, minutes_ago=0)
    copies = []

    def boom(**kwargs):
        copies.append(kwargs["path"])
        raise crash

    monkeypatch.setattr("cases.tasks.import_cases", boom)
    if isinstance(crash, RuntimeError):
        with pytest.raises(RuntimeError):
            run_import_batch.call(batch.pk)
    else:
        assert run_import_batch.call(batch.pk) == ImportStatus.FAILED
    batch.refresh_from_db()
    assert (stored_uploads(), batch.status, batch.stored_file) == ([], ImportStatus.FAILED, "")
    assert (len(copies), os.path.dirname(copies[0]), list(scratch.iterdir())) == (1, str(scratch), [])


def test_import_file_deleted_after_success(scratch):
    batch = left_by_dead_worker(ImportStatus.QUEUED, minutes_ago=0)
    run_import_batch.call(batch.pk)
    batch.refresh_from_db()
    assert (stored_uploads(), batch.status, Case.objects.count()) == ([], ImportStatus.COMPLETED, 1)
    assert (batch.rows_done, batch.rows_expected, list(scratch.iterdir())) == (1, 1, [])


def test_import_task_whose_stored_file_is_gone_fails_with_a_reason():
    batch = left_by_dead_worker(ImportStatus.QUEUED, minutes_ago=0)
    uploads_storage().delete(batch.stored_file)
    assert run_import_batch.call(batch.pk) == ImportStatus.FAILED
    batch.refresh_from_db()
    assert (batch.status, batch.failure, batch.stored_file) == (
        ImportStatus.FAILED, "The uploaded file is no longer in storage: import the file again.", "")


def test_import_running_batch_interrupted_meanwhile_rolls_back(monkeypatch):
    """The recovery judged the worker dead while it still ran: the late worker writes nothing. (Here
    the status changes on the import's own connection, so the rollback undoes it too and the batch
    ends failed; a recovery in another process commits, and the batch stays interrupted.)"""
    batch = left_by_dead_worker(ImportStatus.QUEUED, minutes_ago=0)

    def interrupted_meanwhile(done, expected):
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.INTERRUPTED)

    monkeypatch.setattr("cases.tasks.ProgressRecorder.__call__", lambda self, done, expected:
                        interrupted_meanwhile(done, expected))
    assert run_import_batch.call(batch.pk) == ImportStatus.FAILED
    batch.refresh_from_db()
    assert (batch.status, batch.failure, batch.stored_file, Case.objects.count()) == (
        ImportStatus.FAILED, "The import was interrupted while it ran: nothing of it was written; import the file "
                             "again.", "", 0)


def test_import_interrupted_batch_shown_in_api(api):
    batch = left_by_dead_worker(ImportStatus.RUNNING, minutes_ago=30)
    import_batches_recover()
    body = api(batch.created_by).get(f"/api/import-batches/{batch.pk}/").json()
    assert (body["status"], body["failure"]) == (
        "interrupted", "The import was interrupted: its worker stopped before the end. Nothing of it was written "
                       "and the uploaded file was deleted; import the file again.")


# --- Bad rows and documents ----------------------------------------------------------------------


def test_import_nul_and_overlong_values_reject_their_rows_only():
    ai = AISystemFactory()
    raw = (f"{HEADER}\nA1;P1;01/03/2026;Nord;;ok;fracture\n"
           f"A2;P2;01/03/2026;No\x00rd;;ok;fracture\n"
           f"A3;P3;01/03/2026;Nord;{'S' * 81};ok;fracture\n"
           f"A4;P4\x00;01/03/2026;Nord;;ok;fracture\n").encode()
    result = import_cases(actor=quality(), ai_system=ai, raw=raw, filename="x.csv")
    assert [(e.line, e.field, e.reason) for e in result.errors] == [
        (3, "site", "the value contains a null character"),
        (4, "service", "longer than 80 characters"),
        (5, "patient_id", "the value contains a null character"),
    ]
    assert (result.created, Case.objects.count()) == (1, 1)


def test_import_length_bounds_match_the_case_columns():
    # The free-text columns are unbounded text in the database: their bound is the import's own.
    assert {name: Case._meta.get_field(name).max_length for name in MAX_LENGTHS if name not in FREE_TEXT} == {
        k: v for k, v in MAX_LENGTHS.items() if k not in FREE_TEXT}
    assert all(Case._meta.get_field(name).max_length is None for name in FREE_TEXT)


@pytest.mark.parametrize(("fmt", "raw", "message"), [
    ("json", b"[" * 100_000 + b"]" * 100_000, "The JSON file is nested too deeply to be a list of cases."),
    ("jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n", "The JSON Lines file is nested too deeply at line 1."),
    ("fhir", json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p"}},
        {"resource": {"resourceType": "Spaceship", "id": "s"}}]}).encode(),
     "The FHIR Bundle holds resources of unknown types: entry[1] (Spaceship)."),
])
def test_import_bad_documents_are_refused_with_a_reason(fmt, raw, message):
    with pytest.raises(ValidationFailed) as raised:
        import_cases(actor=quality(), ai_system=AISystemFactory(), raw=raw, filename="x", fmt=fmt)
    assert raised.value.detail == message
    assert Case.objects.count() == 0


def test_import_json_document_over_the_bound_is_refused(settings):
    settings.MAX_DOCUMENT_BYTES = 100
    with pytest.raises(ValidationFailed) as raised:
        import_cases(actor=quality(), ai_system=AISystemFactory(), raw=b"[" + b" " * 200 + b"]",
                     filename="x.json", fmt="json")
    assert raised.value.detail == ("A JSON document is read whole: this one is larger than 0 MB. Export the cases as "
                                   "CSV or JSON Lines (read as a stream), or split the file.")


# --- CSV exports -----------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(("value", "expected"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("-1.5", "-1.5"), ("+3", "+3"),
    ("Nord", "Nord"), (-2, -2), ("", ""),
])
def test_csv_neutralise(value, expected):
    assert neutralise(value) == expected


def test_csv_import_errors_csv_neutralises_planted_formulas(api):
    batch = ImportBatch(errors=[{"line": 2, "field": "=cmd|' /C calc'!A0", "reason": "@evil"}],
                        warnings=[{"line": 3, "field": "site", "reason": "+1", "kind": "-x"}])
    assert errors_csv(batch) == ("line;field;reason;kind\r\n2;'=cmd|' /C calc'!A0;'@evil;rejected\r\n"
                                 "3;site;+1;'-x\r\n")
