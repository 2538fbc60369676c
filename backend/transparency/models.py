"""Texts written for the public (DESIGN §9): the register entry of an AI system and the
easy-to-read (FALC) version of a published public report.

A public text goes draft → submitted → approved or rejected (with a reason) → published. A patient
representative in office on a committee responsible for the AI system approves or rejects it; the
quality team writes, submits and publishes it. Publishing supersedes the previously published text
of the same subject. Only a published text is ever shown publicly. ``content`` is the text itself:
for a register entry, the AI system's public profile as it stood when the draft was made or
revised; for a FALC text, ``{"lines": [{"icon", "text"}, ...]}``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from common.models import TimeStampedModel

from .enums import TextKind, TextState

S = TextState


class PublicText(ConcurrentTransitionMixin, TimeStampedModel):
    kind = models.CharField(_("kind"), max_length=10, choices=TextKind.choices)
    ai_system = models.ForeignKey("cases.AISystem", on_delete=models.PROTECT, related_name="public_texts")
    report = models.ForeignKey("reports.Report", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="public_texts")
    version = models.PositiveIntegerField(_("version"))
    state = FSMField(default=S.DRAFT, choices=S.choices, protected=True, db_index=True)
    content = models.JSONField(_("text"), default=dict)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(_("reason for the rejection"), blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "ai_system_id", "report_id", "-version"]
        verbose_name = _("public text")
        verbose_name_plural = _("public texts")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=TextKind.values), name="publictext_kind_valid"),
            models.CheckConstraint(condition=Q(kind=TextKind.REGISTER, report__isnull=True)
                                   | Q(kind=TextKind.FALC, report__isnull=False), name="publictext_report_iff_falc"),
            models.CheckConstraint(condition=Q(version__gte=1), name="publictext_version_positive"),
            models.CheckConstraint(condition=~Q(state=S.REJECTED) | ~Q(rejection_reason=""),
                                   name="publictext_rejection_has_reason"),
            models.UniqueConstraint(fields=["ai_system"], condition=Q(kind=TextKind.REGISTER, state=S.PUBLISHED),
                                    name="publictext_one_published_register_entry"),
            models.UniqueConstraint(fields=["report"], condition=Q(kind=TextKind.FALC, state=S.PUBLISHED),
                                    name="publictext_one_published_falc_text"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"

    @transition(field=state, source=[S.DRAFT, S.REJECTED], target=S.DRAFT)
    def revise(self) -> None:
        self.rejection_reason = ""

    @transition(field=state, source=S.DRAFT, target=S.SUBMITTED)
    def submit(self, *, at) -> None:
        self.submitted_at = at

    @transition(field=state, source=S.SUBMITTED, target=S.APPROVED)
    def approve(self, *, by, at) -> None:
        self.decided_by, self.decided_at = by, at

    @transition(field=state, source=S.SUBMITTED, target=S.REJECTED)
    def reject(self, *, by, at, reason: str) -> None:
        self.decided_by, self.decided_at, self.rejection_reason = by, at, reason

    @transition(field=state, source=S.APPROVED, target=S.PUBLISHED)
    def publish(self, *, at) -> None:
        self.published_at = at

    @transition(field=state, source=S.PUBLISHED, target=S.SUPERSEDED)
    def supersede(self) -> None:
        pass
