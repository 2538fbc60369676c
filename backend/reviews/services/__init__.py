"""Writes and workflows of review campaigns, one module per concern: ``campaigns`` (and protocol
deviations), ``assignments`` (the reviewer's reading), ``adjudication``.

Every service: runs in one transaction, locks the rows it transitions (``select_for_update``,
evaluated inside the transaction), checks the caller's permission itself (403) before the state
(409), saves with ``update_fields`` and appends an audit event in the same transaction. Lock
order: assignment, campaign case, then (sittings) session; the audit chain head is always last.
What the apps above follow up (a vigilance report, the next agenda) goes through ``hooks``.
"""

from .adjudication import THIRD_READING_DAYS, adjudication_record, third_reading_request
from .assignments import (
    CLINICIANS_ONLY_CODE,
    CONCUR_CONTRADICTS_CODE,
    DRAFT_FIELDS,
    DRAFT_MAX_CHARS,
    assignment_classify,
    assignment_decline,
    assignment_draft_data,
    assignment_expire,
    assignment_open,
    assignment_reassign,
    assignment_save_draft,
    assignment_submit,
    assignment_unblind,
)
from .campaigns import (
    DEVIATION_STATES,
    campaign_archive,
    campaign_cancel,
    campaign_close_review,
    campaign_create,
    campaign_draw_sample,
    campaign_publish,
    campaign_schedule,
    campaign_start_analysis,
    campaign_start_review,
    protocol_deviation_record,
)
from .exposure import evidence_seen

__all__ = [
    "CLINICIANS_ONLY_CODE", "CONCUR_CONTRADICTS_CODE",
    "DEVIATION_STATES", "DRAFT_FIELDS", "DRAFT_MAX_CHARS", "THIRD_READING_DAYS", "adjudication_record",
    "evidence_seen",
    "assignment_classify", "assignment_decline", "assignment_draft_data", "assignment_expire", "assignment_open",
    "assignment_reassign", "assignment_save_draft", "assignment_submit", "assignment_unblind", "campaign_archive",
    "campaign_cancel", "campaign_close_review", "campaign_create", "campaign_draw_sample", "campaign_publish",
    "campaign_schedule", "campaign_start_analysis", "campaign_start_review", "protocol_deviation_record",
    "third_reading_request",
]
