"""The quality team's page of cases held out of sampling because their reviewer-visible text
names the AI system, its vendor or its output (``Case.blinding_flags``).

The page shows the flagged text itself, with the mentions highlighted: only the quality team and
the administrators reach it (``cases.permissions.can_review_blinding_flags``), who never read
blind. The spans come from the AI system's detector run on the text as stored now, so that what
is highlighted is what the redaction must remove. The template receives plain dictionaries; the
text is split into segments and escaped there like any other value.
"""

from django.core.paginator import Page, Paginator

from cases.ai_mentions import Detector, detector_for_system
from cases.models import Case
from cases.selectors import flagged_case_list_for_user
from cases.services import BLINDING_TEXT_FIELDS

PER_PAGE = 20
"""Flagged cases per page, oldest first."""


def segments(text: str, detector: Detector) -> list[dict]:
    """``text`` cut at the detector's mentions: ``[{"text", "is_mention"}]``, in order."""
    out, at = [], 0
    for m in detector.find(text):
        if m.start > at:
            out.append({"text": text[at:m.start], "is_mention": False})
        out.append({"text": text[m.start:m.end], "is_mention": True})
        at = m.end
    if at < len(text):
        out.append({"text": text[at:], "is_mention": False})
    return out


def flagged_field_names(case: Case) -> list[str]:
    """The flagged reviewer-visible fields of ``case``, in the model's order."""
    flagged = {f.get("field") for f in case.blinding_flags}
    return [name for name in BLINDING_TEXT_FIELDS if name in flagged]


def flagged_case_row(case: Case, detector: Detector) -> dict:
    batch = case.import_batch
    return {
        "id": case.pk,
        "ai_system": f"{case.ai_system.name} {case.ai_system.version}".strip(),
        "batch": {"id": batch.pk, "filename": batch.filename, "created_at": batch.created_at} if batch else None,
        "fields": [{
            "name": name, "label": Case._meta.get_field(name).verbose_name,
            "segments": segments(getattr(case, name), detector), "text": getattr(case, name),
        } for name in flagged_field_names(case)],
    }


def flagged_cases_page(user, page_number) -> tuple[Page, list[dict]]:
    """One page of flagged cases with their AI system and import batch: two queries (the count,
    then the page), whatever the number of cases; the detectors are compiled once per AI system."""
    page = Paginator(flagged_case_list_for_user(user), PER_PAGE).get_page(page_number)
    detectors: dict[int, Detector] = {}
    rows = []
    for case in page.object_list:
        detector = detectors.get(case.ai_system_id)
        if detector is None:
            detector = detectors[case.ai_system_id] = detector_for_system(case.ai_system)
        rows.append(flagged_case_row(case, detector))
    return page, rows
