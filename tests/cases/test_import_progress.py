"""A queued import followed from anywhere: the API queues the upload (202) and reports the batch's
progress from its row; on PostgreSQL the worker's progress is visible to other connections while
the import transaction is still open."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DEFAULT_DB_ALIAS, connections

from accounts.enums import Role
from cases.enums import ImportStatus
from cases.importing import batches
from cases.models import Case, ImportBatch
from cases.services import import_enqueue
from common.models import StoredFile
from tests.factories import AISystemFactory, UserFactory
from tests.reviews.test_concurrency import needs_postgres

HEADER = "accession_number;patient_id;exam_date;site;report_text;ai_label"


def rows(n: int) -> bytes:
    return (HEADER + "\n" + "".join(f"P{i};PAT{i};01/03/2026;Nord;Pas de trait.;fracture\n"
                                    for i in range(n))).encode()


@pytest.mark.django_db
def test_api_background_upload_is_queued_then_followed_to_the_end(api, django_capture_on_commit_callbacks):
    user, ai = UserFactory(role=Role.QUALITY), AISystemFactory()
    client = api(user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = client.post("/api/import-batches/", {"ai_system": ai.pk, "background": "true",
                                                 "file": SimpleUploadedFile("export.csv", rows(3))},
                        format="multipart")
    body = r.json()
    assert (r.status_code, body["status"], body["progress"]) == (
        202, "queued", {"done": 0, "expected": None, "rate": None, "eta": None, "percent": None})
    assert (StoredFile.objects.count(), Case.objects.count()) == (1, 0)
    for callback in callbacks:
        callback()  # the task, as the worker runs it
    body = client.get(f"/api/import-batches/{body['id']}/").json()
    assert (body["status"], body["rows_created"], body["progress"]["done"], body["progress"]["percent"]) == (
        "completed", 3, 3, 100)
    assert (StoredFile.objects.count(), Case.objects.count()) == (0, 3)


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_import_progress_is_visible_to_other_connections_while_the_import_runs(monkeypatch):
    """12,000 rows are imported in chunks of 5,000: after each chunk, another connection (another
    application server) reads the progress on the batch row, while the cases are not yet
    visible (one transaction)."""
    monkeypatch.setattr(batches, "PROGRESS_EVERY", 0)
    user, ai = UserFactory(role=Role.QUALITY), AISystemFactory()
    seen = []
    real = batches.ProgressRecorder.__call__

    def observed(self, done, expected):
        real(self, done, expected)
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT status, rows_done, rows_expected FROM cases_importbatch WHERE id = %s",
                               [self.batch_id])
                status, rows_done, rows_expected = cursor.fetchone()
                cursor.execute("SELECT count(*) FROM cases_case")
                seen.append((status, rows_done, rows_expected, cursor.fetchone()[0]))
        finally:
            other.close()

    monkeypatch.setattr(batches.ProgressRecorder, "__call__", observed)
    batch = import_enqueue(actor=user, ai_system=ai, upload=SimpleUploadedFile("export.csv", rows(12_000)))

    batch = ImportBatch.objects.get(pk=batch.pk)
    assert seen == [("running", 5000, 12_000, 0), ("running", 10_000, 12_000, 0), ("running", 12_000, 12_000, 0)]
    assert (batch.status, batch.rows_created, batch.rows_done, batch.stored_file) == (
        ImportStatus.COMPLETED, 12_000, 12_000, "")
    assert batch.started_at is not None and batch.started_at <= batch.updated_at
