"""Background checkpoints of the audit chain (django-tasks), scheduled after commit by
``services.audit_record``."""

import logging

from django_tasks import task

from .anchors import AnchorError, anchor_write

logger = logging.getLogger(__name__)


@task()
def anchor_audit_trail() -> int:
    """Write one signed checkpoint and return its number. A refusal (the new events or the last
    checkpoint do not verify) is logged as an error and raised, so the worker records the task
    as failed: ``verify_audit`` then names what broke."""
    try:
        return anchor_write().number
    except AnchorError:
        logger.exception("Audit checkpoint refused")
        raise
