"""States and kinds of sessions (séances), their attendance and agenda items, and corrective
actions."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SessionState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    OPEN = "open", _("In session")
    CLOSED = "closed", _("Closed, minutes awaiting signature")
    SIGNED = "signed", _("Minutes signed")
    CANCELLED = "cancelled", _("Cancelled")


class AttendanceStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    PRESENT = "present", _("Present")
    EXCUSED = "excused", _("Excused")
    ABSENT = "absent", _("Absent")


class AgendaItemKind(models.TextChoices):
    CASE = "case", _("Case")
    ACTION = "action", _("Follow-up of a corrective action")
    VIGILANCE = "vigilance", _("Vigilance report")
    OTHER = "other", _("Other business")


class CaseReason(models.TextChoices):
    """Why a case is put before the committee."""

    READERS_DISAGREE = "readers_disagree", _("The clinician readers disagree")
    REFERENCE_DIFFERS_FROM_AI = "reference_differs_from_ai", _("The college's reference differs from the AI output")
    POSSIBLE_ADVERSE_EVENT = "possible_adverse_event", _("A reviewer flagged a possible adverse event")


class AgendaItemState(models.TextChoices):
    PENDING = "pending", _("To discuss")
    DECIDED = "decided", _("Decided")
    DEFERRED = "deferred", _("Deferred to a later session")


class VoteChoice(models.TextChoices):
    FOR = "for", _("For")
    AGAINST = "against", _("Against")
    ABSTAIN = "abstain", _("Abstain")


class CommentSubject(models.TextChoices):
    """What a member's comment is about: one agenda item, or the draft minutes as a whole."""

    ITEM = "item", _("Agenda item")
    MINUTES = "minutes", _("Draft minutes")


class ActionKind(models.TextChoices):
    TRAIN_USERS = "train_users", _("Train the users")
    CHANGE_THRESHOLD = "change_threshold", _("Change a threshold")
    INFORM_PATIENTS = "inform_patients", _("Inform patients")
    SUSPEND_AI_SYSTEM = "suspend_ai_system", _("Suspend the AI system pending review")
    NOTIFY_VENDOR = "notify_vendor", _("Notify the vendor")
    OTHER = "other", _("Other")


class ActionState(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_ACTION_STATES = frozenset({ActionState.OPEN, ActionState.IN_PROGRESS})
