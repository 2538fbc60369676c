"""Display texts of the web interface that are not model choices: label names, action names.

Msgids are English; the French texts live in ``backend/locale/fr/LC_MESSAGES/django.po``.
"""

from django.utils.translation import gettext_lazy as _

from reviews.enums import AssignmentState, CampaignState

# Output labels of the AI systems we know. Any other label is shown as stored: an AI system's
# taxonomy is data, and a raw label is better than a wrong translation.
KNOWN_LABELS = {
    "fracture": _("Fracture"),
    "no_fracture": _("No fracture"),
    "reduced_ef": _("Reduced LVEF"),
    "normal_ef": _("Normal LVEF"),
    "positive": _("Positive"),
    "negative": _("Negative"),
}


def label_display(label: str | None) -> str:
    if not label:
        return ""
    return str(KNOWN_LABELS.get(label, label))


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

SUBJECTS = {
    "campaign": (_("campaign"), CampaignState, CAMPAIGN_ACTIONS),
    "assignment": (_("review"), AssignmentState, ASSIGNMENT_ACTIONS),
}


def state_display(enum, value: str) -> str:
    try:
        return str(enum(value).label)
    except ValueError:
        return value
