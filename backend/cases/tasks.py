"""Background imports (django-tasks): primitive ids in, the import service does the work.

Queued by ``cases.services.import_enqueue``; this module imports ``cases.importing`` only, never
``cases.services``, so that the dependency runs one way."""

import logging
import time
from pathlib import Path

from django.utils import timezone
from django_tasks import task

from common.exceptions import DomainError

from .enums import ImportStatus
from .importing.batches import import_batch_fail, import_batch_release_file, import_batches_recover, progress_write
from .importing.service import import_cases
from .models import ImportBatch

logger = logging.getLogger(__name__)

FAILURE_MAX_LENGTH = 2000


@task()
def run_import_batch(batch_id: int, path: str) -> str:
    """Run a queued import. The cases and the batch report commit together; if the import fails,
    nothing is written (``import_cases`` writes in one transaction, rolled back by the exception)
    and the batch is marked failed with the reason and an ``import.failed`` audit event
    (``importing.batches.import_batch_fail``). A refusal of the file (a ``DomainError``: missing
    columns, identifiers) is an outcome, so the task ends normally; any other exception is a bug
    or an outage: it is logged and raised again, so that the worker records the task as failed
    with its traceback. Whatever the outcome, the uploaded file (raw identifiers) is deleted when
    the task ends. A killed worker leaves the batch ``running`` with no case written; the recovery
    (``importing.batches.import_batches_recover``, run when an import task starts and before each
    upload) marks it ``interrupted`` and deletes its file. A batch that is no longer queued when
    its task starts (interrupted meanwhile, or a duplicate delivery of the task) is not
    imported."""
    import_batches_recover()  # a worker taking an import first clears what dead workers left
    started = time.monotonic()
    claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, updated_at=timezone.now())
    batch = ImportBatch.objects.select_related("ai_system", "created_by", "profile").filter(pk=batch_id).first()
    if not claimed or batch is None:
        if batch is None or batch.status != ImportStatus.RUNNING:
            Path(path).unlink(missing_ok=True)
        logger.warning("Import batch %s was not queued when its task started: not imported", batch_id)
        return batch.status if batch is not None else ImportStatus.INTERRUPTED
    try:
        import_cases(actor=batch.created_by, ai_system=batch.ai_system, path=path, filename=batch.filename,
                     fmt=batch.format, profile=batch.profile, dry_run=batch.is_dry_run, batch=batch,
                     progress=lambda done, expected: progress_write(batch_id, done, expected, started,
                                                                    time.monotonic()))
    except DomainError as exc:
        import_batch_fail(batch=batch, reason=str(exc.detail)[:FAILURE_MAX_LENGTH], error=type(exc).__name__)
        return ImportStatus.FAILED
    except Exception as exc:
        logger.exception("Import batch %s failed unexpectedly", batch_id)
        import_batch_fail(batch=batch, reason=f"{type(exc).__name__}: {exc}"[:FAILURE_MAX_LENGTH],
                          error=type(exc).__name__)
        raise
    finally:
        import_batch_release_file(batch_id=batch_id, path=path)
    return ImportStatus.COMPLETED
