"""Drawing a reproducible simple random sample of a campaign's population.

The population is ordered by ``source_key`` (an HMAC, so the order is stable across databases and
says nothing about the cases) and hashed, then ``numpy.random.Generator(PCG64(seed))`` picks
positions without replacement: the same seed on the same population gives the same sample on
SQLite and on PostgreSQL.
"""

import hashlib
from dataclasses import dataclass

import numpy as np
from django.db.models import QuerySet

from cases.models import Case, OptOut

from .enums import CampaignState
from .models import Campaign, CampaignCase


@dataclass(frozen=True)
class Sample:
    case_ids: list[int]
    population_size: int
    population_hash: str
    inclusion_probability: float


def campaign_population(campaign: Campaign) -> QuerySet[Case]:
    """The AI system's cases in the period and scope, minus opted-out patients and minus cases
    already drawn into another (non-cancelled) campaign of the same AI system."""
    qs = Case.objects.filter(
        ai_system_id=campaign.ai_system_id,
        exam_date__gte=campaign.period_start,
        exam_date__lte=campaign.period_end,
        is_opted_out=False,
    ).exclude(patient_pseudonym__in=OptOut.objects.values("patient_pseudonym"))
    if campaign.sites:
        qs = qs.filter(site__in=campaign.sites)
    already = CampaignCase.objects.filter(campaign__ai_system_id=campaign.ai_system_id).exclude(
        campaign__state=CampaignState.CANCELLED
    ).exclude(campaign_id=campaign.pk)
    return qs.exclude(pk__in=already.values("case_id"))


def draw_simple_random_sample(campaign: Campaign, *, seed: int) -> Sample:
    rows = list(campaign_population(campaign).order_by("source_key").values_list("id", "source_key"))
    digest = hashlib.sha256()
    for _, key in rows:
        digest.update(key.encode())
        digest.update(b"\n")
    population = len(rows)
    n = min(campaign.sample_size, population)
    rng = np.random.Generator(np.random.PCG64(seed))
    positions = np.sort(rng.choice(population, size=n, replace=False)) if n else np.array([], dtype=int)
    return Sample(
        case_ids=[rows[int(i)][0] for i in positions],
        population_size=population,
        population_hash=digest.hexdigest(),
        inclusion_probability=(n / population) if population else 0.0,
    )
