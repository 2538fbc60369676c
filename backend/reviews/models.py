from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from common.models import LockedRecord, TimeStampedModel

from .enums import (
    ACTIVE_STATES,
    BLIND_STATES,
    AdjudicationMethod,
    AssignmentKind,
    AssignmentState,
    CampaignCaseState,
    CampaignState,
    Discrepancy,
    ReminderOutcome,
    YesNoUnknown,
)

S = CampaignState
CANCELLABLE = [S.DRAFT, S.SCHEDULED, S.SAMPLED, S.IN_REVIEW, S.ADJUDICATION, S.ANALYSIS]


class Campaign(ConcurrentTransitionMixin, TimeStampedModel):
    """One review round of one AI system over one period and scope.

    Transitions only touch this row; the services write the related rows (sample, assignments)
    in the same transaction and record the audit event.
    """

    name = models.CharField(_("name"), max_length=160)
    ai_system = models.ForeignKey("cases.AISystem", on_delete=models.PROTECT, related_name="campaigns")
    committee = models.ForeignKey("committees.Committee", on_delete=models.PROTECT, related_name="campaigns")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = FSMField(default=S.DRAFT, choices=S.choices, protected=True, db_index=True)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    sites = models.JSONField(_("sites in scope"), default=list, blank=True, help_text=_("Empty means every site."))
    sample_size = models.PositiveIntegerField(_("sample size"))
    clinicians_per_case = models.PositiveSmallIntegerField(_("clinician reviewers per case"), default=2)
    patient_reps_per_case = models.PositiveSmallIntegerField(_("patient representatives per case"), default=1)
    exclude_own_service = models.BooleanField(_("exclude cases from the reviewer's own service"), default=True)
    exclude_own_site = models.BooleanField(_("exclude cases from the reviewer's own site"), default=False)
    required_specialty = models.CharField(
        _("required reviewer specialty"), max_length=80, blank=True,
        help_text=_("Clinician reviewers must hold this specialty; empty means any."))
    # {"type": "simple_random"} or {"type": "stratified", "strata_by": [...], "allocation": ...}:
    # see reviews.sampling.Design. May name strata built on the AI output: staff only.
    design = models.JSONField(_("sampling design"), default=dict, blank=True)
    reminder_days = models.JSONField(_("reminders, days before the deadline"), default=list, blank=True)
    review_deadline = models.DateField(_("review deadline"))
    seed = models.BigIntegerField(_("random seed"), null=True, blank=True)
    population_size = models.PositiveIntegerField(null=True, blank=True)
    population_hash = models.CharField(max_length=64, blank=True)
    protocol = models.JSONField(default=dict, blank=True, help_text="Frozen when the campaign is scheduled.")
    scheduled_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_end", "name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=S.values), name="campaign_state_valid"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="campaign_period"),
            models.CheckConstraint(condition=Q(sample_size__gte=1), name="campaign_sample_size_positive"),
            models.CheckConstraint(
                condition=Q(clinicians_per_case__gte=1, clinicians_per_case__lte=5), name="campaign_readers_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @transition(field=state, source=S.DRAFT, target=S.SCHEDULED)
    def schedule(self):
        self.scheduled_at = timezone.now()

    @transition(field=state, source=S.SCHEDULED, target=S.SAMPLED)
    def draw_sample(self):
        pass

    @transition(field=state, source=S.SAMPLED, target=S.IN_REVIEW)
    def start_review(self):
        pass

    @transition(field=state, source=S.IN_REVIEW, target=S.ADJUDICATION)
    def close_review(self):
        pass

    @transition(field=state, source=S.ADJUDICATION, target=S.ANALYSIS)
    def start_analysis(self):
        pass

    @transition(field=state, source=S.ANALYSIS, target=S.PUBLISHED)
    def publish(self):
        self.published_at = timezone.now()

    @transition(field=state, source=S.PUBLISHED, target=S.ARCHIVED)
    def archive(self):
        pass

    @transition(field=state, source=CANCELLABLE, target=S.CANCELLED)
    def cancel(self):
        pass


C = CampaignCaseState


class CampaignCase(ConcurrentTransitionMixin, models.Model):
    """A case drawn into a campaign, with its inclusion probability for design-weighted figures.
    ``stratum`` may be built on the AI output: it is never shown to reviewers."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="campaign_cases")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="campaign_cases")
    state = FSMField(default=C.SAMPLED, choices=C.choices, protected=True, db_index=True)
    inclusion_probability = models.FloatField()
    stratum = models.CharField(max_length=200, blank=True)
    reference_label = models.CharField(_("reference label"), max_length=40, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("campaign case")
        verbose_name_plural = _("campaign cases")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "case"], name="campaigncase_unique"),
            models.CheckConstraint(
                condition=Q(inclusion_probability__gt=0, inclusion_probability__lte=1),
                name="campaigncase_probability_range",
            ),
            models.CheckConstraint(condition=Q(state__in=C.values), name="campaigncase_state_valid"),
        ]

    def __str__(self) -> str:
        return f"Case {self.case_id} in campaign {self.campaign_id}"

    @transition(field=state, source=C.SAMPLED, target=C.IN_REVIEW)
    def start_review(self):
        pass

    @transition(field=state, source=C.IN_REVIEW, target=C.REVIEWED)
    def mark_reviewed(self):
        pass

    @transition(field=state, source=C.REVIEWED, target=C.CONCORDANT)
    def mark_concordant(self, label: str):
        self.reference_label = label

    @transition(field=state, source=C.REVIEWED, target=C.NEEDS_ADJUDICATION)
    def require_adjudication(self):
        pass

    @transition(field=state, source=C.NEEDS_ADJUDICATION, target=C.ADJUDICATED)
    def adjudicate(self, label: str):
        self.reference_label = label

    @transition(field=state, source=[C.CONCORDANT, C.ADJUDICATED], target=C.CLOSED)
    def close(self):
        pass


A = AssignmentState


class Assignment(ConcurrentTransitionMixin, TimeStampedModel):
    campaign_case = models.ForeignKey(CampaignCase, on_delete=models.PROTECT, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    kind = models.CharField(max_length=20, choices=AssignmentKind.choices)
    state = FSMField(default=A.ASSIGNED, choices=A.choices, protected=True, db_index=True)
    due_date = models.DateField(_("due date"))
    # Per-reviewer shuffled position: the queue order says nothing about strata or AI output.
    display_order = models.PositiveIntegerField()
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    decline_reason = models.TextField(blank=True)
    # A third blind reading asked for when the first readers disagreed (adjudication).
    is_third_reading = models.BooleanField(default=False)
    opened_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    unblinded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reviewer", "display_order"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(fields=["campaign_case", "reviewer"], name="assignment_one_per_reviewer"),
            models.CheckConstraint(condition=Q(state__in=A.values), name="assignment_state_valid"),
            models.CheckConstraint(condition=Q(kind__in=AssignmentKind.values), name="assignment_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"Assignment {self.pk} ({self.kind}, {self.state})"

    @property
    def is_blinded(self) -> bool:
        return self.state in BLIND_STATES

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @transition(field=state, source=A.ASSIGNED, target=A.OPENED)
    def open(self):
        self.opened_at = timezone.now()

    @transition(field=state, source=[*BLIND_STATES], target=A.SUBMITTED)
    def submit(self):
        self.submitted_at = timezone.now()

    @transition(field=state, source=A.SUBMITTED, target=A.UNBLINDED)
    def unblind(self):
        self.unblinded_at = timezone.now()

    @transition(field=state, source=A.UNBLINDED, target=A.CLASSIFIED)
    def classify(self):
        pass

    @transition(field=state, source=A.CLASSIFIED, target=A.CLOSED)
    def close(self):
        pass

    @transition(field=state, source=[*BLIND_STATES], target=A.DECLINED)
    def decline(self, reason: str):
        self.decline_reason = reason

    @transition(field=state, source=[*BLIND_STATES], target=A.EXPIRED)
    def expire(self):
        pass

    @transition(field=state, source=[*BLIND_STATES], target=A.WITHDRAWN)
    def withdraw(self, reason: str):
        """The quality team (or an adjudication that made a pending third reading moot) takes a
        pending review back; the service may give the case to another reader."""
        self.decline_reason = reason


class ReminderSent(models.Model):
    """One deadline reminder of one assignment: the unique constraint is what makes the periodic
    command idempotent (a reminder is recorded before it is queued, and sent at most once)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="reminders")
    days_before = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=ReminderOutcome.choices, default=ReminderOutcome.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(fields=["assignment", "days_before"], name="reminder_once"),
            models.CheckConstraint(condition=Q(outcome__in=ReminderOutcome.values), name="reminder_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"Reminder J-{self.days_before} of assignment {self.assignment_id}"


class Verdict(LockedRecord):
    """A reviewer's blind answer, locked when written. A correction would be a new record with
    a reason, never an edit."""

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="verdict")
    locked_at = models.DateTimeField(default=timezone.now)
    # Clinician reviewers
    label = models.CharField(_("label"), max_length=40, blank=True)
    confidence = models.PositiveSmallIntegerField(_("confidence (1-5)"), null=True, blank=True)
    rationale = models.TextField(_("rationale"), blank=True)
    # Patient representatives
    patient_informed = models.CharField(max_length=10, choices=YesNoUnknown.choices, blank=True)
    information_understandable = models.CharField(max_length=10, choices=YesNoUnknown.choices, blank=True)
    rights_respected = models.CharField(max_length=10, choices=YesNoUnknown.choices, blank=True)
    equity_concern = models.BooleanField(null=True, blank=True)
    comments = models.TextField(_("comments"), blank=True)

    class Meta:
        verbose_name = _("verdict")
        verbose_name_plural = _("verdicts")
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=1, confidence__lte=5),
                name="verdict_confidence_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Verdict on assignment {self.assignment_id}"


class Classification(LockedRecord):
    """After unblinding: the reviewer's view of the discordance. Measures automation bias
    (``would_have_changed``) without touching the locked verdict."""

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="classification")
    created_at = models.DateTimeField(default=timezone.now)
    discrepancy = models.CharField(max_length=40, choices=Discrepancy.choices)
    would_have_changed = models.BooleanField(_("seeing the AI output would have changed my answer"))
    possible_adverse_event = models.BooleanField(_("possible adverse event"), default=False)
    comment = models.TextField(blank=True)

    class Meta:
        verbose_name = _("classification")
        verbose_name_plural = _("classifications")

    def __str__(self) -> str:
        return f"Classification of assignment {self.assignment_id}"


class Adjudication(LockedRecord):
    campaign_case = models.OneToOneField(CampaignCase, on_delete=models.PROTECT, related_name="adjudication")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=20, choices=AdjudicationMethod.choices)
    label = models.CharField(max_length=40)
    reasoning = models.TextField()

    class Meta:
        verbose_name = _("adjudication")
        verbose_name_plural = _("adjudications")

    def __str__(self) -> str:
        return f"Adjudication of campaign case {self.campaign_case_id}"


class ProtocolDeviation(LockedRecord):
    """A change to a campaign after its protocol was frozen (at ``schedule``), with its reason:
    append-only, so that campaigns stay comparable and every departure is explained."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="deviations")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    campaign_state = models.CharField(max_length=20)
    item = models.CharField(_("protocol item"), max_length=80)
    description = models.TextField(_("what changed"))
    reason = models.TextField(_("reason"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("protocol deviation")
        verbose_name_plural = _("protocol deviations")

    def __str__(self) -> str:
        return f"Deviation {self.pk} of campaign {self.campaign_id}"


class AssignmentDraft(models.Model):
    """The reviewer's unlocked work on a blind verdict, saved so that it survives a closed tab.

    Private to the assignment's reviewer: no selector, serializer or page of anyone else reads
    it, and it is deleted in the transaction that locks the verdict (or that ends the review by
    decline, expiry or reassignment). It is not a record of the committee: it has no audit
    event and no history (see ``services.assignment_save_draft``)."""

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="draft")
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("verdict draft")
        verbose_name_plural = _("verdict drafts")

    def __str__(self) -> str:
        return f"Draft of assignment {self.assignment_id}"


class EvidenceExposure(models.Model):
    """Someone who may read cases blind saw a case's unblinded evidence (its AI output, its
    readers' labels) without being one of its readers: on the committee's case page or in the
    discordant-case list of a dashboard. They are never drawn to read that case blind afterwards,
    as a third reader or a replacement (``services.common.one_more_reader``). Kept per case, not
    per campaign: the AI output is the case's."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("evidence exposure")
        verbose_name_plural = _("evidence exposures")
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="reviews_evidence_exposure_once")]

    def __str__(self) -> str:
        return f"User {self.user_id} saw case {self.case_id}"
