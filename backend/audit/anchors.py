"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint records, for every lane, how many events it held and the hash of its last event, and
is signed with HMAC-SHA256 under the audit key. Checkpoints are appended, one JSON line each, to the
file named by ``CGH_AUDIT_ANCHOR_PATH`` (``audit-anchors.jsonl`` inside it when that path is an
existing directory). Each line carries its number and the signature of the line before it, so the
file is itself a chain: a line edited, forged, removed or moved is caught.

The file belongs on storage that the database administrator cannot rewrite: a write-once or
append-only mount (``chattr +a``, WORM storage), or a directory shipped line by line to a log
server. The database alone cannot prove its own length: a trail emptied by ``TRUNCATE`` or cut at
its tail is still a valid chain, and only a checkpoint written elsewhere shows what is missing.

Checkpoints are written by ``manage.py anchor_audit`` (cron or a systemd timer) and by the
application itself, every ``AUDIT_ANCHOR_EVERY`` events of a lane or ``AUDIT_ANCHOR_MINUTES``
minutes, through a background task scheduled after commit (``audit.tasks``): a request never waits
for it. Writers on several hosts may share one file (an exclusive ``flock`` orders them).
"""

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Max

from .chain import LaneWalker, canonical_json
from .keys import current_key, keyring
from .models import GENESIS_HASH, AuditEvent

ANCHOR_FILE_NAME = "audit-anchors.jsonl"
FORMAT_VERSION = 1
FIELDS = {"v", "n", "at", "key_id", "prev", "lanes", "sig"}


class AnchorError(Exception):
    """The checkpoint file cannot be trusted, or a checkpoint cannot be written."""


@dataclass(frozen=True)
class Checkpoint:
    number: int
    at: str
    key_id: str
    lanes: dict[int, tuple[int, str]]
    sig: str

    @property
    def events(self) -> int:
        return sum(count for count, _ in self.lanes.values())


def anchor_path() -> Path | None:
    configured = getattr(settings, "AUDIT_ANCHOR_PATH", None)
    if not configured:
        return None
    path = Path(configured)
    return path / ANCHOR_FILE_NAME if path.is_dir() else path


def _sign(body: dict, secret: bytes) -> str:
    return hmac.new(secret, canonical_json(body), hashlib.sha256).hexdigest()


def _parse(line: str, number: int, keys: dict[str, bytes], prev_sig: str) -> Checkpoint:
    where = f"line {number}"
    try:
        body = json.loads(line)
        if not isinstance(body, dict) or set(body) != FIELDS or body["v"] != FORMAT_VERSION:
            raise ValueError
        lanes = {int(lane): (int(c), str(h)) for lane, (c, h) in body["lanes"].items()}
    except (ValueError, TypeError, AttributeError):
        raise AnchorError(f"{where} is not a valid checkpoint") from None
    if body["n"] != number or body["prev"] != prev_sig:
        raise AnchorError(f"{where} does not follow the line before it: checkpoints were removed, inserted or moved")
    secret = keys.get(body["key_id"])
    if secret is None:
        raise AnchorError(f"{where} is signed with audit key id '{body['key_id']}', which this server does not hold")
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    if not hmac.compare_digest(_sign(unsigned, secret), str(body["sig"])):
        raise AnchorError(f"{where} is forged or was edited: its signature does not match")
    return Checkpoint(number, body["at"], body["key_id"], lanes, body["sig"])


def read_checkpoints(path: Path, keys: dict[str, bytes] | None = None) -> list[Checkpoint]:
    """Every checkpoint of the file, each checked against its signature, its predecessor and the
    checkpoints before it (a lane never shrinks, and an anchored position never changes hash).
    Raises ``AnchorError`` naming the first line that does not hold."""
    keys = keyring() if keys is None else keys
    checkpoints: list[Checkpoint] = []
    prev_sig = GENESIS_HASH
    seen: dict[int, tuple[int, str, int]] = {}
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith("\n"):
                raise AnchorError(f"line {number} is incomplete: the file was cut or is still being written")
            cp = _parse(line, number, keys, prev_sig)
            for lane, (count, digest) in cp.lanes.items():
                before = seen.get(lane)
                if before and (count < before[0] or (count == before[0] and digest != before[1])):
                    raise AnchorError(f"line {number} contradicts line {before[2]} about lane {lane}")
                seen[lane] = (count, digest, number)
            for lane, (_, _, line_no) in seen.items():
                if lane not in cp.lanes:
                    raise AnchorError(f"line {number} omits lane {lane}, which line {line_no} sealed")
            checkpoints.append(cp)
            prev_sig = cp.sig
    return checkpoints


def _last_line(f) -> str:
    f.seek(0, os.SEEK_END)
    size = f.tell()
    block = 1 << 16
    while True:
        start = max(0, size - block)
        f.seek(start)
        data = f.read(size - start)
        lines = data.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or start == 0:
            return lines[-1].decode("utf-8") + "\n" if lines[-1] else ""
        block *= 2


def lane_heads() -> dict[int, tuple[int, str]]:
    """Each lane's committed length and last hash, as the database shows them now."""
    lengths = dict(AuditEvent.objects.values("lane").annotate(n=Max("seq")).values_list("lane", "n"))
    if not lengths:
        return {}
    last = AuditEvent.objects.filter(
        lane__in=lengths, seq__in=set(lengths.values())
    ).values_list("lane", "seq", "hash")
    return {lane: (seq, digest) for lane, seq, digest in last if lengths[lane] == seq}


def _verify_since(previous: Checkpoint | None, heads: dict[int, tuple[int, str]], keys: dict[str, bytes]) -> None:
    """Check the events written since ``previous`` before signing them: a checkpoint must never
    seal a broken or rewritten lane. Only the new events are read, so the cost of a checkpoint
    does not grow with the trail. Legacy (unkeyed) events are accepted only by the very first
    checkpoint, which seals them."""
    for lane, (count, _) in sorted(heads.items()):
        start_seq, start_hash = (previous.lanes.get(lane) if previous else None) or (0, GENESIS_HASH)
        walker = LaneWalker(lane=lane, keys=keys, legacy_limit=count if previous is None else 0,
                            seq=start_seq, last_hash=start_hash, seen_keyed=previous is not None)
        if start_seq:
            anchored = AuditEvent.objects.filter(lane=lane, seq=start_seq).values_list("pk", "hash").first()
            if anchored is None or anchored[1] != start_hash:
                raise AnchorError(f"lane {lane} no longer matches checkpoint {previous.number}: not signing")
            walker.last_id = anchored[0]
        for event in AuditEvent.objects.filter(lane=lane, seq__gt=start_seq).order_by("seq").iterator(2000):
            reason = walker.feed(event)
            if reason:
                raise AnchorError(f"event {event.pk} (lane {lane}, position {event.seq}) {reason}: not signing")


def anchor_write(*, now: dt.datetime | None = None) -> Checkpoint:
    """Append one signed checkpoint of every lane to the anchor file and return it.

    Holds an exclusive ``flock`` on the file while it reads the last checkpoint, the lane heads
    and the new events, so that concurrent writers (processes, hosts sharing the file) append
    checkpoints that never go backwards. Refuses, with ``AnchorError``, to sign when the last
    checkpoint or the new events do not verify. Writes one line with a single ``write`` and
    ``fsync``s it."""
    path = anchor_path()
    if path is None:
        raise ImproperlyConfigured("No anchor file: set CGH_AUDIT_ANCHOR_PATH.")
    key = current_key()
    keys = keyring()
    now = now or dt.datetime.now(dt.UTC)
    with path.open("a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            last = _last_line(f)
            previous = None
            if last:
                try:
                    claimed = json.loads(last)
                    number, prev_sig = int(claimed["n"]), str(claimed["prev"])
                except (ValueError, TypeError, KeyError):
                    raise AnchorError("the last line of the anchor file is not a valid checkpoint") from None
                # The line's own number and link are signed: a forged or edited last line fails here.
                previous = _parse(last, number, keys, prev_sig)
            heads = lane_heads()
            if previous:
                heads = {lane: previous.lanes[lane] for lane in previous.lanes} | heads
            _verify_since(previous, heads, keys)
            body = {
                "v": FORMAT_VERSION,
                "n": previous.number + 1 if previous else 1,
                "at": now.isoformat(),
                "key_id": key.key_id,
                "prev": previous.sig if previous else GENESIS_HASH,
                "lanes": {str(lane): [count, digest] for lane, (count, digest) in sorted(heads.items())},
            }
            body["sig"] = _sign(body, key.secret)
            f.seek(0, os.SEEK_END)
            f.write(json.dumps(body, sort_keys=True, separators=(",", ":")).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
    return Checkpoint(body["n"], body["at"], body["key_id"],
                      {int(k): (c, h) for k, (c, h) in body["lanes"].items()}, body["sig"])
