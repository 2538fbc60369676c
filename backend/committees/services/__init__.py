"""Writes of the committees app: composition, sessions, actions (one module each)."""

from .actions import action_cancel, action_complete, action_create, action_start
from .composition import (
    committee_create,
    committee_set_quorum,
    conflict_declare,
    conflict_withdraw,
    member_add,
    member_end_term,
    term_has_ended,
)
from .sessions import (
    Quorum,
    attendance_record,
    decision_record,
    enqueue_case,
    item_defer,
    session_add_item,
    session_cancel,
    session_close,
    session_create,
    session_quorum,
    session_refresh_agenda,
    session_sign,
    session_start,
)

__all__ = [
    "Quorum", "action_cancel", "action_complete", "action_create", "action_start", "attendance_record",
    "committee_create", "committee_set_quorum", "conflict_declare", "conflict_withdraw", "decision_record",
    "enqueue_case", "item_defer", "member_add", "member_end_term", "session_add_item", "session_cancel",
    "session_close", "session_create", "session_quorum", "session_refresh_agenda", "session_sign",
    "session_start", "term_has_ended",
]
