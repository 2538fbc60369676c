"""Reads of the web interface: the template contexts, built from the selectors.

Blinding rule (the same as ``reviews.api.serializers``): a page receives plain dictionaries,
never model instances, and a blind page's dictionaries are built from the case's blind fields
only (``reviews.enums.BLIND_CASE_FIELDS``). The sealed fields (AI output, score, version, the clinician's final
decision) and the other reviewers' verdicts are read only for an assignment in
``UNBLINDED_STATES``, exactly where the API switches to ``AssignmentUnblindedSerializer``. So a
template cannot leak what its context does not hold.
"""

from .assignments import (
    assignment_for,
    assignment_page,
    assignment_staff_page,
    blind_case,
    next_assignment,
    next_assignment_id,
    reviewer_queue,
)
from .campaigns import (
    board_reviewer_choices,
    board_view,
    campaign_for,
    campaign_page,
    campaign_rows,
    can_see_board,
    can_see_progress,
    deviations_view,
    figures_campaign_for,
    progress_view,
    protocol_view,
    results_view,
    sees_campaign_details,
)
from .committees import (
    action_for,
    adjudication_rows,
    blind_case_ids,
    case_context_for,
    committee_for,
    committees_for,
    item_for,
    reid_for,
    session_for,
    sitting_committee_for,
    sitting_committees_for,
    vigilance_clock,
    vigilance_for,
    vigilance_list_for,
)

__all__ = [
    "action_for", "adjudication_rows", "assignment_for", "assignment_page",
    "assignment_staff_page", "blind_case", "blind_case_ids", "board_reviewer_choices", "board_view", "campaign_for",
    "campaign_page", "next_assignment", "next_assignment_id",
    "campaign_rows", "can_see_board", "can_see_progress", "case_context_for", "committee_for", "committees_for",
    "deviations_view", "figures_campaign_for", "item_for", "progress_view", "protocol_view", "reid_for", "results_view",
    "reviewer_queue", "sees_campaign_details", "session_for", "sitting_committee_for", "sitting_committees_for",
    "vigilance_clock", "vigilance_for",
    "vigilance_list_for",
]
