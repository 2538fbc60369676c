"""Design-weighted population estimates of a proportion from the cases' inclusion probabilities.

A campaign re-reads a sample of cases drawn with known inclusion probabilities (stratified by
site, AI output, etc., with unequal probabilities). The unweighted share of agreement in the
sample estimates the agreement of the *sample*; weighting every case by ``1 / pi_i`` estimates
that of the *population* of cases the AI processed.
"""

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .agreement import _missing_mask, _natives, _object_array
from .proportions import _beta_ppf, _check_alpha, _two_sided_t

__all__ = ["WeightedProportion", "design_weighted_proportion"]

INTERVAL = "korn-graubard (clopper-pearson, effective sample size)"


@dataclass(frozen=True, slots=True)
class WeightedProportion:
    """A design-weighted (Hajek) proportion with its linearization standard error and interval.

    ``n`` counts the sampled cases in the domain, ``n_sample`` all sampled cases;
    ``population_size`` is the estimated number of population cases in the domain
    (``sum w_i d_i``); ``n_effective = p (1 - p) / se^2`` and ``design_effect = n / n_effective``
    (Kish). ``estimate`` is NaN and the interval (0, 1) when the domain is empty.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    n_sample: int
    n_effective: float
    design_effect: float
    population_size: float
    method: str = INTERVAL
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable dict; NaN becomes ``None``."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def _korn_graubard(p: float, n_eff: float, alpha: float) -> tuple[float, float]:
    """Clopper-Pearson limits for ``x = p n_eff`` successes out of ``n_eff`` (both real-valued)."""
    x = p * n_eff
    low = 0.0 if p <= 0.0 else _beta_ppf(alpha / 2.0, x, n_eff - x + 1.0)
    high = 1.0 if p >= 1.0 else _beta_ppf(1.0 - alpha / 2.0, x + 1.0, n_eff - x)
    return low, high


def design_weighted_proportion(
    success: Iterable[Any],
    inclusion_probability: Iterable[float],
    in_domain: Iterable[bool] | None = None,
    strata: Iterable[Hashable] | None = None,
    stratum_population: Mapping[Hashable, int] | None = None,
    alpha: float = 0.05,
) -> WeightedProportion:
    """Hajek estimate of a population proportion, stratified linearization variance, Korn-Graubard interval.

    One entry per **sampled** case, in domain or not: ``success`` (bool/0-1; a missing value
    takes the case out of the domain), its ``inclusion_probability`` ``pi_i`` in (0, 1], and
    optionally ``in_domain`` (e.g. reference positive, for a sensitivity; default: every case
    with a non-missing ``success``) and its stratum. Keep the out-of-domain cases: they count in
    their stratum's sample size, which the variance of a domain estimate needs.

    Estimator (Hajek J, 1971; Sarndal, Swensson, Wretman, *Model Assisted Survey Sampling*
    (1992), sections 5.7 and 10.3): with ``w_i = 1 / pi_i`` and ``d_i`` the domain indicator,
    the ratio of two Horvitz-Thompson totals::

        p = sum_i w_i d_i y_i / sum_i w_i d_i

    (the Horvitz-Thompson estimator ``sum w d y / N_d`` needs the domain size ``N_d``, rarely
    known; the ratio form is also more stable under unequal weights).

    Variance by Taylor linearization with the usual with-replacement approximation between
    sampled cases within strata (Wolter, *Introduction to Variance Estimation*, 2nd ed., 2007,
    ch. 6; what R ``survey::svymean`` on ``svydesign(ids=~1, strata=, probs=, fpc=)``
    computes)::

        z_i = w_i d_i (y_i - p) / sum_j w_j d_j
        var = sum_h (1 - f_h) n_h / (n_h - 1) sum_{i in h} (z_i - mean_h z)^2

    with ``f_h = n_h / N_h`` when ``stratum_population`` gives the stratum population sizes
    ``N_h`` (finite-population correction), else ``f_h = 0``. A stratum with a single sampled
    case contributes nothing (``survey.lonely.psu = "certainty"``).

    Interval: Korn-Graubard, i.e. the Clopper-Pearson interval computed with the effective
    sample size ``n_eff = p (1 - p) / var`` in place of ``n`` and ``p n_eff`` successes, ``n_eff``
    being first multiplied by ``(t_{n-1} / t_{df})^2`` with ``df = n_sample - number of strata``
    (Korn EL, Graubard BI, Survey Methodology 1998;24:193-201; R ``survey::svyciprop(method =
    "beta")``). It stays inside [0, 1] and exists at ``p`` = 0 or 1, where ``var = 0`` and
    ``n_eff`` falls back to the domain sample size ``n``. ``n_eff`` is capped at ``n`` (Korn and
    Graubard's truncation): when a heavily weighted stratum shows no failure in the sample, its
    estimated variance is 0 and the uncapped ``n_eff`` runs far above ``n``, which shrank the
    interval until it covered a true proportion of 0.955 only 78 % of the time in the seeded
    simulation of the tests (94 % with the cap). Chosen over a Wilson interval with effective
    ``n`` because, in that simulation (stratified systematic PPS, heavy weights), Wilson covered
    a 55-case domain only about 91-92 % of the time against about 94 % here. ``design_effect``
    is ``n / n_eff`` (so never below 1) before the degrees-of-freedom factor.
    """
    alpha = _check_alpha(alpha)
    values = _natives(success)
    probabilities = np.fromiter(map(float, inclusion_probability), dtype=float)
    n_sample = len(values)
    if probabilities.shape != (n_sample,):
        raise ValueError("success and inclusion_probability must have the same length")
    if n_sample and not (np.all(probabilities > 0) and np.all(probabilities <= 1)):
        raise ValueError("inclusion probabilities must lie in (0, 1]")
    present = ~_missing_mask(values)
    answered = _object_array(values)
    answered[~present] = False
    y = answered.astype(bool).astype(float)  # truth value of each answer, as bool(v)
    domain = present.copy()
    if in_domain is not None:
        domain_given = np.fromiter(map(bool, in_domain), dtype=bool)
        if domain_given.shape != (n_sample,):
            raise ValueError("in_domain must have the same length as success")
        domain &= domain_given
    stratum_labels = [None] * n_sample if strata is None else _natives(strata)
    if len(stratum_labels) != n_sample:
        raise ValueError("strata must have the same length as success")

    n = int(domain.sum())
    nan = math.nan
    if n == 0:
        return WeightedProportion(nan, nan, 0.0, 1.0, 0, n_sample, nan, nan, 0.0, INTERVAL, alpha)

    w = 1.0 / probabilities
    wd = w * domain
    population_size = float(wd.sum())
    p = float((wd * y).sum()) / population_size
    z_i = wd * (y - p) / population_size

    variance = 0.0
    # Strata in order of first appearance, each with its cases in sample order (a stable sort of
    # the stratum codes), as a dict of lists would group them.
    groups = {label: i for i, label in enumerate(dict.fromkeys(stratum_labels))}
    code = np.fromiter(map(groups.__getitem__, stratum_labels), dtype=np.intp, count=n_sample)
    order = np.argsort(code, kind="stable")
    stops = np.cumsum(np.bincount(code, minlength=len(groups))).tolist()
    for label, start, stop in zip(groups, [0, *stops[:-1]], stops, strict=True):
        members = order[start:stop]
        n_h = stop - start
        if n_h < 2:
            continue
        fpc = 1.0
        if stratum_population is not None:
            if label not in stratum_population:
                raise ValueError(f"stratum_population has no size for stratum {label!r}")
            big_n = stratum_population[label]
            if big_n < n_h:
                raise ValueError(f"stratum {label!r}: population size {big_n} is below its sample size {n_h}")
            fpc = 1.0 - n_h / big_n
        zh = z_i[members]
        variance += fpc * n_h / (n_h - 1.0) * float(((zh - zh.mean()) ** 2).sum())

    se = math.sqrt(variance)
    if variance > 0 and 0.0 < p < 1.0:
        n_eff = min(p * (1.0 - p) / variance, float(n))
    else:
        n_eff = float(n)
    degrees_of_freedom = n_sample - len(groups)
    factor = 1.0
    if n_sample >= 2 and degrees_of_freedom >= 1:
        factor = (_two_sided_t(alpha, n_sample - 1.0) / _two_sided_t(alpha, float(degrees_of_freedom))) ** 2
    low, high = _korn_graubard(p, n_eff * factor, alpha)
    return WeightedProportion(
        estimate=p,
        se=se,
        ci_low=low,
        ci_high=high,
        n=n,
        n_sample=n_sample,
        n_effective=n_eff,
        design_effect=n / n_eff,
        population_size=population_size,
        method=INTERVAL,
        alpha=alpha,
    )
