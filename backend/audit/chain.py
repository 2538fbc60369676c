"""Hashing and walking one lane of the audit chain; no writes here.

Canonical content: the event's fields as JSON with sorted keys, no spaces, ISO timestamps and
Django's JSON encoder. A keyed event (``key_id`` set) adds its lane, its position and its key id to
that content and is sealed by HMAC-SHA256 under the key of that id. A legacy event (written before
keys existed, ``key_id`` empty) is the plain SHA-256 of the original content.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from .models import GENESIS_HASH, LEGACY_KEY_ID


def _content(event) -> dict[str, Any]:
    return {
        "prev": event.prev_hash,
        "at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "data": event.data,
    }


def canonical_json(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def legacy_hash(event) -> str:
    return hashlib.sha256(canonical_json(_content(event))).hexdigest()


def keyed_hash(event, secret: bytes) -> str:
    payload = _content(event) | {"lane": event.lane, "seq": event.seq, "key_id": event.key_id}
    return hmac.new(secret, canonical_json(payload), hashlib.sha256).hexdigest()


CONTENT = "its content does not match its keyed hash: it was changed, or sealed without the audit key"
LEGACY_CONTENT = "its content does not match its hash"
LINK = "its previous-hash link does not match the event before it in its lane"


@dataclass
class LaneWalker:
    """Follows one lane in ``seq`` order from a known point (the genesis, or a checkpoint).

    ``feed`` returns ``None`` for an event that holds, or the reason it does not. Legacy events
    are accepted only in lane 1, before any keyed event, and up to position ``legacy_limit``: the
    furthest position of lane 1 a signed checkpoint has sealed, since nothing else protects an
    unkeyed hash from being recomputed."""

    lane: int
    keys: dict[str, bytes]
    legacy_limit: int
    seq: int = 0
    last_hash: str = GENESIS_HASH
    last_id: int = 0
    seen_keyed: bool = False

    def feed(self, event) -> str | None:
        expected = self.seq + 1
        if event.seq != expected:
            missing = str(expected) if event.seq == expected + 1 else f"{expected} to {event.seq - 1}"
            return f"position {missing} of lane {self.lane} is missing before it: events were deleted"
        if event.pk <= self.last_id:
            return f"it is out of order: its id is lower than that of the event before it in lane {self.lane}"
        if event.key_id == LEGACY_KEY_ID:
            if self.lane != 1 or self.seen_keyed:
                return "it carries an unkeyed hash where only keyed events may stand"
            if event.seq > self.legacy_limit:
                return "it carries an unkeyed hash that no signed checkpoint covers"
            if legacy_hash(event) != event.hash:
                return LEGACY_CONTENT
        else:
            secret = self.keys.get(event.key_id)
            if secret is None:
                return f"it is sealed with audit key id '{event.key_id}', which this server does not hold"
            if not hmac.compare_digest(keyed_hash(event, secret), event.hash):
                return CONTENT
            self.seen_keyed = True
        if event.prev_hash != self.last_hash:
            return LINK
        self.seq, self.last_hash, self.last_id = event.seq, event.hash, event.pk
        return None
