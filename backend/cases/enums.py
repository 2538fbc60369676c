from django.db import models
from django.utils.translation import gettext_lazy as _


class OutputType(models.TextChoices):
    BINARY = "binary", _("Binary (positive/negative)")
    CATEGORICAL = "categorical", _("Categorical labels")
    ORDINAL = "ordinal", _("Ordinal grades")
    SCORE = "score", _("Score with a threshold")


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    OTHER = "X", _("Other or unknown")


class AgeBand(models.TextChoices):
    UNDER_18 = "0-17", "0-17"
    A18_39 = "18-39", "18-39"
    A40_59 = "40-59", "40-59"
    A60_79 = "60-79", "60-79"
    OVER_80 = "80+", "80+"


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSON = "json", "JSON"
    JSONL = "jsonl", "JSON Lines"
    FHIR = "fhir", "FHIR R4 Bundle"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    VALIDATED = "validated", _("Validated (dry run, nothing written)")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed (nothing written)")
    INTERRUPTED = "interrupted", _("Interrupted (worker stopped, nothing written)")


class IdentifierPolicy(models.TextChoices):
    REJECT = "reject", _("Reject the row")
    REDACT = "redact", _("Redact the identifier")


class DatePrecision(models.TextChoices):
    DAY = "day", _("Day")
    MONTH = "month", _("Month (stored as the first day of the month)")


class BlindingReview(models.TextChoices):
    """How the quality team resolved text flagged as naming the AI or its output."""

    NONE = "", _("not reviewed")
    CLEARED = "cleared", _("flag cleared")
    REDACTED = "redacted", _("text redacted")
