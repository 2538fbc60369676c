"""Composing committees: creation, seats and terms of office."""

from datetime import date

from django.db import IntegrityError, transaction

from audit.services import audit_record
from common.exceptions import ValidationFailed, ensure

from ..enums import ConflictKind
from ..models import Committee, DeclaredConflict, Member
from ..permissions import can_declare_conflict, can_manage_committees


def committee_create(*, actor, name: str, hospital_group: str, description: str = "",
                     ai_system_ids: list[int] | None = None) -> Committee:
    ensure(can_manage_committees(actor), "Only the quality team or committee officers can create committees.")
    with transaction.atomic():
        committee = Committee.objects.create(name=name, hospital_group=hospital_group, description=description)
        if ai_system_ids:
            committee.ai_systems.set(ai_system_ids)
        audit_record(actor=actor, action="committee.create", target=committee,
                     data={"name": name, "ai_systems": sorted(ai_system_ids or [])})
    return committee


def member_add(*, actor, committee: Committee, user, role: str, term_start: date, specialty: str = "",
               site: str = "", service: str = "", declared_conflicts: str = "", term_end: date | None = None) -> Member:
    """Give a user a seat. One open seat of a given kind per user and committee."""
    ensure(can_manage_committees(actor), "Only the quality team or committee officers can compose committees.")
    try:
        with transaction.atomic():
            member = Member.objects.create(
                committee=committee, user=user, role=role, term_start=term_start, term_end=term_end,
                specialty=specialty, site=site, service=service, declared_conflicts=declared_conflicts,
            )
            audit_record(actor=actor, action="member.add", target=member,
                         data={"committee": committee.pk, "user": user.pk, "role": role})
    except IntegrityError as exc:
        raise ValidationFailed(
            f"{user} already holds an open {role} seat on this committee.", extra={"user": ["duplicate seat"]}
        ) from exc
    return member


def member_end_term(*, actor, member: Member, term_end: date) -> Member:
    """End a term of office; the row stays as membership history."""
    ensure(can_manage_committees(actor))
    if term_end < member.term_start:
        raise ValidationFailed("A term cannot end before it starts.", extra={"term_end": ["before term_start"]})
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        member.term_end = term_end
        member.save(update_fields=["term_end", "updated_at"])
        audit_record(actor=actor, action="member.end_term", target=member, data={"term_end": term_end})
    return member


def conflict_declare(*, actor, member: Member, kind: str, ai_system=None, value: str = "",
                     description: str = "") -> DeclaredConflict:
    """Declare a conflict of interest for a seat: the member themself or the committee's
    managers. Applied by assignment from the next draw or reassignment on (an assignment
    already made is declined by the reviewer, or reassigned by the quality team)."""
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
