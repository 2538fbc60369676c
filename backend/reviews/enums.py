from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SAMPLED = "sampled", _("Sampled")
    IN_REVIEW = "in_review", _("In review")
    ADJUDICATION = "adjudication", _("Adjudication")
    ANALYSIS = "analysis", _("Analysis")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")
    CANCELLED = "cancelled", _("Cancelled")


class CampaignCaseState(models.TextChoices):
    SAMPLED = "sampled", _("Sampled")
    IN_REVIEW = "in_review", _("In review")
    REVIEWED = "reviewed", _("Reviewed")
    CONCORDANT = "concordant", _("Concordant")
    NEEDS_ADJUDICATION = "needs_adjudication", _("Needs adjudication")
    ADJUDICATED = "adjudicated", _("Adjudicated")
    CLOSED = "closed", _("Closed")


class AssignmentState(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned")
    OPENED = "opened", _("Opened")
    SUBMITTED = "submitted", _("Submitted (locked)")
    UNBLINDED = "unblinded", _("Unblinded")
    CLASSIFIED = "classified", _("Classified")
    CLOSED = "closed", _("Closed")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn by the quality team")


BLIND_STATES = frozenset({AssignmentState.ASSIGNED, AssignmentState.OPENED})
"""The reviewer has not locked a verdict: nothing sealed may reach them. The one list of blind
states: every check, filter and subquery of blindness reads it."""
LOCKED_STATES = frozenset(
    {AssignmentState.SUBMITTED, AssignmentState.UNBLINDED, AssignmentState.CLASSIFIED, AssignmentState.CLOSED}
)
UNBLINDED_STATES = frozenset({AssignmentState.UNBLINDED, AssignmentState.CLASSIFIED, AssignmentState.CLOSED})
ACTIVE_STATES = BLIND_STATES | LOCKED_STATES
"""Assignments that count towards a case's readers (declined and expired ones were replaced)."""


class AssignmentKind(models.TextChoices):
    CLINICIAN = "clinician", _("Clinician reviewer")
    PATIENT_REP = "patient_rep", _("Patient representative")


class Discrepancy(models.TextChoices):
    """Graded classification after unblinding, in the spirit of RADPEER."""

    CONCUR = "concur", _("Concur")
    UNDERSTANDABLE = "understandable", _("Understandable discrepancy, clinical significance unlikely")
    UNDERSTANDABLE_SIGNIFICANT = "understandable_significant", _(
        "Understandable discrepancy, likely clinically significant"
    )
    CLEAR = "clear", _("Clear discrepancy, clinical significance unlikely")
    CLEAR_SIGNIFICANT = "clear_significant", _("Clear discrepancy, likely clinically significant")


class YesNoUnknown(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Cannot tell")


class AdjudicationMethod(models.TextChoices):
    THIRD_READER = "third_reader", _("Third reader")
    CONSENSUS = "consensus", _("Session consensus")
    MAJORITY_VOTE = "majority_vote", _("Session majority vote")


class ReminderOutcome(models.TextChoices):
    PENDING = "pending", _("Queued")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Not needed any more")


BLIND_CASE_FIELDS = (
    "exam_date", "site", "service", "sex", "age_band", "clinical_context", "report_text", "image_url",
)
"""What a blind reviewer may read of a case (``cases.Case`` fields), and nothing else: no AI
output or score, no AI version, no final decision, no clinician. The blind serializer and the
blind case page both read this tuple."""

PATIENT_REP_CASE_FIELDS = (
    "exam_date", "site", "service", "sex", "age_band", "information_trace", "plain_summary",
)
"""What a patient representative reads of a case (``cases.Case`` fields) before their form is
locked: what they are asked to judge (how the patient was informed and what they agreed to, a
plain-language summary) and who the patient is for equity, never the AI output, the report or the
clinical reading. Sealed fields stay out exactly as for ``BLIND_CASE_FIELDS``."""

RUNNING_CAMPAIGN_STATES = frozenset({CampaignState.IN_REVIEW, CampaignState.ADJUDICATION})
"""Campaign states in which a reviewer may still have work: the review round, and the
adjudication that may ask for a third reading or wait for a classification. Once a campaign
leaves them (analysis, publication, archive, cancellation) it has ended for its reviewers."""
