"""Background imports (django-tasks): primitive ids in, the import service does the work."""

import time
from pathlib import Path

from django.db import transaction
from django_tasks import task

from common.exceptions import DomainError

from .enums import ImportStatus
from .models import ImportBatch


@task()
def run_import_batch(batch_id: int, path: str) -> str:
    """Run a queued import. The cases and the batch report commit together; if the import fails,
    nothing is written and the batch is marked failed with the reason. A killed worker leaves the
    batch ``running`` with no case written (the page shows it as interrupted)."""
    from .importing import import_cases
    from .services import progress_path, progress_write

    batch = ImportBatch.objects.select_related("ai_system", "created_by", "profile").get(pk=batch_id)
    started = time.monotonic()
    ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.QUEUED).update(status=ImportStatus.RUNNING)
    try:
        import_cases(actor=batch.created_by, ai_system=batch.ai_system, path=path, filename=batch.filename,
                     fmt=batch.format, profile=batch.profile, dry_run=batch.is_dry_run, batch=batch,
                     progress=lambda done, expected: progress_write(batch_id, done, expected, started,
                                                                    time.monotonic()))
    except DomainError as exc:
        with transaction.atomic():
            ImportBatch.objects.filter(pk=batch_id).update(status=ImportStatus.FAILED, failure=exc.detail)
        return ImportStatus.FAILED
    finally:
        Path(path).unlink(missing_ok=True)
        progress_path(batch_id).unlink(missing_ok=True)
    return ImportStatus.COMPLETED
