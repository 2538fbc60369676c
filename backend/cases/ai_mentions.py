"""Reviewer-visible text that would unblind a reviewer: mentions of the AI tool or of its output.

A reviewer reads the clinical context and the report with the AI result removed; a sentence left
in them such as "résultat IA : positif" or "score 0,87" gives the sealed output away. The import
flags such text (``Case.blinding_flags``) and the case is held out of sampling until the quality
team redacts the text or clears the flag.

What is flagged:

* generic words for an AI tool ("IA", "intelligence artificielle", "algorithme", "logiciel
  d'aide", "apprentissage profond"...), the acronyms matched in capitals only;
* the AI system's full product name (with or without its version), its coined words
  ("OstéoVue", "CardioScore": an inner capital or a digit, never an ordinary word), and its
  vendor (with or without the legal form "SAS", "SA"...);
* a score written as the tool gives it ("score 0,87", "score : 92 %", "probabilité 0,91");
* an output label *next to* one of the above ("l'algorithme conclut à une fracture", "IA :
  positif"): the mention then spans the label, so that the quality team sees what it says.

What is not: the ordinary words of a product name ("poignet" in "OstéoVue Poignet", "FEVG" in
"CardioScore FEVG"), clinical scores written as integers ("score de Glasgow à 15"), and a label
word used by the clinician with no AI word near it ("fracture du radius distal").

Matching ignores accents and case (but for the acronyms), and works on the text as stored: the
spans found are those of the original text. Recall and precision are measured on a corpus of
French reviewer-visible texts in ``tests/cases/test_ai_mentions.py``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Generic words for an AI tool, written without accents (the text is folded before matching).
GENERIC_WORDS = (
    r"intelligence\s+artificielle", r"algorithmes?", r"logiciels?\s+d['’]\s?(?:aide|analyse|ia)",
    r"logiciels?\s+de\s+(?:detection|lecture|diagnostic|triage)", r"aide\s+(?:informatisee\s+)?au\s+diagnostic",
    r"aide\s+a\s+la\s+(?:detection|lecture|decision)", r"detection\s+automati(?:que|see)",
    r"analyse\s+automati(?:que|see)", r"lecture\s+automati(?:que|see)", r"apprentissage\s+(?:profond|automatique)",
    r"deep\s+learning", r"machine\s+learning", r"reseaux?\s+(?:de\s+)?neurone?s", r"outils?\s+d['’]\s?ia",
    r"artificial\s+intelligence", r"second\s+lecteur\s+automatique",
)
# Acronyms: capitals only ("IA", never the "ia" inside a word; "CAD", never "cad." for "c'est-à-dire").
ACRONYMS = (r"I\.?A\.?", r"A\.?I\.?", r"CAD", r"CADe", r"CADx")
# Generic output words, for a label next to an AI mention.
OUTPUT_WORDS = (
    r"positi(?:f|ve)s?", r"negati(?:f|ve)s?", r"suspecte?s?", r"anorma(?:l|le|ux|les)", r"norma(?:l|le|ux|les)",
    r"probable", r"improbable", r"alerte", r"detecte(?:e|s|es)?", r"pathologique", r"abaissee?s?", r"reduite?s?",
    r"preservee?s?", r"elevee?s?",
)
NUMBER = r"(?:0?[.,]\d{1,4}|\d{1,3}(?:[.,]\d+)?\s?%)"
LEGAL_FORMS = frozenset({"sas", "sa", "sarl", "sasu", "inc", "inc.", "ltd", "gmbh", "llc", "corp", "ag", "bv",
                         "nv", "plc", "srl", "spa", "co", "company", "group", "groupe"})
# How far (characters, same sentence) a label may follow an AI mention to be part of it.
LABEL_WINDOW = 60


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str


class _Folded(dict):
    """Code point -> its letter without accent (``str.translate`` table), filled as characters are
    met: a letter's first NFKD character, anything else itself; always one character."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        base = unicodedata.normalize("NFKD", ch)[0] if ch.isalpha() else ch
        self[code] = base
        return base


_FOLDED = _Folded()


def fold(text: str) -> str:
    """Accents removed with the same length, so that spans found in the folded text fit the original.
    ASCII text is its own fold (the usual record: no table look-up at all)."""
    if text.isascii():
        return text
    return text.translate(_FOLDED)


def _is_coined(word: str) -> bool:
    """A word made up for the product: an inner capital ("OstéoVue", "CardioScore") or letters
    and digits together ("Rx3D"). Ordinary words ("Poignet") and acronyms ("FEVG") are not."""
    letters = [c for c in word if c.isalpha()]
    if len(letters) < 3:
        return False
    has_inner_capital = any(c.isupper() for c in word[1:]) and not word.isupper()
    has_digit = any(c.isdigit() for c in word)
    return has_inner_capital or has_digit


def _without_version(name: str, version: str) -> str:
    words = name.split()
    while words and (words[-1] == version or re.fullmatch(r"v?\d+(?:[.,]\d+)*", words[-1], re.IGNORECASE)):
        words.pop()
    return " ".join(words)


def _phrase(text: str) -> str:
    """A name as a pattern: accents folded, any run of spaces or hyphens between its words."""
    return r"[\s\-]+".join(re.escape(w) for w in re.split(r"[\s\-]+", fold(text).strip()) if w)


def _label_words(labels) -> list[str]:
    words = []
    for label in labels or ():
        text = fold(str(label)).replace("_", " ").strip()
        if len(text) >= 3:
            words.append(_phrase(text))
    return words


@dataclass(frozen=True)
class Detector:
    """The compiled detector of one AI system (picklable: the import's pool workers use it)."""

    pattern: re.Pattern
    label: re.Pattern

    def find(self, text: str) -> list[Mention]:
        """Every mention in ``text``, in order, without overlaps; a label or score following an AI
        mention in the same sentence is part of that mention."""
        if not text:
            return []
        folded = fold(text)
        out: list[Mention] = []
        for m in self.pattern.finditer(folded):
            start, end = m.start(), m.end()
            if m.lastgroup == "ai":
                tail = re.split(r"[.;!?\n]", folded[end:end + LABEL_WINDOW], maxsplit=1)[0]
                labels = list(self.label.finditer(tail))
                if labels:
                    end += labels[-1].end()
            if out and start < out[-1].end:
                if end > out[-1].end:
                    out[-1] = Mention(out[-1].start, end, text[out[-1].start:end])
                continue
            out.append(Mention(start, end, text[start:end]))
        return out

    def mentions(self, text: str) -> list[str]:
        return [m.text for m in self.find(text)]


def detector_for(*, name: str, vendor: str = "", labels=(), version: str = "") -> Detector:
    """The detector for one AI system: generic AI words, its product name, coined words and
    vendor, scores, and its labels when they follow one of these."""
    names = set()
    base = _without_version(name or "", version or "")
    for candidate in (name, base, f"{base} {version}".strip(), f"{base} v{version}".strip()):
        if candidate and len(candidate.strip()) >= 3:
            names.add(_phrase(candidate))
    for word in re.split(r"[\s\-/]+", name or ""):
        if _is_coined(word):
            names.add(_phrase(word))
    vendor_words = (vendor or "").replace(",", " ").split()
    stripped = [w for w in vendor_words if w.lower().strip(".") not in LEGAL_FORMS]
    for candidate in (" ".join(vendor_words), " ".join(stripped)):
        if len(candidate) >= 3:
            names.add(_phrase(candidate))
    for word in vendor_words:
        if _is_coined(word):
            names.add(_phrase(word))
    named = sorted(names, key=len, reverse=True)
    ai_terms = [*named, *GENERIC_WORDS]
    ai = rf"(?<![\w])(?:{'|'.join(ai_terms)}|(?-i:{'|'.join(ACRONYMS)}))(?![\w])"
    score = (rf"(?<![\w])(?:score|probabilite|indice\s+de\s+confiance|confiance)(?:\s+(?-i:IA|AI))?"
             rf"\s*(?:de\s+|d['’]\s?|:|=|a\s+)?\s*{NUMBER}")
    pattern = re.compile(rf"(?P<ai>{ai})|(?P<score>{score})", re.IGNORECASE)
    label_terms = [*_label_words(labels), *OUTPUT_WORDS]
    label = re.compile(rf"(?<![\w])(?:{'|'.join(label_terms)})(?![\w])|{NUMBER}", re.IGNORECASE)
    return Detector(pattern=pattern, label=label)


def detector_for_system(ai_system) -> Detector:
    return detector_for(name=ai_system.name, vendor=ai_system.vendor, labels=ai_system.labels,
                        version=ai_system.version)
