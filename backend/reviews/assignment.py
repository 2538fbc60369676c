"""Choosing reviewers for sampled cases.

Rules, in order: the reviewer holds a role that may read blind (``REVIEWER_ROLES``) and sits on
the campaign's committee in a reading seat for the kind of review; never a case they signed
(clinician pseudonym); never a case from their own service when the campaign says so; never
twice the same case. Among those eligible, the least loaded in this campaign is chosen, ties
broken by the campaign's seeded generator, so that a re-run with the same seed gives the same
assignment.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.utils import timezone

from accounts.enums import REVIEWER_ROLES
from committees.enums import READER_SEATS, MemberRole
from committees.models import Member

from .enums import AssignmentKind
from .models import Campaign


@dataclass
class Reader:
    user_id: int
    service: str
    clinician_pseudonym: str
    load: int = 0


@dataclass
class Pool:
    readers: list[Reader]
    rng: np.random.Generator
    exclude_own_service: bool
    seen: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def pick(self, *, case_id: int, service: str, signer: str, k: int, exclude: set[int]) -> list[int]:
        eligible = [
            r for r in self.readers
            if r.user_id not in exclude
            and r.user_id not in self.seen[case_id]
            and not (signer and r.clinician_pseudonym == signer)
            and not (self.exclude_own_service and service and r.service == service)
        ]
        if len(eligible) < k:
            return []
        ties = self.rng.random(len(eligible))
        order = sorted(range(len(eligible)), key=lambda i: (eligible[i].load, ties[i]))
        chosen = [eligible[i] for i in order[:k]]
        for reader in chosen:
            reader.load += 1
            self.seen[case_id].add(reader.user_id)
        return [r.user_id for r in chosen]


def reader_pools(campaign: Campaign, *, rng: np.random.Generator) -> dict[str, Pool]:
    today = timezone.localdate()
    members = (
        Member.objects.active_on(today)
        # Only roles that may read blind: a quality or admin account sees every case's AI output.
        .filter(committee_id=campaign.committee_id, user__is_active=True, user__role__in=REVIEWER_ROLES)
        .select_related("user")
        .order_by("user_id")
    )
    by_kind: dict[str, dict[int, Reader]] = {AssignmentKind.CLINICIAN: {}, AssignmentKind.PATIENT_REP: {}}
    for m in members:
        if m.role in READER_SEATS:
            kind = AssignmentKind.CLINICIAN
        elif m.role == MemberRole.PATIENT_REP:
            kind = AssignmentKind.PATIENT_REP
        else:
            continue
        by_kind[kind].setdefault(
            m.user_id, Reader(m.user_id, m.service or m.user.service, m.user.clinician_pseudonym)
        )
    return {
        kind: Pool(list(readers.values()), rng, campaign.exclude_own_service)
        for kind, readers in by_kind.items()
    }
