from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.models import TimeStampedModel

from .enums import ConflictKind, MemberRole


class Committee(TimeStampedModel):
    name = models.CharField(_("name"), max_length=160, unique=True)
    hospital_group = models.CharField(_("hospital group"), max_length=160)
    description = models.TextField(_("description"), blank=True)
    ai_systems = models.ManyToManyField("cases.AISystem", related_name="committees", blank=True)
    # Quorum rule: members present in these seats before any decision can be recorded.
    quorum_clinicians = models.PositiveSmallIntegerField(_("clinicians needed for quorum"), default=2)
    quorum_patient_reps = models.PositiveSmallIntegerField(_("patient representatives needed for quorum"), default=1)

    class Meta:
        ordering = ["name"]
        verbose_name = _("committee")
        verbose_name_plural = _("committees")

    def __str__(self) -> str:
        return self.name


class MemberQuerySet(models.QuerySet):
    def active_on(self, day):
        return self.filter(Q(term_end__isnull=True) | Q(term_end__gte=day), term_start__lte=day)


class Member(TimeStampedModel):
    """A seat on a committee for a term of office. Ending a term keeps the row: membership
    history is part of the record."""

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("seat"), max_length=20, choices=MemberRole.choices)
    specialty = models.CharField(_("specialty"), max_length=80, blank=True)
    site = models.CharField(_("site"), max_length=40, blank=True)
    service = models.CharField(_("service"), max_length=80, blank=True)
    term_start = models.DateField(_("start of term"))
    term_end = models.DateField(_("end of term"), null=True, blank=True)
    declared_conflicts = models.TextField(_("declared conflicts of interest"), blank=True)

    objects = MemberQuerySet.as_manager()

    class Meta:
        ordering = ["committee", "role", "user__last_name"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=MemberRole.values), name="member_role_valid"),
            models.CheckConstraint(
                condition=Q(term_end__isnull=True) | Q(term_end__gte=models.F("term_start")),
                name="member_term_ordered",
            ),
            models.UniqueConstraint(
                fields=["committee", "user", "role"], condition=Q(term_end__isnull=True),
                name="member_one_open_seat",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.committee})"


class DeclaredConflict(TimeStampedModel):
    """A conflict of interest declared for a seat, structured so that assignment can apply it:
    an AI system or a vendor keeps the member off every campaign of that system (or of that
    vendor's systems); a service or a site keeps them off the cases from it. Withdrawing keeps
    the row (``withdrawn_at``): declarations are part of the record."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="conflicts")
    kind = models.CharField(_("about"), max_length=20, choices=ConflictKind.choices)
    ai_system = models.ForeignKey("cases.AISystem", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    value = models.CharField(_("vendor, service or site"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["member", "kind", "id"]
        verbose_name = _("declared conflict of interest")
        verbose_name_plural = _("declared conflicts of interest")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ConflictKind.values), name="conflict_kind_valid"),
            models.CheckConstraint(
                condition=(Q(kind=ConflictKind.AI_SYSTEM, ai_system__isnull=False)
                           | (~Q(kind=ConflictKind.AI_SYSTEM) & Q(ai_system__isnull=True) & ~Q(value=""))),
                name="conflict_target_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.ai_system_id or self.value}"

    def applies_to_campaign(self, ai_system) -> bool:
        """Keeps the member off the whole campaign of ``ai_system``."""
        if self.kind == ConflictKind.AI_SYSTEM:
            return self.ai_system_id == ai_system.pk
        return self.kind == ConflictKind.VENDOR and self.value.casefold() == ai_system.vendor.casefold()
