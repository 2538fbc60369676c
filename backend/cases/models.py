from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.models import TimeStampedModel

from .enums import AgeBand, BlindingReview, DatePrecision, IdentifierPolicy, ImportFormat, ImportStatus, OutputType, Sex


class AISystem(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120, unique=True)
    vendor = models.CharField(_("vendor"), max_length=120)
    version = models.CharField(_("current version"), max_length=40)
    intended_use = models.TextField(_("intended use"))
    ce_class = models.CharField(_("CE class"), max_length=20, blank=True)
    output_type = models.CharField(_("output type"), max_length=20, choices=OutputType.choices)
    # The label set, in order (the order is the scale for ordinal outputs).
    labels = models.JSONField(_("labels"), default=list)
    positive_label = models.CharField(_("positive label"), max_length=40, blank=True)
    score_threshold = models.FloatField(_("score threshold"), null=True, blank=True)
    # e.g. {"sensitivity": 0.90, "specificity": 0.80}: the committee watches these.
    acceptance_thresholds = models.JSONField(_("acceptance thresholds"), default=dict, blank=True)
    # What patients are given to read about this AI system (the hospital's information sheet): the
    # patient representatives judge each case's information against it. Written by the quality
    # team through ``cases.services.ai_system_set_patient_information`` (audited).
    patient_information = models.TextField(_("patient information sheet"), blank=True, default="",
                                           db_default="")
    is_active = models.BooleanField(default=True)
    # The public register (``transparency``): what the public reads about the tool, written by the
    # quality team; ``vendor`` is the supplier and ``ce_class`` the CE marking class.
    public_purpose = models.TextField(_("purpose, in plain words"), blank=True)
    ce_number = models.CharField(_("CE certificate number"), max_length=60, blank=True)
    human_oversight = models.TextField(_("how the human guarantee is organised"), blank=True)
    how_to_object = models.TextField(_("how to object"), blank=True)
    public_contact = models.CharField(_("whom to contact"), max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("AI system")
        verbose_name_plural = _("AI systems")
        constraints = [
            models.CheckConstraint(condition=models.Q(output_type__in=OutputType.values), name="aisystem_output_type"),
            models.CheckConstraint(
                condition=~models.Q(output_type=OutputType.SCORE) | models.Q(score_threshold__isnull=False),
                name="aisystem_score_needs_threshold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class ImportProfile(TimeStampedModel):
    """A saved column mapping for one source (one hospital system's export), so that a monthly
    import is one action. ``columns`` maps a canonical field of the import schema to the source's
    column name (``{"ai_label": "Résultat IA", "site": "UF"}``); unmapped fields keep their canonical
    name. ``identifier_columns`` are columns that carry a direct identifier (patient names): they are
    read only to find those names in the free text of the same row, then dropped, never stored."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    ai_system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="import_profiles")
    source = models.CharField(_("source system"), max_length=120, blank=True)
    format = models.CharField(_("format"), max_length=10, choices=ImportFormat.choices, default=ImportFormat.CSV)
    columns = models.JSONField(_("column mapping"), default=dict, blank=True)
    identifier_columns = models.JSONField(_("identifier columns (names, read to scan the text)"), default=list,
                                          blank=True)
    identifier_policy = models.CharField(_("when free text carries an identifier"), max_length=10,
                                         choices=IdentifierPolicy.choices, default=IdentifierPolicy.REJECT)
    date_precision = models.CharField(_("date precision kept"), max_length=10, choices=DatePrecision.choices,
                                      default=DatePrecision.DAY)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        ordering = ["name"]
        verbose_name = _("import profile")
        verbose_name_plural = _("import profiles")
        constraints = [
            models.CheckConstraint(condition=models.Q(identifier_policy__in=IdentifierPolicy.values),
                                   name="importprofile_identifier_policy"),
            models.CheckConstraint(condition=models.Q(date_precision__in=DatePrecision.values),
                                   name="importprofile_date_precision"),
        ]

    def __str__(self) -> str:
        return self.name


class ImportBatch(TimeStampedModel):
    ai_system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="import_batches")
    profile = models.ForeignKey(ImportProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    format = models.CharField(max_length=10, choices=ImportFormat.choices)
    status = models.CharField(max_length=20, choices=ImportStatus.choices)
    key_id = models.CharField(max_length=20)
    rows_total = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_redacted = models.PositiveIntegerField(default=0)
    is_dry_run = models.BooleanField(default=False)
    identifier_policy = models.CharField(max_length=10, choices=IdentifierPolicy.choices,
                                         default=IdentifierPolicy.REJECT)
    # [{"line": 12, "field": "exam_date", "reason": "..."}]
    errors = models.JSONField(default=list, blank=True)
    # Rows accepted with a remark: identifiers redacted, text that would unblind a reviewer.
    warnings = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True)
    # The uploaded file waiting for (or read by) the background task, by its name in the uploads
    # storage (STORAGES["uploads"]: database or object storage, reached by every process); emptied
    # once the file is deleted (cases.importing.batches.import_batch_release_file).
    stored_file = models.CharField(max_length=64, blank=True)
    # Progress of a queued import, written by the task worker outside the import transaction
    # (cases.importing.batches.ProgressRecorder) and read by every application server: rows read
    # so far, rows expected (None when unknown), and when the worker started; ``updated_at`` is
    # the worker's last sign of life.
    rows_done = models.PositiveIntegerField(default=0)
    rows_expected = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")


class OptOut(TimeStampedModel):
    """A patient who objected to the reuse of their data, known only by pseudonym."""

    patient_pseudonym = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=20)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("opt-out")


class Case(TimeStampedModel):
    """One AI-assisted act, pseudonymized. ``ai_*`` and ``final_label`` are sealed from reviewers:
    only the unblinded serializers and views may read them (see reviews.selectors)."""

    ai_system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="cases")
    import_batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    source_key = models.CharField(max_length=64, help_text="HMAC of the accession number")
    patient_pseudonym = models.CharField(max_length=64, db_index=True)
    key_id = models.CharField(max_length=20)
    exam_date = models.DateField(_("exam date"), db_index=True)
    site = models.CharField(_("site"), max_length=40, db_index=True)
    service = models.CharField(_("service"), max_length=80, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.OTHER)
    age_band = models.CharField(_("age band"), max_length=8, choices=AgeBand.choices, blank=True)
    clinical_context = models.TextField(_("clinical context"), blank=True)
    report_text = models.TextField(_("report (AI result removed)"), blank=True)
    image_url = models.URLField(_("image viewer link"), max_length=500, blank=True)
    ai_label = models.CharField(_("AI output"), max_length=40)
    ai_score = models.FloatField(_("AI score"), null=True, blank=True)
    ai_version = models.CharField(_("AI version"), max_length=40, blank=True)
    final_label = models.CharField(_("clinician's final decision"), max_length=40, blank=True)
    clinician_pseudonym = models.CharField(max_length=64, blank=True)
    patient_informed = models.BooleanField(_("patient informed of AI use"), null=True, blank=True)
    # For the patient representatives' reading (reviews.enums.PATIENT_REP_CASE_FIELDS): how and when
    # the patient was informed of the AI's use and what they agreed to, as the record traces it, and
    # a plain-language summary of the case. Optional import columns, scanned like the free text.
    information_trace = models.TextField(_("information and consent trace"), blank=True, default="",
                                         db_default="")
    plain_summary = models.TextField(_("plain-language case summary"), blank=True, default="", db_default="")
    is_opted_out = models.BooleanField(default=False)
    # Fernet ciphertext of the accession number, for a recall only (see cases.source_reference).
    # Never in any serializer; the key is outside the database and apart from the pseudonym key.
    source_reference = models.TextField(blank=True)
    source_reference_key_id = models.CharField(max_length=20, blank=True)
    # Reviewer-visible text that names the AI, its vendor or its output: [{"field", "mention"}].
    # While it is not empty the case is held out of sampling (reviews.sampling.population_for),
    # until the quality team redacts the text or clears the flag (cases.services).
    blinding_flags = models.JSONField(default=list, blank=True)
    # How the last flags were resolved ("" while none was): cleared, or the text redacted.
    blinding_review = models.CharField(_("blinding review"), max_length=10, choices=BlindingReview.choices,
                                       blank=True, default="", db_default="")

    class Meta:
        ordering = ["id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(fields=["ai_system", "source_key"], name="case_unique_source_key"),
        ]
        indexes = [models.Index(fields=["ai_system", "exam_date"])]

    def __str__(self) -> str:
        return f"Case {self.pk}"
