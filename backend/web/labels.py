"""Display texts of the web interface that are not model choices: action names, states (the AI
output labels are in ``cases.labels``).

Msgids are English; the French texts live in ``backend/locale/fr/LC_MESSAGES/django.po``.
"""

from django.utils.translation import gettext_lazy as _

from reidentification.enums import RequestState
from reviews.enums import AssignmentState, CampaignCaseState, CampaignState
from sittings.enums import ActionState, AgendaItemState, SessionState
from vigilance.enums import VigilanceState

CAMPAIGN_ACTIONS = {
    "schedule": _("Schedule"),
    "draw_sample": _("Draw the sample"),
    "start_review": _("Start the review"),
    "close_review": _("Close the review"),
    "start_analysis": _("Start the analysis"),
    "publish": _("Publish"),
    "archive": _("Archive"),
    "cancel": _("Cancel the campaign"),
}

CAMPAIGN_CONSEQUENCES = {
    "schedule": _("I confirm: the protocol (design, sample size, readers per case, deadline, AI version) "
                  "is frozen and can no longer be changed."),
    "draw_sample": _("I confirm: the sample is drawn once, with the recorded seed; it cannot be drawn again."),
    "start_review": _("I confirm: the reviews are sent to the reviewers."),
    "close_review": _("I confirm: no review can be submitted any more."),
    "start_analysis": _("I confirm: the readings are final and the analysis starts."),
    "publish": _("I confirm: the results are published; this cannot be undone."),
    "archive": _("I confirm: the campaign is archived and read-only."),
    "cancel": _("I confirm: the campaign is cancelled; this cannot be undone."),
}
"""What firing each campaign transition does for good: the box a person ticks to confirm it."""

ASSIGNMENT_ACTIONS = {
    "open": _("Start the review"),
    "submit": _("Lock my verdict"),
    "save_draft": _("Save as draft"),
    "reassign": _("Reassign"),
    "unblind": _("See the AI output"),
    "classify": _("Record my classification"),
    "decline": _("Decline this case"),
    "expire": _("Expire"),
}

COMMITTEE_ACTIONS = {
    "start": _("Start"),
    "close": _("Close"),
    "sign": _("Sign the minutes"),
    "cancel": _("Cancel"),
    "complete": _("Mark as done"),
    "decide": _("Record the decision"),
    "defer": _("Defer"),
    "declare": _("Declare"),
    "close_without_declaration": _("Close"),
    "approve": _("Approve"),
    "refuse": _("Refuse"),
    "withdraw": _("Withdraw the request"),
    "reveal": _("Show the source reference"),
    "record attendance": _("Record attendance"),
    "record a decision": _("Record the decision"),
    "change the agenda": _("Change the agenda"),
    "defer an item": _("Defer"),
    "create_action": _("Create the action"),
    "edit": _("Edit"),
    "third_reading": _("Ask for a third reading"),
}
"""Actions on the committee pages (sessions, agenda items, corrective actions, vigilance reports,
re-identification requests, cases), as error pages and buttons name them."""

SUBJECTS = {
    "campaign": (_("campaign"), CampaignState, CAMPAIGN_ACTIONS),
    "assignment": (_("review"), AssignmentState, ASSIGNMENT_ACTIONS),
    "session": (_("session"), SessionState, COMMITTEE_ACTIONS),
    "item": (_("agenda item"), AgendaItemState, COMMITTEE_ACTIONS),
    "action": (_("corrective action"), ActionState, COMMITTEE_ACTIONS),
    "vigilance": (_("vigilance report"), VigilanceState, COMMITTEE_ACTIONS),
    "reidentification": (_("re-identification request"), RequestState, COMMITTEE_ACTIONS),
    "case": (_("case"), CampaignCaseState, COMMITTEE_ACTIONS),
}
"""What a web view acts on: its noun in error sentences, its states and its action names."""


def state_display(enum, value: str) -> str:
    try:
        return str(enum(value).label)
    except ValueError:
        return value
