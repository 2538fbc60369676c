"""The import service: one file imported for one AI system, in one transaction, with its batch
report and its audit event.

Rules: a file that carries a direct-identifier column is refused whole (unless a profile declares
it as an identifier column, read only to find names in the text, or maps it to ``birth_date``,
turned into an age band); every other row is validated on its own and a rejected row is reported
with its line, field and reason; accepted rows are written in one transaction (all or nothing: a
crash or a killed process leaves nothing); re-importing the same rows adds nothing (idempotent on
the pseudonymized accession number); a corrected row updates its case unless the case was already
drawn into a campaign; a dry run computes the same report and writes no case.

How it stays fast and flat in memory: the file is streamed (``cases.readers``; CSV in blocks of
whole records, parsed in the workers), rows are prepared in chunks (``pool``), and each chunk is
written as it comes, inside the batch transaction (``writer``).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction

from audit.services import audit_record
from common.exceptions import ConcurrentUpdate, Forbidden

from .. import readers
from ..enums import DatePrecision, IdentifierPolicy, ImportFormat, ImportStatus
from ..models import AISystem, Case, ImportBatch, ImportProfile, OptOut
from ..permissions import can_import_cases
from ..pseudonymization import KeyRing, key_ring
from ..rows import FIELDS, RowContext, RowError
from ..source_reference import current_source_key
from .pool import prepared_chunks, record_chunks, worker_count
from .rules import ColumnMapping, import_format, import_profile_check
from .writer import Writer

CHUNK = 5000  # records read, prepared and written together

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


def import_cases(*, actor, ai_system: AISystem, raw: bytes | None = None, path: str | None = None,
                 filename: str, fmt: str | None = None, profile: ImportProfile | None = None,
                 dry_run: bool = False, batch: ImportBatch | None = None, progress: Progress | None = None,
                 workers: int | None = None) -> ImportResult:
    """Import one file (``raw`` bytes or a ``path``) for one AI system.

    403 unless the actor may import cases; 400 for a profile of another AI system, an unknown
    format, a file that is not text, a direct-identifier column, a missing required column or a
    document that cannot be read; 409 (``UnknownPseudonymKey``) when the AI system's cases or the
    opt-out register hold a key id the key ring lacks. Nothing is written then, not even a batch:
    any exception rolls the whole import back. Takes no row lock:
    the unique constraint on (AI system, source key) is what stops two concurrent imports of the
    same records from both creating a case (the later one fails and writes nothing).

    Side effects, all in one transaction: one ``ImportBatch`` (created, or ``batch`` when the web
    page queued one; also written when every row is rejected or for a dry run, so that the report
    can be downloaded), the accepted cases (none for a dry run), one audit event
    (``import.completed`` or ``import.validated``) with the file hash, the row counts and the user.
    ``progress(rows_done, rows_expected)`` is called after each chunk (rows_expected is None when
    unknown). ``workers``: processes preparing rows (default: the machine's cores, for large files).
    """
    if not can_import_cases(actor):
        raise Forbidden("Only the quality team can import cases.")
    import_profile_check(profile=profile, ai_system=ai_system)
    fmt = import_format(fmt=fmt, profile=profile, filename=filename)
    mapping = ColumnMapping.of(profile)
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
            chunks = record_chunks(records, CHUNK, mapping)
        if header is not None:
            canonical = mapping.check_header(header)
            ctx.index = {c: i for i, c in enumerate(canonical) if c in FIELDS}
            ctx.name_index = [i for i, h in enumerate(header) if h.strip().lower() in mapping.identifier_columns]
        expected = max(info.lines - (1 if is_csv else 0), 0) if fmt in (ImportFormat.CSV, ImportFormat.JSONL) \
            else None
        if workers is None:
            workers = worker_count(expected)
        result = ImportResult(batch=None)
        with transaction.atomic():
            batch = _open_batch(batch, actor=actor, ai_system=ai_system, profile=profile, filename=filename,
                                info=info, fmt=fmt, key_id=key.key_id, dry_run=dry_run, policy=ctx.policy)
            # A dry run goes through the very same writes, then rolls them back to this savepoint:
            # its report is the report of the real import.
            savepoint = transaction.savepoint() if dry_run else None
            total = 0
            with connection.cursor() as cursor:
                writer = Writer(cursor, ai_system_id=ai_system.pk, batch_id=batch.pk)
                if ctx.copy_text:
                    ctx.copy_prefix = writer.prefix  # before the pool starts: the workers get it
                for prepared in prepared_chunks(chunks, ctx, workers):
                    result.errors += writer.write(prepared)
                    total += prepared.records
                    result.errors += prepared.errors
                    result.warnings += prepared.warnings
                    result.redacted += prepared.redacted
                    if progress is not None:
                        progress(total, expected)
                result.errors += writer.finish(current_key_id=key.key_id)
            if savepoint is not None:
                transaction.savepoint_rollback(savepoint)
            result.created, result.updated, result.unchanged = writer.created, writer.updated, writer.unchanged
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


def _open_batch(batch: ImportBatch | None, *, actor, ai_system: AISystem, profile: ImportProfile | None,
                filename: str, info: readers.SourceInfo, fmt: str, key_id: str, dry_run: bool,
                policy: str) -> ImportBatch:
    """The batch, ``running``: created, or the queued one filled in. The queued one is saved only
    when it is closed (``_close_batch``): until then its row stays unlocked, so that the worker's
    progress (written on it through another connection) never waits for this transaction."""
    fields = dict(ai_system=ai_system, created_by=actor, profile=profile, filename=filename[:255],
                  file_sha256=info.sha256, format=fmt, status=ImportStatus.RUNNING, key_id=key_id,
                  is_dry_run=dry_run, identifier_policy=policy)
    if batch is None:
        return ImportBatch.objects.create(**fields)
    for name, value in fields.items():
        setattr(batch, name, value)
    return batch


def _close_batch(batch: ImportBatch, result: ImportResult, *, total: int, dry_run: bool) -> None:
    """The batch's report and final state: ``validated`` for a dry run, ``rejected`` when no row
    was accepted, else ``completed``. Locks the batch row: a queued batch that the recovery marked
    ``interrupted`` meanwhile (its worker looked dead) stays so, and the import is rolled back
    (409)."""
    status = ImportBatch.objects.select_for_update().filter(pk=batch.pk).values_list("status", flat=True).first()
    if status != ImportStatus.RUNNING:
        raise ConcurrentUpdate("The import was interrupted while it ran: nothing of it was written; import the "
                               "file again.")
    batch.rows_total = batch.rows_done = batch.rows_expected = total
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
