"""Direct identifiers in free text, and unblinding mentions in reviewer-visible text.

``scan_text`` finds NIR (with a valid mod-97 control key, Corsica 2A/2B included), French phone
numbers in their usual spellings (0X XX XX XX XX with spaces, dots or dashes, +33, 0033, +33 (0)),
e-mail addresses, postal addresses (number + street type + name) and the person names given in
the identifier columns of the same row. ``redact`` replaces what it finds with a tag. Recall and
precision are measured on a deterministic synthetic corpus in ``tests/cases/identifier_corpus.py``.

``blinding_mentions`` flags text that names the AI system, its vendor or its output, because a
reviewer reading it would no longer be blind.
"""

import re
import unicodedata
from dataclasses import dataclass

NIR_RE = re.compile(
    r"(?<![\dA-Za-z])([1-478])[ .]?(\d{2})[ .]?(\d{2})[ .]?(\d{2}|2[AaBb])[ .]?(\d{3})[ .]?(\d{3})"
    r"[ .]?(\d{2})(?![\dA-Za-z])"
)
PHONE_RE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)\s?33\s?(?:\(0\)\s?)?|0)[1-9](?:[ .\-]?\d{2}){4}(?!\d)"
)
EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
STREET_TYPES = (
    r"rue|avenue|av\.|bd|boulevard|place|pl\.|chemin|ch\.|allée|allee|impasse|imp\.|route|rte|quai|cours|square|"
    r"lotissement|résidence|residence|lieu-dit|faubourg|fbg|passage|sentier|voie|cité|cite|hameau|esplanade"
)
ADDRESS_RE = re.compile(
    rf"(?<!\d)\d{{1,4}}\s?(?:bis|ter|quater|[a-c])?,?\s+(?:{STREET_TYPES})\b(?:\s+(?:de\s+la|de\s+l'|du|des|de|d'|la|le|les))?"
    r"\s*[A-Za-zÀ-ÿ'\-]+(?:[ \-][A-ZÀ-Þ][A-Za-zÀ-ÿ'\-]+)*",
    re.IGNORECASE,
)
POSTCODE_CITY_RE = re.compile(
    r"(?<!\d)(?:0[1-9]|[1-8]\d|9[0-5]|2[AB])\d{3}\s+[A-ZÀ-Þ][A-Za-zÀ-ÿ'\-]+"
    r"(?:[ \-][A-ZÀ-Þ][A-Za-zÀ-ÿ'\-]+)*(?:\s+[Cc][Ee][Dd][Ee][Xx])?"
)

# Every pattern above but names needs a digit (NIR, phone, address, postcode) or an "@" (e-mail).
_DIGIT_OR_AT = re.compile(r"[\d@]")

TAGS = {"nir": "[NIR]", "phone": "[TÉLÉPHONE]", "email": "[E-MAIL]", "address": "[ADRESSE]", "name": "[NOM]"}


@dataclass(frozen=True)
class Finding:
    kind: str  # nir | phone | email | address | name
    start: int
    end: int


def nir_key_is_valid(body13: str, key: str) -> bool:
    """``body13``: sex, year, month, department (2A/2B allowed), commune, order."""
    body = body13.upper()
    if body[5:7] == "2A":
        number = int(body[:5] + "19" + body[7:]) - 1_000_000
    elif body[5:7] == "2B":
        number = int(body[:5] + "18" + body[7:]) - 2_000_000
    else:
        number = int(body)
    return 97 - number % 97 == int(key)


def _names_pattern(names) -> re.Pattern | None:
    words = set()
    for name in names or ():
        for part in re.split(r"[\s,;/]+", str(name or "")):
            part = part.strip(" .'-")
            if len(part) >= 2:
                words.add(re.escape(part))
    if not words:
        return None
    return re.compile(rf"(?<![\w]){'|'.join(sorted(words, key=len, reverse=True))}(?![\w])", re.IGNORECASE)


def _fold(text: str) -> str:
    """Accents removed with the same length, so that spans found in the folded text fit the original."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)[0] if ch.isalpha() else ch
        out.append(base if len(base) == 1 else ch)
    return "".join(out)


def scan_text(text: str, *, names=()) -> list[Finding]:
    """Every direct identifier found in ``text``, in order, without overlaps."""
    if not text:
        return []
    found: list[Finding] = []
    if _DIGIT_OR_AT.search(text) is not None:
        for m in NIR_RE.finditer(text):
            body = "".join(m.groups()[:6])
            if nir_key_is_valid(body, m.group(7)):
                found.append(Finding("nir", m.start(), m.end()))
        if "@" in text:
            found += [Finding("email", m.start(), m.end()) for m in EMAIL_RE.finditer(text)]
        found += [Finding("phone", m.start(), m.end()) for m in PHONE_RE.finditer(text)]
        found += [Finding("address", m.start(), m.end()) for m in ADDRESS_RE.finditer(text)]
        found += [Finding("address", m.start(), m.end()) for m in POSTCODE_CITY_RE.finditer(text)]
    pattern = _names_pattern(names)
    if pattern is not None:
        folded_names = _names_pattern([_fold(n) for n in names if n])
        found += [Finding("name", m.start(), m.end()) for m in folded_names.finditer(_fold(text))]
    found.sort(key=lambda f: (f.start, -f.end))
    kept: list[Finding] = []
    for f in found:
        if kept and f.start < kept[-1].end:
            continue
        kept.append(f)
    return kept


def redact(text: str, findings: list[Finding]) -> str:
    out, pos = [], 0
    for f in findings:
        out.append(text[pos:f.start])
        out.append(TAGS[f.kind])
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


GENERIC_AI_WORDS = (r"IA|I\.A\.|intelligence artificielle|algorithme|logiciel d'aide|aide au diagnostic|CAD|"
                    r"score (?:de l')?IA|détection automatique")


def blinding_pattern(*, name: str, vendor: str, labels=(), version: str = "") -> re.Pattern:
    """What would unblind a reviewer: the AI system's name, its vendor, the generic words for an AI
    tool, and an AI label or a score written next to them ("IA : fracture", "score 0,87")."""
    words = [re.escape(w) for w in (name, vendor) if w and len(w) >= 3]
    # The product name without its version ("BoneView 2.1" → "BoneView").
    words += [re.escape(w) for w in re.split(r"\s+", name or "") if len(w) >= 5]
    alternatives = "|".join([*sorted(set(words), key=len, reverse=True), GENERIC_AI_WORDS])
    return re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])|\bscore\s*[:=]?\s*0?[.,]\d+", re.IGNORECASE)


def blinding_mentions(text: str, pattern: re.Pattern) -> list[str]:
    return [m.group(0) for m in pattern.finditer(text or "")]
