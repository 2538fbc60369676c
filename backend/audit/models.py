"""Append-only, keyed, hash-chained audit trail in lanes.

Each event stores the HMAC-SHA256, under the audit key held outside the database
(``audit.keys``), of its canonical content, which includes the hash of the event before it in its
lane (``prev_hash``), its lane and its position in that lane (``seq``). Changing, deleting or
reordering a row breaks its lane from that row on, and a database administrator who rewrites rows
cannot recompute the hashes without the key. Signed checkpoints of every lane's head, written to an
append-only file on other storage (``audit.anchors``), pin the trail's length, so that a truncated
or emptied trail is caught too.

Why lanes. A single chain needs a single head, locked by every audited write until its transaction
commits: every audited write of the product queued behind every other. The trail is instead
``AUDIT_LANES`` independent chains (lanes), one ``ChainHead`` row each. A writer takes the first head
nobody holds (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL) and waits only when every lane is
busy; up to ``AUDIT_LANES`` transactions append at the same time. Tamper evidence is unchanged:
each lane is a complete hash chain, every checkpoint signs all lanes together, and events keep the
global ``id`` order for reading (within a lane, ids grow with ``seq`` because the lane stays locked
until the writer commits).

Events written before the keyed chain existed (``key_id`` empty) keep their unkeyed SHA-256 and
form the beginning of lane 1; see ``audit.services.audit_verify`` for how they are accepted.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64
LEGACY_KEY_ID = ""


class AppendOnlyError(Exception):
    pass


class AuditEvent(models.Model):
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    lane = models.PositiveSmallIntegerField(_("lane"), default=1)
    seq = models.PositiveBigIntegerField(_("position in lane"))
    key_id = models.CharField(_("key id"), max_length=32, blank=True, default=LEGACY_KEY_ID)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["object_type", "object_id"])]
        constraints = [models.UniqueConstraint(fields=["lane", "seq"], name="audit_event_one_per_lane_position")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only.")


class ChainHead(models.Model):
    """The last link of one lane; locked by the append that extends it until its transaction ends.

    A head is a lock and a cache, not evidence: the verifier trusts only the events, the key and
    the checkpoints. A missing head is rebuilt from its lane's last event."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id__gte=1), name="audit_chain_head_lane_number")]

    def __str__(self) -> str:
        return f"Audit lane {self.id} after {self.count} events"
