"""Writing to and verifying the audit trail."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from .models import GENESIS_HASH, AuditEvent, ChainHead


def _canonical(
    *, prev_hash: str, created_at: str, actor_id: int | None, actor_label: str, action: str,
    object_type: str, object_id: str, data: Any,
) -> bytes:
    payload = {
        "prev": prev_hash,
        "at": created_at,
        "actor_id": actor_id,
        "actor": actor_label,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(
        _canonical(
            prev_hash=event.prev_hash,
            created_at=event.created_at.isoformat(),
            actor_id=event.actor_id,
            actor_label=event.actor_label,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            data=event.data,
        )
    ).hexdigest()


def audit_record(*, actor, action: str, target: models.Model | None = None,
                 object_type: str = "", object_id: str = "", data: dict | None = None) -> AuditEvent:
    """Append one event to the chain.

    Must run inside the caller's transaction (it opens a savepoint otherwise): the event commits
    or rolls back with the change it records. Locks ``ChainHead`` until that transaction ends,
    which serializes audited writes; that is the price of a single verifiable chain.
    """
    if target is not None:
        object_type = target._meta.label_lower
        object_id = str(target.pk)
    # Round-trip through JSON so that the stored value and the hashed value are identical.
    clean = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder, sort_keys=True))
    with transaction.atomic():
        ChainHead.objects.get_or_create(id=1)
        head = ChainHead.objects.select_for_update().get(id=1)
        event = AuditEvent(
            created_at=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=getattr(actor, "username", None) or "system",
            action=action,
            object_type=object_type,
            object_id=object_id,
            data=clean,
            prev_hash=head.last_hash,
        )
        event.hash = event_hash(event)
        event.save()
        head.last_hash = event.hash
        head.count += 1
        head.save(update_fields=["last_hash", "count"])
    return event


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def audit_verify(batch_size: int = 5000) -> ChainReport:
    """Walk the chain in id order and name the first row whose link or content does not hold.

    Streams rows so that memory stays flat whatever the trail's length. Also checks that the
    chain head matches the last row, which catches a truncated tail.
    """
    prev = GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.prev_hash != prev:
            return ChainReport(checked, event.pk, "its previous-hash link does not match the row before it")
        if event_hash(event) != event.hash:
            return ChainReport(checked, event.pk, "its content does not match its hash")
        prev = event.hash
        checked += 1
    head = ChainHead.objects.filter(id=1).first()
    if head is not None and (head.last_hash != prev or head.count != checked):
        return ChainReport(checked, -1, "the chain head does not match the last row: rows were removed")
    return ChainReport(checked, None, "")
