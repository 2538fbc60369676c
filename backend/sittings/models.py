"""The committee's sittings: sessions (séances) with their attendance, agenda items and decisions,
and the corrective actions decided there.

The tables keep the names they had when these models belonged to ``committees`` (``db_table``):
the move changed no table. Audit events name their target by its model label: events written
before the move name these objects ``committees.<model>``, later ones ``sittings.<model>``, so a
reader of the trail by object type asks for both."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from common.models import LockedRecord, TimeStampedModel

from .enums import (
    OPEN_ACTION_STATES,
    ActionKind,
    ActionState,
    AgendaItemKind,
    AgendaItemState,
    AttendanceStatus,
    CommentSubject,
    SessionState,
    VoteChoice,
)

S = SessionState


class Session(ConcurrentTransitionMixin, TimeStampedModel):
    """A sitting of the committee (séance). Planned with an agenda built from what awaits the
    committee, opened on the day (attendance, decisions under quorum), closed, then its minutes
    are signed by the chair: ``minutes_html`` and its hash are frozen at the signature."""

    committee = models.ForeignKey("committees.Committee", on_delete=models.PROTECT, related_name="sessions")
    title = models.CharField(_("title"), max_length=160)
    scheduled_at = models.DateTimeField(_("date and time"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    video_link = models.URLField(_("video link"), max_length=500, blank=True)
    state = FSMField(default=S.PLANNED, choices=S.choices, protected=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    minutes_html = models.TextField(blank=True)
    minutes_sha256 = models.CharField(max_length=64, blank=True)
    cancel_reason = models.TextField(blank=True)
    convocation_sequence = models.PositiveIntegerField(
        default=0, help_text="iCalendar SEQUENCE of the last convocation sent (0: the first one).")

    class Meta:
        db_table = "committees_session"
        ordering = ["-scheduled_at", "-id"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=S.values), name="session_state_valid"),
            models.CheckConstraint(
                condition=~Q(state=S.SIGNED) | (~Q(minutes_sha256="") & Q(signed_by__isnull=False)),
                name="session_signed_minutes_frozen",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.scheduled_at:%Y-%m-%d})"

    @transition(field=state, source=S.PLANNED, target=S.OPEN)
    def start(self):
        self.opened_at = timezone.now()

    @transition(field=state, source=S.OPEN, target=S.CLOSED)
    def close(self):
        self.closed_at = timezone.now()

    @transition(field=state, source=S.CLOSED, target=S.SIGNED)
    def sign(self, *, by):
        """The service renders and hashes the minutes before saving (see ``session_sign``)."""
        self.signed_at = timezone.now()
        self.signed_by = by

    @transition(field=state, source=S.PLANNED, target=S.CANCELLED)
    def cancel(self, reason: str):
        self.cancel_reason = reason


class Attendance(TimeStampedModel):
    """One member's invitation to a session and, once it is open, their presence. Quorum counts
    the present members by seat."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="attendances")
    member = models.ForeignKey("committees.Member", on_delete=models.PROTECT, related_name="attendances")
    status = models.CharField(_("attendance"), max_length=10, choices=AttendanceStatus.choices,
                              default=AttendanceStatus.INVITED)

    class Meta:
        db_table = "committees_attendance"
        ordering = ["session", "member__role", "member__user__last_name"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        constraints = [
            models.UniqueConstraint(fields=["session", "member"], name="attendance_one_per_member"),
            models.CheckConstraint(condition=Q(status__in=AttendanceStatus.values), name="attendance_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.member} at {self.session_id}: {self.status}"


IS = AgendaItemState


class AgendaItem(ConcurrentTransitionMixin, TimeStampedModel):
    """One point on a session's agenda: a case (with the reasons it is there), the follow-up of a
    corrective action, a vigilance report, or other business. A subject is on at most one agenda
    item per session; an item left undecided when the session closes is deferred, and the subject
    comes back on the next agenda."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveIntegerField()
    kind = models.CharField(_("kind"), max_length=20, choices=AgendaItemKind.choices)
    title = models.CharField(_("title"), max_length=200)
    reasons = models.JSONField(default=list, blank=True)
    campaign_case = models.ForeignKey("reviews.CampaignCase", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="agenda_items")
    action = models.ForeignKey("sittings.Action", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="agenda_items")
    vigilance_report = models.ForeignKey("vigilance.VigilanceReport", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="agenda_items")
    state = FSMField(default=IS.PENDING, choices=IS.choices, protected=True, db_index=True)

    class Meta:
        db_table = "committees_agendaitem"
        ordering = ["session", "position"]
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        constraints = [
            models.UniqueConstraint(fields=["session", "position"], name="agendaitem_position_unique"),
            models.UniqueConstraint(fields=["session", "campaign_case"], condition=Q(campaign_case__isnull=False),
                                    name="agendaitem_case_once"),
            models.UniqueConstraint(fields=["session", "action"], condition=Q(action__isnull=False),
                                    name="agendaitem_action_once"),
            models.UniqueConstraint(fields=["session", "vigilance_report"],
                                    condition=Q(vigilance_report__isnull=False), name="agendaitem_vigilance_once"),
            models.CheckConstraint(condition=Q(state__in=IS.values), name="agendaitem_state_valid"),
            models.CheckConstraint(
                condition=(
                    (Q(kind=AgendaItemKind.CASE) & Q(campaign_case__isnull=False) & Q(action__isnull=True)
                     & Q(vigilance_report__isnull=True))
                    | (Q(kind=AgendaItemKind.ACTION) & Q(action__isnull=False) & Q(campaign_case__isnull=True)
                       & Q(vigilance_report__isnull=True))
                    | (Q(kind=AgendaItemKind.VIGILANCE) & Q(vigilance_report__isnull=False)
                       & Q(campaign_case__isnull=True) & Q(action__isnull=True))
                    | (Q(kind=AgendaItemKind.OTHER) & Q(campaign_case__isnull=True) & Q(action__isnull=True)
                       & Q(vigilance_report__isnull=True))
                ),
                name="agendaitem_subject_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    @transition(field=state, source=IS.PENDING, target=IS.DECIDED)
    def decide(self):
        pass

    @transition(field=state, source=IS.PENDING, target=IS.DEFERRED)
    def defer(self):
        pass


class Decision(LockedRecord):
    """What the committee decided on an agenda item, under quorum: the discussion summary, the
    decision, the vote and the dissent. Written once; a case decision may set the case's reference
    label by consensus (``adjudication``)."""

    item = models.OneToOneField(AgendaItem, on_delete=models.PROTECT, related_name="decision")
    summary = models.TextField(_("discussion summary"))
    text = models.TextField(_("decision"))
    reference_label = models.CharField(_("reference label"), max_length=40, blank=True)
    adjudication = models.OneToOneField("reviews.Adjudication", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="decision")
    votes_for = models.PositiveSmallIntegerField(_("votes for"))
    votes_against = models.PositiveSmallIntegerField(_("votes against"))
    votes_abstain = models.PositiveSmallIntegerField(_("abstentions"))
    dissent = models.TextField(_("dissenting opinion"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "committees_decision"
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        constraints = [
            models.CheckConstraint(condition=Q(votes_against=0) | ~Q(dissent=""), name="decision_dissent_recorded"),
        ]

    def __str__(self) -> str:
        return f"Decision on agenda item {self.item_id}"

    @property
    def is_unanimous(self) -> bool:
        return self.votes_against == 0 and self.votes_abstain == 0


class Vote(TimeStampedModel):
    """One present member's vote on an agenda item: for, against or abstain, with their own
    dissenting opinion. Cast by the member, or by the chair on their behalf (``on_behalf``,
    audited as such), while the item is being discussed; the decision then counts them and links
    them (``decision``). Decisions recorded before votes were kept per member have no votes:
    their aggregated counts (``Decision.votes_*``) remain their record."""

    item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, related_name="votes")
    member = models.ForeignKey("committees.Member", on_delete=models.PROTECT, related_name="votes")
    choice = models.CharField(_("vote"), max_length=10, choices=VoteChoice.choices)
    dissent = models.TextField(_("dissenting opinion"), blank=True)
    decision = models.ForeignKey(Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="votes")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf = models.BooleanField(default=False)

    class Meta:
        ordering = ["item", "member__role", "member__user__last_name", "id"]
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [
            models.UniqueConstraint(fields=["item", "member"], name="vote_one_per_member"),
            models.CheckConstraint(condition=Q(choice__in=VoteChoice.values), name="vote_choice_valid"),
            models.CheckConstraint(condition=~Q(choice=VoteChoice.AGAINST) | ~Q(dissent=""),
                                   name="vote_against_has_dissent"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} on item {self.item_id}: {self.choice}"


class Comment(TimeStampedModel):
    """A member's comment on an agenda item or on the draft minutes, until the minutes are
    signed. Written once."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="comments")
    subject = models.CharField(_("about"), max_length=10, choices=CommentSubject.choices)
    item = models.ForeignKey(AgendaItem, null=True, blank=True, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("comment"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        constraints = [
            models.CheckConstraint(condition=Q(subject__in=CommentSubject.values), name="comment_subject_valid"),
            models.CheckConstraint(
                condition=(Q(subject=CommentSubject.ITEM, item__isnull=False)
                           | Q(subject=CommentSubject.MINUTES, item__isnull=True)),
                name="comment_item_matches_subject"),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} on session {self.session_id}"


X = ActionState


class Action(ConcurrentTransitionMixin, TimeStampedModel):
    """A corrective or preventive action (CAPA) decided by the committee, with its owner and due
    date, followed up on every later agenda until it is done or cancelled."""

    committee = models.ForeignKey("committees.Committee", on_delete=models.PROTECT, related_name="actions")
    decision = models.ForeignKey(Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="actions")
    ai_system = models.ForeignKey("cases.AISystem", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="actions")
    kind = models.CharField(_("kind"), max_length=20, choices=ActionKind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_actions")
    due_date = models.DateField(_("due date"))
    state = FSMField(default=X.OPEN, choices=X.choices, protected=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)

    class Meta:
        db_table = "committees_action"
        ordering = ["due_date", "id"]
        verbose_name = _("corrective action")
        verbose_name_plural = _("corrective actions")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=X.values), name="action_state_valid"),
            models.CheckConstraint(condition=Q(kind__in=ActionKind.values), name="action_kind_valid"),
            models.CheckConstraint(condition=~Q(state=X.DONE) | ~Q(outcome=""), name="action_done_has_outcome"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ACTION_STATES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_date < timezone.localdate()

    @transition(field=state, source=X.OPEN, target=X.IN_PROGRESS)
    def start(self):
        self.started_at = timezone.now()

    @transition(field=state, source=[X.OPEN, X.IN_PROGRESS], target=X.DONE)
    def complete(self, outcome: str):
        self.completed_at = timezone.now()
        self.outcome = outcome

    @transition(field=state, source=[X.OPEN, X.IN_PROGRESS], target=X.CANCELLED)
    def cancel(self, reason: str):
        self.cancel_reason = reason
