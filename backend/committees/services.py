"""Composing committees: creation, seats and terms of office."""

from datetime import date

from django.db import IntegrityError, transaction

from audit.services import audit_record
from common.exceptions import ValidationFailed, ensure

from .models import Committee, Member
from .permissions import can_manage_committees


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
