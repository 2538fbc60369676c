"""Direct identifiers in free text (mentions of the AI that would unblind a reviewer: ``cases.ai_mentions``).

``scan_text`` finds, in the French spellings found in medical records:

- NIR (social security number): 15 characters with a valid mod-97 control key (Corsica 2A/2B
  included), grouped with spaces, non-breaking spaces, dots, dashes, "/ key" or "clé key", or in any
  odd grouping of its 15 digits; without its key (13 characters) when it is grouped like a NIR or
  follows a cue (NIR, INS, sécu, sécurité sociale, carte vitale, assuré...);
- phone numbers: 0X XX XX XX XX with one separator (space, non-breaking or narrow non-breaking space,
  dot, dash, slash) or none, +33 / 0033 / +33 (0) / (+33) prefixes, odd groupings of up to three
  digits;
- e-mail addresses, plain or obfuscated ("[at]", "(at)", "arobase", "[dot]", "point");
- postal addresses: number (bis, ter...) and street type (full or abbreviated) and name, a street
  without number, lieu-dit, BP/CS/TSA, postcode and city (CEDEX);
- exact birth dates: a day and a month (year optional; digits, ISO or words) after a birth cue (né le,
  née le, né(e) le, date de naissance, DDN, D.N.); a year alone is not an exact birth date;
- the person names of the row's identifier columns (accents, case and hyphens ignored; a name that
  is also a common word only when written with a capital);
- the row's own patient id and accession number, whatever their case and separators.

``redact`` replaces what it finds with a tag. ``ensure_no_identifiers`` is the gate of every service
that stores typed text. Recall and precision are measured on deterministic synthetic corpora in
``tests/cases/identifier_corpus.py``.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

from common.exceptions import ValidationFailed

# Separators met inside numbers: space, no-break space, narrow no-break space, thin space, dot, dash.
_S = r"[ .\-\u00a0\u202f\u2009]"
NIR_RE = re.compile(
    rf"([1-478])(?<![\w+][1-478]){_S}?(\d{{2}}){_S}?(\d{{2}}){_S}?(\d{{2}}|2[AaBb]){_S}?(\d{{3}}){_S}?(\d{{3}})"
    r"(?:(?:[ .\-/\u00a0\u202f\u2009]{1,3}|\s*(?:clé|cle|clef|key)\s*:?\s*)?(\d{2}))?(?![\w])"
)
NIR_CUE_RE = re.compile(
    r"(?:\bNIR\b|\bINS\b|\bINSEE\b|s[ée]cu|sociale|\bN°?\s*S\.?S\.?\b|\bSS\b|immatricul|matricule|carte\s+vitale|assur[ée]|"
    r"b[ée]n[ée]ficiaire)", re.IGNORECASE)
PHONE_RE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\s?33\s?(?:\(0\)\s?)?|\(\+33\)\s?|0)[1-9]"
    r"(?P<s>[ .\-/\u00a0\u202f\u2009]?)\d{2}(?:(?P=s)\d{2}){3}(?![\w])"
)
# Digits chained by up to three separators (parentheses included), with an optional international
# prefix: classified as a whole (odd groupings of a phone number or of a NIR).
DIGIT_CHAIN_RE = re.compile(
    r"(?<![\w+])(?<![A-Za-z][\-_/.])(?P<prefix>\(\+\s?33\)|\+\s?33|0033)?[\s.\-/()]{0,3}"
    r"\d(?:[\s.\-/()]{0,3}\d)*(?![\w])"
)
_CHAIN_GROUPS = re.compile(r"\d+")
_AT = r"(?:\s?@\s?|\s?[\[({]\s?(?:at|arobase|@)\s?[\])}]\s?|\s(?:at|arobase)\s)"
_DOT = r"(?:\.|\s?[\[({]\s?(?:dot|point)\s?[\])}]\s?|\s(?:dot|point)\s)"
EMAIL_RE = re.compile(
    rf"(?<![\w.+-])[^\W_][\w.+-]*{_AT}[^\W_][\w-]*(?:{_DOT}[^\W_][\w-]*)*?{_DOT}[a-z]{{2,6}}(?![\w])",
    re.IGNORECASE)
_EMAIL_HINTS = ("@", "arobase", "(at)", "[at]", "{at}", " at ", "( at )", "[ at ]")

# Street types: the unambiguous ones also mark an address without a number; the others are common
# words ("place", "cours", "voie") and need a capitalised name after them.
_PLAIN_TYPES = (r"rue|r\.|avenue|av\.?|boulevard|bd|bld|blvd|impasse|imp\.?|all[ée]e|all\.|chemin|chem\.|ch\.|quai|"
                r"route|rte|lieu-dit|lieudit|l\.-d\.|faubourg|fbg|fg|lotissement|lot\.|r[ée]sidence|r[ée]s\.|"
                r"hameau|ham\.|esplanade|promenade|prom\.|rond-point|venelle|traverse|mont[ée]e")
_WORD_TYPES = (r"place|pl\.|cours|passage|sentier|voie|cit[ée]|villa|clos|mail|parvis|square|sq\.|domaine|"
               r"z\.?a\.?|z\.?i\.?")
_PARTICLE = r"(?i:de\s+la\s+|de\s+l['’]\s*|du\s+|des\s+|de\s+|d['’]\s*|la\s+|le\s+|les\s+|l['’]\s*|saint-|sainte-|st-)"
_CAP_WORD = r"[A-ZÀ-Þ][\w'’\-]*"
_ANY_WORD = r"[^\W\d_][\w'’\-]*"
_NAME_TAIL = rf"(?:[ \-]{_PARTICLE}?{_CAP_WORD})*"
# Patterns start with a digit (the lookbehind comes after it) so that the regex engine jumps from
# digit to digit instead of trying every position: the import scans every text column of every row.
_NUMBER = r"\d(?<![\w,.]\d)\d{0,3}(?:\s?(?i:bis|ter|quater)\b|[A-Da-d]\b)?,?\s+"
ADDRESS_RE = re.compile(
    rf"{_NUMBER}(?:(?i:{_PLAIN_TYPES})(?![\w])\s*{_PARTICLE}?{_ANY_WORD}{_NAME_TAIL}"
    rf"|(?i:{_WORD_TYPES})(?![\w])\s*{_PARTICLE}?{_CAP_WORD}{_NAME_TAIL}"
    r"|(?i:grande?[ \-'’]rue)(?![\w]))"
)
STREET_RE = re.compile(
    rf"(?<![\w])(?i:rue|avenue|boulevard|bd|impasse|all[ée]e|chemin|quai|lieu-dit|lieudit|r[ée]sidence|"
    rf"lotissement|hameau)(?![\w])\s+{_PARTICLE}?{_CAP_WORD}{_NAME_TAIL}"
)
BOX_RE = re.compile(r"(?<![\w])(?:B\.?P\.?\s?\d{1,5}|(?:CS|TSA)\s?\d{4,5})(?![\w])")
POSTCODE_CITY_RE = re.compile(
    r"(?:0[1-9]|[1-8]\d|9[0-8]|2[AB])(?<![\w,.]..)\s?\d{3}\s+"
    r"(?:[A-ZÀ-Þ][a-zà-ÿ][\w'’\-]*|[A-ZÀ-Þ]{3,}[A-ZÀ-Þ'’\-]*)"
    r"(?:\s(?:sur|sous|en|lès|les|le|la)?\s?[A-ZÀ-Þ][\w'’\-]+)?(?:\s+(?i:cedex)(?:\s+\d{1,2})?)?(?![\w])"
)
_MONTHS = (r"janvier|janv\.?|f[ée]vrier|f[ée]vr\.?|mars|avril|avr\.?|mai|juin|juillet|juil\.?|ao[ûu]t|septembre|"
           r"sept\.?|octobre|oct\.?|novembre|nov\.?|d[ée]cembre|d[ée]c\.?")
BIRTH_DATE_RE = re.compile(
    r"\d(?<![\w]\d)(?:\d?[\s./\-]\d{1,2}[\s./\-](?:\d{4}|\d{2})(?![\w])|\d{3}-\d{2}-\d{2}(?![\w])"
    rf"|\d?(?:er)?\s+(?i:{_MONTHS})(?:\s+(?:\d{{4}}|\d{{2}})(?![\w]))?)"
)
# The cue just before a date: né le, née le, né(e) le, né :, date de naissance (naiss.), DDN, D.N., DN :.
BIRTH_CUE_RE = re.compile(
    r"(?i:\bn[ée]e?\s*(?:\(e\))?\s+le|\bn[ée]e?\s*(?:\(e\))?\s*:|date\s+de\s+naiss(?:ance|\.)?|"
    r"\bD\.?\s?D\.?\s?N\b\.?|\bD\.N\.|naissance\s*:|\bDN\s*:)\s*[:\-–]?\s*(?:le\s+)?$"
)
_BIRTH_HINTS = ("né", "ne ", "nee", "ne(", "ne:", "naiss", "dd", "d.d", "d. d", "d d", "d.n", "dn")

_STREET_HINTS = ("rue", "avenue", "boulevard", "bd", "impasse", "allée", "allee", "chemin", "quai", "lieu",
                 "résidence", "residence", "lotissement", "hameau")
_BOX_HINTS = ("BP", "B.P", "CS", "TSA")
# Cheap tests that tell which patterns could match (the lower-case text for the hints).
_ANY_DIGIT = re.compile(r"\d")
_STREET_HINT, _EMAIL_HINT, _BIRTH_HINT = (re.compile("|".join(re.escape(h) for h in hints))
                                          for hints in (_STREET_HINTS, _EMAIL_HINTS, _BIRTH_HINTS))
_BOX_HINT = re.compile("|".join(re.escape(h) for h in _BOX_HINTS))
# Name words that are also French words: matched only when written with a capital.
COMMON_WORDS = frozenset({
    "masse", "blanc", "blanche", "petit", "petite", "grand", "place", "noir", "roux", "fort", "brun", "vidal",
    "leger", "gros", "bon", "bonne", "lion", "loup", "marchand", "meunier", "boucher", "poirier", "rose",
    "france", "paris", "lange", "page", "camus", "col", "bras", "main", "pied", "coeur", "dos", "tete", "genou",
    "cote", "face", "front", "droit", "droite", "gauche", "lapierre", "pierre", "roche", "guerin", "simple",
    "long", "court", "neuf", "vivant", "jeune", "vieux", "sage", "cerveau", "temps", "nuit", "jour", "rein",
})
_NAME_STOPWORDS = frozenset({"de", "du", "des", "la", "le", "les", "da", "di", "van", "von", "der", "den", "el",
                             "al", "ben", "bin", "mc", "st", "ste", "saint", "sainte", "d", "l"})
_ID_SEP = re.compile(r"[\s.\-/_]+")
_ID_SEP_TABLE = str.maketrans("", "", " \t\n\r\f\v.-/_\u00a0\u202f\u2009")

TAGS = {"nir": "[NIR]", "phone": "[TÉLÉPHONE]", "email": "[E-MAIL]", "address": "[ADRESSE]", "name": "[NOM]",
        "birth_date": "[DATE DE NAISSANCE]", "patient_id": "[IDENTIFIANT]", "accession_number": "[IDENTIFIANT]"}
KINDS = tuple(TAGS)


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
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


def _nir_body_is_plausible(body: str) -> bool:
    """A 13-character body without its key: sex 1 or 2, a birth month (01-12, or 20 and 30-42 when
    unknown) and a department (01-95, 2A, 2B, 97, 98, 99)."""
    month, dept = int(body[3:5]), body[5:7].upper()
    if body[0] not in "12" or not (1 <= month <= 12 or month == 20 or 30 <= month <= 42):
        return False
    return dept in ("2A", "2B") or (dept.isdigit() and (1 <= int(dept) <= 95 or 97 <= int(dept) <= 99)
                                    and dept != "20")


def _has_nir_cue(text: str, start: int) -> bool:
    return NIR_CUE_RE.search(text, max(0, start - 40), start) is not None


def _nir_findings(text: str) -> list[Finding]:
    found = []
    for m in NIR_RE.finditer(text):
        body, key = "".join(m.groups()[:6]), m.group(7)
        if key is not None and nir_key_is_valid(body, key):
            found.append(Finding("nir", m.start(), m.end()))
        elif key is not None and _has_nir_cue(text, m.start()):  # a mistyped key after "NIR", "sécu"...
            found.append(Finding("nir", m.start(), m.end()))
        elif key is None and ((_nir_body_is_plausible(body) and len(m.group(0)) > 13) or (
                _nir_body_is_plausible("1" + body[1:]) and _has_nir_cue(text, m.start()))):
            found.append(Finding("nir", m.start(), m.end()))
    return found


def _phone_digits(prefix: str | None, digits: str) -> bool:
    if prefix:
        return (len(digits) == 10 and digits[0] == "0" and digits[1] != "0") or (
            len(digits) == 9 and digits[0] != "0")
    return len(digits) == 10 and digits[0] == "0" and digits[1] != "0"


def _chain_findings(text: str) -> list[Finding]:
    """Odd groupings: digit chains read as a whole."""
    found = []
    for m in DIGIT_CHAIN_RE.finditer(text):
        chain = m.group(0)
        prefix = m.group("prefix")
        body = chain[len(prefix):] if prefix else chain
        groups = _CHAIN_GROUPS.findall(body)
        digits = "".join(groups)
        if len(digits) < 9:
            continue
        start = m.start() + (len(chain) - len(chain.lstrip(" .-/()\u00a0\u202f\u2009\n\t")))
        if _phone_digits(prefix, digits):
            seps = {s.strip() for s in re.split(r"\d+", body.strip(" .-/()\u00a0\u202f\u2009"))[1:-1]}
            longest = max(len(g) for g in groups)
            # A date followed by a time ("03/01/2026 10h") mixes its separators or has a group of 4.
            if prefix or len(groups) == 1 or (longest <= 3 and ("/" not in seps or seps == {"/"})) or (
                    longest <= 4 and len(seps) == 1 and "/" not in seps):
                found.append(Finding("phone", start, m.end()))
        elif len(digits) == 15 and digits[0] in "123478" and nir_key_is_valid(digits[:13], digits[13:]):
            found.append(Finding("nir", start, m.end()))
    return found


def _names_pattern(names) -> re.Pattern | None:
    """One pattern for the names of the identifier columns: each whole name (its parts joined by any
    space or hyphen) and each part of three letters or more that is not a particle."""
    alternatives = set()
    for name in names or ():
        name = _fold(str(name or "")).strip(" .'-")
        for chunk in re.split(r"[,;/]+", name):
            parts = [p for p in re.split(r"[\s\-']+", chunk.strip(" .'-")) if p]
            if len(parts) > 1:
                alternatives.add(r"[\s\-']+".join(re.escape(p) for p in parts))
            for part in parts:
                if len(part) >= 3 and part.lower() not in _NAME_STOPWORDS:
                    alternatives.add(re.escape(part))
    if not alternatives:
        return None
    return re.compile(rf"(?<![\w])(?:{'|'.join(sorted(alternatives, key=len, reverse=True))})(?![\w])",
                      re.IGNORECASE)


def _fold(text: str) -> str:
    """Accents removed with the same length, so that spans found in the folded text fit the original."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)[0] if ch.isalpha() else ch
        out.append(base if len(base) == 1 else ch)
    return "".join(out)


_TITLE_BEFORE = re.compile(r"(?i:\b(?:m|mme|mlle|mr|dr|pr|monsieur|madame|mademoiselle|docteur)\.?\s*)$")


def _name_findings(text: str, names) -> list[Finding]:
    pattern = _names_pattern(names)
    if pattern is None:
        return []
    found = []
    folded = _fold(text)
    for m in pattern.finditer(folded):
        word = m.group(0)
        if word.lower() in COMMON_WORDS:
            # "masse" the word, not Mrs Masse: a capital is needed, and at the start of a sentence
            # ("Petit fragment...") a title before it.
            if word.islower():
                continue
            before = folded[max(0, m.start() - 12):m.start()]
            if not before.strip() or before.rstrip()[-1] in ".!?\n":
                if _TITLE_BEFORE.search(before) is None:
                    continue
        found.append(Finding("name", m.start(), m.end()))
    return found


_LAST_IDS: list = [None, ()]


def _prepared_ids(ids: dict) -> tuple[tuple[str, str, str], ...]:
    """(kind, key without separators in upper case, last part in upper case) per usable reference;
    the last row's are kept, as the import scans several columns of one row in turn."""
    items = tuple(ids.items())
    if _LAST_IDS[0] == items:
        return _LAST_IDS[1]
    prepared = []
    for kind, value in items:
        value = str(value or "").upper()
        key = value.translate(_ID_SEP_TABLE)
        if len(key) < 4 or (key.isdigit() and len(key) < 5):
            continue
        prepared.append((kind, key, key if key == value else _ID_SEP.split(value.strip(" .-/_"))[-1]))
    _LAST_IDS[:] = [items, tuple(prepared)]
    return _LAST_IDS[1]


def _id_findings(text: str, ids: dict) -> list[Finding]:
    """The row's own references, whatever their case and separators (at least four characters,
    five when they are only digits, so that a short number does not match every count)."""
    found = []
    upper = None
    for kind, key, last in _prepared_ids(ids):
        upper = upper or text.upper()
        if last not in upper:  # the usual case: no need for the pattern
            continue
        pattern = r"[\s.\-/_]*".join(re.escape(ch) for ch in key)
        found += [Finding(kind, m.start(), m.end())
                  for m in re.finditer(rf"(?<![^\W_]){pattern}(?![^\W_])", text, re.IGNORECASE)]
    return found


def _birth_findings(text: str) -> list[Finding]:
    return [Finding("birth_date", m.start(), m.end()) for m in BIRTH_DATE_RE.finditer(text)
            if BIRTH_CUE_RE.search(text, max(0, m.start() - 40), m.start()) is not None]


def scan_text(text: str, *, names=(), ids: dict | None = None) -> list[Finding]:
    """Every direct identifier found in ``text``, in order, without overlaps (the longest wins).

    ``names``: the values of the row's identifier columns (person names); ``ids``: the row's own
    references, as ``{"patient_id": ..., "accession_number": ...}``. Each pattern runs only when a
    cheap test shows that it could match (enough digits, a cue word, an "@"), as the import scans
    every text column of every row."""
    if not text:
        return []
    found: list[Finding] = []
    lowered = text.lower()
    if _ANY_DIGIT.search(text) is not None:
        digits = sum(map(text.count, "0123456789"))
        if digits >= 9:  # a phone number has 9 digits at least, a NIR 11 (Corsica, without its key)
            found += _nir_findings(text)
            found += [Finding("phone", m.start(), m.end()) for m in PHONE_RE.finditer(text)]
            found += _chain_findings(text)
        if _BIRTH_HINT.search(lowered) is not None:
            found += _birth_findings(text)
        found += [Finding("address", m.start(), m.end()) for m in ADDRESS_RE.finditer(text)]
        if digits >= 5:
            found += [Finding("address", m.start(), m.end()) for m in POSTCODE_CITY_RE.finditer(text)]
        if _BOX_HINT.search(text) is not None:
            found += [Finding("address", m.start(), m.end()) for m in BOX_RE.finditer(text)]
    if ids:
        found += _id_findings(text, ids)
    if _STREET_HINT.search(lowered) is not None:
        found += [Finding("address", m.start(), m.end()) for m in STREET_RE.finditer(text)]
    if "@" in text or "arobase" in lowered or ("at" in lowered and _EMAIL_HINT.search(lowered) is not None):
        found += [Finding("email", m.start(), m.end()) for m in EMAIL_RE.finditer(text)]
    if names:
        found += _name_findings(text, names)
    if not found:
        return found
    found.sort(key=lambda f: (f.start, -f.end))
    kept: list[Finding] = []
    for f in found:
        if kept and f.start < kept[-1].end:
            if f.end > kept[-1].end and f.end - f.start > kept[-1].end - kept[-1].start:
                kept[-1] = f  # a longer finding that starts inside the last one replaces it
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


def identifier_kinds(fields: dict[str, str], *, names=(), ids: dict | None = None) -> dict[str, list[str]]:
    """``{field: [kinds found]}`` for the fields that carry a direct identifier (never the values)."""
    out = {}
    for name, text in fields.items():
        if isinstance(text, str) and text:
            kinds = sorted({f.kind for f in scan_text(text, names=names, ids=ids)})
            if kinds:
                out[name] = kinds
    return out


def kind_label(kind: str) -> str:
    """The kind of identifier in a sentence, in the active language."""
    return {
        "nir": _("a NIR (social security number)"), "phone": _("a phone number"), "email": _("an e-mail address"),
        "address": _("a postal address"), "name": _("the patient's name"), "birth_date": _("a birth date"),
        "patient_id": _("the patient's identifier"), "accession_number": _("the exam's accession number"),
    }[kind]


def ensure_no_identifiers(*, fields: dict[str, str]) -> None:
    """The gate of every service that stores text typed by a person: raise ``ValidationFailed``
    (400, code ``direct_identifier``) when any field carries a direct identifier. ``extra`` maps each
    such field to one message per kind found, and ``detail`` names the fields and kinds; neither
    ever quotes the value or the text around it. Call it before any write or audit event."""
    found = identifier_kinds(fields)
    if not found:
        return
    extra = {name: [_("This text contains %(kind)s: remove it, direct identifiers are not stored.")
                    % {"kind": kind_label(kind)} for kind in kinds] for name, kinds in found.items()}
    detail = "Direct identifiers are not stored: " + "; ".join(
        f"{name} ({', '.join(kinds)})" for name, kinds in found.items()) + "."
    raise ValidationFailed(detail, code="direct_identifier", extra=extra)
