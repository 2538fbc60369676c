"""Helpers of the audit tests: an independent recomputation of the documented hashes, and raw SQL
tampering done the way a database administrator would, with the append-only triggers disabled."""

import contextlib
import hashlib
import hmac
import importlib
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from audit.models import AuditEvent, ChainHead

TRIGGERS = importlib.import_module("audit.migrations.0002_keyed_chain")


def content(row) -> dict:
    return {
        "prev": row.prev_hash,
        "at": row.created_at.isoformat(),
        "actor_id": row.actor_id,
        "actor": row.actor_label,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "data": row.data,
    }


def text(payload) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def plain_hash(row) -> str:
    """What someone without the key can compute: SHA-256 of the content, with or without the lane fields."""
    return hashlib.sha256(text(content(row) | {"lane": row.lane, "seq": row.seq, "key_id": row.key_id})).hexdigest()


def legacy_hash(row) -> str:
    return hashlib.sha256(text(content(row))).hexdigest()


def keyed_hash(row, key: bytes | None = None) -> str:
    key = key if key is not None else settings.AUDIT_KEY.encode()
    payload = content(row) | {"lane": row.lane, "seq": row.seq, "key_id": row.key_id}
    return hmac.new(key, text(payload), hashlib.sha256).hexdigest()


class Buffer:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass


@contextlib.contextmanager
def tampering():
    """Disable the append-only triggers for the duration of the block, as the owner of the tables can."""
    event, head = (connection.ops.quote_name(m._meta.db_table) for m in (AuditEvent, ChainHead))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending deferred checks
            cursor.execute(f"ALTER TABLE {event} DISABLE TRIGGER audit_event_append_only")
            cursor.execute(f"ALTER TABLE {head} DISABLE TRIGGER audit_head_advance_only")
        else:
            for statement in TRIGGERS.SQLITE_REMOVE:
                cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {event} ENABLE TRIGGER audit_event_append_only")
                cursor.execute(f"ALTER TABLE {head} ENABLE TRIGGER audit_head_advance_only")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            else:
                for statement in TRIGGERS.SQLITE_INSTALL:
                    cursor.execute(statement)


def sql(statement: str, params=()) -> None:
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(statement.format(table=table), params)


def json_param() -> str:
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
