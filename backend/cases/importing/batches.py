"""A queued import's batch around the import transaction: the uploaded file kept in the import
directory until its task ends, the progress file the task writes after each chunk (read by the
batch page and by the recovery), the failure of a batch, and the recovery of batches whose worker
died.

The background task (``cases.tasks``) and the queueing service (``cases.services.import_enqueue``)
both use this module; it imports neither of them.
"""

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record

from ..enums import ImportStatus
from ..models import ImportBatch


def import_dir() -> Path:
    """The directory of stored uploads and progress files (``CGH_IMPORT_DIR``, default
    ``var/imports`` in the project), created when missing."""
    path = Path(getattr(settings, "CGH_IMPORT_DIR", None) or settings.PROJECT_DIR / "var" / "imports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(upload) -> Path:
    """Copy an upload, chunk by chunk (never whole in memory), to a new file of the import
    directory, readable by this user only. The caller records its name on the batch."""
    path = import_dir() / f"{uuid.uuid4().hex}.upload"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def progress_path(batch_id: int) -> Path:
    """The progress file of a batch: ``{"done", "expected", "rate", "eta"}`` as JSON."""
    return import_dir() / f"progress-{batch_id}.json"


def progress_write(batch_id: int, done: int, expected: int | None, started: float, now: float) -> None:
    """Write a batch's progress (``started`` and ``now`` on a monotonic clock). The file is
    replaced whole, so that a reader never sees half of it; its modification time is the task's
    last sign of life for the recovery."""
    rate = done / max(now - started, 1e-6)
    eta = (expected - done) / rate if expected and rate else None
    tmp = progress_path(batch_id).with_suffix(".tmp")
    tmp.write_text(json.dumps({"done": done, "expected": expected, "rate": round(rate), "eta": eta}))
    tmp.replace(progress_path(batch_id))


def progress_read(batch_id: int) -> dict | None:
    """A batch's progress, or None when it has none (not started, ended) or it cannot be read."""
    try:
        return json.loads(progress_path(batch_id).read_text())
    except (OSError, ValueError):
        return None


def import_batch_release_file(*, batch_id: int, path: str | Path | None = None) -> None:
    """Delete the uploaded file of a batch (it carries raw identifiers) and its progress file, and
    forget the file's name. Called whatever the import's outcome: completed, refused, failed,
    crashed, or interrupted by a dead worker (``import_batches_recover``). No lock and no audit
    event: the batch's ``stored_file`` is emptied by a plain update, outside any transaction of
    the caller's."""
    if path is None:
        name = ImportBatch.objects.filter(pk=batch_id).values_list("stored_file", flat=True).first()
        path = import_dir() / name if name else None
    if path is not None:
        Path(path).unlink(missing_ok=True)
    progress_path(batch_id).unlink(missing_ok=True)
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

    A worker writes its progress file after every chunk, so a ``running`` batch that has shown no
    sign of life for ``running_stale_after`` (``CGH_IMPORT_STALE_MINUTES``, default 15) has lost its
    worker; a ``queued`` batch waiting for longer than ``queued_stale_after`` (default 24 h) has lost
    its task. Their import transaction never committed, so no case of theirs exists. Each is
    marked in its own transaction, only if still in the state read (a conditional update, no row
    lock: a worker that wakes up later finds it interrupted and stops), with one
    ``import.interrupted`` audit event by the uploader; its file is deleted. Files of the import
    directory (and of the upload temporary directory) that no live batch owns and that nobody
    wrote for ``running_stale_after`` are deleted too: what a process killed between storing an
    upload and recording its batch left there."""
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
        if now - _last_sign_of_life(batch) <= limit:
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


def _last_sign_of_life(batch: ImportBatch) -> dt.datetime:
    """The later of the batch's last update and its progress file's last write."""
    try:
        mtime = dt.datetime.fromtimestamp(progress_path(batch.pk).stat().st_mtime, tz=dt.UTC)
    except OSError:
        return batch.updated_at
    return max(mtime, batch.updated_at)


def _sweep_files(*, keep: set[str], older_than: dt.datetime) -> int:
    """Delete the uploads, progress files and upload temporary files not in ``keep`` and last
    written before ``older_than``; returns how many were deleted."""
    deleted = 0
    directories = [(import_dir(), "*.upload"), (import_dir(), "progress-*.json")]
    temp_dir = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)
    if temp_dir:
        directories.append((Path(temp_dir), "*"))
    cutoff = older_than.timestamp()
    for directory, pattern in directories:
        for path in directory.glob(pattern):
            if path.name in keep or not path.is_file():
                continue
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    deleted += 1
            except OSError:
                continue
    return deleted
