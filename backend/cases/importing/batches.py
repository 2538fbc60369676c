"""A queued import's batch around the import transaction: the uploaded file kept in the uploads
storage until its task ends, the progress the task writes on the batch row after each chunk (read
by the batch page, the API and the recovery), the failure of a batch, and the recovery of batches
whose worker died.

Nothing here goes through a directory shared between processes: the upload is in
``STORAGES["uploads"]`` (the database or S3-compatible object storage, ``common.storage``), the
progress is on the batch row, and the only local files are the temporary copies a process makes
for itself (``local_copy``, in ``FILE_UPLOAD_TEMP_DIR``), deleted when it is done with them.

The background task (``cases.tasks``) and the queueing service (``cases.services.import_enqueue``)
both use this module; it imports neither of them.
"""

import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from audit.services import audit_record
from common.storage import unique_name, uploads_storage

from ..enums import ImportStatus
from ..models import ImportBatch

UPLOADS_PREFIX = "imports"
"""Where queued uploads go in the uploads storage."""

PROGRESS_EVERY = 1.0
"""Seconds between two progress writes of a running import (the last chunk is always written)."""


def store_upload(upload) -> str:
    """Save an upload, chunk by chunk (never whole in memory), under a new random name of the
    uploads storage, and return that name; the caller records it on the batch."""
    return uploads_storage().save(unique_name(UPLOADS_PREFIX, ".upload"), upload)


@contextmanager
def local_copy(name: str) -> Iterator[Path]:
    """A temporary copy, for this process only, of the stored upload ``name``: written chunk by
    chunk to ``FILE_UPLOAD_TEMP_DIR`` (mode 0600), and deleted on leaving the block whatever
    happens (a killed process leaves it to the recovery's sweep). ``FileNotFoundError`` when the
    storage does not hold the file."""
    directory = Path(settings.FILE_UPLOAD_TEMP_DIR)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with uploads_storage().open(name, "rb") as source:
        fd, path = tempfile.mkstemp(prefix="import-", suffix=".upload", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
            yield Path(path)
        finally:
            Path(path).unlink(missing_ok=True)


class ProgressRecorder:
    """The ``progress`` callback of a queued import: rows done and expected written on the batch
    row, at most once per ``PROGRESS_EVERY`` seconds, with ``updated_at`` as the worker's sign of
    life.

    The import runs in one transaction, whose writes nobody sees before it commits; the progress
    therefore goes through a connection of its own, in autocommit, so that every application
    server reads it from the row at once. The import transaction does not lock the batch row
    until it closes the batch (``importing.service``), so the two never wait for each other. On
    SQLite, which allows one writer at a time, the import's transaction holds the only write
    lock: nothing is written until the end, and the page shows the batch running without figures.
    Use as a context manager (the connection is closed on leaving it)."""

    def __init__(self, batch_id: int):
        self.batch_id = batch_id
        self.connection = None
        if connection.vendor == "postgresql":
            self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
            self.connection.settings_dict = dict(connection.settings_dict)
        self.last = 0.0

    def __enter__(self) -> "ProgressRecorder":
        return self

    def __exit__(self, *exc) -> None:
        if self.connection is not None:
            self.connection.close()

    def __call__(self, done: int, expected: int | None) -> None:
        now = time.monotonic()
        if self.connection is None or (now - self.last < PROGRESS_EVERY and (expected is None or done < expected)):
            return
        self.last = now
        meta = ImportBatch._meta
        q = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {q(meta.db_table)} SET {q('rows_done')} = %s, {q('rows_expected')} = %s, "
                f"{q('updated_at')} = %s WHERE {q('id')} = %s AND {q('status')} = %s",
                [done, expected, timezone.now(), self.batch_id, ImportStatus.RUNNING])


def progress_figures(batch: ImportBatch, *, now: dt.datetime | None = None) -> dict:
    """A batch's progress as read from its row: rows done and expected, rows per second since the
    worker started, the seconds left (None when unknown) and the percentage."""
    now = now or timezone.now()
    done, expected = batch.rows_done, batch.rows_expected
    elapsed = (batch.updated_at - batch.started_at).total_seconds() if batch.started_at else 0
    rate = round(done / elapsed) if done and elapsed > 0 else None
    eta = (expected - done) / rate if expected and rate else None
    return {"done": done, "expected": expected, "rate": rate, "eta": eta,
            "percent": min(round(100 * done / expected), 100) if expected else None}


def import_batch_release_file(*, batch_id: int, name: str | None = None) -> None:
    """Delete the uploaded file of a batch (it carries raw identifiers) from the uploads storage,
    and forget its name. Called whatever the import's outcome: completed, refused, failed,
    crashed, or interrupted by a dead worker (``import_batches_recover``). No lock and no audit
    event: the batch's ``stored_file`` is emptied by a plain update, outside any transaction of
    the caller's."""
    if name is None:
        name = ImportBatch.objects.filter(pk=batch_id).values_list("stored_file", flat=True).first()
    if name:
        uploads_storage().delete(name)
    ImportBatch.objects.filter(pk=batch_id).exclude(stored_file="").update(stored_file="")


def import_batch_fail(*, batch: ImportBatch, reason: str, error: str = "") -> bool:
    """Record that a queued import ended without a report: its transaction rolled back, so no case
    of it exists. Precondition: the caller is the background task, after ``import_cases`` raised
    (no permission check: the uploader was allowed to queue it, and the task acts for them).

    Side effects, in one transaction: status ``failed`` with ``reason`` (shown to the quality team
    on the batch page) and one ``import.failed`` audit event by the uploader. The event keeps the
    exception's class, not its text: the trail is append-only, and a message may quote a row.
    The batch is marked by a conditional update (no row lock): a batch that already ended
    (completed, validated, rejected, interrupted) is left alone; returns whether it was marked."""
    with transaction.atomic():
        marked = ImportBatch.objects.filter(
            pk=batch.pk, status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING),
        ).update(status=ImportStatus.FAILED, failure=reason, updated_at=timezone.now())
        if marked:
            audit_record(actor=batch.created_by, action="import.failed", target=batch,
                         data={"error": error, "dry_run": batch.is_dry_run})
    return bool(marked)


@dataclass
class RecoveryResult:
    interrupted: list[int]
    files_deleted: int


def import_batches_recover(*, now: dt.datetime | None = None, running_stale_after: dt.timedelta | None = None,
                           queued_stale_after: dt.timedelta | None = None) -> RecoveryResult:
    """Mark ``interrupted`` the batches a dead worker left behind, and delete every import file
    nobody is working on. Run by each import task as it starts, before every upload
    (``cases.services.import_enqueue``), and by ``manage.py recover_imports`` (for a periodic
    timer).

    A worker writes its progress on the batch row as it goes (``ProgressRecorder``), so a
    ``running`` batch that has shown no sign of life for ``running_stale_after``
    (``CGH_IMPORT_STALE_MINUTES``, default 15) has lost its worker; a ``queued`` batch waiting for
    longer than ``queued_stale_after`` (default 24 h) has lost its task. Their import transaction
    never committed, so no case of theirs exists. Each is marked in its own transaction, only if
    still in the state read (a conditional update, no row lock: a worker that wakes up later finds
    it interrupted and stops, and one still running rolls back when it closes the batch), with one
    ``import.interrupted`` audit event by the uploader; its file is deleted. Uploads of the
    uploads storage that no live batch owns and that nobody wrote for ``running_stale_after`` are
    deleted too (what a process killed between storing an upload and recording its batch left
    there), and so are this process's own stale temporary files (``FILE_UPLOAD_TEMP_DIR``:
    uploads being received and import copies that a killed process of this machine left)."""
    now = now or timezone.now()
    running_stale_after = running_stale_after or dt.timedelta(
        minutes=int(getattr(settings, "CGH_IMPORT_STALE_MINUTES", 15)))
    queued_stale_after = queued_stale_after or dt.timedelta(
        hours=int(getattr(settings, "CGH_IMPORT_QUEUED_STALE_HOURS", 24)))
    interrupted = []
    live = ImportBatch.objects.filter(status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING)).only(
        "id", "status", "updated_at", "created_by", "stored_file", "is_dry_run")
    keep: set[str] = set()
    for batch in live:
        limit = running_stale_after if batch.status == ImportStatus.RUNNING else queued_stale_after
        if now - batch.updated_at <= limit:
            keep.add(batch.stored_file)
            continue
        with transaction.atomic():
            marked = ImportBatch.objects.filter(pk=batch.pk, status=batch.status).update(
                status=ImportStatus.INTERRUPTED, updated_at=now,
                failure="The import was interrupted: its worker stopped before the end. Nothing of it was written "
                        "and the uploaded file was deleted; import the file again.")
            if marked:
                audit_record(actor=batch.created_by, action="import.interrupted", target=batch,
                             data={"previous_status": batch.status, "dry_run": batch.is_dry_run})
        if marked:
            import_batch_release_file(batch_id=batch.pk)
            interrupted.append(batch.pk)
        else:
            keep.add(batch.stored_file)
    deleted = _sweep_files(keep=keep, older_than=now - running_stale_after)
    return RecoveryResult(interrupted=interrupted, files_deleted=deleted)


def _sweep_files(*, keep: set[str], older_than: dt.datetime) -> int:
    """Delete the stored uploads not in ``keep`` and the local temporary files, last written
    before ``older_than``; returns how many were deleted."""
    deleted = 0
    storage = uploads_storage()
    _, names = storage.listdir(UPLOADS_PREFIX)
    for base in names:
        name = f"{UPLOADS_PREFIX}/{base}"
        if name in keep:
            continue
        try:
            if storage.get_modified_time(name) < older_than:
                storage.delete(name)
                deleted += 1
        except FileNotFoundError:
            continue
    temp_dir = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)
    if temp_dir and Path(temp_dir).is_dir():
        cutoff = older_than.timestamp()
        for path in Path(temp_dir).iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    deleted += 1
            except OSError:
                continue
    return deleted
