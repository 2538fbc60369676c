"""One import record → one case's stored values, or the reasons it is rejected.

Runs in the importing process or in a pool worker (``prepare_chunk``): no database access, only
the ``RowContext`` built once per import (the AI system's labels, the keys, the profile's rules).
Direct identifiers never leave this function: the patient and accession numbers become keyed
pseudonyms, the accession number is also encrypted for a later recall, the birth date becomes an
age band at the exam date, names read from identifier columns are used to scan the text and
dropped, and every stored text column (site, service, clinical context, report, image link, AI
version) is scanned, with the row's own patient id and accession number (the row is rejected or the
identifiers redacted, per profile). Error reasons name the line, the field and the kind of problem,
never the value.
"""

import hashlib
import hmac
import json
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from .ai_mentions import Detector, detector_for
from .enums import AgeBand, DatePrecision, IdentifierPolicy, OutputType, Sex
from .identifiers import TAGS, redact, scan_text
from .pseudonymization import PseudonymKey
from .readers import CsvBlock, parse_csv_block
from .source_reference import SourceKey, current_source_key, encrypt_source_reference

REQUIRED = ("accession_number", "patient_id", "exam_date", "site")
OPTIONAL = (
    "service", "sex", "age", "age_band", "clinical_context", "report_text", "image_url", "ai_label", "ai_score",
    "ai_version", "final_label", "clinician_id", "patient_informed", "information_trace", "plain_summary",
)
# Canonical fields that only a profile mapping can bring in: read, turned into a band, dropped.
PROFILE_ONLY = ("birth_date",)
FREE_TEXT = ("clinical_context", "report_text", "information_trace", "plain_summary")
# Order matters: the first differing field names a frozen case's rejection.
STAGED = (
    "source_key", "patient_pseudonym", "key_id", "exam_date", "site", "service", "sex", "age_band",
    "clinical_context", "report_text", "image_url", "ai_label", "ai_score", "ai_version", "final_label",
    "clinician_pseudonym", "patient_informed", "source_reference", "source_reference_key_id", "blinding_flags",
    "information_trace", "plain_summary",
)
UPDATABLE = ("exam_date", "site", "service", "sex", "age_band", "clinical_context", "report_text", "image_url",
             "ai_label", "ai_score", "ai_version", "final_label", "clinician_pseudonym", "patient_informed",
             "information_trace", "plain_summary")
FIELDS = (*REQUIRED, *OPTIONAL, *PROFILE_ONLY)
AGE_BANDS = frozenset(AgeBand.values)
SEXES = frozenset(Sex.values)
TAG_VALUES = frozenset(TAGS.values())
KIND_LABELS = {"nir": "a NIR (social security number)", "phone": "a phone number", "email": "an e-mail address",
               "address": "a postal address", "name": "the patient's name", "birth_date": "a birth date",
               "patient_id": "the patient's identifier", "accession_number": "the accession number"}
# Every stored text column is scanned for direct identifiers, not only the free text.
SCANNED = ("site", "service", "clinical_context", "report_text", "image_url", "ai_version", "information_trace",
           "plain_summary")
# The longest value each field may carry: the stored column's max_length (cases.models.Case, checked
# by a test), and a bound for what is hashed or held as free text. A longer value rejects the row
# (PostgreSQL would refuse it and fail the whole batch; SQLite would store it).
MAX_LENGTHS = {"site": 40, "service": 80, "image_url": 500, "ai_label": 40, "ai_version": 40, "final_label": 40,
               "clinical_context": 100_000, "report_text": 100_000, "information_trace": 20_000,
               "plain_summary": 20_000}
MAX_OTHER = 255


@dataclass
class RowError:
    line: int
    field: str
    reason: str


@dataclass
class RowContext:
    labels: list[str]
    output_type: str
    score_threshold: float | None
    default_version: str
    key: PseudonymKey
    source_key: SourceKey | None
    policy: str = IdentifierPolicy.REJECT
    date_precision: str = DatePrecision.DAY
    blinding: Detector | None = None
    # CSV: canonical field → column index; identifier columns (names) → indexes.
    index: dict[str, int] = field(default_factory=dict)
    name_index: list[int] = field(default_factory=list)
    # PostgreSQL: prepare_chunk returns the accepted rows as one block of COPY text, each line
    # starting with ``copy_prefix`` (the conversion happens in the worker, and one string crosses
    # the process boundary instead of many tuples).
    copy_text: bool = False
    copy_prefix: str = ""
    # Key rotation (cases.pseudonymization): the retired keys under which the AI system has cases
    # (each accepted record is also pseudonymized under them, so that the importer can find its
    # case), and the retired keys of the opt-out register with their pseudonyms (a record whose
    # patient is among them is flagged). Both empty in the usual import.
    retired: tuple[PseudonymKey, ...] = ()
    optout_retired: tuple[tuple[PseudonymKey, frozenset[str]], ...] = ()

    @classmethod
    def for_system(cls, ai, key, source_key=None, **kwargs) -> "RowContext":
        return cls(labels=list(ai.labels), output_type=ai.output_type, score_threshold=ai.score_threshold,
                   default_version=ai.version, key=key, source_key=source_key,
                   blinding=detector_for(name=ai.name, vendor=ai.vendor, labels=ai.labels, version=ai.version),
                   **kwargs)


def parse_date(value: str) -> date:
    value = value.strip()
    # Fast path for the usual dd/mm/yyyy and yyyy-mm-dd spellings; anything else (or an invalid
    # date) goes through strptime below, which decides and words the error.
    if len(value) == 10 and value.isascii():
        try:
            if value[2] == "/" and value[5] == "/" and value[:2].isdigit() and value[3:5].isdigit() \
                    and value[6:].isdigit():
                return date(int(value[6:]), int(value[3:5]), int(value[:2]))
            if value[4] == "-" and value[7] == "-" and value[:4].isdigit() and value[5:7].isdigit() \
                    and value[8:].isdigit():
                return date(int(value[:4]), int(value[5:7]), int(value[8:]))
        except ValueError:
            pass
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value[:10] if fmt == "%Y-%m-%d" else value, fmt).date()
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


def age_at(birth: date, when: date) -> int:
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


def parse_bool(value: str) -> bool | None:
    v = str(value).strip().lower()
    if v in ("", "unknown", "inconnu"):
        return None
    if v in ("1", "true", "yes", "oui", "o", "y"):
        return True
    if v in ("0", "false", "no", "non", "n"):
        return False
    raise ValueError("expected yes/no (oui/non)")


class _Crypto:
    """Per-process cache of the keyed objects: an HMAC keyed once and copied per value (same digest
    as ``pseudonymize``), and the source-reference key with its Fernet object. Encryption itself is
    left to ``cryptography``'s Fernet: no hand-made tokens."""

    def __init__(self, key: PseudonymKey, source_key: SourceKey | None, retired=(), optout_retired=()):
        self.key = key
        self.hmac = hmac.new(key.secret, digestmod=hashlib.sha256)
        self.source_key = source_key
        self.retired_keys, self.optout_keys = retired, optout_retired
        self.retired = [(k.key_id, hmac.new(k.secret, digestmod=hashlib.sha256)) for k in retired]
        self.optout = [(hmac.new(k.secret, digestmod=hashlib.sha256), members) for k, members in optout_retired]

    def pseudo(self, namespace: str, value: str, keyed=None) -> str:
        text = value if value.isascii() else unicodedata.normalize("NFKC", value)  # NFKC of ASCII: itself
        h = (keyed or self.hmac).copy()
        h.update(f"{namespace}:{''.join(text.strip().upper().split())}".encode())
        return h.hexdigest()

    def retired_pseudonyms(self, accession: str, patient: str, clinician: str) -> list[tuple[str, str, str]]:
        """(source key, patient pseudonym, clinician pseudonym) under each retired key of the context."""
        pseudo = self.pseudo
        return [(pseudo("case", accession, h), pseudo("patient", patient, h),
                 pseudo("clinician", clinician, h) if clinician else "") for _, h in self.retired]

    def opted_out_under_retired_key(self, patient: str) -> bool:
        return any(self.pseudo("patient", patient, h) in members for h, members in self.optout)

    def encrypt(self, value: str) -> str:
        return encrypt_source_reference(value, self.source_key)


_CRYPTO: _Crypto | None = None


def _crypto(ctx: "RowContext") -> _Crypto:
    global _CRYPTO
    crypto = _CRYPTO
    if crypto is None or crypto.key is not ctx.key or crypto.source_key is not ctx.source_key \
            or crypto.retired_keys is not ctx.retired or crypto.optout_keys is not ctx.optout_retired:
        crypto = _CRYPTO = _Crypto(ctx.key, ctx.source_key, ctx.retired, ctx.optout_retired)
    return crypto


def build_case(ai, line: int, row: dict[str, Any], key: PseudonymKey) -> tuple[dict[str, Any] | None, list[RowError]]:
    """The stored values of one record with canonical keys (no profile), by STAGED field, or its
    errors: one record through the import's rules, outside an import (benchmarks)."""
    fields = {}
    for name in FIELDS:
        v = row.get(name)
        fields[name] = "" if v is None else str(v).strip()
    values, _, errors, _ = _build(RowContext.for_system(ai, key, current_source_key()), line, fields)
    return (None if values is None else dict(zip(STAGED, values, strict=True))), errors


def _build(ctx: RowContext, line: int, fields: dict[str, str], names=()) -> tuple[
        tuple | None, bool, list[RowError], list[dict]]:
    """(values in STAGED order, redacted, errors, warnings) for a record already reduced to stripped
    strings, one per field of FIELDS."""
    errors: list[RowError] = []
    warnings: list[dict] = []
    get = fields.__getitem__

    for name, value in fields.items():
        if "\x00" in value:  # no text column of PostgreSQL can hold it
            errors.append(RowError(line, name, "the value contains a null character"))
        elif len(value) > MAX_LENGTHS.get(name, MAX_OTHER):
            errors.append(RowError(line, name, f"longer than {MAX_LENGTHS.get(name, MAX_OTHER)} characters"))
    if errors:
        return None, False, errors, []
    for name in REQUIRED:
        if not get(name):
            errors.append(RowError(line, name, "required value is missing"))
    # Parsed values; the usual record has them all, so each is parsed inline (no helper call).
    exam_date = score = informed = None
    age_band = ""
    value = get("exam_date")
    if value:
        try:
            exam_date = parse_date(value)
        except ValueError as exc:
            errors.append(RowError(line, "exam_date", str(exc)))  # never quote a rejected value
    value = get("ai_score")
    if value:
        try:
            score = parse_float(value)
        except ValueError as exc:
            errors.append(RowError(line, "ai_score", str(exc)))
    value = get("patient_informed")
    if value:
        try:
            informed = parse_bool(value)
        except ValueError as exc:
            errors.append(RowError(line, "patient_informed", str(exc)))
    value = get("age")
    if value:
        try:
            age_band = parse_age(value)
        except ValueError as exc:
            errors.append(RowError(line, "age", str(exc)))
    if not age_band and get("age_band"):
        if get("age_band") in AGE_BANDS:
            age_band = get("age_band")
        else:
            errors.append(RowError(line, "age_band", f"unknown age band (expected one of {', '.join(AgeBand.values)})"))
    if not age_band and get("birth_date"):
        try:
            birth = parse_date(get("birth_date"))
        except ValueError as exc:
            errors.append(RowError(line, "birth_date", str(exc)))  # never quote a birth date
        else:
            if exam_date is not None:
                try:
                    age_band = age_band_of(age_at(birth, exam_date))
                except ValueError as exc:
                    errors.append(RowError(line, "birth_date", str(exc)))
    sex = get("sex").upper()[:1] or Sex.OTHER
    if sex not in SEXES:
        sex = {"H": Sex.MALE}.get(sex, None)
        if sex is None:
            errors.append(RowError(line, "sex", "expected F, M or X"))
    ai_label = get("ai_label")
    if not ai_label and ctx.output_type == OutputType.SCORE and score is not None:
        ai_label = ctx.labels[0] if score >= ctx.score_threshold else ctx.labels[-1]
    if not ai_label:
        errors.append(RowError(line, "ai_label", "the AI output is missing"))
    elif ai_label not in ctx.labels:
        errors.append(RowError(line, "ai_label", f"not one of the AI system's labels ({', '.join(ctx.labels)})"))
    final = get("final_label")
    if final and final not in ctx.labels:
        errors.append(RowError(line, "final_label", f"not one of the AI system's labels ({', '.join(ctx.labels)})"))
    texts = {}
    redacted = False
    ids = {"patient_id": get("patient_id"), "accession_number": get("accession_number")}
    # The columns are scanned together first (one scan per row in the usual case: nothing found), each
    # on its own only when that finds something; ";" between them ends every pattern.
    joined = "\n;\n".join([get(name) for name in SCANNED])
    suspect = bool(scan_text(joined, names=names, ids=ids)) if joined.strip("\n;") else False
    for name in SCANNED:
        text = get(name)
        findings = scan_text(text, names=names, ids=ids) if suspect and text else None
        if findings:
            kinds = sorted({f.kind for f in findings})
            described = ", ".join(KIND_LABELS[k] for k in kinds)
            if ctx.policy == IdentifierPolicy.REDACT:
                text = redact(text, findings)
                redacted = True
                warnings.append({"line": line, "field": name, "reason": f"redacted: {described}",
                                 "kind": "redacted"})
                limit = MAX_LENGTHS.get(name, MAX_OTHER)
                if len(text) > limit:  # a tag can be longer than what it replaces
                    errors.append(RowError(line, name, f"longer than {limit} characters once redacted"))
            else:
                errors.append(RowError(line, name, f"the text carries {described}: the row is rejected"))
        texts[name] = text
    if errors:
        return None, False, errors, []
    if ctx.date_precision == DatePrecision.MONTH:
        exam_date = exam_date.replace(day=1)
    flags = []
    if ctx.blinding is not None:
        for name in FREE_TEXT:
            if not texts[name]:
                continue
            for mention in ctx.blinding.mentions(texts[name]):
                if mention not in TAG_VALUES:
                    flags.append({"field": name, "mention": mention})
        for flag in flags:
            warnings.append({"line": line, "field": flag["field"], "kind": "blinding",
                             "reason": f"names the AI or its output ({flag['mention']!r}): it would unblind "
                                       "the reviewer; correct the text"})
    accession = get("accession_number")
    crypto = _crypto(ctx)
    clinician = get("clinician_id")
    source_key = ctx.source_key
    # In STAGED order.
    return (
        crypto.pseudo("case", accession),
        crypto.pseudo("patient", get("patient_id")),
        ctx.key.key_id,
        exam_date,
        texts["site"],
        texts["service"],
        sex,
        age_band,
        texts["clinical_context"],
        texts["report_text"],
        texts["image_url"],
        ai_label,
        score,
        texts["ai_version"] or ctx.default_version,
        final,
        crypto.pseudo("clinician", clinician) if clinician else "",
        informed,
        crypto.encrypt(accession) if source_key else "",
        source_key.key_id if source_key else "",
        json.dumps(flags, ensure_ascii=False) if flags else "[]",
        texts["information_trace"],
        texts["plain_summary"],
    ), redacted, [], warnings


# --- Chunks, in this process or in a pool worker -----------------------------------------------

_CTX: RowContext | None = None


def init_worker(ctx: RowContext) -> None:
    global _CTX
    _CTX = ctx


class Prepared(NamedTuple):
    """A prepared chunk. ``lines`` and ``keys`` (the pseudonymized accession numbers) run in
    parallel over the accepted records; ``values`` are their tuples in STAGED order, or, when
    ``ctx.copy_text``, one string: a line of PostgreSQL COPY text per record (``ctx.copy_prefix``,
    then the values in STAGED order), ready to be written as is."""

    records: int
    lines: list[int]
    keys: list[str]
    values: list[tuple] | str
    errors: list[RowError]
    warnings: list[dict]
    redacted: int
    # Key rotation: per retired key of ``ctx.retired``, (key id, [(source key, patient pseudonym,
    # clinician pseudonym)] parallel to ``keys``); the keys of the records whose patient is on the
    # opt-out register under a retired key.
    retired: tuple[tuple[str, list[tuple[str, str, str]]], ...] = ()
    opted_out: tuple[str, ...] = ()


def prepare_chunk(chunk: list[tuple[int, Any]] | CsvBlock, ctx: RowContext | None = None) -> Prepared:
    """The ``Prepared`` chunk of a chunk of (line, record) pairs, where a record is a CSV value list
    (mapped through ``ctx.index``) or a dict with canonical keys, or of a block of CSV text (parsed
    here, in the worker)."""
    ctx = ctx or _CTX
    if isinstance(chunk, CsvBlock):
        chunk = parse_csv_block(chunk)
    lines, keys, staged, errors, warnings, redacted = [], [], [], [], [], 0
    index_items = list(ctx.index.items())
    name_index = ctx.name_index
    empty = dict.fromkeys(FIELDS, "")
    as_text = _copy_text if ctx.copy_text else None
    prefix = ctx.copy_prefix
    crypto = _crypto(ctx) if (ctx.retired or ctx.optout_retired) else None
    retired: list[list[tuple[str, str, str]]] = [[] for _ in ctx.retired]
    opted_out: list[str] = []
    for line, record in chunk:
        if isinstance(record, list):
            n = len(record)
            fields = empty.copy()
            for name, i in index_items:
                if i < n:
                    fields[name] = record[i].strip()
            names = [record[i] for i in name_index if i < n] if name_index else ()
        else:
            names = record.pop("_names", ())
            fields = {}
            for name in FIELDS:
                v = record.get(name)
                fields[name] = "" if v is None else str(v).strip()
        values, is_redacted, row_errors, row_warnings = _build(ctx, line, fields, names)
        if row_errors:
            errors.extend(row_errors)
            continue
        if row_warnings:
            warnings.extend(row_warnings)
        redacted += is_redacted
        lines.append(line)
        keys.append(values[0])
        staged.append(prefix + as_text(values) if as_text else values)
        if crypto is not None:
            patient = fields["patient_id"]
            if crypto.retired:
                for out, triple in zip(retired, crypto.retired_pseudonyms(
                        fields["accession_number"], patient, fields["clinician_id"]), strict=True):
                    out.append(triple)
            if crypto.optout and crypto.opted_out_under_retired_key(patient):
                opted_out.append(values[0])
    return Prepared(len(chunk), lines, keys, "".join(staged) if as_text else staged, errors, warnings, redacted,
                    tuple(zip((k.key_id for k in ctx.retired), retired, strict=True)), tuple(opted_out))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _copy_value(v) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, date):
        return v.isoformat()
    return repr(v)


def copy_line(row: tuple) -> str:
    """One row in PostgreSQL's COPY text format (tab-separated, \\N for NULL, backslash escapes)."""
    probe = "".join([v for v in row if isinstance(v, str)])
    if not ("\\" in probe or "\t" in probe or "\n" in probe or "\r" in probe):  # the usual row: no escape
        return "\t".join([v if isinstance(v, str) else _copy_value(v) for v in row]) + "\n"
    out = []
    for v in row:
        if v is None:
            out.append("\\N")
        elif isinstance(v, str):
            out.append(v.translate(_COPY_ESCAPES))
        elif isinstance(v, bool):
            out.append("t" if v else "f")
        elif isinstance(v, date):
            out.append(v.isoformat())
        else:  # int, float (finite: parse_float refuses NaN and infinity)
            out.append(repr(v))
    return "\t".join(out) + "\n"


# Positions in STAGED of the values that are not strings.
_DATE_AT, _SCORE_AT, _INFORMED_AT = STAGED.index("exam_date"), STAGED.index("ai_score"), \
    STAGED.index("patient_informed")


def _copy_text(values: tuple) -> str:
    """``copy_line`` for a tuple in STAGED order, whose types are known: every value is a string
    but the exam date (a date), the AI score (a float or None) and patient_informed (a bool or
    None)."""
    out = list(values)
    out[_DATE_AT] = values[_DATE_AT].isoformat()
    score = values[_SCORE_AT]
    out[_SCORE_AT] = "" if score is None else repr(score)
    informed = values[_INFORMED_AT]
    out[_INFORMED_AT] = "" if informed is None else ("t" if informed else "f")
    text = "\t".join(out)
    if "\\" in text or "\n" in text or "\r" in text or text.count("\t") != len(out) - 1:
        return copy_line(values)  # something to escape: the general path
    if score is None or informed is None:
        if score is None:
            out[_SCORE_AT] = "\\N"
        if informed is None:
            out[_INFORMED_AT] = "\\N"
        text = "\t".join(out)
    return text + "\n"
