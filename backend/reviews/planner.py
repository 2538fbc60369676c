"""Sample-size planning and stratum allocation: pure functions, no ORM, no Django.

Sizes come from a target precision (a proportion such as an agreement rate or a sensitivity
known to ± ``half_width`` at ``confidence``), with the finite-population correction when the
population is known; for a sensitivity target, Buderer's formula (Acad Emerg Med 1996;3:895-900)
gives the diseased cases needed and, through the prevalence, the cases to screen. Anchors:
``tests/refdata/sample_size_anchors.csv``.

Allocation shares a total sample among strata (proportional, equal, or set per stratum), with
optional over-sampling weights, never giving a stratum more than it holds and always summing to
``min(n, population)``; rounding is by largest remainder, ties by stratum name, so that the
allocation is a pure function of its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

ALLOCATIONS = ("proportional", "equal", "set")


def z_for(confidence: float = 0.95) -> float:
    """Two-sided normal quantile: 1.959964 for 95 %."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def _check(p: float, half_width: float) -> None:
    if not 0 < p < 1:
        raise ValueError("the expected proportion must be between 0 and 1")
    if not 0 < half_width < 1:
        raise ValueError("the half-width must be between 0 and 1")


def n_infinite(p: float, half_width: float, confidence: float = 0.95) -> float:
    """Unrounded n = z² p(1-p) / d² (normal approximation)."""
    _check(p, half_width)
    return z_for(confidence) ** 2 * p * (1 - p) / half_width**2


def with_fpc(n0: float, population: int) -> float:
    """Finite-population correction n = n0 / (1 + (n0 - 1) / N)."""
    if population <= 0:
        return 0.0
    return n0 / (1 + (n0 - 1) / population)


def n_for_proportion(p: float = 0.5, half_width: float = 0.05, confidence: float = 0.95,
                     population: int | None = None) -> int:
    """Cases to review so that a proportion (e.g. agreement) is known to ± half_width.
    385 for p=0.5, d=0.05, 95 % in an infinite population."""
    n0 = n_infinite(p, half_width, confidence)
    if population is not None:
        return min(population, math.ceil(with_fpc(n0, population) - 1e-9))
    return math.ceil(n0 - 1e-9)


@dataclass(frozen=True)
class SensitivityPlan:
    diseased: int  # diseased cases needed (Buderer)
    total: int  # cases to screen at the given prevalence


def n_for_sensitivity(sensitivity: float = 0.9, half_width: float = 0.05, prevalence: float = 0.2,
                      confidence: float = 0.95, population: int | None = None) -> SensitivityPlan:
    """Buderer 1996: diseased = z² Se(1-Se)/d²; total = diseased / prevalence (both rounded up
    from the unrounded values: 139 and 692 for Se=0.90, d=0.05, prevalence 0.20)."""
    if not 0 < prevalence <= 1:
        raise ValueError("the prevalence must be between 0 and 1")
    diseased = n_infinite(sensitivity, half_width, confidence)
    total = diseased / prevalence
    if population is not None:
        total = min(population, with_fpc(total, population))
        diseased = min(diseased, total * prevalence)
    return SensitivityPlan(diseased=math.ceil(diseased - 1e-9), total=math.ceil(total - 1e-9))


def _largest_remainder(n: int, shares: Mapping[str, float]) -> dict[str, int]:
    floors = {k: math.floor(v) for k, v in shares.items()}
    left = n - sum(floors.values())
    order = sorted(shares, key=lambda k: (-(shares[k] - floors[k]), k))
    for k in order[:left]:
        floors[k] += 1
    return floors


def allocate(n: int, population: Mapping[str, int], *, method: str = "proportional",
             sizes: Mapping[str, int] | None = None, weights: Mapping[str, float] | None = None) -> dict[str, int]:
    """Sample size per stratum.

    ``proportional``: n_h ∝ w_h N_h (w_h the over-sampling weight, 1 by default);
    ``equal``: n_h ∝ w_h; ``set``: n_h = sizes[h] (capped at N_h, ``n`` ignored).
    A stratum never gets more than N_h; what it cannot take goes to the others."""
    if method not in ALLOCATIONS:
        raise ValueError(f"unknown allocation {method!r}; one of {', '.join(ALLOCATIONS)}")
    strata = {k: int(v) for k, v in population.items() if v > 0}
    if method == "set":
        sizes = sizes or {}
        unknown = sorted(set(sizes) - set(population))
        if unknown:
            raise ValueError(f"no such stratum: {', '.join(unknown)}")
        return {k: min(int(sizes.get(k, 0)), population[k]) for k in sorted(population)}
    weights = weights or {}
    if any(w <= 0 for w in weights.values()):
        raise ValueError("over-sampling weights must be positive")
    result = dict.fromkeys(sorted(population), 0)
    remaining = min(n, sum(strata.values()))
    active = dict(strata)
    while remaining > 0 and active:
        score = {k: weights.get(k, 1.0) * (active[k] if method == "proportional" else 1.0) for k in active}
        total = sum(score.values())
        shares = {k: remaining * s / total for k, s in score.items()}
        capped = [k for k in active if shares[k] >= active[k]]
        if not capped:
            for k, v in _largest_remainder(remaining, shares).items():
                result[k] += v
            break
        for k in capped:
            result[k] += active.pop(k)
            remaining -= strata[k]
    return result
