from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from common.models import TimeStampedModel

from .enums import DECLARATION_DELAYS, DEFAULT_DECLARATION_DELAY, Seriousness, VigilanceState

V = VigilanceState


class VigilanceReport(ConcurrentTransitionMixin, TimeStampedModel):
    """An adverse event or serious AI error found by the college, with what a health-product
    vigilance declaration needs. Opened as a draft when a reviewer flags a possible adverse event
    (or by the committee's officers); the legal clock of EU AI Act art. 73 runs from
    ``aware_at``, when the college became aware of it."""

    committee = models.ForeignKey("committees.Committee", on_delete=models.PROTECT, related_name="vigilance_reports")
    ai_system = models.ForeignKey("cases.AISystem", on_delete=models.PROTECT, related_name="vigilance_reports")
    ai_version = models.CharField(_("AI version"), max_length=40, blank=True)
    campaign_case = models.ForeignKey("reviews.CampaignCase", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="vigilance_reports")
    event_date = models.DateField(_("date of the event"))
    aware_at = models.DateTimeField(_("college aware since"))
    description = models.TextField(_("description of the event"), blank=True)
    seriousness = models.CharField(_("seriousness"), max_length=30, choices=Seriousness.choices,
                                   default=Seriousness.TO_ASSESS)
    patient_consequences = models.TextField(_("consequences for the patient"), blank=True)
    actions_taken = models.TextField(_("actions taken"), blank=True)
    state = FSMField(default=V.DRAFT, choices=V.choices, protected=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    declared_at = models.DateTimeField(null=True, blank=True)
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    declaration_reference = models.CharField(_("declaration reference"), max_length=80, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closure_note = models.TextField(_("closure note"), blank=True)

    class Meta:
        ordering = ["-aware_at", "-id"]
        verbose_name = _("vigilance report")
        verbose_name_plural = _("vigilance reports")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=V.values), name="vigilance_state_valid"),
            models.CheckConstraint(condition=Q(seriousness__in=Seriousness.values), name="vigilance_seriousness_valid"),
            models.UniqueConstraint(fields=["campaign_case"], condition=Q(campaign_case__isnull=False),
                                    name="vigilance_one_per_case"),
        ]

    def __str__(self) -> str:
        return f"Vigilance report {self.pk}"

    @property
    def needs_declaration(self) -> bool:
        return self.seriousness != Seriousness.NOT_SERIOUS

    @property
    def declaration_deadline(self) -> datetime | None:
        if not self.needs_declaration:
            return None
        return self.aware_at + DECLARATION_DELAYS.get(self.seriousness, DEFAULT_DECLARATION_DELAY)

    def clock(self, now: datetime | None = None) -> dict:
        """The art. 73 clock as the interface shows it: deadline, time left (negative when late)
        and, once declared, whether the declaration was in time."""
        deadline = self.declaration_deadline
        if deadline is None:
            return {"deadline": None, "days_left": None, "is_late": False, "declared_in_time": None}
        now = now or timezone.now()
        if self.declared_at:
            return {"deadline": deadline, "days_left": None, "is_late": False,
                    "declared_in_time": self.declared_at <= deadline}
        left = deadline - now
        return {"deadline": deadline, "days_left": left.total_seconds() / 86400, "is_late": left.total_seconds() < 0,
                "declared_in_time": None}

    def is_declarable(self) -> bool:
        return bool(self.description.strip() and self.patient_consequences.strip()
                    and self.seriousness not in (Seriousness.TO_ASSESS, Seriousness.NOT_SERIOUS))

    def is_closable_without_declaration(self) -> bool:
        return self.seriousness == Seriousness.NOT_SERIOUS

    @transition(field=state, source=V.DRAFT, target=V.DECLARED, conditions=[is_declarable])
    def declare(self, *, by, reference: str):
        self.declared_at = timezone.now()
        self.declared_by = by
        self.declaration_reference = reference

    @transition(field=state, source=V.DECLARED, target=V.CLOSED)
    def close(self, note: str):
        self.closed_at = timezone.now()
        self.closure_note = note

    @transition(field=state, source=V.DRAFT, target=V.CLOSED, conditions=[is_closable_without_declaration])
    def close_without_declaration(self, note: str):
        self.closed_at = timezone.now()
        self.closure_note = note
