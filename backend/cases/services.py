"""Writes for AI systems, import profiles, queued imports and the opt-out register."""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from common.exceptions import ValidationFailed, ensure

from .enums import DatePrecision, IdentifierPolicy, ImportFormat, ImportStatus, OutputType
from .models import AISystem, Case, ImportBatch, ImportProfile, OptOut
from .permissions import can_import_cases, can_manage_ai_systems, can_register_optouts
from .pseudonymization import current_key, pseudonymize
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
    path = import_dir() / f"{uuid.uuid4().hex}.upload"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    fmt = fmt or (profile.format if profile else None) or guess_format(upload.name)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            ai_system=ai_system, created_by=actor, profile=profile, filename=upload.name[:255], file_sha256="",
            format=fmt, status=ImportStatus.QUEUED, key_id=current_key().key_id, is_dry_run=dry_run)
        audit_record(actor=actor, action="import.queued", target=batch,
                     data={"filename": batch.filename, "format": fmt, "dry_run": dry_run})
        transaction.on_commit(lambda: run_import_batch.enqueue(batch.pk, str(path)))
    return batch


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
    and pseudonymized with the same key as the cases (the identifiers are never stored). Their
    existing cases are flagged ``is_opted_out``; sampling excludes them (``reviews.sampling``) and
    future imports flag their new cases. One audit event with the counts."""
    ensure(can_register_optouts(actor), "Only the quality team or the data-protection officer can do this.")
    key = current_key()
    pseudonyms = {pseudonymize(p, namespace="patient", key=key) for p in patient_ids if str(p).strip()}
    if not pseudonyms:
        raise ValidationFailed("Give at least one patient identifier.")
    with transaction.atomic():
        existing = set()
        ordered = sorted(pseudonyms)
        for i in range(0, len(ordered), 1000):
            existing |= set(OptOut.objects.filter(patient_pseudonym__in=ordered[i:i + 1000])
                            .values_list("patient_pseudonym", flat=True))
        new = [OptOut(patient_pseudonym=p, key_id=key.key_id, created_by=actor) for p in ordered if p not in existing]
        OptOut.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
        flagged = 0
        for i in range(0, len(ordered), 1000):
            flagged += Case.objects.filter(patient_pseudonym__in=ordered[i:i + 1000], is_opted_out=False).update(
                is_opted_out=True)
        result = OptOutResult(added=len(new), already=len(existing), cases_flagged=flagged)
        audit_record(actor=actor, action="optout.register", object_type="cases.optout",
                     data={"added": result.added, "already": result.already, "cases_flagged": flagged})
    return result
