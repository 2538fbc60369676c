"""Importing AI-assisted cases, pseudonymizing on the way in (DESIGN §3 "Import batch").

Rules: a file that carries a direct-identifier column is refused whole (unless a profile declares
it as an identifier column, read only to find names in the text, or maps it to ``birth_date``,
turned into an age band); every other row is validated on its own and a rejected row is reported
with its line, field and reason; accepted rows are written in one transaction (all or nothing: a
crash or a killed process leaves nothing); re-importing the same rows adds nothing (idempotent on
the pseudonymized accession number); a corrected row updates its case unless the case was already
drawn into a campaign; a dry run computes the same report and writes no case.

How it stays fast and flat in memory: the file is streamed (``readers``; CSV in blocks of whole
records, parsed in the workers), rows are prepared in chunks (in a process pool for large files:
parsing, HMAC, encryption and text scanning are CPU work), and each chunk is written as it comes,
inside the batch transaction: new cases straight into the case table (PostgreSQL ``COPY``, SQLite
``executemany``), rows of existing cases into a temporary staging table, where updates, unchanged
and frozen cases are decided in SQL at the end (``_Writer``, ``_decide``). A fresh import thus
writes each row once, while the workers prepare the next chunks.
"""

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from common.exceptions import Forbidden, ValidationFailed

from . import readers
from .enums import DatePrecision, IdentifierPolicy, ImportFormat, ImportStatus
from .models import AISystem, Case, ImportBatch, ImportProfile, OptOut
from .pseudonymization import KeyRing, key_ring
from .rows import (  # noqa: F401 - re-exported for callers and the benchmark
    OPTIONAL,
    PROFILE_ONLY,
    REQUIRED,
    STAGED,
    UPDATABLE,
    Prepared,
    RowContext,
    RowError,
    age_band_of,
    build_values,
    init_worker,
    parse_age,
    parse_bool,
    parse_date,
    parse_float,
    prepare_chunk,
)
from .source_reference import current_source_key

# Columns that would carry a direct identifier: a file with one of them is refused whole.
FORBIDDEN = {
    "name", "nom", "prenom", "prénom", "first_name", "last_name", "patient_name", "nir", "ssn",
    "numero_secu", "address", "adresse", "phone", "telephone", "téléphone", "email", "mail",
    "birth_date", "date_naissance", "ddn", "dob",
}
CHUNK = 5000
POOL_THRESHOLD = 50_000  # rows: below, a process pool costs more than it saves
STAGE = "cgh_import_stage"

Progress = Callable[[int, int | None], None]


@dataclass
class ImportResult:
    batch: ImportBatch | None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    redacted: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)


def read_rows(raw: bytes, fmt: str) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Header and (line, record) pairs of a small file, all in memory (tests, benchmarks)."""
    stream = readers.io.BytesIO(raw)
    info = readers.inspect(stream)
    header, records = readers.read_records(stream, info, fmt)
    rows = list(records)
    if header is not None and rows and isinstance(rows[0][1], list):
        rows = [(line, dict(zip(header, values, strict=False))) for line, values in rows]
    return header or sorted({k for _, r in rows for k in r}), rows


def build_case(ai: AISystem, line: int, row: dict[str, Any], key) -> tuple[dict[str, Any] | None, list[RowError]]:
    """The stored values of one record with canonical keys (no profile), or its errors."""
    values, errors, _ = build_values(RowContext.for_system(ai, key, current_source_key()), line, row)
    if values:
        values.pop("_redacted")
    return values, errors


# --- Mapping -----------------------------------------------------------------------------------


@dataclass
class Mapping:
    """Source column (lower case) → canonical field, and the identifier columns kept for scanning."""

    to_canonical: dict[str, str]
    identifier_columns: set[str]

    @classmethod
    def of(cls, profile: ImportProfile | None) -> "Mapping":
        columns = (profile.columns if profile else {}) or {}
        to_canonical = {str(src).strip().lower(): canon for canon, src in columns.items() if src}
        identifiers = {str(c).strip().lower() for c in ((profile.identifier_columns if profile else []) or [])}
        return cls(to_canonical, identifiers)

    def canonical(self, column: str) -> str:
        col = column.strip().lower()
        return self.to_canonical.get(col, col)

    def check_columns(self, columns) -> None:
        lowered = {str(c).strip().lower() for c in columns if not str(c).startswith("_")}
        allowed = self.identifier_columns | {s for s, c in self.to_canonical.items() if c in PROFILE_ONLY}
        forbidden = sorted((lowered - allowed) & FORBIDDEN)
        if forbidden:
            raise ValidationFailed(
                f"The file carries direct identifiers ({', '.join(forbidden)}): remove these columns and import "
                "again.", extra={"columns": forbidden})

    def canonical_record(self, record: dict) -> dict:
        out: dict[str, Any] = {}
        names = list(record.pop("_names", []) or [])
        for k, v in record.items():
            key = str(k).strip().lower()
            if key in self.identifier_columns:
                names.append(v)
            elif key == "_birth_date":
                out["birth_date"] = v
            else:
                out[self.canonical(key)] = v
        out["_names"] = names
        return out


# --- Writing ---------------------------------------------------------------------------------


def _stage_create(cursor) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
    types = {"exam_date": "date", "ai_score": "double precision", "patient_informed": "boolean"}
    cols = ", ".join(f"{c} {types.get(c, 'text')}" for c in STAGED)
    cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} (line integer NOT NULL, {cols}, case_id bigint, "
                   "first_diff text, frozen boolean)")


class _Writer:
    """Writes prepared chunks as they come, inside the batch transaction.

    A record whose pseudonymized accession number is new to the AI system is written straight into
    the case table (PostgreSQL ``COPY``, SQLite ``executemany``), in file order: a fresh import
    makes one pass over its rows. A record whose case already exists (a re-import, a corrected
    file) goes to the staging table, where ``_decide`` compares it with its case in SQL. A record
    whose accession number came earlier in the file is a duplicate: the earlier record wins.

    Which keys exist is asked of the database per chunk, in the same transaction, so that the
    answer includes the cases this import has just written (``import_batch_id`` tells them apart).
    When the AI system had no case before the import, only the keys this import has already met
    can exist; a Bloom filter of those keys (a fixed 16 MiB, whatever the file size: a larger file
    only makes false positives more frequent) spares the question for every other key.
    """

    LOOKUP = 900  # keys per query: under SQLite's bound-parameter limit
    BLOOM_BITS = 27  # 2**27 bits; three 27-bit slices of the key (an HMAC, uniformly spread)

    def __init__(self, cursor, *, ai_system_id: int, batch_id: int):
        self.cursor, self.ai_system_id, self.batch_id = cursor, ai_system_id, batch_id
        self.pg = connection.vendor == "postgresql"
        self.created = 0
        self.opted_out: list[str] = []  # keys of new cases whose patient opted out under a retired key
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        self.case_columns = ", ".join(("ai_system_id", "import_batch_id", "created_at", "updated_at",
                                       "is_opted_out", *STAGED))
        if self.pg:
            self.prefix = f"{ai_system_id}\t{batch_id}\t{now}\t{now}\tf\t"
        else:
            self.prefix = (ai_system_id, batch_id, now, now, False)
        cursor.execute(f"SELECT 1 FROM {Case._meta.db_table} WHERE ai_system_id = %s LIMIT 1", [ai_system_id])
        self.bloom = None if cursor.fetchone() else bytearray(1 << (self.BLOOM_BITS - 3))

    def _candidates(self, keys: list[str]) -> list[str]:
        """The keys that may already exist: all of them, or those the Bloom filter may have met
        (then every key is added to the filter)."""
        bloom = self.bloom
        if bloom is None:
            return keys
        mask, shift = (1 << self.BLOOM_BITS) - 1, self.BLOOM_BITS
        maybe = []
        for key in keys:
            h = int(key[:21], 16)  # 84 bits
            met = True
            for i in (h & mask, (h >> shift) & mask, (h >> 2 * shift) & mask):
                bit, at = 1 << (i & 7), i >> 3
                if not bloom[at] & bit:
                    met = False
                    bloom[at] |= bit
            if met:
                maybe.append(key)
        return maybe

    def write(self, prepared: Prepared) -> list[RowError]:
        """Writes one chunk; returns the duplicates within the file, as row errors.

        After a key rotation (``prepared.retired`` not empty), a record whose case was imported
        under a retired key is found by its source key under that key, and staged with that
        key's pseudonyms and key id: it is compared with its case like with like, so that the
        same file adds and updates nothing, and a corrected record updates its case, which keeps
        its key id (``rekey_pseudonyms`` moves cases to the current key)."""
        self.opted_out += prepared.opted_out
        candidates = self._candidates(prepared.keys)
        if not candidates and self.bloom is not None:  # the usual chunk: every key is new, once
            self._insert(prepared.values)
            self.created += len(prepared.keys)
            return []
        lookup = candidates + [t[0] for _, triples in prepared.retired for t in triples]
        existing = self._existing(lookup) if lookup else {}
        values = prepared.values
        if isinstance(values, str):  # COPY text: one line per record, without the case columns
            cut = len(self.prefix)
            values = [row[cut:] for row in values.splitlines(keepends=True)]
        new, staged, duplicates, seen = [], [], [], set()
        for i, (line, key, row) in enumerate(zip(prepared.lines, prepared.keys, values, strict=True)):
            if key not in existing and prepared.retired:
                match = next(((key_id, triples[i]) for key_id, triples in prepared.retired
                              if triples[i][0] in existing), None)
                if match is not None:
                    staged.append((line, _under_key(row, *match)))
                    continue
            if key in existing:
                if existing[key] == self.batch_id:
                    duplicates.append(line)
                else:
                    staged.append((line, row))
            elif key in seen:
                duplicates.append(line)
            else:
                seen.add(key)
                new.append(row)
        if self.pg:
            self._insert("".join([self.prefix + row for row in new]))
        else:
            self._insert(new)
        self._stage(staged)
        self.created += len(new)
        return [RowError(line, "accession_number", "the same accession number appears twice")
                for line in duplicates]

    def _existing(self, keys: list[str]) -> dict[str, int | None]:
        """Source key → import batch of the AI system's cases among ``keys``."""
        table = Case._meta.db_table
        found: dict[str, int | None] = {}
        if self.pg:
            self.cursor.execute(f"SELECT source_key, import_batch_id FROM {table} "
                                "WHERE ai_system_id = %s AND source_key = ANY(%s)", [self.ai_system_id, keys])
            found.update(self.cursor.fetchall())
            return found
        for i in range(0, len(keys), self.LOOKUP):
            part = keys[i:i + self.LOOKUP]
            self.cursor.execute(f"SELECT source_key, import_batch_id FROM {table} WHERE ai_system_id = %s "
                                f"AND source_key IN ({', '.join(['%s'] * len(part))})", [self.ai_system_id, *part])
            found.update(self.cursor.fetchall())
        return found

    def _insert(self, rows: list[tuple] | str) -> None:
        """Rows of new cases: tuples of STAGED values (SQLite), or COPY text with the case columns."""
        if not rows:
            return
        table = Case._meta.db_table
        if self.pg:
            with self.cursor.cursor.copy(f"COPY {table} ({self.case_columns}) FROM STDIN") as copy:
                copy.write(rows)
        else:
            marks = ", ".join(["%s"] * (5 + len(STAGED)))
            prefix = self.prefix
            self.cursor.executemany(f"INSERT INTO {table} ({self.case_columns}) VALUES ({marks})",
                                    [prefix + row for row in rows])

    def _stage(self, rows: list[tuple[int, Any]]) -> None:
        if not rows:
            return
        cols = ", ".join(("line", *STAGED))
        if self.pg:
            with self.cursor.cursor.copy(f"COPY {STAGE} ({cols}) FROM STDIN") as copy:
                copy.write("".join([f"{line}\t{row}" for line, row in rows]))
        else:
            marks = ", ".join(["%s"] * (len(STAGED) + 1))
            self.cursor.executemany(f"INSERT INTO {STAGE} ({cols}) VALUES ({marks})",
                                    [(line, *row) for line, row in rows])

    def flag_opted_out(self, current_key_id: str) -> None:
        """The new cases of patients on the opt-out register are flagged (and never sampled): in
        SQL for the opt-outs made with the current key (the new cases' key), and by source key for
        the records the workers found on the register under a retired key."""
        table = Case._meta.db_table
        optout_table = OptOut._meta.db_table
        for i in range(0, len(self.opted_out), self.LOOKUP):
            part = self.opted_out[i:i + self.LOOKUP]
            self.cursor.execute(
                f"UPDATE {table} SET is_opted_out = %s WHERE ai_system_id = %s AND import_batch_id = %s "
                f"AND source_key IN ({', '.join(['%s'] * len(part))})", [True, self.ai_system_id, self.batch_id, *part])
        self.cursor.execute(f"SELECT 1 FROM {optout_table} LIMIT 1")
        if self.cursor.fetchone() is None:
            return
        self.cursor.execute(
            f"UPDATE {table} SET is_opted_out = %s WHERE ai_system_id = %s AND import_batch_id = %s "
            f"AND patient_pseudonym IN (SELECT o.patient_pseudonym FROM {optout_table} o WHERE o.key_id = %s)",
            [True, self.ai_system_id, self.batch_id, current_key_id])


_SOURCE_AT, _PATIENT_AT, _KEY_ID_AT, _CLINICIAN_AT = (STAGED.index(f) for f in (
    "source_key", "patient_pseudonym", "key_id", "clinician_pseudonym"))


def _under_key(row: tuple | str, key_id: str, pseudonyms: tuple[str, str, str]) -> tuple | str:
    """A prepared record (a tuple in STAGED order, or a line of COPY text) with the pseudonyms and
    key id of a retired key in place of the current key's. Pseudonyms are hex and key ids plain
    characters: nothing to escape in COPY text."""
    out = row.split("\t") if isinstance(row, str) else list(row)
    out[_SOURCE_AT], out[_PATIENT_AT], out[_CLINICIAN_AT] = pseudonyms
    out[_KEY_ID_AT] = key_id
    return "\t".join(out) if isinstance(row, str) else tuple(out)


def _rotation(ring: KeyRing, ai_system_id: int) -> tuple[tuple, tuple]:
    """The retired keys this import must also pseudonymize under: those of the AI system's cases
    (to find the case of a re-imported record) and those of the opt-out register, with its
    pseudonyms under each (to flag a new case of a patient registered before the rotation).
    ``UnknownPseudonymKey`` when the data holds a key id the ring lacks: an unknown key would
    turn every re-imported record into a duplicate and miss opt-outs."""
    case_ids = set(Case.objects.filter(ai_system_id=ai_system_id).order_by()
                   .values_list("key_id", flat=True).distinct())
    optout_ids = set(OptOut.objects.order_by().values_list("key_id", flat=True).distinct())
    ring.require(case_ids, "the AI system's cases")
    ring.require(optout_ids, "the opt-out register")
    retired = tuple(k for k in ring.retired if k.key_id in case_ids)
    optout_retired = tuple(
        (k, frozenset(OptOut.objects.filter(key_id=k.key_id).values_list("patient_pseudonym", flat=True)))
        for k in ring.retired if k.key_id in optout_ids)
    return retired, optout_retired


def _decide(cursor, ai_system_id: int) -> tuple[list[RowError], dict[str, int]]:
    """In SQL, for the staged records (those whose case exists): duplicates within the file, first
    changed field, frozen cases."""
    case_table = Case._meta.db_table
    campaign_case_table = Case._meta.get_field("campaign_cases").related_model._meta.db_table
    cursor.execute(f"SELECT 1 FROM {STAGE} LIMIT 1")
    if cursor.fetchone() is None:
        return [], {"unchanged": 0, "updated": 0}
    cursor.execute(f"CREATE INDEX {STAGE}_key ON {STAGE} (source_key, line)")
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {STAGE}")
    errors: list[RowError] = []
    cursor.execute(f"SELECT s.line FROM {STAGE} s WHERE EXISTS (SELECT 1 FROM {STAGE} t "
                   "WHERE t.source_key = s.source_key AND t.line < s.line)")
    duplicates = [r[0] for r in cursor.fetchall()]
    errors += [RowError(line, "accession_number", "the same accession number appears twice") for line in duplicates]
    if duplicates:
        cursor.execute(f"DELETE FROM {STAGE} WHERE line IN (SELECT s.line FROM {STAGE} s WHERE EXISTS ("
                       f"SELECT 1 FROM {STAGE} t WHERE t.source_key = s.source_key AND t.line < s.line))")
    distinct = "IS DISTINCT FROM"
    diff = " ".join(f"WHEN c.{f} {distinct} s.{f} THEN '{f}'" for f in UPDATABLE)
    cursor.execute(
        f"UPDATE {STAGE} SET case_id = m.id, first_diff = m.first_diff, frozen = m.frozen FROM ("
        f"SELECT s.line AS line, c.id AS id, CASE {diff} END AS first_diff, "
        f"EXISTS (SELECT 1 FROM {campaign_case_table} cc WHERE cc.case_id = c.id) AS frozen "
        f"FROM {STAGE} s JOIN {case_table} c ON c.ai_system_id = %s AND c.source_key = s.source_key) m "
        f"WHERE {STAGE}.line = m.line", [ai_system_id])
    cursor.execute(f"SELECT line, first_diff FROM {STAGE} WHERE first_diff IS NOT NULL AND frozen ORDER BY line")
    errors += [RowError(line, f, "the case is already in a campaign: it cannot change") for line, f in cursor]
    cursor.execute(
        f"SELECT SUM(CASE WHEN first_diff IS NULL THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN first_diff IS NOT NULL AND NOT frozen THEN 1 ELSE 0 END) FROM {STAGE}")
    unchanged, updated = (int(v or 0) for v in cursor.fetchone())
    return errors, {"unchanged": unchanged, "updated": updated}


def _apply_updates(cursor) -> None:
    pg = connection.vendor == "postgresql"
    case_table = Case._meta.db_table
    sets = [f"{f} = s.{f}" for f in UPDATABLE]
    sets.append("blinding_flags = s.blinding_flags::jsonb" if pg else "blinding_flags = s.blinding_flags")
    cursor.execute(
        f"UPDATE {case_table} SET {', '.join(sets)}, updated_at = %s FROM {STAGE} s "
        f"WHERE {case_table}.id = s.case_id AND s.first_diff IS NOT NULL AND NOT s.frozen", [timezone.now()])


# --- Chunking and the pool ---------------------------------------------------------------------


def _chunks(records: Iterator, size: int, mapping: Mapping, is_csv: bool = False) -> Iterator[list]:
    """Lists of ``size`` (line, record) pairs; records other than CSV value lists are checked for
    identifier columns and given canonical keys on the way."""
    chunk: list = []
    for line, record in records:
        if not is_csv:
            mapping.check_columns(record.keys())
            record = mapping.canonical_record(record)
        chunk.append((line, record))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _prepared(chunks: Iterator[list], ctx: RowContext, workers: int) -> Iterator[Prepared]:
    """Prepared chunks in file order. With workers > 1, at most 2 × workers chunks are in flight, so
    memory stays bounded whatever the file size."""
    if workers <= 1:
        for chunk in chunks:
            yield prepare_chunk(chunk, ctx)
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=init_worker, initargs=(ctx,))
    try:
        pending = []
        for chunk in chunks:
            pending.append(pool.submit(prepare_chunk, chunk))
            if len(pending) >= 2 * workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- The service -------------------------------------------------------------------------------


def import_cases(*, actor, ai_system: AISystem, raw: bytes | None = None, path: str | None = None,
                 filename: str, fmt: str | None = None, profile: ImportProfile | None = None,
                 dry_run: bool = False, batch: ImportBatch | None = None, progress: Progress | None = None,
                 workers: int | None = None) -> ImportResult:
    """Import one file (``raw`` bytes or a ``path``) for one AI system.

    Side effects, all in one transaction: one ``ImportBatch`` (created, or ``batch`` when the web
    page queued one; also written when every row is rejected or for a dry run, so that the report
    can be downloaded), the accepted cases (none for a dry run), one audit event
    (``import.completed`` or ``import.validated``) with the file hash, the row counts and the user.
    ``progress(rows_done, rows_expected)`` is called after each chunk (rows_expected is None when
    unknown). ``workers``: processes preparing rows (default: the machine's cores, for large files).
    """
    from .permissions import can_import_cases

    if not can_import_cases(actor):
        raise Forbidden("Only the quality team can import cases.")
    if profile is not None and profile.ai_system_id != ai_system.pk:
        raise ValidationFailed("This import profile belongs to another AI system.")
    fmt = fmt or (profile.format if profile else None) or readers.guess_format(filename)
    if fmt not in ImportFormat.values:
        raise ValidationFailed(f"Unknown format {fmt!r}.")
    mapping = Mapping.of(profile)
    ring = key_ring()
    key = ring.current
    retired, optout_retired = _rotation(ring, ai_system.pk)
    ctx = RowContext.for_system(
        ai_system, key, current_source_key(),
        policy=profile.identifier_policy if profile else IdentifierPolicy.REJECT,
        date_precision=profile.date_precision if profile else DatePrecision.DAY,
        copy_text=connection.vendor == "postgresql",
        retired=retired, optout_retired=optout_retired,
    )
    with readers.open_binary(raw=raw, path=path) as stream:
        info = readers.inspect(stream)
        is_csv = fmt == ImportFormat.CSV
        if is_csv:  # blocks of CSV text, parsed where the rows are prepared
            header, chunks = readers.read_csv_blocks(stream, info, CHUNK)
        else:
            header, records = readers.read_records(stream, info, fmt)
            chunks = _chunks(records, CHUNK, mapping)
        if header is not None:
            mapping.check_columns(header)
            canonical = [mapping.canonical(h) for h in header]
            missing = [c for c in REQUIRED if c not in canonical]
            if missing:
                raise ValidationFailed(f"Required columns are missing: {', '.join(missing)}.",
                                       extra={"columns": missing})
            ctx.index = {c: i for i, c in enumerate(canonical) if c in (*REQUIRED, *OPTIONAL, *PROFILE_ONLY)}
            ctx.name_index = [i for i, h in enumerate(header) if h.strip().lower() in mapping.identifier_columns]
        expected = max(info.lines - (1 if is_csv else 0), 0) if fmt in (ImportFormat.CSV, ImportFormat.JSONL) \
            else None
        if workers is None:
            workers = min(2, os.cpu_count() or 1) if (expected or 0) >= POOL_THRESHOLD else 1
        result = ImportResult(batch=None)
        with transaction.atomic():
            batch = _open_batch(batch, actor=actor, ai_system=ai_system, profile=profile, filename=filename,
                                info=info, fmt=fmt, key_id=key.key_id, dry_run=dry_run, policy=ctx.policy)
            # A dry run goes through the very same writes, then rolls them back to this savepoint:
            # its report is the report of the real import.
            savepoint = transaction.savepoint() if dry_run else None
            total = 0
            with connection.cursor() as cursor:
                _stage_create(cursor)
                writer = _Writer(cursor, ai_system_id=ai_system.pk, batch_id=batch.pk)
                if ctx.copy_text:
                    ctx.copy_prefix = writer.prefix  # before the pool starts: the workers get it
                for prepared in _prepared(chunks, ctx, workers):
                    result.errors += writer.write(prepared)
                    total += prepared.records
                    result.errors += prepared.errors
                    result.warnings += prepared.warnings
                    result.redacted += prepared.redacted
                    if progress is not None:
                        progress(total, expected)
                decided_errors, counts = _decide(cursor, ai_system.pk)
                result.errors += decided_errors
                _apply_updates(cursor)
                writer.flag_opted_out(key.key_id)
                cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
            counts["created"] = writer.created
            if savepoint is not None:
                transaction.savepoint_rollback(savepoint)
            result.created, result.updated, result.unchanged = counts["created"], counts["updated"], counts["unchanged"]
            result.errors.sort(key=lambda e: e.line)
            result.warnings.sort(key=lambda w: w["line"])
            _close_batch(batch, result, total=total, dry_run=dry_run)
            audit_record(actor=actor, action="import.validated" if dry_run else "import.completed", target=batch,
                         data={"file_sha256": batch.file_sha256, "rows": total, "created": result.created,
                               "updated": result.updated, "unchanged": result.unchanged,
                               "rejected": batch.rows_rejected, "redacted": batch.rows_redacted,
                               "format": fmt, "dry_run": dry_run})
    result.batch = batch
    return result


def _open_batch(batch, *, actor, ai_system, profile, filename, info, fmt, key_id, dry_run, policy) -> ImportBatch:
    fields = dict(ai_system=ai_system, created_by=actor, profile=profile, filename=filename[:255],
                  file_sha256=info.sha256, format=fmt, status=ImportStatus.RUNNING, key_id=key_id,
                  is_dry_run=dry_run, identifier_policy=policy)
    if batch is None:
        return ImportBatch.objects.create(**fields)
    for name, value in fields.items():
        setattr(batch, name, value)
    batch.save()
    return batch


def _close_batch(batch: ImportBatch, result: ImportResult, *, total: int, dry_run: bool) -> None:
    batch.rows_total = total
    batch.rows_created, batch.rows_updated, batch.rows_unchanged = result.created, result.updated, result.unchanged
    batch.rows_rejected = len({e.line for e in result.errors})
    batch.rows_redacted = result.redacted
    batch.errors = [e.__dict__ for e in result.errors]
    batch.warnings = result.warnings
    accepted = result.created + result.updated + result.unchanged
    if dry_run:
        batch.status = ImportStatus.VALIDATED
    elif total and not accepted:
        batch.status = ImportStatus.REJECTED
    else:
        batch.status = ImportStatus.COMPLETED
    batch.save()


class ProgressPrinter:
    """rows/s and ETA for a terminal, at most once a second."""

    def __init__(self, write: Callable[[str], None]):
        self.write, self.start, self.last = write, time.monotonic(), 0.0

    def __call__(self, done: int, expected: int | None) -> None:
        now = time.monotonic()
        if now - self.last < 1 and (expected is None or done < expected):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        if expected:
            share = min(done / expected, 1)
            bar = "#" * int(30 * share)
            eta = (expected - done) / rate if rate else 0
            self.write(f"\r[{bar:<30}] {done:,}/{expected:,} rows  {rate:,.0f} rows/s  ETA {eta:,.0f} s")
        else:
            self.write(f"\r{done:,} rows  {rate:,.0f} rows/s")
