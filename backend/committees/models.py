from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.models import TimeStampedModel

from .enums import MemberRole


class Committee(TimeStampedModel):
    name = models.CharField(_("name"), max_length=160, unique=True)
    hospital_group = models.CharField(_("hospital group"), max_length=160)
    description = models.TextField(_("description"), blank=True)
    ai_systems = models.ManyToManyField("cases.AISystem", related_name="committees", blank=True)

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
