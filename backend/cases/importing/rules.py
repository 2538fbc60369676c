"""What an import checks before it reads a row: the format a file is read as, whether a saved
profile may be used for the AI system, and which columns a file may carry under that profile.

One home for each rule: the import itself (``service.import_cases``), the queued upload
(``cases.services.import_enqueue``), the API and the web form all call these functions.
"""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_noop

from common.exceptions import ValidationFailed

from ..enums import ImportFormat
from ..models import AISystem, ImportProfile
from ..rows import PROFILE_ONLY, REQUIRED

# Columns that would carry a direct identifier: a file with one of them is refused whole.
FORBIDDEN = {
    "name", "nom", "prenom", "prénom", "first_name", "last_name", "patient_name", "nir", "ssn",
    "numero_secu", "address", "adresse", "phone", "telephone", "téléphone", "email", "mail",
    "birth_date", "date_naissance", "ddn", "dob",
}
# Marked for translation: the web form shows the refusal in French.
PROFILE_OF_ANOTHER_SYSTEM = gettext_noop("This import profile belongs to another AI system.")


def import_format(*, fmt: str | None, profile: ImportProfile | None, filename: str) -> str:
    """The format a file is read as: the one asked for, else the profile's, else the one its name
    suggests (``.jsonl`` or ``.ndjson``: JSON Lines; ``.fhir.json``, ``.bundle.json`` or "fhir"
    anywhere in the name: FHIR; ``.json``: JSON; anything else: CSV). ``ValidationFailed`` for a
    format the importer does not read."""
    fmt = fmt or (profile.format if profile else None) or _format_of_name(filename)
    if fmt not in ImportFormat.values:
        raise ValidationFailed(f"Unknown format {fmt!r}.")
    return fmt


def _format_of_name(filename: str) -> str:
    name = filename.lower()
    if name.endswith((".jsonl", ".ndjson")):
        return ImportFormat.JSONL
    if name.endswith((".fhir.json", ".bundle.json")) or "fhir" in name:
        return ImportFormat.FHIR
    if name.endswith(".json"):
        return ImportFormat.JSON
    return ImportFormat.CSV


def import_profile_check(*, profile: ImportProfile | None, ai_system: AISystem) -> None:
    """A saved profile maps the columns of one AI system's source: ``ValidationFailed`` when it
    belongs to another AI system. Importing without a profile (canonical column names) is always
    allowed."""
    if profile is not None and profile.ai_system_id != ai_system.pk:
        raise ValidationFailed(PROFILE_OF_ANOTHER_SYSTEM)


@dataclass
class ColumnMapping:
    """A profile applied to a file's columns: source column (lower case) → canonical field, and the
    identifier columns, read only to scan the text of the same row for names."""

    to_canonical: dict[str, str]
    identifier_columns: set[str]

    @classmethod
    def of(cls, profile: ImportProfile | None) -> "ColumnMapping":
        columns = (profile.columns if profile else {}) or {}
        to_canonical = {str(src).strip().lower(): canon for canon, src in columns.items() if src}
        identifiers = {str(c).strip().lower() for c in ((profile.identifier_columns if profile else []) or [])}
        return cls(to_canonical, identifiers)

    def canonical(self, column: str) -> str:
        col = column.strip().lower()
        return self.to_canonical.get(col, col)

    def check_columns(self, columns) -> None:
        """Refuse the whole file (``ValidationFailed``) when a column would carry a direct
        identifier, unless the profile declares it as an identifier column or maps it to a field
        that is only read and dropped (``birth_date``, turned into an age band)."""
        lowered = {str(c).strip().lower() for c in columns if not str(c).startswith("_")}
        allowed = self.identifier_columns | {s for s, c in self.to_canonical.items() if c in PROFILE_ONLY}
        forbidden = sorted((lowered - allowed) & FORBIDDEN)
        if forbidden:
            raise ValidationFailed(
                f"The file carries direct identifiers ({', '.join(forbidden)}): remove these columns and import "
                "again.", extra={"columns": forbidden})

    def check_header(self, header: list[str]) -> list[str]:
        """The canonical field of each column of a file's header, once the header is checked: no
        direct-identifier column (``check_columns``), and every required field present."""
        self.check_columns(header)
        canonical = [self.canonical(h) for h in header]
        missing = [c for c in REQUIRED if c not in canonical]
        if missing:
            raise ValidationFailed(f"Required columns are missing: {', '.join(missing)}.", extra={"columns": missing})
        return canonical

    def canonical_record(self, record: dict) -> dict:
        """A record with canonical keys; the values of identifier columns go to ``_names``."""
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
