"""Composing committees: creation (with its quorum rule), seats and terms of office, declared
conflicts of interest. Nothing here deletes a row: an ended term and a withdrawn conflict stay as
history. Every write is audited in the same transaction. Changing the quorum rule later depends on
the sittings (refused while one sits): ``sittings.services.committee_set_quorum``."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from cases.models import AISystem
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure

from .enums import ConflictKind
from .models import Committee, DeclaredConflict, Member
from .permissions import can_declare_conflict, can_manage_committee, can_manage_committees

QUORUM_MAX = 99
"""Upper bound of either quorum count: a sanity limit, far above any committee's size."""


def validate_quorum(clinicians, patient_reps, *, prefix: str = "") -> None:
    """``clinicians`` at least 1 (a decision always needs a clinician in the room), ``patient_reps``
    at least 0; both whole numbers up to ``QUORUM_MAX``. Raises ``ValidationFailed`` naming the
    field(s)."""
    errors = {}
    for name, value, low in (("clinicians", clinicians, 1), ("patient_reps", patient_reps, 0)):
        if isinstance(value, bool) or not isinstance(value, int):
            errors[prefix + name] = ["a whole number is required"]
        elif value < low:
            errors[prefix + name] = [f"at least {low}"]
        elif value > QUORUM_MAX:
            errors[prefix + name] = [f"at most {QUORUM_MAX}"]
    if errors:
        raise ValidationFailed("Invalid quorum rule.", extra=errors)


def committee_create(*, actor, name: str, hospital_group: str, description: str = "",
                     ai_system_ids: list[int] | None = None, quorum_clinicians: int | None = None,
                     quorum_patient_reps: int | None = None) -> Committee:
    """Create a committee. The quorum counts are optional (the model's defaults, 2 clinicians and
    1 patient representative, apply otherwise) and validated by ``validate_quorum``. Every id
    in ``ai_system_ids`` must be a registered AI system (a 400 naming the unknown ones, checked
    before any write, rather than a foreign-key failure at commit); the name must be free (a 400 on
    ``name``, also when a concurrent request took it first)."""
    ensure_no_identifiers(fields={"name": name, "hospital_group": hospital_group, "description": description})
    ensure(can_manage_committees(actor), "Only the quality team or committee officers can create committees.")
    ai_system_ids = sorted(set(ai_system_ids or []))
    unknown = sorted(set(ai_system_ids) - set(AISystem.objects.filter(pk__in=ai_system_ids)
                                              .values_list("pk", flat=True)))
    if unknown:
        raise ValidationFailed("Unknown AI system.",
                               extra={"ai_system_ids": [f"No AI system with id {pk}." for pk in unknown]})
    given = {"quorum_clinicians": quorum_clinicians, "quorum_patient_reps": quorum_patient_reps}
    quorum = {}
    if any(v is not None for v in given.values()):
        quorum = {f: Committee._meta.get_field(f).default if v is None else v for f, v in given.items()}
        validate_quorum(quorum["quorum_clinicians"], quorum["quorum_patient_reps"], prefix="quorum_")
    taken = ValidationFailed("A committee with this name exists already.", extra={"name": ["already used"]})
    if Committee.objects.filter(name=name).exists():
        raise taken
    with transaction.atomic():
        try:
            with transaction.atomic():
                committee = Committee.objects.create(name=name, hospital_group=hospital_group,
                                                     description=description, **quorum)
        except IntegrityError as exc:  # the only unique column is the name
            raise taken from exc
        if ai_system_ids:
            committee.ai_systems.set(ai_system_ids)
        audit_record(actor=actor, action="committee.create", target=committee,
                     data={"name": name, "ai_systems": ai_system_ids,
                           "quorum_clinicians": committee.quorum_clinicians,
                           "quorum_patient_reps": committee.quorum_patient_reps})
    return committee


def member_add(*, actor, committee: Committee, user, role: str, term_start: date, specialty: str = "",
               site: str = "", service: str = "", declared_conflicts: str = "", term_end: date | None = None) -> Member:
    """Give a user a seat. One open seat of a given kind per user and committee."""
    ensure_no_identifiers(fields={"specialty": specialty, "site": site, "service": service,
                                  "declared_conflicts": declared_conflicts})
    ensure(can_manage_committee(actor, committee.pk), "Only the quality team or the committee's officers can "
                                                       "compose it.")
    if not user.is_active:
        raise ValidationFailed("Choose an active user.", extra={"user": ["an active user is required"]})
    if term_end is not None and term_end < term_start:
        raise ValidationFailed("A term cannot end before it starts.", extra={"term_end": ["before term_start"]})
    try:
        with transaction.atomic():
            member = Member.objects.create(
                committee=committee, user=user, role=role, term_start=term_start, term_end=term_end,
                specialty=specialty, site=site, service=service, declared_conflicts=declared_conflicts,
            )
            audit_record(actor=actor, action="member.add", target=member,
                         data={"committee": committee.pk, "user": user.pk, "role": role,
                               "term_start": term_start, "term_end": term_end})
    except IntegrityError as exc:
        raise ValidationFailed(
            f"{user} already holds an open {role} seat on this committee.", extra={"user": ["duplicate seat"]}
        ) from exc
    return member


def term_has_ended(member: Member, *, today: date | None = None) -> bool:
    """A term has ended once its end date is past; a term ending today still runs today."""
    return member.term_end is not None and member.term_end < (today or timezone.localdate())


def member_end_term(*, actor, member: Member, term_end: date) -> Member:
    """End a term of office; the row stays as membership history.

    Refused (409) for a term that has already ended (``term_has_ended``); a term with a planned
    end still to come may be ended earlier or later. Allowed while the member still holds blind
    reviews: those are the quality team's to reassign, and nothing about them (cases, labels,
    counts) is read, returned or audited here. Locks the member row."""
    ensure(can_manage_committee(actor, member.committee_id), "Only the quality team or the committee's officers "
                                                              "can compose it.")
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        if term_has_ended(member):
            raise TransitionNotAllowed("This term of office has already ended.",
                                       extra={"term_end": [str(member.term_end)], "state": "ended"})
        if term_end < member.term_start:
            raise ValidationFailed("A term cannot end before it starts.", extra={"term_end": ["before term_start"]})
        previous = member.term_end
        member.term_end = term_end
        member.save(update_fields=["term_end", "updated_at"])
        audit_record(actor=actor, action="member.end_term", target=member,
                     data={"term_end": term_end, "previous_term_end": previous})
    return member


def conflict_declare(*, actor, member: Member, kind: str, ai_system=None, value: str = "",
                     description: str = "") -> DeclaredConflict:
    """Declare a conflict of interest for a seat: the member themself or the committee's
    managers. Applied by assignment from the next draw or reassignment on (an assignment
    already made is declined by the reviewer, or reassigned by the quality team)."""
    ensure_no_identifiers(fields={"value": value, "description": description})
    ensure(can_declare_conflict(actor, member), "Only the member or the committee's managers can declare this.")
    value = value.strip()
    if kind not in ConflictKind.values:
        raise ValidationFailed("Unknown kind of conflict.", extra={"kind": [f"One of {ConflictKind.values}"]})
    if (kind == ConflictKind.AI_SYSTEM) != (ai_system is not None) or (kind != ConflictKind.AI_SYSTEM and not value):
        field = "ai_system" if kind == ConflictKind.AI_SYSTEM else "value"
        raise ValidationFailed("Say what the conflict is about.", extra={field: ["required for this kind"]})
    with transaction.atomic():
        conflict = DeclaredConflict.objects.create(
            member=member, kind=kind, ai_system=ai_system if kind == ConflictKind.AI_SYSTEM else None,
            value="" if kind == ConflictKind.AI_SYSTEM else value, description=description.strip())
        audit_record(actor=actor, action="member.declare_conflict", target=member, data={
            "conflict": conflict.pk, "kind": kind, "ai_system": conflict.ai_system_id, "value": conflict.value})
    return conflict


def conflict_withdraw(*, actor, conflict: DeclaredConflict) -> DeclaredConflict:
    """Withdraw a declared conflict: the member themself or the committee's managers. The row is
    kept with ``withdrawn_at`` (assignment ignores it from the next draw on); withdrawing twice is
    refused (409). Locks the conflict row."""
    ensure(can_declare_conflict(actor, conflict.member),
           "Only the member or the committee's managers can withdraw this.")
    with transaction.atomic():
        conflict = DeclaredConflict.objects.select_for_update().select_related("member").get(pk=conflict.pk)
        if conflict.withdrawn_at is not None:
            raise TransitionNotAllowed("This conflict of interest has already been withdrawn.",
                                       extra={"state": "withdrawn"})
        conflict.withdrawn_at = timezone.now()
        conflict.save(update_fields=["withdrawn_at", "updated_at"])
        audit_record(actor=actor, action="member.withdraw_conflict", target=conflict.member, data={
            "conflict": conflict.pk, "kind": conflict.kind, "ai_system": conflict.ai_system_id,
            "value": conflict.value})
    return conflict
