"""Writing to and verifying the audit trail (see ``audit.models`` for the design)."""

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Case, Max, Value, When
from django.utils import timezone

from .anchors import AnchorError, Checkpoint, anchor_path, read_checkpoints
from .chain import LaneWalker, keyed_hash
from .keys import current_key, keyring
from .models import GENESIS_HASH, AuditEvent, ChainHead
from .tasks import anchor_audit_trail

logger = logging.getLogger(__name__)

_local = threading.local()
_last_anchor_scheduled = 0.0


def _lane_count() -> int:
    return max(1, int(getattr(settings, "AUDIT_LANES", 1)))


def _ensure_heads(lanes: int) -> None:
    """Create the heads of lanes 1..``lanes`` that do not exist (a fresh or emptied database),
    each from its lane's last event, so that a lane always continues where its events end."""
    existing = set(ChainHead.objects.filter(id__lte=lanes).values_list("id", flat=True))
    missing = [lane for lane in range(1, lanes + 1) if lane not in existing]
    if not missing:
        return
    lengths = dict(AuditEvent.objects.filter(lane__in=missing).values("lane").annotate(n=Max("seq"))
                   .values_list("lane", "n"))
    heads = []
    for lane in missing:
        count = lengths.get(lane) or 0
        last_hash = AuditEvent.objects.get(lane=lane, seq=count).hash if count else GENESIS_HASH
        heads.append(ChainHead(id=lane, count=count, last_hash=last_hash))
    ChainHead.objects.bulk_create(heads, ignore_conflicts=True)


def _take_lane() -> ChainHead:
    """Lock the head of a lane for the rest of the caller's transaction.

    On PostgreSQL, the first head nobody holds (``FOR UPDATE SKIP LOCKED``), preferring the lane
    this connection used last: a transaction that records several events keeps its lane (a lock
    already held is not skipped), and each worker tends to keep its own lane. When every lane is
    held, waits for a random one. Elsewhere (SQLite serializes writers anyway) lane 1."""
    lanes = _lane_count()
    preferred = min(getattr(_local, "lane", 1), lanes)
    if not connection.features.has_select_for_update_skip_locked:
        head = ChainHead.objects.select_for_update().filter(id=preferred).first()
        if head is None:
            _ensure_heads(lanes)
            head = ChainHead.objects.select_for_update().get(id=preferred)
        return head
    free = (
        ChainHead.objects.select_for_update(skip_locked=True)
        .filter(id__lte=lanes)
        .order_by(Case(When(id=preferred, then=Value(0)), default=Value(1)), "id")
    )
    head = free.first()
    if head is None:
        _ensure_heads(lanes)
        head = free.first() or ChainHead.objects.select_for_update().get(id=random.randint(1, lanes))
    return head


def audit_record(*, actor, action: str, target: models.Model | None = None,
                 object_type: str = "", object_id: str = "", data: dict | None = None) -> AuditEvent:
    """Append one event to a lane of the chain, sealed with the audit key.

    Runs inside the caller's transaction (it opens one otherwise), with no savepoint of its own:
    the event commits or rolls back with the change it records, and an error while recording it
    leaves the whole transaction to be rolled back (nothing can be committed without its event).
    Locks the head of one lane until that transaction ends; other writers take other lanes
    (``_take_lane``). After commit, may schedule a checkpoint (``_schedule_anchor``), which never
    runs inside the request's transaction."""
    if target is not None:
        object_type = target._meta.label_lower
        object_id = str(target.pk)
    # Round-trip through JSON so that the stored value and the hashed value are identical.
    clean = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder, sort_keys=True))
    key = current_key()
    with transaction.atomic(savepoint=False):
        head = _take_lane()
        event = AuditEvent(
            created_at=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=getattr(actor, "username", None) or "system",
            action=action,
            object_type=object_type,
            object_id=object_id,
            data=clean,
            lane=head.id,
            seq=head.count + 1,
            key_id=key.key_id,
            prev_hash=head.last_hash,
        )
        event.hash = keyed_hash(event, key.secret)
        event.save()
        head.last_hash = event.hash
        head.count = event.seq
        head.save(update_fields=["last_hash", "count"])
    _local.lane = head.id
    if _anchor_due(event):
        transaction.on_commit(_schedule_anchor, robust=True)
    return event


def _anchor_due(event: AuditEvent) -> bool:
    if not getattr(settings, "AUDIT_ANCHOR_PATH", None):
        return False
    every = int(getattr(settings, "AUDIT_ANCHOR_EVERY", 0) or 0)
    minutes = float(getattr(settings, "AUDIT_ANCHOR_MINUTES", 0) or 0)
    if every and event.seq % every == 0:
        return True
    return bool(minutes) and time.monotonic() - _last_anchor_scheduled >= minutes * 60


def _schedule_anchor() -> None:
    """Enqueue a checkpoint (after commit, so that it seals the event just written). A failure
    to enqueue is logged, never raised into the request that triggered it."""
    global _last_anchor_scheduled
    _last_anchor_scheduled = time.monotonic()
    anchor_audit_trail.enqueue()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification. ``first_broken_id`` names the first event that does not
    hold; a failure with no such event (a cut tail, an emptied trail, a bad checkpoint file)
    names the checkpoint instead (``anchor``: its line number)."""

    checked: int
    first_broken_id: int | None
    reason: str
    lane: int | None = None
    seq: int | None = None
    anchor: int | None = None
    checkpoints: int = 0
    anchor_file: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reason


def _load_checkpoints() -> tuple[list[Checkpoint], ChainReport | None, list[str], str]:
    path = anchor_path()
    if path is None:
        return [], None, ["no anchor file is configured (CGH_AUDIT_ANCHOR_PATH): a trail cut at its end or "
                          "emptied cannot be detected"], ""
    if not path.exists():
        if AuditEvent.objects.exists():
            reason = (f"the anchor file {path} does not exist: it was removed, or no checkpoint was ever written "
                      "(run anchor_audit)")
            return [], ChainReport(0, None, reason, anchor_file=str(path)), [], str(path)
        return [], None, [], str(path)
    try:
        return read_checkpoints(path), None, [], str(path)
    except AnchorError as exc:
        return [], ChainReport(0, None, f"the anchor file {path} cannot be trusted: {exc}",
                               anchor_file=str(path)), [], str(path)
    except OSError as exc:
        return [], ChainReport(0, None, f"the anchor file {path} cannot be read: {exc.strerror}",
                               anchor_file=str(path)), [], str(path)


def audit_verify(batch_size: int = 5000) -> ChainReport:
    """Walk every lane in order, check each event's keyed hash and link, and check the trail
    against every signed checkpoint of the anchor file.

    Names the first event that does not hold (the lowest id among the lanes' first breaks), or,
    when the events hold but the trail is shorter than a checkpoint counted or an anchored hash
    is gone, the checkpoint that contradicts it. Streams the events in ``(lane, seq)`` order, so
    memory stays flat whatever the trail's length; only the anchored positions are kept."""
    checkpoints, failure, notes, path = _load_checkpoints()
    if failure is not None:
        return failure
    keys = keyring()
    pins: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for cp in checkpoints:
        for lane, (count, digest) in cp.lanes.items():
            if count:
                pins.setdefault((lane, count), []).append((cp.number, digest))
    # Unkeyed events are trusted only as far as a signed checkpoint has sealed lane 1.
    legacy_limit = max((cp.lanes.get(1, (0, ""))[0] for cp in checkpoints), default=0)

    walkers: dict[int, LaneWalker] = {}
    breaks: list[tuple[int, int, int, str, int | None]] = []  # (event id, lane, seq, reason, anchor)
    broken_lanes: set[int] = set()
    checked = 0
    for event in AuditEvent.objects.order_by("lane", "seq").iterator(chunk_size=batch_size):
        if event.lane in broken_lanes:
            continue
        walker = walkers.setdefault(event.lane, LaneWalker(lane=event.lane, keys=keys, legacy_limit=legacy_limit))
        reason = walker.feed(event)
        anchor = None
        if reason is None:
            for number, digest in pins.get((event.lane, event.seq), ()):
                if digest != event.hash:
                    reason, anchor = (f"it does not match checkpoint {number}, which sealed this position: "
                                      "the history was rewritten"), number
                    break
        if reason is not None:
            breaks.append((event.pk, event.lane, event.seq, reason, anchor))
            broken_lanes.add(event.lane)
            continue
        checked += 1
    common = {"checkpoints": len(checkpoints), "anchor_file": path, "notes": notes}
    if breaks:
        pk, lane, seq, reason, anchor = min(breaks)
        return ChainReport(checked, pk, reason, lane=lane, seq=seq, anchor=anchor, **common)
    for cp in checkpoints:
        for lane, (count, _) in sorted(cp.lanes.items()):
            length = walkers[lane].seq if lane in walkers else 0
            if length >= count:
                continue
            if not walkers:
                reason = f"the trail is empty, but checkpoint {cp.number} counted {count} events in lane {lane}"
            else:
                reason = (f"lane {lane} ends at position {length}, but checkpoint {cp.number} counted {count} "
                          "events in it: events were removed from its end")
            return ChainReport(checked, None, reason, lane=lane, seq=length, anchor=cp.number, **common)
    # The heads are written in the same transaction as each event: a head ahead of its lane shows
    # events removed from its end even where no checkpoint has been written yet.
    for lane, count, last_hash in ChainHead.objects.order_by("id").values_list("id", "count", "last_hash"):
        walker = walkers.get(lane)
        length, tail = (walker.seq, walker.last_hash) if walker else (0, GENESIS_HASH)
        if (count, last_hash) != (length, tail):
            reason = (f"the head of lane {lane} counts {count} events but the lane ends at position {length}: "
                      "events were removed from its end, or the head was altered")
            return ChainReport(checked, None, reason, lane=lane, seq=length, **common)
    return ChainReport(checked, None, "", **common)
