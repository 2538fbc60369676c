"""Writes for AI systems, import profiles, queued imports and the opt-out register."""

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.services import audit_record
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure

from .enums import BlindingReview, DatePrecision, IdentifierPolicy, ImportFormat, ImportStatus, OutputType
from .models import AISystem, Case, ImportBatch, ImportProfile, OptOut
from .permissions import can_import_cases, can_manage_ai_systems, can_register_optouts
from .pseudonymization import current_key, key_ring, normalise_identifier, pseudonymize
from .rows import OPTIONAL, PROFILE_ONLY, REQUIRED


def ai_system_create(*, actor, name: str, vendor: str, version: str, intended_use: str, output_type: str,
                     labels: list[str], positive_label: str = "", score_threshold: float | None = None,
                     ce_class: str = "", acceptance_thresholds: dict | None = None) -> AISystem:
    """Register an AI system. A binary or score output needs exactly two labels, positive first."""
    ensure(can_manage_ai_systems(actor), "Only the quality team can register AI systems.")
    errors = {}
    if len(labels) < 2 or len(set(labels)) != len(labels):
        errors["labels"] = ["Give at least two distinct labels."]
    if output_type in (OutputType.BINARY, OutputType.SCORE):
        if len(labels) != 2:
            errors["labels"] = ["A binary or score output has exactly two labels."]
        elif positive_label != labels[0]:
            errors["positive_label"] = ["The positive label must be the first label."]
    if output_type == OutputType.SCORE and score_threshold is None:
        errors["score_threshold"] = ["A score output needs its threshold."]
    if errors:
        raise ValidationFailed("The AI system is not valid.", extra=errors)
    with transaction.atomic():
        ai = AISystem.objects.create(
            name=name, vendor=vendor, version=version, intended_use=intended_use, output_type=output_type,
            labels=labels, positive_label=positive_label, score_threshold=score_threshold, ce_class=ce_class,
            acceptance_thresholds=acceptance_thresholds or {},
        )
        audit_record(actor=actor, action="ai_system.create", target=ai, data={"name": name, "version": version})
    return ai


def import_profile_create(*, actor, ai_system: AISystem, name: str, columns: dict[str, str] | None = None,
                          identifier_columns: list[str] | None = None, source: str = "",
                          format: str = ImportFormat.CSV, identifier_policy: str = IdentifierPolicy.REJECT,
                          date_precision: str = DatePrecision.DAY) -> ImportProfile:
    """Save a column mapping for one source. Keys of ``columns`` must be fields of the import schema;
    identifier columns are only read to scan the text of the same row, never stored."""
    ensure(can_import_cases(actor), "Only the quality team can manage import profiles.")
    known = {*REQUIRED, *OPTIONAL, *PROFILE_ONLY}
    unknown = sorted(set(columns or {}) - known)
    if unknown:
        raise ValidationFailed(f"Unknown fields in the mapping: {', '.join(unknown)}.",
                               extra={"columns": unknown, "known": sorted(known)})
    if ImportProfile.objects.filter(name=name).exists():
        raise ValidationFailed("An import profile with this name exists already.")
    with transaction.atomic():
        profile = ImportProfile.objects.create(
            name=name, ai_system=ai_system, source=source, format=format, columns=columns or {},
            identifier_columns=identifier_columns or [], identifier_policy=identifier_policy,
            date_precision=date_precision, created_by=actor)
        audit_record(actor=actor, action="import_profile.create", target=profile,
                     data={"name": name, "columns": profile.columns, "policy": identifier_policy})
    return profile


def import_dir() -> Path:
    path = Path(getattr(settings, "CGH_IMPORT_DIR", None) or settings.PROJECT_DIR / "var" / "imports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def import_enqueue(*, actor, ai_system: AISystem, upload, profile: ImportProfile | None = None,
                   fmt: str | None = None, dry_run: bool = False) -> ImportBatch:
    """Queue an uploaded file for a background import. Side effects: the file is stored under the
    import directory (deleted by the task when it ends), a ``queued`` ImportBatch is committed so
    that the page can follow it, and the task is enqueued on commit with primitive ids."""
    from .readers import guess_format
    from .tasks import run_import_batch

    ensure(can_import_cases(actor), "Only the quality team can import cases.")
    if profile is not None and profile.ai_system_id != ai_system.pk:
        raise ValidationFailed("This import profile belongs to another AI system.")
    import_batches_recover()  # every upload also sweeps what dead workers left behind
    path = store_upload(upload)
    fmt = fmt or (profile.format if profile else None) or guess_format(upload.name)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            ai_system=ai_system, created_by=actor, profile=profile, filename=upload.name[:255], file_sha256="",
            format=fmt, status=ImportStatus.QUEUED, key_id=current_key().key_id, is_dry_run=dry_run,
            stored_file=path.name)
        audit_record(actor=actor, action="import.queued", target=batch,
                     data={"filename": batch.filename, "format": fmt, "dry_run": dry_run})
        transaction.on_commit(lambda: run_import_batch.enqueue(batch.pk, str(path)))
    return batch


def store_upload(upload) -> Path:
    """Copy an upload, chunk by chunk (never whole in memory), to a new file of the import
    directory, readable by this user only. The caller records its name on the batch."""
    path = import_dir() / f"{uuid.uuid4().hex}.upload"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def import_batch_release_file(*, batch_id: int, path: str | Path | None = None) -> None:
    """Delete the uploaded file of a batch (it carries raw identifiers) and its progress file, and
    forget the file's name. Called whatever the import's outcome: completed, refused, failed,
    crashed, or interrupted by a dead worker (``import_batches_recover``)."""
    if path is None:
        name = ImportBatch.objects.filter(pk=batch_id).values_list("stored_file", flat=True).first()
        path = import_dir() / name if name else None
    if path is not None:
        Path(path).unlink(missing_ok=True)
    progress_path(batch_id).unlink(missing_ok=True)
    ImportBatch.objects.filter(pk=batch_id).exclude(stored_file="").update(stored_file="")


def _last_sign_of_life(batch: ImportBatch) -> dt.datetime:
    """The later of the batch's last update and its progress file's last write."""
    try:
        mtime = dt.datetime.fromtimestamp(progress_path(batch.pk).stat().st_mtime, tz=dt.UTC)
    except OSError:
        return batch.updated_at
    return max(mtime, batch.updated_at)


@dataclass
class RecoveryResult:
    interrupted: list[int]
    files_deleted: int


def import_batches_recover(*, now: dt.datetime | None = None, running_stale_after: dt.timedelta | None = None,
                           queued_stale_after: dt.timedelta | None = None) -> RecoveryResult:
    """Mark ``interrupted`` the batches a dead worker left behind, and delete every import file
    nobody is working on. Run when a worker starts (``cases.apps``), before every upload, and by
    ``manage.py recover_imports`` (for a periodic timer).

    A worker writes its progress file after every chunk, so a ``running`` batch that has shown no
    sign of life for ``running_stale_after`` (``CGH_IMPORT_STALE_MINUTES``, default 15) has lost its
    worker; a ``queued`` batch waiting for longer than ``queued_stale_after`` (default 24 h) has lost
    its task. Their import transaction never committed, so no case of theirs exists. Each is
    marked in its own transaction, only if still in the state read (a worker that wakes up later
    finds it interrupted and stops), with one ``import.interrupted`` audit event by the uploader;
    its file is deleted. Files of the import directory (and of the upload temporary directory)
    that no live batch owns and that nobody wrote for ``running_stale_after`` are deleted too:
    what a process killed between storing an upload and recording its batch left there."""
    now = now or timezone.now()
    running_stale_after = running_stale_after or dt.timedelta(
        minutes=int(getattr(settings, "CGH_IMPORT_STALE_MINUTES", 15)))
    queued_stale_after = queued_stale_after or dt.timedelta(
        hours=int(getattr(settings, "CGH_IMPORT_QUEUED_STALE_HOURS", 24)))
    interrupted = []
    live = ImportBatch.objects.filter(status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING)).only(
        "id", "status", "updated_at", "created_by", "stored_file", "is_dry_run")
    keep: set[str] = set()
    for batch in live:
        limit = running_stale_after if batch.status == ImportStatus.RUNNING else queued_stale_after
        if now - _last_sign_of_life(batch) <= limit:
            keep.add(batch.stored_file)
            continue
        with transaction.atomic():
            marked = ImportBatch.objects.filter(pk=batch.pk, status=batch.status).update(
                status=ImportStatus.INTERRUPTED, updated_at=now,
                failure="The import was interrupted: its worker stopped before the end. Nothing of it was written "
                        "and the uploaded file was deleted; import the file again.")
            if marked:
                audit_record(actor=batch.created_by, action="import.interrupted", target=batch,
                             data={"previous_status": batch.status, "dry_run": batch.is_dry_run})
        if marked:
            import_batch_release_file(batch_id=batch.pk)
            interrupted.append(batch.pk)
        else:
            keep.add(batch.stored_file)
    deleted = _sweep_files(keep=keep, older_than=now - running_stale_after)
    return RecoveryResult(interrupted=interrupted, files_deleted=deleted)


def _sweep_files(*, keep: set[str], older_than: dt.datetime) -> int:
    deleted = 0
    directories = [(import_dir(), "*.upload"), (import_dir(), "progress-*.json")]
    temp_dir = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)
    if temp_dir:
        directories.append((Path(temp_dir), "*"))
    cutoff = older_than.timestamp()
    for directory, pattern in directories:
        for path in directory.glob(pattern):
            if path.name in keep or not path.is_file():
                continue
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    deleted += 1
            except OSError:
                continue
    return deleted


def import_batch_fail(*, batch: ImportBatch, reason: str, error: str = "") -> bool:
    """Record that a queued import ended without a report: its transaction rolled back, so no case
    of it exists. Precondition: the caller is the background task, after ``import_cases`` raised
    (no permission check: the uploader was allowed to queue it, and the task acts for them).

    Side effects, in one transaction: status ``failed`` with ``reason`` (shown to the quality team
    on the batch page) and one ``import.failed`` audit event by the uploader. The event keeps the
    exception's class, not its text: the trail is append-only, and a message may quote a row.
    A batch that already ended (completed, validated, rejected) is left alone; returns whether the
    batch was marked."""
    with transaction.atomic():
        marked = ImportBatch.objects.filter(
            pk=batch.pk, status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING),
        ).update(status=ImportStatus.FAILED, failure=reason, updated_at=timezone.now())
        if marked:
            audit_record(actor=batch.created_by, action="import.failed", target=batch,
                         data={"error": error, "dry_run": batch.is_dry_run})
    return bool(marked)


def progress_path(batch_id: int) -> Path:
    return import_dir() / f"progress-{batch_id}.json"


def progress_write(batch_id: int, done: int, expected: int | None, started: float, now: float) -> None:
    rate = done / max(now - started, 1e-6)
    eta = (expected - done) / rate if expected and rate else None
    tmp = progress_path(batch_id).with_suffix(".tmp")
    tmp.write_text(json.dumps({"done": done, "expected": expected, "rate": round(rate), "eta": eta}))
    tmp.replace(progress_path(batch_id))


def progress_read(batch_id: int) -> dict | None:
    try:
        return json.loads(progress_path(batch_id).read_text())
    except (OSError, ValueError):
        return None


@dataclass
class OptOutResult:
    added: int
    already: int
    cases_flagged: int


def optout_register(*, actor, patient_ids: Iterable[str]) -> OptOutResult:
    """Record patients who objected to the reuse of their data, given by their source identifiers
    and pseudonymized with the current key (the identifiers are never stored). A patient already
    registered under any key of the ring counts as already registered. Their existing cases are
    flagged ``is_opted_out`` whatever key each case was imported under (each identifier is
    pseudonymized under every key of the ring and compared with the cases of that key id);
    sampling excludes them (``reviews.sampling``) and future imports flag their new cases
    (``cases.importing``, which also matches opt-outs registered under retired keys). A case or
    opt-out stored under a key id the ring lacks stops the registration (``UnknownPseudonymKey``).
    One audit event with the counts."""
    ensure(can_register_optouts(actor), "Only the quality team or the data-protection officer can do this.")
    ring = key_ring()
    ids = sorted({normalise_identifier(p) for p in patient_ids if str(p).strip()})
    if not ids:
        raise ValidationFailed("Give at least one patient identifier.")
    # Key id → {pseudonym under that key: index of the identifier}.
    by_key = {key.key_id: {pseudonymize(p, namespace="patient", key=key): i for i, p in enumerate(ids)}
              for key in ring.keys}
    current = ring.current.key_id
    with transaction.atomic():
        for model, where in ((Case, "the cases"), (OptOut, "the opt-out register")):
            ring.require(model.objects.exclude(key_id__in=ring.key_ids).order_by()
                         .values_list("key_id", flat=True).distinct(), where)
        registered: set[int] = set()
        for key_id, pseudonyms in by_key.items():
            ordered = sorted(pseudonyms)
            for i in range(0, len(ordered), 1000):
                found = OptOut.objects.filter(key_id=key_id, patient_pseudonym__in=ordered[i:i + 1000])
                registered |= {pseudonyms[p] for p in found.values_list("patient_pseudonym", flat=True)}
        new = [OptOut(patient_pseudonym=p, key_id=current, created_by=actor)
               for p, i in sorted(by_key[current].items()) if i not in registered]
        OptOut.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
        flagged = 0
        for key_id, pseudonyms in by_key.items():
            ordered = sorted(pseudonyms)
            for i in range(0, len(ordered), 1000):
                flagged += Case.objects.filter(key_id=key_id, patient_pseudonym__in=ordered[i:i + 1000],
                                               is_opted_out=False).update(is_opted_out=True)
        result = OptOutResult(added=len(new), already=len(registered), cases_flagged=flagged)
        audit_record(actor=actor, action="optout.register", object_type="cases.optout",
                     data={"added": result.added, "already": result.already, "cases_flagged": flagged})
    return result


# --- Reviewer-visible text flagged as naming the AI (blinding hold-out) ---------------------------

BLINDING_TEXT_FIELDS = ("clinical_context", "report_text")
# The refusals of a redaction, whole sentences marked for translation (the API answers them in
# English, the web pages translate them with gettext): they name the field and the kind of
# problem, never the text.
STILL_NAMES_AI = gettext_noop("The text still names the AI or its output.")
STILL_FLAGGED = gettext_noop("This field is flagged: give its new text too.")
IDENTIFIER_REFUSALS = {
    "nir": gettext_noop("The text carries a NIR (social security number): direct identifiers are not stored."),
    "phone": gettext_noop("The text carries a phone number: direct identifiers are not stored."),
    "email": gettext_noop("The text carries an e-mail address: direct identifiers are not stored."),
    "address": gettext_noop("The text carries a postal address: direct identifiers are not stored."),
    "name": gettext_noop("The text carries a name: direct identifiers are not stored."),
    "birth_date": gettext_noop("The text carries a birth date: direct identifiers are not stored."),
    "patient_id": gettext_noop("The text carries a patient identifier: direct identifiers are not stored."),
    "accession_number": gettext_noop("The text carries an accession number: direct identifiers are not stored."),
}


def _flagged_case_for_update(case: Case) -> Case:
    locked = Case.objects.select_for_update().select_related("ai_system").get(pk=case.pk)
    if not locked.blinding_flags:
        raise TransitionNotAllowed("This case has no flagged text to review.", extra={"blinding_flags": []})
    return locked


def case_blinding_clear(*, actor, case: Case, reason: str) -> Case:
    """The quality team judges the flagged text harmless (the word is not about the AI): the flags
    are cleared, with a reason, and the case returns to the sampling population. 403 for another
    role, 400 without a reason, 409 when nothing is flagged. Locks the case row; one audit event
    (the fields and the action, never the text)."""
    from .permissions import can_review_blinding_flags

    ensure(can_review_blinding_flags(actor), "Only the quality team can review flagged text.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Give the reason for clearing the flag.", extra={"reason": ["This field is required."]})
    with transaction.atomic():
        locked = _flagged_case_for_update(case)
        fields = sorted({f["field"] for f in locked.blinding_flags})
        locked.blinding_flags = []
        locked.blinding_review = BlindingReview.CLEARED
        locked.save(update_fields=["blinding_flags", "blinding_review", "updated_at"])
        audit_record(actor=actor, action="case.blinding_clear", target=locked,
                     data={"action": "clear", "fields": fields, "reason": reason})
    return locked


def case_blinding_redact(*, actor, case: Case, texts: dict[str, str]) -> Case:
    """The quality team rewrites the flagged reviewer-visible fields (``texts``: field → new
    text). Each new text is scanned again: it must no longer name the AI or its output, and must
    carry no direct identifier (refused naming the field and the kind, never quoting the value).
    Then the flags are cleared and the case returns to the sampling population. 403 for another
    role, 400 for an unknown field or a text refused, 409 when nothing is flagged. Locks the case
    row; one audit event (the fields and the action, never the text)."""
    from .ai_mentions import detector_for_system
    from .identifiers import scan_text
    from .permissions import can_review_blinding_flags

    ensure(can_review_blinding_flags(actor), "Only the quality team can review flagged text.")
    unknown = sorted(set(texts) - set(BLINDING_TEXT_FIELDS))
    if unknown or not texts:
        raise ValidationFailed("Give the new text of the flagged fields.",
                               extra={"texts": [f"Redact one of: {', '.join(BLINDING_TEXT_FIELDS)}."]})
    with transaction.atomic():
        locked = _flagged_case_for_update(case)
        detector = detector_for_system(locked.ai_system)
        errors: dict[str, list[str]] = {}
        for name, text in texts.items():
            if detector.find(text or ""):
                errors.setdefault(name, []).append(STILL_NAMES_AI)
            kinds = sorted({f.kind for f in scan_text(text or "")})
            for kind in kinds:
                errors.setdefault(name, []).append(IDENTIFIER_REFUSALS.get(
                    kind, f"The text carries {kind}: direct identifiers are not stored."))
        flagged = {f["field"] for f in locked.blinding_flags}
        left = sorted(flagged - set(texts))
        for name in left:  # a flagged field not rewritten stays flagged unless it is already clean
            if detector.find(getattr(locked, name)):
                errors.setdefault(name, []).append(STILL_FLAGGED)
        if errors:
            raise ValidationFailed("The new text is refused.", extra=errors)
        for name, text in texts.items():
            setattr(locked, name, text or "")
        locked.blinding_flags = []
        locked.blinding_review = BlindingReview.REDACTED
        locked.save(update_fields=[*sorted(texts), "blinding_flags", "blinding_review", "updated_at"])
        audit_record(actor=actor, action="case.blinding_redact", target=locked,
                     data={"action": "redact", "fields": sorted(texts)})
    return locked


def flagged_case_list():
    """Cases held out of sampling because their reviewer-visible text names the AI or its output,
    oldest first, with their AI system (for the quality team's review page and API)."""
    return Case.objects.exclude(blinding_flags=[]).select_related("ai_system").order_by("id")
