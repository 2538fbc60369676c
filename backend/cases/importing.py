"""Importing AI-assisted cases from CSV or JSON, pseudonymizing on the way in.

Rules: a file that carries a direct-identifier column is refused whole; every other row is
validated on its own and a rejected row is reported with its line, field and reason; accepted
rows are written in one transaction (all or nothing); re-importing the same rows adds nothing
(idempotent on the pseudonymized accession number), a corrected row updates its case unless the
case was already drawn into a campaign.
"""

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction

from audit.services import audit_record
from common.exceptions import Forbidden, ValidationFailed

from .enums import AgeBand, ImportFormat, ImportStatus, OutputType, Sex
from .models import AISystem, Case, ImportBatch
from .pseudonymization import current_key, pseudonymize

REQUIRED = ("accession_number", "patient_id", "exam_date", "site")
OPTIONAL = (
    "service", "sex", "age", "age_band", "clinical_context", "report_text", "image_url", "ai_label", "ai_score",
    "ai_version", "final_label", "clinician_id", "patient_informed",
)
# Columns that would carry a direct identifier: a file with one of them is refused whole.
FORBIDDEN = {
    "name", "nom", "prenom", "prénom", "first_name", "last_name", "patient_name", "nir", "ssn",
    "numero_secu", "address", "adresse", "phone", "telephone", "téléphone", "email", "mail",
    "birth_date", "date_naissance", "ddn", "dob",
}
UPDATABLE = ("exam_date", "site", "service", "sex", "age_band", "clinical_context", "report_text", "image_url",
             "ai_label", "ai_score", "ai_version", "final_label", "clinician_pseudonym", "patient_informed")
BATCH = 1000


@dataclass
class RowError:
    line: int
    field: str
    reason: str


@dataclass
class ImportResult:
    batch: ImportBatch | None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:  # not text at all (a spreadsheet, a PDF): the user's error, not a 500
        raise ValidationFailed(
            "The file is neither UTF-8 nor Windows-1252 text: export it as CSV or JSON and import again."
        ) from exc


def read_rows(raw: bytes, fmt: str) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Header and (line number, row) pairs. Line numbers are the file's own (header is line 1)."""
    text = decode(raw)
    if fmt == ImportFormat.JSON:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"The JSON file is not valid: {exc.msg} at line {exc.lineno}.") from exc
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValidationFailed("The JSON file must be a list of objects, one per case.")
        header = sorted({k for r in data for k in r})
        return header, [(i + 1, r) for i, r in enumerate(data)]
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        return header, [(reader.line_num, row) for row in reader]
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise ValidationFailed(f"The CSV file cannot be read: {exc} (line {reader.line_num}).") from exc


def parse_date(value: str) -> date:
    value = value.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError("expected a date as dd/mm/yyyy or yyyy-mm-dd")


def parse_float(value: str) -> float:
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        raise ValueError("expected a number (decimal comma or point)") from None
    if not math.isfinite(number):  # NaN or infinity: no score, and no valid JSON either
        raise ValueError("expected a finite number")
    return number


def parse_age(value: str) -> str:
    try:
        age = int(str(value).strip())
    except ValueError:
        raise ValueError("expected an age in whole years") from None
    return age_band_of(age)


def age_band_of(age: int) -> str:
    if age < 0 or age > 130:
        raise ValueError("age out of range")
    for limit, band in ((18, AgeBand.UNDER_18), (40, AgeBand.A18_39), (60, AgeBand.A40_59), (80, AgeBand.A60_79)):
        if age < limit:
            return band
    return AgeBand.OVER_80


def parse_bool(value: str) -> bool | None:
    v = str(value).strip().lower()
    if v in ("", "unknown", "inconnu"):
        return None
    if v in ("1", "true", "yes", "oui", "o", "y"):
        return True
    if v in ("0", "false", "no", "non", "n"):
        return False
    raise ValueError("expected yes/no (oui/non)")


def build_case(ai: AISystem, line: int, row: dict[str, Any], key) -> tuple[dict[str, Any] | None, list[RowError]]:
    errors: list[RowError] = []
    get = lambda name: str(row.get(name) if row.get(name) is not None else "").strip()  # noqa: E731
    for name in REQUIRED:
        if not get(name):
            errors.append(RowError(line, name, "required value is missing"))
    values: dict[str, Any] = {}

    def parse(name, fn, target=None):
        if get(name):
            try:
                values[target or name] = fn(get(name))
            except ValueError as exc:
                errors.append(RowError(line, name, f"{exc}: {get(name)!r}"))

    parse("exam_date", parse_date)
    parse("ai_score", parse_float)
    parse("patient_informed", parse_bool)
    parse("age", parse_age, target="age_band")
    if get("age_band") and "age_band" not in values:
        if get("age_band") in AgeBand.values:
            values["age_band"] = get("age_band")
        else:
            errors.append(RowError(line, "age_band", f"unknown age band {get('age_band')!r}"))
    sex = get("sex").upper()[:1] or Sex.OTHER
    if sex not in Sex.values:
        sex = {"H": Sex.MALE}.get(sex, None)
        if sex is None:
            errors.append(RowError(line, "sex", f"expected F, M or X, got {get('sex')!r}"))
    ai_label = get("ai_label")
    if not ai_label and ai.output_type == OutputType.SCORE and "ai_score" in values:
        ai_label = ai.labels[0] if values["ai_score"] >= ai.score_threshold else ai.labels[-1]
    if not ai_label:
        errors.append(RowError(line, "ai_label", "the AI output is missing"))
    elif ai_label not in ai.labels:
        errors.append(RowError(line, "ai_label", f"{ai_label!r} is not one of {ai.labels}"))
    final = get("final_label")
    if final and final not in ai.labels:
        errors.append(RowError(line, "final_label", f"{final!r} is not one of {ai.labels}"))
    if errors:
        return None, errors
    return {
        "source_key": pseudonymize(get("accession_number"), namespace="case", key=key),
        "patient_pseudonym": pseudonymize(get("patient_id"), namespace="patient", key=key),
        "clinician_pseudonym": pseudonymize(get("clinician_id"), namespace="clinician", key=key)
        if get("clinician_id") else "",
        "key_id": key.key_id,
        "exam_date": values["exam_date"],
        "site": get("site"),
        "service": get("service"),
        "sex": sex,
        "age_band": values.get("age_band", ""),
        "clinical_context": get("clinical_context"),
        "report_text": get("report_text"),
        "image_url": get("image_url"),
        "ai_label": ai_label,
        "ai_score": values.get("ai_score"),
        "ai_version": get("ai_version") or ai.version,
        "final_label": final,
        "patient_informed": values.get("patient_informed"),
    }, []


def import_cases(*, actor, ai_system: AISystem, raw: bytes, filename: str, fmt: str = ImportFormat.CSV) -> ImportResult:
    """Import one file for one AI system. Side effects: one ``ImportBatch`` row (also when every
    row is rejected, so the report can be downloaded), the accepted cases, one audit event."""
    from .permissions import can_import_cases

    if not can_import_cases(actor):
        raise Forbidden("Only the quality team can import cases.")
    header, rows = read_rows(raw, fmt)
    lowered = {h.lower() for h in header}
    forbidden = sorted(lowered & FORBIDDEN)
    if forbidden:
        raise ValidationFailed(
            f"The file carries direct identifiers ({', '.join(forbidden)}): remove these columns and import again.",
            extra={"columns": forbidden},
        )
    missing = [c for c in REQUIRED if c not in lowered]
    if missing:
        raise ValidationFailed(f"Required columns are missing: {', '.join(missing)}.", extra={"columns": missing})
    key = current_key()
    result = ImportResult(batch=None)
    accepted: dict[str, dict[str, Any]] = {}
    for line, row in rows:
        row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
        values, errors = build_case(ai_system, line, row, key)
        if errors:
            result.errors.extend(errors)
        elif values["source_key"] in accepted:
            result.errors.append(RowError(line, "accession_number", "the same accession number appears twice"))
        else:
            values["_line"] = line
            accepted[values["source_key"]] = values
    with transaction.atomic():
        existing = {}
        keys = list(accepted)
        for i in range(0, len(keys), BATCH):
            for case in Case.objects.filter(ai_system=ai_system, source_key__in=keys[i:i + BATCH]).prefetch_related(
                    "campaign_cases"):
                existing[case.source_key] = case
        batch = ImportBatch.objects.create(
            ai_system=ai_system, created_by=actor, filename=filename[:255],
            file_sha256=hashlib.sha256(raw).hexdigest(), format=fmt, status=ImportStatus.COMPLETED,
            key_id=key.key_id, rows_total=len(rows),
        )
        new, changed = [], []
        for source_key, values in accepted.items():
            line = values.pop("_line")
            case = existing.get(source_key)
            if case is None:
                new.append(Case(ai_system=ai_system, import_batch=batch, **values))
                continue
            diff = [f for f in UPDATABLE if getattr(case, f) != values[f]]
            if not diff:
                result.unchanged += 1
            elif case.campaign_cases.all():
                result.errors.append(RowError(line, diff[0], "the case is already in a campaign: it cannot change"))
            else:
                for f in diff:
                    setattr(case, f, values[f])
                changed.append(case)
        Case.objects.bulk_create(new, batch_size=BATCH)
        Case.objects.bulk_update(changed, UPDATABLE, batch_size=BATCH)
        result.created, result.updated = len(new), len(changed)
        result.errors.sort(key=lambda e: e.line)
        batch.rows_created, batch.rows_updated, batch.rows_unchanged = result.created, result.updated, result.unchanged
        batch.rows_rejected = len({e.line for e in result.errors})
        batch.errors = [e.__dict__ for e in result.errors]
        if not accepted and rows:
            batch.status = ImportStatus.REJECTED
        batch.save()
        audit_record(actor=actor, action="import.completed", target=batch, data={
            "file_sha256": batch.file_sha256, "rows": len(rows), "created": result.created,
            "updated": result.updated, "unchanged": result.unchanged, "rejected": batch.rows_rejected,
        })
    result.batch = batch
    return result
