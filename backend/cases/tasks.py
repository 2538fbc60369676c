"""Background imports (django-tasks): primitive ids in, the import service does the work.

Queued by ``cases.services.import_enqueue``; this module imports ``cases.importing`` only, never
``cases.services``, so that the dependency runs one way."""

import logging

from django.utils import timezone
from django_tasks import task

from common.exceptions import DomainError

from .enums import ImportStatus
from .importing.batches import (
    ProgressRecorder,
    import_batch_fail,
    import_batch_release_file,
    import_batches_recover,
    local_copy,
)
from .importing.service import import_cases
from .models import ImportBatch

logger = logging.getLogger(__name__)

FAILURE_MAX_LENGTH = 2000


@task()
def run_import_batch(batch_id: int) -> str:
    """Run a queued import. The uploaded file is read from the uploads storage (the database or
    object storage: the worker may run on another machine than the web server that received it),
    through a temporary copy of this process's own. The cases and the batch report commit
    together; if the import fails, nothing is written (``import_cases`` writes in one
    transaction, rolled back by the exception) and the batch is marked failed with the reason and
    an ``import.failed`` audit event (``importing.batches.import_batch_fail``). A refusal of the
    file (a ``DomainError``: missing columns, identifiers) is an outcome, so the task ends
    normally; so is a stored file gone missing; any other exception is a bug or an outage: it is
    logged and raised again, so that the worker records the task as failed with its traceback.
    Whatever the outcome, the stored upload (raw identifiers) and the local copy are deleted when
    the task ends. Progress goes on the batch row as the import runs
    (``importing.batches.ProgressRecorder``). A killed worker leaves the batch ``running`` with no
    case written; the recovery (``importing.batches.import_batches_recover``, run when an import
    task starts and before each upload) marks it ``interrupted`` and deletes its file. A batch
    that is no longer queued when its task starts (interrupted meanwhile, or a duplicate delivery
    of the task) is not imported."""
    import_batches_recover()  # a worker taking an import first clears what dead workers left
    now = timezone.now()
    claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=now, updated_at=now)
    batch = ImportBatch.objects.select_related("ai_system", "created_by", "profile").filter(pk=batch_id).first()
    if not claimed or batch is None:
        if batch is not None and batch.status != ImportStatus.RUNNING:
            import_batch_release_file(batch_id=batch_id)
        logger.warning("Import batch %s was not queued when its task started: not imported", batch_id)
        return batch.status if batch is not None else ImportStatus.INTERRUPTED
    try:
        with local_copy(batch.stored_file) as path, ProgressRecorder(batch_id) as progress:
            import_cases(actor=batch.created_by, ai_system=batch.ai_system, path=str(path), filename=batch.filename,
                         fmt=batch.format, profile=batch.profile, dry_run=batch.is_dry_run, batch=batch,
                         progress=progress)
    except DomainError as exc:
        import_batch_fail(batch=batch, reason=str(exc.detail)[:FAILURE_MAX_LENGTH], error=type(exc).__name__)
        return ImportStatus.FAILED
    except FileNotFoundError as exc:
        logger.error("Import batch %s: its uploaded file is not in the uploads storage", batch_id)
        import_batch_fail(batch=batch, reason="The uploaded file is no longer in storage: import the file again.",
                          error=type(exc).__name__)
        return ImportStatus.FAILED
    except Exception as exc:
        logger.exception("Import batch %s failed unexpectedly", batch_id)
        import_batch_fail(batch=batch, reason=f"{type(exc).__name__}: {exc}"[:FAILURE_MAX_LENGTH],
                          error=type(exc).__name__)
        raise
    finally:
        import_batch_release_file(batch_id=batch_id, name=batch.stored_file)
    return ImportStatus.COMPLETED
