"""Keyed chain, signed checkpoints outside the database, triggers and lanes (DESIGN §10).

A database administrator can rewrite rows and recompute hashes, delete or reorder rows, cut the
trail's end or empty it. Without the audit key the recomputed hashes fail; with the key, the
checkpoints written to the anchor file (other storage) pin every lane's length and last hash.
Each tamper is done in raw SQL with the triggers disabled, then ``verify_audit`` must name the
first broken event, or the checkpoint the trail contradicts, and exit with status 1.
"""

import json
import os
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit import services as audit_services
from audit.anchors import ANCHOR_FILE_NAME, anchor_write, read_checkpoints
from audit.models import GENESIS_HASH, AuditEvent, ChainHead
from audit.services import audit_record, audit_verify
from tests.audit.support import Buffer, keyed_hash, legacy_hash, plain_hash, sql, tampering

ON_POSTGRES = os.environ.get("CGH_DB_ENGINE") == "postgres"
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (CGH_DB_ENGINE=postgres)")


@pytest.fixture
def anchors(settings, tmp_path):
    settings.AUDIT_ANCHOR_PATH = str(tmp_path)
    settings.AUDIT_ANCHOR_EVERY = 0
    settings.AUDIT_ANCHOR_MINUTES = 0
    return tmp_path / ANCHOR_FILE_NAME


def record(n: int, start: int = 0) -> list[int]:
    return [audit_record(actor=None, action="test.event", object_type="x", object_id=str(i), data={"i": i}).pk
            for i in range(start, start + n)]


def intact(n: int, checkpoints: int, path) -> str:
    return f"Audit trail intact: {n} events verified.\nConsistent with {checkpoints} signed checkpoints in {path}.\n"


def verify_output() -> str:
    out = Buffer()
    call_command("verify_audit", stdout=out)
    return out.text


def verify_error() -> str:
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit", stdout=Buffer())
    assert excinfo.value.returncode == 1
    return str(excinfo.value)


def rewrite(pk: int, *, key: bytes | None = None, **changes) -> None:
    """Change a row and re-seal it (with the key when given, else with a plain SHA-256), then
    re-link and re-seal every later row of its lane the same way: a complete recomputation."""
    rows = list(AuditEvent.objects.filter(lane=1, id__gte=pk).order_by("seq"))
    prev = AuditEvent.objects.filter(lane=1, seq=rows[0].seq - 1).values_list("hash", flat=True).first()
    prev = prev or GENESIS_HASH
    with tampering():
        for row in rows:
            for name, value in (changes if row.pk == pk else {}).items():
                setattr(row, name, value)
            row.prev_hash = prev
            row.hash = keyed_hash(row, key) if key is not None else plain_hash(row)
            AuditEvent.objects.filter(pk=row.pk).update(
                prev_hash=row.prev_hash, hash="x" + row.hash[1:], **{k: getattr(row, k) for k in changes})
            prev = row.hash
        for row in rows:
            AuditEvent.objects.filter(pk=row.pk).update(hash=row.hash)
        ChainHead.objects.filter(id=1).update(last_hash=prev)


# --- Keyed hashes ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_audit_keyed_hash_is_the_hmac_under_the_audit_key(settings):
    event = AuditEvent.objects.get(pk=record(1)[0])
    assert event.hash == keyed_hash(event, b"test-audit-key-0123456789-abcdefghijklmnop")
    assert event.hash != keyed_hash(event, b"another-key-0123456789-abcdefghijklmnop")
    assert event.hash != plain_hash(event)


@pytest.mark.django_db
def test_audit_chain_recomputed_without_the_key_fails_at_its_first_row():
    pks = record(5)
    rewrite(pks[0], action="test.forged")
    assert verify_error() == (
        f"Audit trail broken at event {pks[0]} (lane 1, position 1): its content does not match its keyed hash: "
        "it was changed, or sealed without the audit key (0 events verified)."
    )


@pytest.mark.django_db
def test_audit_chain_recomputed_as_unkeyed_legacy_events_fails_at_its_first_row():
    pks = record(4)
    with tampering():
        rows = list(AuditEvent.objects.order_by("seq"))
        prev = GENESIS_HASH
        for row in rows:
            row.prev_hash, row.key_id = prev, ""
            row.hash = legacy_hash(row)
            AuditEvent.objects.filter(pk=row.pk).update(prev_hash=prev, key_id="", hash=row.hash)
            prev = row.hash
        ChainHead.objects.filter(id=1).update(last_hash=prev)
    assert verify_error() == (
        f"Audit trail broken at event {pks[0]} (lane 1, position 1): it carries an unkeyed hash that no signed "
        "checkpoint covers (0 events verified)."
    )


@pytest.mark.django_db
def test_audit_rotated_key_verifies_with_the_retired_key_only(settings, tmp_path):
    old = record(2)
    settings.AUDIT_KEY, settings.AUDIT_KEY_ID = "second-audit-key-0123456789-abcdefghij", "atest2"
    new = record(2)
    assert list(AuditEvent.objects.order_by("id").values_list("key_id", flat=True)) == ["atest1"] * 2 + ["atest2"] * 2
    assert verify_error() == (
        f"Audit trail broken at event {old[0]} (lane 1, position 1): it is sealed with audit key id 'atest1', "
        "which this server does not hold (0 events verified)."
    )
    retired = tmp_path / "retired"
    retired.mkdir()
    (retired / "atest1.key").write_text("test-audit-key-0123456789-abcdefghijklmnop\n")
    settings.AUDIT_RETIRED_KEYS_DIR = str(retired)
    assert audit_verify().checked == len(old + new)
    assert verify_output().startswith("Audit trail intact: 4 events verified.\n")


# --- Checkpoints -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_audit_anchor_command_writes_a_signed_checkpoint_and_verify_uses_it(anchors):
    record(3)
    out = Buffer()
    call_command("anchor_audit", stdout=out)
    assert out.text == f"Checkpoint 1 written to {anchors}: 3 events in 1 lanes.\n"
    record(2, start=3)
    call_command("anchor_audit", stdout=Buffer())
    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    last = AuditEvent.objects.get(seq=5)
    assert [(line["n"], line["key_id"], line["lanes"]) for line in lines] == [
        (1, "atest1", {"1": [3, AuditEvent.objects.get(seq=3).hash]}),
        (2, "atest1", {"1": [5, last.hash]}),
    ]
    assert lines[1]["prev"] == lines[0]["sig"]
    assert [cp.events for cp in read_checkpoints(anchors)] == [3, 5]
    assert verify_output() == intact(5, 2, anchors)


@pytest.mark.django_db
def test_audit_history_rewritten_with_the_key_fails_at_the_checkpoint(anchors):
    pks = record(6)
    anchor_write()
    rewrite(pks[1], key=b"test-audit-key-0123456789-abcdefghijklmnop", action="test.forged")
    assert verify_error() == (
        f"Audit trail broken at event {pks[5]} (lane 1, position 6): it does not match checkpoint 1, which sealed "
        "this position: the history was rewritten (5 events verified)."
    )


@pytest.mark.django_db
def test_audit_truncated_tail_contradicts_the_checkpoint(anchors):
    pks = record(6)
    anchor_write()
    with tampering():
        sql("DELETE FROM {table} WHERE id IN (%s, %s)", [pks[4], pks[5]])
        ChainHead.objects.filter(id=1).update(count=4, last_hash=AuditEvent.objects.get(pk=pks[3]).hash)
    assert verify_error() == (
        "Audit trail contradicts checkpoint 1: lane 1 ends at position 4, but checkpoint 1 counted 6 events in it: "
        "events were removed from its end (4 events verified)."
    )


@pytest.mark.django_db
def test_audit_emptied_trail_contradicts_the_checkpoint(anchors):
    record(3)
    anchor_write()
    with tampering():
        sql("DELETE FROM {table}")
        ChainHead.objects.all().delete()
    assert (AuditEvent.objects.count(), ChainHead.objects.count()) == (0, 0)
    assert verify_error() == (
        "Audit trail contradicts checkpoint 1: the trail is empty, but checkpoint 1 counted 3 events in lane 1 "
        "(0 events verified)."
    )


@pytest.mark.django_db
def test_audit_deleted_middle_row_is_named_by_the_row_after_it(anchors):
    pks = record(5)
    anchor_write()
    with tampering():
        sql("DELETE FROM {table} WHERE id = %s", [pks[2]])
    assert verify_error() == (
        f"Audit trail broken at event {pks[3]} (lane 1, position 4): position 3 of lane 1 is missing before it: "
        "events were deleted (2 events verified)."
    )


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path, lines: list[dict]) -> None:
    path.write_text("".join(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n" for line in lines))


@pytest.mark.django_db
def test_audit_edited_checkpoint_is_refused(anchors):
    record(4)
    anchor_write()
    record(1, start=4)
    anchor_write()
    lines = _lines(anchors)
    lines[0]["lanes"]["1"][0] = 2  # make the first checkpoint count fewer events
    _write(anchors, lines)
    assert verify_error() == (
        f"Audit trail does not verify: the anchor file {anchors} cannot be trusted: line 1 is forged or was edited: "
        "its signature does not match (0 events verified)."
    )


@pytest.mark.django_db
def test_audit_forged_checkpoint_line_is_refused(anchors):
    record(2)
    anchor_write()
    forged = dict(_lines(anchors)[0], n=2, prev=_lines(anchors)[0]["sig"], sig="f" * 64)
    with anchors.open("a") as f:
        f.write(json.dumps(forged, sort_keys=True, separators=(",", ":")) + "\n")
    assert verify_error() == (
        f"Audit trail does not verify: the anchor file {anchors} cannot be trusted: line 2 is forged or was edited: "
        "its signature does not match (0 events verified)."
    )
    # A checkpoint must never be chained onto a forged one.
    with pytest.raises(CommandError, match="No checkpoint written: line 2 is forged or was edited"):
        call_command("anchor_audit", stdout=Buffer())
    assert len(_lines(anchors)) == 2


@pytest.mark.django_db
def test_audit_removed_checkpoint_line_is_refused(anchors):
    for i in range(3):
        record(1, start=i)
        anchor_write()
    lines = _lines(anchors)
    _write(anchors, [lines[0], lines[2]])
    assert verify_error() == (
        f"Audit trail does not verify: the anchor file {anchors} cannot be trusted: line 2 does not follow the line "
        "before it: checkpoints were removed, inserted or moved (0 events verified)."
    )


@pytest.mark.django_db
def test_audit_missing_anchor_file_is_a_clear_failure(anchors):
    record(2)
    assert verify_error() == (
        f"Audit trail does not verify: the anchor file {anchors} does not exist: it was removed, or no checkpoint "
        "was ever written (run anchor_audit) (0 events verified)."
    )


@pytest.mark.django_db
def test_audit_no_anchor_file_is_fine_while_the_trail_is_empty(anchors):
    assert verify_output() == intact(0, 0, anchors)


@pytest.mark.django_db
def test_audit_anchor_refuses_to_sign_a_broken_chain(anchors):
    pks = record(3)
    anchor_write()
    record(2, start=3)
    with tampering():
        sql("UPDATE {table} SET action = %s WHERE id = %s", ["test.forged", pks[-1] + 1])
    with pytest.raises(CommandError) as excinfo:
        call_command("anchor_audit", stdout=Buffer())
    assert str(excinfo.value) == (
        f"No checkpoint written: event {pks[-1] + 1} (lane 1, position 4) its content does not match its keyed hash: "
        "it was changed, or sealed without the audit key: not signing."
    )
    assert len(_lines(anchors)) == 1


@pytest.mark.django_db
def test_audit_legacy_events_are_accepted_once_a_checkpoint_seals_them(anchors, settings):
    """Events from before the keyed chain (empty key id, plain SHA-256, lane 1) verify once the
    first checkpoint after the upgrade covers them; new keyed events link on to them."""
    prev = GENESIS_HASH
    legacy = []
    for i in range(3):
        row = AuditEvent(created_at=timezone.now(), actor_label="system", action="legacy.event", object_type="x",
                         object_id=str(i), data={"i": i}, lane=1, seq=i + 1, key_id="", prev_hash=prev)
        row.hash = legacy_hash(row)
        row.save()
        legacy.append(row)
        prev = row.hash
    ChainHead.objects.create(id=1, count=3, last_hash=prev)
    assert audit_verify().reason.startswith(f"the anchor file {anchors} does not exist")
    settings.AUDIT_ANCHOR_PATH = None  # without any checkpoint, nothing vouches for an unkeyed hash
    assert verify_error() == (
        f"Audit trail broken at event {legacy[0].pk} (lane 1, position 1): it carries an unkeyed hash that no "
        "signed checkpoint covers (0 events verified)."
    )
    settings.AUDIT_ANCHOR_PATH = str(anchors.parent)
    anchor_write()
    keyed = AuditEvent.objects.get(pk=record(1)[0])
    assert (keyed.seq, keyed.prev_hash, keyed.key_id) == (4, prev, "atest1")
    assert verify_output() == intact(4, 1, anchors)
    # A rewritten legacy segment, recomputed without any key, contradicts the checkpoint.
    with tampering():
        sql("UPDATE {table} SET object_id = %s WHERE id = %s", ["forged", legacy[1].pk])
    assert verify_error() == (
        f"Audit trail broken at event {legacy[1].pk} (lane 1, position 2): its content does not match its hash "
        "(1 events verified)."
    )


@pytest.mark.django_db(transaction=True)
def test_audit_application_anchors_on_its_own_after_commit(anchors, settings):
    settings.AUDIT_ANCHOR_EVERY = 3
    for i in range(7):
        with transaction.atomic():
            record(1, start=i)
            assert not anchors.exists() or len(_lines(anchors)) == i // 3  # never inside the transaction
    assert [line["lanes"]["1"][0] for line in _lines(anchors)] == [3, 6]
    assert audit_verify().checkpoints == 2


@pytest.mark.django_db(transaction=True)
def test_audit_application_anchors_after_some_minutes(anchors, settings, monkeypatch):
    settings.AUDIT_ANCHOR_MINUTES = 5
    monkeypatch.setattr(audit_services, "_last_anchor_scheduled", time.monotonic() - 301)
    record(1)
    record(1, start=1)  # within the five minutes: no second checkpoint
    assert [line["lanes"]["1"][0] for line in _lines(anchors)] == [1]


# --- Triggers ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_audit_trigger_refuses_a_raw_update_and_leaves_the_row_unchanged():
    pk = record(1)[0]
    before = AuditEvent.objects.values().get(pk=pk)
    with pytest.raises(IntegrityError, match="audit events are append-only: UPDATE refused"), transaction.atomic():
        sql("UPDATE {table} SET action = %s WHERE id = %s", ["test.forged", pk])
    assert AuditEvent.objects.values().get(pk=pk) == before


@pytest.mark.django_db
def test_audit_trigger_refuses_a_head_that_does_not_advance_by_one():
    record(2)
    with pytest.raises(IntegrityError, match="an audit lane head only advances by one event"), transaction.atomic():
        ChainHead.objects.filter(id=1).update(count=1)
    assert ChainHead.objects.values_list("count", flat=True).get(id=1) == 2


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db
def test_audit_trigger_refuses_a_raw_delete_on_postgres():
    pk = record(1)[0]
    before = AuditEvent.objects.values().get(pk=pk)
    with pytest.raises(IntegrityError, match="audit events are append-only: DELETE refused"), transaction.atomic():
        sql("DELETE FROM {table} WHERE id = %s", [pk])
    with pytest.raises(IntegrityError, match="audit lane heads cannot be deleted"), transaction.atomic():
        ChainHead.objects.filter(id=1).delete()
    assert AuditEvent.objects.values().get(pk=pk) == before
    assert ChainHead.objects.filter(id=1).exists()


# --- Lanes -------------------------------------------------------------------------------------


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_audit_concurrent_writers_take_separate_lanes_with_no_lost_event_and_no_fork(anchors, settings):
    settings.AUDIT_LANES = 4
    threads_n, per_thread = 6, 5
    barrier = threading.Barrier(threads_n, timeout=10)
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with transaction.atomic():
                    audit_record(actor=None, action="test.concurrent", object_type="t", object_id=f"{t}-{i}")
                    time.sleep(0.02)  # hold the lane as a real request would
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    rows = list(AuditEvent.objects.order_by("lane", "seq").values_list("lane", "seq", "object_id"))
    assert sorted(r[2] for r in rows) == sorted(f"{t}-{i}" for t in range(threads_n) for i in range(per_thread))
    lanes = {lane for lane, _, _ in rows}
    assert len(lanes) > 1 and lanes <= {1, 2, 3, 4}
    for lane in lanes:
        assert [seq for ln, seq, _ in rows if ln == lane] == list(range(1, sum(1 for r in rows if r[0] == lane) + 1))
    anchor_write()
    report = audit_verify()
    assert (report.ok, report.checked, report.checkpoints) == (True, threads_n * per_thread, 1)
