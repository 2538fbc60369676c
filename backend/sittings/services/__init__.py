"""Writes of the sittings app: sessions (planning, the sitting, decisions, minutes, the quorum
rule) and corrective actions, one module each."""

from .actions import action_cancel, action_complete, action_create, action_start
from .members import attendance_record_all, comment_add, session_reschedule, vote_cast
from .sessions import (
    attendance_record,
    committee_set_quorum,
    decision_record,
    enqueue_case,
    ensure_session_in,
    item_defer,
    session_add_item,
    session_cancel,
    session_close,
    session_create,
    session_refresh_agenda,
    session_sign,
    session_start,
)

__all__ = [
    "action_cancel", "action_complete", "action_create", "action_start", "attendance_record",
    "committee_set_quorum", "decision_record", "enqueue_case", "ensure_session_in", "item_defer",
    "session_add_item", "session_cancel", "session_close", "session_create", "session_refresh_agenda",
    "session_sign", "session_start", "attendance_record_all", "comment_add", "session_reschedule", "vote_cast",
]
