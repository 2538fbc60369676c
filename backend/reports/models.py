"""Published report snapshots of a campaign (DESIGN §9).

A published report is frozen: its figures (``figures``, the JSON the pages and exports are drawn
from) and their SHA-256 (``content_hash``) never change. A correction is a new row with the next
``version`` and a ``reason``; the previous one is superseded. The database guarantees one
published version per campaign and audience, and unique version numbers.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from common.models import TimeStampedModel

from .enums import Audience, ReportState

S = ReportState


class Report(ConcurrentTransitionMixin, TimeStampedModel):
    campaign = models.ForeignKey("reviews.Campaign", on_delete=models.PROTECT, related_name="reports")
    version = models.PositiveIntegerField(_("version"))
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices)
    state = FSMField(default=S.DRAFT, choices=S.choices, protected=True, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    figures = models.JSONField(_("frozen figures"), default=dict)
    content_hash = models.CharField(_("content SHA-256"), max_length=64, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(_("reason for the correction"), blank=True)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by")

    class Meta:
        ordering = ["campaign_id", "audience", "version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "audience", "version"], name="report_unique_version"),
            models.UniqueConstraint(fields=["campaign", "audience"], condition=Q(state="published"),
                                    name="report_one_published_per_audience"),
            models.CheckConstraint(condition=Q(version__gte=1), name="report_version_positive"),
            models.CheckConstraint(condition=Q(version=1) | ~Q(reason=""), name="report_correction_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    @transition(field=state, source=S.DRAFT, target=S.PUBLISHED)
    def publish(self, *, at, content_hash: str) -> None:
        self.published_at = at
        self.content_hash = content_hash

    @transition(field=state, source=S.PUBLISHED, target=S.SUPERSEDED)
    def supersede(self) -> None:
        pass


class ReportComment(models.Model):
    """A member's comment on a draft report, before it is published: the committee reads the
    draft's figures and says what it makes of them. Written once; none after publication (the
    published version is frozen)."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("report comment")
        verbose_name_plural = _("report comments")

    def __str__(self) -> str:
        return f"Comment {self.pk} on report {self.report_id}"
