"""Writes for AI systems, import profiles, queued imports, the opt-out register and the text
flagged as naming the AI. The import itself (and the life of a queued batch) is
``cases.importing``; this module queues the background task, which imports ``cases.importing``
and never this module."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_noop

from audit.services import audit_record
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from common.storage import uploads_storage

from .ai_mentions import detector_for_system
from .enums import BlindingReview, DatePrecision, IdentifierPolicy, ImportFormat, ImportStatus, OutputType
from .identifiers import ensure_no_identifiers, scan_text
from .importing.batches import import_batches_recover, store_upload
from .importing.rules import import_format, import_profile_check
from .models import AISystem, Case, ImportBatch, ImportProfile, OptOut
from .permissions import can_import_cases, can_manage_ai_systems, can_register_optouts, can_review_blinding_flags
from .pseudonymization import current_key, key_ring, normalise_identifier, pseudonymize
from .rows import FIELDS
from .tasks import run_import_batch


def ai_system_create(*, actor, name: str, vendor: str, version: str, intended_use: str, output_type: str,
                     labels: list[str], positive_label: str = "", score_threshold: float | None = None,
                     ce_class: str = "", acceptance_thresholds: dict | None = None) -> AISystem:
    """Register an AI system. A binary or score output needs exactly two labels, positive first,
    and a score output its threshold. 403 unless the actor manages AI systems; 400 naming each
    field that breaks the rule. No row lock (the name is unique in the database). Side effects,
    in one transaction: the AI system and one ``ai_system.create`` audit event (name and
    version)."""
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


CE_CLASSES = ("", "I", "IIa", "IIb", "III")
"""CE marking classes of a medical device (EU 2017/745); blank for a tool that carries none."""
PUBLIC_PROFILE_TEXTS = ("public_purpose", "human_oversight", "how_to_object")
"""Free text of the public profile, scanned for direct identifiers. The contact is an institutional
address or phone number meant to be published, so it is not scanned (it would always match)."""
PUBLIC_PROFILE_FIELDS = ("vendor", "ce_class", "ce_number", *PUBLIC_PROFILE_TEXTS, "public_contact")
PUBLIC_TEXT_MAX = 4000


def ai_system_update_public_profile(*, actor, ai_system: AISystem, **changes: str) -> AISystem:
    """Edit what the public register says about an AI system: its purpose in plain words, the
    supplier (``vendor``), the CE marking class and certificate number, how the human guarantee is
    organised, how to object, whom to contact. Only the fields given change. 403 unless the actor
    manages AI systems; 400 naming each field that breaks a rule (unknown field, blank supplier,
    unknown CE class, a certificate number without a class, text too long) and 400
    ``direct_identifier`` when a free text carries a direct identifier, before anything is
    written. Locks the AI system's row. Side effects, in one transaction: the fields and one
    ``ai_system.update_public_profile`` audit event naming the fields changed (the public texts
    themselves are published through ``transparency``, with their own trail)."""
    ensure(can_manage_ai_systems(actor), "Only the quality team can edit the AI systems' public profile.")
    errors: dict[str, list[str]] = {}
    for name in changes:
        if name not in PUBLIC_PROFILE_FIELDS:
            errors[name] = ["Unknown field."]
    values = {k: ("" if v is None else str(v)).strip() for k, v in changes.items() if k in PUBLIC_PROFILE_FIELDS}
    for name, value in values.items():
        limit = AISystem._meta.get_field(name).max_length or PUBLIC_TEXT_MAX
        if len(value) > limit:
            errors[name] = [f"At most {limit} characters."]
    if "vendor" in values and not values["vendor"]:
        errors["vendor"] = ["The supplier is required."]
    if values.get("ce_class", "") not in CE_CLASSES:
        errors["ce_class"] = [f"Unknown CE class: one of {', '.join(c for c in CE_CLASSES if c)}, or blank."]
    if errors:
        raise ValidationFailed("The public profile is not valid.", extra=errors)
    ensure_no_identifiers(fields={k: v for k, v in values.items() if k in PUBLIC_PROFILE_TEXTS})
    with transaction.atomic():
        locked = AISystem.objects.select_for_update().get(pk=ai_system.pk)
        merged = {name: values.get(name, getattr(locked, name)) for name in PUBLIC_PROFILE_FIELDS}
        if merged["ce_number"] and not merged["ce_class"]:
            raise ValidationFailed("The public profile is not valid.",
                                   extra={"ce_class": ["A CE certificate number needs its CE class."]})
        changed = sorted(name for name, value in values.items() if getattr(locked, name) != value)
        for name in changed:
            setattr(locked, name, values[name])
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
        audit_record(actor=actor, action="ai_system.update_public_profile", target=locked,
                     data={"fields": changed})
    return locked


PATIENT_INFORMATION_MAX_CHARS = 20_000


def ai_system_set_patient_information(*, actor, ai_system: AISystem, text: str) -> AISystem:
    """Replace the AI system's patient information sheet (what patients are given to read about
    it; the patient representatives judge each case against it). 403 unless the actor manages AI
    systems (the quality team); 400 when it is longer than 20,000 characters or carries a direct
    identifier (scanned like any stored text). Locks the AI system row; audit event
    ``ai_system.patient_information`` with the lengths before and after."""
    ensure(can_manage_ai_systems(actor), "Only the quality team can edit an AI system's patient information.")
    text = (text or "").strip()
    if len(text) > PATIENT_INFORMATION_MAX_CHARS:
        raise ValidationFailed("The patient information sheet is too long.", extra={
            "patient_information": [f"At most {PATIENT_INFORMATION_MAX_CHARS} characters."]})
    ensure_no_identifiers(fields={"patient_information": text})
    with transaction.atomic():
        ai = AISystem.objects.select_for_update().get(pk=ai_system.pk)
        before = len(ai.patient_information)
        ai.patient_information = text
        ai.save(update_fields=["patient_information", "updated_at"])
        audit_record(actor=actor, action="ai_system.patient_information", target=ai,
                     data={"chars_before": before, "chars_after": len(text)})
    return ai


def import_profile_create(*, actor, ai_system: AISystem, name: str, columns: dict[str, str] | None = None,
                          identifier_columns: list[str] | None = None, source: str = "",
                          format: str = ImportFormat.CSV, identifier_policy: str = IdentifierPolicy.REJECT,
                          date_precision: str = DatePrecision.DAY) -> ImportProfile:
    """Save a column mapping for one source. Keys of ``columns`` must be fields of the import schema;
    identifier columns are only read to scan the text of the same row, never stored. 403 unless
    the actor may import cases; 400 for an unknown field or a name already taken. No row lock (the
    name is unique in the database). Side effects, in one transaction: the profile and one
    ``import_profile.create`` audit event (name, mapping and identifier policy, never a value)."""
    ensure(can_import_cases(actor), "Only the quality team can manage import profiles.")
    unknown = sorted(set(columns or {}) - set(FIELDS))
    if unknown:
        raise ValidationFailed(f"Unknown fields in the mapping: {', '.join(unknown)}.",
                               extra={"columns": unknown, "known": sorted(FIELDS)})
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


def import_enqueue(*, actor, ai_system: AISystem, upload, profile: ImportProfile | None = None,
                   fmt: str | None = None, dry_run: bool = False) -> ImportBatch:
    """Queue an uploaded file for a background import (the web page's path; the API imports at
    once with ``importing.service.import_cases``). 403 unless the actor may import cases; 400 for
    a profile of another AI system or an unknown format (``importing.rules``), before anything is
    stored. No row lock.

    Side effects: the recovery runs first (``importing.batches.import_batches_recover``: batches
    of dead workers interrupted, stale files deleted); the file is stored, chunk by chunk, in the
    uploads storage (``STORAGES["uploads"]``: the database or object storage, which the worker
    reaches from any machine; deleted by the task when it ends, or at once if the batch cannot be
    recorded); a ``queued`` ImportBatch and one ``import.queued`` audit event are committed in one
    transaction, so that any application server can follow the batch; the task
    (``tasks.run_import_batch``) is enqueued on commit with the batch id."""
    ensure(can_import_cases(actor), "Only the quality team can import cases.")
    import_profile_check(profile=profile, ai_system=ai_system)
    fmt = import_format(fmt=fmt, profile=profile, filename=upload.name)
    import_batches_recover()  # every upload also sweeps what dead workers left behind
    name = store_upload(upload)
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                ai_system=ai_system, created_by=actor, profile=profile, filename=upload.name[:255], file_sha256="",
                format=fmt, status=ImportStatus.QUEUED, key_id=current_key().key_id, is_dry_run=dry_run,
                stored_file=name)
            audit_record(actor=actor, action="import.queued", target=batch,
                         data={"filename": batch.filename, "format": fmt, "dry_run": dry_run})
            transaction.on_commit(lambda: run_import_batch.enqueue(batch.pk))
    except BaseException:
        uploads_storage().delete(name)  # no batch owns it: raw identifiers go at once
        raise
    return batch


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
    (``cases.importing.writer``, which also matches opt-outs registered under retired keys).

    403 unless the actor is the quality team or the data-protection officer; 400 without any
    identifier; 409 (``UnknownPseudonymKey``) when a case or opt-out is stored under a key id the
    ring lacks. No row lock: the register's pseudonym is unique, and the insert skips a row that a
    concurrent registration of the same patient has just written. Side effects, in one
    transaction: the new opt-outs, the flagged cases and one ``optout.register`` audit event with
    the counts (never an identifier)."""
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

BLINDING_TEXT_FIELDS = ("clinical_context", "report_text", "information_trace", "plain_summary")
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
    """The case, locked (``select_for_update``: the caller holds the transaction), with its AI
    system; 409 when it has no flagged text."""
    locked = Case.objects.select_for_update().select_related("ai_system").get(pk=case.pk)
    if not locked.blinding_flags:
        raise TransitionNotAllowed("This case has no flagged text to review.", extra={"blinding_flags": []})
    return locked


def case_blinding_clear(*, actor, case: Case, reason: str) -> Case:
    """The quality team judges the flagged text harmless (the word is not about the AI): the flags
    are cleared, with a reason, and the case returns to the sampling population. 403 for another
    role, 400 without a reason, 409 when nothing is flagged. Locks the case row; one audit event
    (the fields and the action, never the text)."""
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
