"""Which reviewers may read a sampled case, and which of them gets it.

Rules, in order: the reviewer holds a role that may read blind (``REVIEWER_ROLES``) and sits on
the campaign's committee in a reading seat for the kind of review; clinicians hold the
campaign's required specialty, if any; nobody with a declared conflict on the AI system or its
vendor; never a case they signed (clinician pseudonym, compared under the case's key: see
``Reader.signed``); never a case from their own service
(resp. site) when the campaign says so; never a case from a service or site they declared a
conflict with; never twice the same case. Among those eligible, the least loaded in this campaign is chosen, ties
broken by the campaign's seeded generator, so that a re-run with the same seed gives the same
assignment.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Prefetch
from django.utils import timezone

from accounts.enums import REVIEWER_ROLES
from cases.pseudonymization import UnknownPseudonymKey, key_ring
from committees.enums import READER_SEATS, ConflictKind, MemberRole
from committees.models import DeclaredConflict, Member

from .enums import AssignmentKind
from .models import Campaign


@dataclass
class Reader:
    user_id: int
    service: str
    clinician_pseudonym: str
    site: str = ""
    load: int = 0
    conflict_services: set[str] = field(default_factory=set)
    conflict_sites: set[str] = field(default_factory=set)
    # Key id → the reader's clinician pseudonym under that key (current and retired keys).
    signer_pseudonyms: dict[str, str] = field(default_factory=dict)

    def signed(self, signer: str, signer_key_id: str = "") -> bool:
        """Whether the reader may be the case's signer. Pseudonyms made with different keys never
        compare equal, so the signer is compared with the reader's pseudonym under the case's key.
        A reader known as a clinician but not under that key (a key rotation they were not yet
        re-keyed for) cannot be told apart from the signer: they are treated as the signer (fail
        closed) until ``rekey_pseudonyms`` gives them a pseudonym under that key."""
        if not signer:
            return False
        if not signer_key_id:
            return self.clinician_pseudonym == signer
        if not self.signer_pseudonyms:
            return False
        mine = self.signer_pseudonyms.get(signer_key_id)
        return mine is None or mine == signer

    def may_read(self, *, service: str, site: str, signer: str, own_service: bool, own_site: bool,
                 signer_key_id: str = "") -> bool:
        return not (
            self.signed(signer, signer_key_id)
            or (own_service and service and self.service == service)
            or (own_site and site and self.site == site)
            or (service and service.casefold() in self.conflict_services)
            or (site and site.casefold() in self.conflict_sites)
        )


@dataclass
class Pool:
    readers: list[Reader]
    rng: np.random.Generator
    exclude_own_service: bool
    exclude_own_site: bool = False
    seen: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    # Ids of the pseudonymization key ring: a signer under another key cannot be compared.
    key_ids: frozenset[str] = frozenset()

    def pick(self, *, case_id: int, service: str, signer: str, k: int, exclude: set[int], site: str = "",
             only: int | None = None, signer_key_id: str = "") -> list[int]:
        """``k`` eligible readers for the case, least loaded first (``only``: that reader or none).
        ``signer_key_id`` is the case's key id (``UnknownPseudonymKey`` when the ring lacks it)."""
        if signer and signer_key_id and self.key_ids and signer_key_id not in self.key_ids:
            raise UnknownPseudonymKey([signer_key_id], "the sampled cases")
        eligible = [
            r for r in self.readers
            if r.user_id not in exclude
            and (only is None or r.user_id == only)
            and r.user_id not in self.seen[case_id]
            and r.may_read(service=service, site=site, signer=signer, own_service=self.exclude_own_service,
                           own_site=self.exclude_own_site, signer_key_id=signer_key_id)
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
    """The eligible readers of the campaign by kind of review (clinician, patient
    representative), under the rules above, each with their site, service and declared conflicts;
    ``rng`` breaks ties between equally loaded readers. Two queries (members with their users,
    their open conflicts); no lock."""
    today = timezone.localdate()
    members = (
        Member.objects.active_on(today)
        # Only roles that may read blind: a quality or admin account sees every case's AI output.
        .filter(committee_id=campaign.committee_id, user__is_active=True, user__role__in=REVIEWER_ROLES)
        .select_related("user")
        .prefetch_related(Prefetch("conflicts", queryset=DeclaredConflict.objects.filter(withdrawn_at__isnull=True),
                                   to_attr="open_conflicts"))
        .order_by("user_id")
    )
    ai = campaign.ai_system
    required = campaign.required_specialty.strip().casefold()
    barred = {m.user_id for m in members if any(c.applies_to_campaign(ai) for c in m.open_conflicts)}
    by_kind: dict[str, dict[int, Reader]] = {AssignmentKind.CLINICIAN: {}, AssignmentKind.PATIENT_REP: {}}
    for m in members:
        if m.role in READER_SEATS:
            kind = AssignmentKind.CLINICIAN
        elif m.role == MemberRole.PATIENT_REP:
            kind = AssignmentKind.PATIENT_REP
        else:
            continue
        if m.user_id in barred:
            continue
        if kind == AssignmentKind.CLINICIAN and required and (m.specialty or m.user.specialty).casefold() != required:
            continue
        reader = by_kind[kind].setdefault(
            m.user_id, Reader(m.user_id, m.service or m.user.service, m.user.clinician_pseudonym,
                              site=m.site or m.user.site, signer_pseudonyms=m.user.signer_pseudonyms())
        )
        for c in m.open_conflicts:
            if c.kind == ConflictKind.SERVICE:
                reader.conflict_services.add(c.value.casefold())
            elif c.kind == ConflictKind.SITE:
                reader.conflict_sites.add(c.value.casefold())
    key_ids = frozenset(key_ring().key_ids)
    return {
        kind: Pool(list(readers.values()), rng, campaign.exclude_own_service, campaign.exclude_own_site,
                   key_ids=key_ids)
        for kind, readers in by_kind.items()
    }
