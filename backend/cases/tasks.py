"""Background imports (django-tasks): primitive ids in, the import service does the work."""

import logging
import time
from pathlib import Path

from django.utils import timezone
from django_tasks import task

from common.exceptions import DomainError

from .enums import ImportStatus
from .models import ImportBatch

logger = logging.getLogger(__name__)

FAILURE_MAX_LENGTH = 2000


@task()
def run_import_batch(batch_id: int, path: str) -> str:
    """Run a queued import. The cases and the batch report commit together; if the import fails,
    nothing is written (``import_cases`` writes in one transaction, rolled back by the exception)
    and the batch is marked failed with the reason and an ``import.failed`` audit event
    (``services.import_batch_fail``). A refusal of the file (a ``DomainError``: missing columns,
    identifiers) is an outcome, so the task ends normally; any other exception is a bug or an
    outage: it is logged and raised again, so that the worker records the task as failed with its
    traceback. A killed worker leaves the batch ``running`` with no case written (the page shows
    it as interrupted once it has shown no progress for a while)."""
    from .importing import import_cases
    from .services import import_batch_fail, progress_path, progress_write

    batch = ImportBatch.objects.select_related("ai_system", "created_by", "profile").get(pk=batch_id)
    started = time.monotonic()
    ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, updated_at=timezone.now())
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
        Path(path).unlink(missing_ok=True)
        progress_path(batch_id).unlink(missing_ok=True)
    return ImportStatus.COMPLETED
