"""A killed import leaves no file with raw identifiers; bad rows and documents are reported,
never a crash; every CSV the product writes neutralises formulas."""

import datetime as dt
import json
import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.enums import Role
from audit.models import AuditEvent
from cases.api.views import errors_csv
from cases.enums import ImportStatus
from cases.importing.batches import import_batches_recover, progress_path
from cases.importing.service import import_cases
from cases.models import Case, ImportBatch
from cases.rows import MAX_LENGTHS
from cases.tasks import run_import_batch
from common.csv_export import neutralise
from common.exceptions import ValidationFailed
from tests.factories import AISystemFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "accession_number;patient_id;exam_date;site;service;report_text;ai_label"


@pytest.fixture(autouse=True)
def import_dir(tmp_path, settings):
    path = tmp_path / "imports"
    path.mkdir()
    settings.CGH_IMPORT_DIR = str(path)
    settings.FILE_UPLOAD_TEMP_DIR = str(path / "uploading")
    (path / "uploading").mkdir()
    return path


def quality():
    return UserFactory(role=Role.QUALITY)


def left_by_dead_worker(import_dir, status, *, minutes_ago: int) -> ImportBatch:
    """A batch row as a killed worker leaves it: queued or running, with its upload on disk."""
    user, ai = quality(), AISystemFactory()
    name = f"dead-{status}.upload"
    (import_dir / name).write_text(f"{HEADER}\nA1;PATIENT-RAW-ID;01/03/2026;Nord;;;fracture\n")
    batch = ImportBatch.objects.create(ai_system=ai, created_by=user, filename="export.csv", file_sha256="",
                                       format="csv", status=status, key_id="k", stored_file=name)
    ImportBatch.objects.filter(pk=batch.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=minutes_ago))
    return batch


@pytest.mark.parametrize(("status", "minutes_ago"), [(ImportStatus.RUNNING, 16), (ImportStatus.QUEUED, 24 * 60 + 1)])
def test_import_killed_worker_is_recovered_file_gone_and_audited(import_dir, status, minutes_ago):
    batch = left_by_dead_worker(import_dir, status, minutes_ago=minutes_ago)
    progress_path(batch.pk).write_text("{}")
    old = (timezone.now() - dt.timedelta(minutes=minutes_ago)).timestamp()
    os.utime(progress_path(batch.pk), (old, old))

    result = import_batches_recover()

    batch.refresh_from_db()
    assert (result.interrupted, batch.status, batch.stored_file) == ([batch.pk], ImportStatus.INTERRUPTED, "")
    assert sorted(p.name for p in import_dir.iterdir()) == ["uploading"]
    event = AuditEvent.objects.get(action="import.interrupted")
    assert (event.object_id, event.data) == (str(batch.pk), {"previous_status": status, "dry_run": False})
    assert Case.objects.count() == 0


@pytest.mark.parametrize(("status", "minutes_ago"), [(ImportStatus.RUNNING, 5), (ImportStatus.QUEUED, 60)])
def test_import_live_batches_are_left_alone(import_dir, status, minutes_ago):
    batch = left_by_dead_worker(import_dir, status, minutes_ago=minutes_ago)
    assert import_batches_recover().interrupted == []
    batch.refresh_from_db()
    assert (batch.status, (import_dir / batch.stored_file).exists()) == (status, True)
    assert not AuditEvent.objects.filter(action="import.interrupted").exists()


def test_import_recovery_sweeps_orphan_and_temporary_files(import_dir):
    orphan = import_dir / "orphan.upload"
    orphan.write_text("raw")
    temp = import_dir / "uploading" / "tmp123.upload"
    temp.write_text("raw")
    fresh = import_dir / "fresh.upload"
    fresh.write_text("raw")
    old = (timezone.now() - dt.timedelta(hours=1)).timestamp()
    os.utime(orphan, (old, old))
    os.utime(temp, (old, old))
    assert import_batches_recover().files_deleted == 2
    assert (orphan.exists(), temp.exists(), fresh.exists()) == (False, False, True)


def test_import_recovery_command_reports(import_dir):
    batch = left_by_dead_worker(import_dir, ImportStatus.RUNNING, minutes_ago=30)
    out = StringIO()
    call_command("recover_imports", stdout=out)
    assert out.getvalue() == f"1 batch(es) interrupted: {batch.pk}; 0 stale file(s) deleted.\n"


def test_import_task_on_an_interrupted_batch_imports_nothing_and_deletes_file(import_dir):
    batch = left_by_dead_worker(import_dir, ImportStatus.QUEUED, minutes_ago=0)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.INTERRUPTED)
    path = import_dir / batch.stored_file
    assert run_import_batch.call(batch.pk, str(path)) == ImportStatus.INTERRUPTED
    assert (path.exists(), Case.objects.count()) == (False, 0)


@pytest.mark.parametrize("crash", [ValidationFailed("refused"), RuntimeError("disk on fire")])
def test_import_file_deleted_whatever_the_outcome(import_dir, monkeypatch, crash):
    batch = left_by_dead_worker(import_dir, ImportStatus.QUEUED, minutes_ago=0)
    path = import_dir / batch.stored_file

    def boom(**kwargs):
        raise crash

    monkeypatch.setattr("cases.tasks.import_cases", boom)
    if isinstance(crash, RuntimeError):
        with pytest.raises(RuntimeError):
            run_import_batch.call(batch.pk, str(path))
    else:
        assert run_import_batch.call(batch.pk, str(path)) == ImportStatus.FAILED
    batch.refresh_from_db()
    assert (path.exists(), batch.status, batch.stored_file) == (False, ImportStatus.FAILED, "")


def test_import_file_deleted_after_success(import_dir):
    batch = left_by_dead_worker(import_dir, ImportStatus.QUEUED, minutes_ago=0)
    path = import_dir / batch.stored_file
    run_import_batch.call(batch.pk, str(path))
    batch.refresh_from_db()
    assert (path.exists(), batch.status, Case.objects.count()) == (False, ImportStatus.COMPLETED, 1)


def test_import_interrupted_batch_shown_in_api(import_dir, api):
    batch = left_by_dead_worker(import_dir, ImportStatus.RUNNING, minutes_ago=30)
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
    assert {name: Case._meta.get_field(name).max_length for name in MAX_LENGTHS
            if name not in ("clinical_context", "report_text")} == {
        k: v for k, v in MAX_LENGTHS.items() if k not in ("clinical_context", "report_text")}


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
