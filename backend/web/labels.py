"""Display texts of the web interface that are not model choices: action names, states (the AI
output labels are in ``cases.labels``).

Msgids are English; the French texts live in ``backend/locale/fr/LC_MESSAGES/django.po``.
"""

from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from cases.labels import label_display
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


STRATUM_DIMENSIONS = {
    "ai_label": _("AI output"),
    "score_band": _("AI confidence band"),
    "site": _("Site"),
    "override": _("Clinician override"),
}
STRATUM_VALUES = {
    "override": {"yes": pgettext_lazy("clinician override", "yes"), "no": pgettext_lazy("clinician override", "no"),
                 "unknown": pgettext_lazy("clinician override", "unknown")},
    "score_band": {"none": pgettext_lazy("AI confidence band", "no score")},
}


def stratum_display(name: str) -> str:
    """A stratum key of the sampling design (``"ai_label=fracture|site=Nord"``) as a person reads
    it: "AI output: Fracture · Site: Nord". A part that is not ``dimension=value`` is kept as is."""
    parts = []
    for part in name.split("|"):
        dimension, sep, value = part.partition("=")
        if not sep or dimension not in STRATUM_DIMENSIONS:
            parts.append(part)
            continue
        if dimension == "ai_label":
            shown = label_display(value)
        else:
            shown = str(STRATUM_VALUES.get(dimension, {}).get(value, value))
        parts.append(gettext("%(dimension)s: %(value)s") % {"dimension": STRATUM_DIMENSIONS[dimension], "value": shown})
    return " · ".join(parts)
