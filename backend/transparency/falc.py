"""The easy-to-read (FALC, « facile à lire et à comprendre ») version of a public report.

FALC rules applied here: short sentences (at most ``MAX_WORDS`` words), one sentence and one idea
per line, whole numbers said as "so many times out of so many" rather than percentages, and a
pictogram beside the lines that open an idea. The text is built from the report's frozen public
summary only, so every figure it states is a published figure that passed the small-cell rule; a
suppressed figure is said to be hidden, never estimated. The quality team may rewrite the lines
(:func:`parse_lines` checks them) before a patient representative approves the text.
"""

import re

from django.utils.dateparse import parse_date
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common.exceptions import ValidationFailed

MAX_WORDS = 15
"""A FALC sentence: fifteen words at most."""
MAX_LINES = 30
MAX_LINE_CHARS = 160

ICONS = {
    "ai": (gettext_lazy("Artificial intelligence tool"),
           "M7 7h10v10H7zM9 3v4M15 3v4M9 17v4M15 17v4M3 9h4M3 15h4M17 9h4M17 15h4"),
    "doctor": (gettext_lazy("Doctor"),
               "M12 3a4 4 0 1 1 0 8a4 4 0 1 1 0-8zM4 21c0-4 4-7 8-7s8 3 8 7zM12 15v4M10 17h4"),
    "people": (gettext_lazy("People"),
               "M8 4a3 3 0 1 1 0 6a3 3 0 1 1 0-6zM16 4a3 3 0 1 1 0 6a3 3 0 1 1 0-6zM2 20c0-4 3-7 6-7s6 3 6 7z"
               "M10 20c0-4 3-7 6-7s6 3 6 7z"),
    "calendar": (gettext_lazy("Calendar"), "M3 5h18v16H3zM3 10h18M8 3v4M16 3v4"),
    "check": (gettext_lazy("Checked"), "M3 12a9 9 0 1 0 18 0a9 9 0 1 0-18 0zM7 12l3 3l7-7"),
    "shield": (gettext_lazy("Human guarantee"), "M12 2l8 4v6c0 5-4 9-8 10c-4-1-8-5-8-10V6zM8 12l3 3l5-6"),
    "hidden": (gettext_lazy("Hidden figure"), "M2 12s4-7 10-7s10 7 10 7s-4 7-10 7S2 12 2 12zM4 4l16 16"),
    "question": (gettext_lazy("Question"), "M3 12a9 9 0 1 0 18 0a9 9 0 1 0-18 0zM9 9a3 3 0 1 1 3 3v2M12 17v1"),
}
"""Pictograms drawn inline (SVG stroke paths on a 24 x 24 grid), each with its text alternative."""

_SENTENCE_BREAK = re.compile(r"[.!?…]\s+\S")
_ICON_PREFIX = re.compile(r"^\[([a-z]+)\]\s*(.*)$")


def words(text: str) -> int:
    return len(text.split())


def line_errors(text: str) -> list[str]:
    """What makes one line break the FALC rules (empty when it follows them)."""
    errors = []
    if not text.strip():
        errors.append("A line cannot be empty.")
    if words(text) > MAX_WORDS:
        errors.append(f"At most {MAX_WORDS} words per sentence ({words(text)} here).")
    if _SENTENCE_BREAK.search(text.strip()):
        errors.append("One sentence per line.")
    if len(text) > MAX_LINE_CHARS:
        errors.append(f"At most {MAX_LINE_CHARS} characters per line.")
    return errors


def parse_lines(raw: str) -> list[dict]:
    """Lines typed by the quality team, one sentence per line, each optionally opened by a
    pictogram as ``[name]`` (``[doctor] Le médecin décide.``). Blank lines are dropped. 400 naming
    every faulty line (``lines``: "Line 3: ...") and nothing kept."""
    lines, errors = [], []
    for number, text in enumerate((raw or "").splitlines(), start=1):
        text = text.strip()
        if not text:
            continue
        icon = ""
        match = _ICON_PREFIX.match(text)
        if match:
            icon, text = match.group(1), match.group(2).strip()
            if icon not in ICONS:
                errors.append(f"Line {number}: unknown pictogram [{icon}] (one of {', '.join(sorted(ICONS))}).")
        errors.extend(f"Line {number}: {e}" for e in line_errors(text))
        lines.append({"icon": icon, "text": text})
    if not lines:
        errors.append("Write at least one line.")
    if len(lines) > MAX_LINES:
        errors.append(f"At most {MAX_LINES} lines.")
    if errors:
        raise ValidationFailed("The easy-to-read text breaks the FALC rules.", extra={"lines": errors})
    return lines


def lines_as_text(lines: list[dict]) -> str:
    """The inverse of :func:`parse_lines`, to fill the edit form."""
    return "\n".join(f"[{line['icon']}] {line['text']}" if line.get("icon") else line["text"] for line in lines)


def _date(iso: str | None) -> str:
    day = parse_date(iso) if iso else None
    return date_format(day, "DATE_FORMAT") if day else ""


def build_lines(public: dict, *, ai_system_name: str) -> list[dict]:
    """The FALC text of a public summary (``Report.figures["public"]``), in the active language.
    Robust to an older summary that lacks a figure: it is then said to be hidden."""
    public = public or {}
    campaign = public.get("campaign") or {}
    min_cell = public.get("min_cell") or 10
    lines = [
        ("ai", _("The hospital uses a tool of artificial intelligence.")),
        ("", _("Its name is %(name)s.") % {"name": ai_system_name}),
        ("doctor", _("This tool helps the doctors to read examinations.")),
        ("", _("The doctor always takes the decision.")),
        ("people", _("Doctors and patient representatives check this tool.")),
        ("", _("They read again some files without knowing what the tool said.")),
    ]
    start, end = _date(campaign.get("period_start")), _date(campaign.get("period_end"))
    if start and end:
        lines.append(("calendar", _("These files date from %(start)s to %(end)s.") % {"start": start, "end": end}))
    n_cases = public.get("n_cases")
    if n_cases is None:
        lines.append(("check", _("They read again fewer than %(min)s files.") % {"min": min_cell}))
    else:
        lines.append(("check", _("They read again %(n)s files.") % {"n": n_cases}))
    sentences = {
        "agreement": _("The tool agreed with them %(x)s times out of %(n)s."),
        "override": _("The doctor did not follow the tool %(x)s times out of %(n)s."),
        "ai_wrong_caught": _("The tool was wrong and the doctor corrected it %(x)s times out of %(n)s."),
    }
    hidden = {
        "agreement": _("How often the tool agreed with them is hidden."),
        "override": _("How often the doctor did not follow the tool is hidden."),
        "ai_wrong_caught": _("How often the doctor corrected the tool is hidden."),
    }
    any_hidden = n_cases is None
    for key, sentence in sentences.items():
        block = public.get(key) or {}
        if block.get("suppressed", True) or block.get("x") is None or block.get("n") is None:
            lines.append(("hidden", hidden[key]))
            any_hidden = True
        else:
            lines.append(("shield" if key == "ai_wrong_caught" else "check",
                          sentence % {"x": block["x"], "n": block["n"]}))
    if any_hidden:
        lines.append(("hidden", _("A figure drawn from fewer than %(min)s files is hidden.") % {"min": min_cell}))
        lines.append(("", _("This way, nobody can be recognised.")))
    if (public.get("equity") or {}).get("dimensions"):
        lines.append(("people", _("The results by group of patients are on the report page.")))
    lines.append(("question", _("You have a question?")))
    lines.append(("", _("Ask your doctor or the contact of the register.")))
    return [{"icon": icon, "text": text} for icon, text in lines]
