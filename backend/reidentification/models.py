from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from common.models import TimeStampedModel

from .enums import OPEN_REQUEST_STATES, RequestState

R = RequestState


class ReidentificationRequest(ConcurrentTransitionMixin, TimeStampedModel):
    """The chair's justified request to recall a patient. The data-protection officer approves or
    refuses; once approved, the decrypted source reference is shown once to the requesting chair
    and once to the deciding officer, and to nobody else. Nothing here stores the plain value."""

    campaign_case = models.ForeignKey("reviews.CampaignCase", on_delete=models.PROTECT,
                                      related_name="reidentification_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    justification = models.TextField(_("justification"))
    state = FSMField(default=R.REQUESTED, choices=R.choices, protected=True, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(_("comment of the data-protection officer"), blank=True)
    requester_revealed_at = models.DateTimeField(null=True, blank=True)
    officer_revealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("re-identification request")
        verbose_name_plural = _("re-identification requests")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=R.values), name="reid_state_valid"),
            models.UniqueConstraint(fields=["campaign_case"], condition=Q(state__in=sorted(OPEN_REQUEST_STATES)),
                                    name="reid_one_open_per_case"),
            models.CheckConstraint(condition=~Q(state=R.REFUSED) | ~Q(decision_comment=""),
                                   name="reid_refusal_explained"),
        ]

    def __str__(self) -> str:
        return f"Re-identification request {self.pk}"

    @transition(field=state, source=R.REQUESTED, target=R.APPROVED)
    def approve(self, *, by, comment: str):
        self.decided_by, self.decided_at, self.decision_comment = by, timezone.now(), comment

    @transition(field=state, source=R.REQUESTED, target=R.REFUSED)
    def refuse(self, *, by, comment: str):
        self.decided_by, self.decided_at, self.decision_comment = by, timezone.now(), comment

    @transition(field=state, source=R.REQUESTED, target=R.WITHDRAWN)
    def withdraw(self):
        pass

    @transition(field=state, source=R.APPROVED, target=R.APPROVED)
    def reveal(self, *, to_requester: bool):
        if to_requester:
            self.requester_revealed_at = timezone.now()
        else:
            self.officer_revealed_at = timezone.now()

    @transition(field=state, source=R.APPROVED, target=R.COMPLETED)
    def complete(self):
        pass
