"""Confidence intervals for Cohen's kappa that stay inside [-1, 1] and do not collapse in small samples.

The large-sample Wald interval ``kappa -/+ z se`` with the Fleiss-Cohen-Everitt standard error
is accurate when the sample is large and the table is not degenerate. It fails in the samples a
collège de garantie humaine actually reads (a few dozen cases, rare findings):

* it can leave the parameter space (an upper bound above 1 on 6 cases with kappa 1/3);
* it collapses to a single point when the estimated variance is 0: perfect agreement gives
  ``[1, 1]`` whatever ``n``, two raters constant on different labels give ``[0, 0]``, which
  reads as certainty where 8 cases carry very little information.

:func:`kappa_interval` therefore chooses the method (the *switch rule*):

* ``"wald"`` when ``n`` is not :func:`~concordance.sample.too_small` (30 or more) and the
  Fleiss-Cohen-Everitt standard error is
  positive: the large-sample interval, unchanged where it was validated against statsmodels,
  **truncated to [-1, 1]** (a Wald interval knows nothing of the bounds of the parameter; the
  truncation only removes values kappa cannot take);
* otherwise (``n < 30``, or a zero standard error at any ``n``):

  - two categories used (``"goodness-of-fit"``): the goodness-of-fit interval of Donner A,
    Eliasziw M, Stat Med 1992;11:1511-1519, which inverts a chi-square goodness-of-fit test of
    the common-correlation model of Bloch DA, Kraemer HC, Biometrics 1989;45:269-287. Donner
    and Eliasziw found its coverage close to nominal down to 25 subjects, where the Wald
    interval falls short; it is asymmetric, stays within the model's parameter space and
    reaches 1 at perfect agreement without collapsing. The product's exact enumeration of its
    coverage at n = 10 and 20 is in the tests;
  - three or more categories, or a weighted kappa on a scale of three or more labels
    (``"dirichlet-posterior"``): the equal-tailed interval of the posterior distribution of
    kappa when the ``K = k^2`` cell probabilities of the k x k table get the Dirichlet(1/K, ...,
    1/K) prior of Perks (J Inst Actuaries 1947;73:285-334), whose total weight is a single
    pseudo-observation (Bayesian inference for kappa from a Dirichlet posterior: Basu S,
    Banerjee M, Sen A, Biometrics 2000;56:577-582; Dirichlet(1/K) as the overall objective
    prior of a multinomial with many cells: Berger JO, Bernardo JM, Sun D, Bayesian Anal
    2015;10:189-221). Jeffreys' Dirichlet(1/2) prior was rejected: on a 3 x 3 table it adds
    4.5 pseudo-observations spread evenly over the cells, pulls kappa towards 0 and covered a
    true kappa of 0.8 only 61-80 % of the time at n = 10-20 in a seeded simulation, against
    89-96 % with Perks' prior (a weaker prior still starts to collapse at perfect agreement).
    Every posterior draw is a valid table, so every bound is a kappa that a table can have.
    Computed from ``POSTERIOR_DRAWS`` draws of a generator seeded by the table itself: the same
    table always gives the same interval, in every process, and a frozen report can be
    recomputed.

Whatever the method, the interval is finally widened, if needed, to contain the reported point
estimate. For the posterior interval this is the boundary rule that Brown, Cai and DasGupta
(Stat Sci 2001;16:101-133, section 4.1.2) apply to the Jeffreys interval of a proportion (upper
limit 1 when every observation is a success), here the upper limit 1 when every pair agrees.
For the goodness-of-fit interval it matters only when the raters' marginal rates differ: the
interval is for the intraclass kappa of the common-correlation model (Scott's pi), and Cohen's
kappa is never below it (equal when the marginals are equal), so the upper bound is raised to
Cohen's kappa when it lies beyond it.
"""

import hashlib
import math

import numpy as np

from .sample import too_small

__all__ = ["POSTERIOR_DRAWS", "kappa_interval"]

#: Number of draws of the posterior interval (Monte Carlo standard error of a bound about 0.005).
POSTERIOR_DRAWS = 10_000

METHOD_WALD = "wald"
METHOD_GOODNESS_OF_FIT = "goodness-of-fit"
METHOD_POSTERIOR = "dirichlet-posterior"


def _gof_statistic(kappa: float, counts: tuple[int, int, int], pi: float) -> float:
    """Donner-Eliasziw chi-square ``sum_l (n_l - n P_l(kappa))^2 / (n P_l(kappa))`` over the three
    cells (both positive, discordant, both negative) of the common-correlation model::

        P_1 = pi^2 + pi (1 - pi) kappa,   P_2 = 2 pi (1 - pi) (1 - kappa),   P_3 = (1 - pi)^2 + pi (1 - pi) kappa

    A cell of expected count 0 adds 0 if it is empty (the limit of its term) and infinity otherwise.
    """
    n = sum(counts)
    spread = pi * (1.0 - pi)
    expected = (
        n * (pi * pi + spread * kappa),
        n * 2.0 * spread * (1.0 - kappa),
        n * ((1.0 - pi) * (1.0 - pi) + spread * kappa),
    )
    total = 0.0
    for observed, mean in zip(counts, expected, strict=True):
        if mean <= 0.0:
            if observed:
                return math.inf
            continue
        total += (observed - mean) ** 2 / mean
    return total


def _bisect_crossing(f, inside: float, outside: float) -> float:
    """The point between ``inside`` (``f <= 0``) and ``outside`` (``f > 0``) where ``f`` crosses 0.

    Bisection until the bracket cannot be split in double precision; ``f`` is convex, so the
    crossing between a point below its minimum level and a point above it is unique.
    """
    while True:
        mid = 0.5 * (inside + outside)
        if mid in (inside, outside):
            return inside
        if f(mid) <= 0.0:
            inside = mid
        else:
            outside = mid


def goodness_of_fit_interval(n11: int, n12: int, n21: int, n22: int, z: float) -> tuple[float, float]:
    """Donner-Eliasziw (1992) goodness-of-fit interval for the kappa of a 2 x 2 table.

    ``n11`` and ``n22`` are the concordant pairs, ``n12`` and ``n21`` the discordant ones; ``z``
    is ``z_{1-alpha/2}``, so that ``z^2`` is the ``1 - alpha`` quantile of chi-square with one
    degree of freedom. With the pooled positive rate ``pi = (2 n11 + n12 + n21) / (2n)`` held at
    its estimate, the interval is ``{kappa : X^2(kappa) <= z^2}`` (see :func:`_gof_statistic`),
    over the model's parameter space ``max(-pi/(1-pi), -(1-pi)/pi) <= kappa <= 1``. ``X^2`` is
    a sum of convex functions of kappa and is 0 at the intraclass estimate
    ``1 - (n12 + n21) / (2 n pi (1 - pi))``, so each bound is the single root of
    ``X^2 = z^2`` on its side (the roots of the cubic of Donner and Eliasziw's appendix),
    found here by bisection; a bound is the end of the parameter space when ``X^2`` stays below
    ``z^2`` up to it. Requires ``0 < pi < 1``.
    """
    n = n11 + n12 + n21 + n22
    pi = (2.0 * n11 + n12 + n21) / (2.0 * n)
    if not 0.0 < pi < 1.0:
        raise ValueError("the goodness-of-fit interval needs both categories in the table")
    counts = (n11, n12 + n21, n22)
    estimate = 1.0 - (n12 + n21) / (2.0 * n * pi * (1.0 - pi))
    lowest = max(-pi / (1.0 - pi), -(1.0 - pi) / pi)
    estimate = min(max(estimate, lowest), 1.0)
    critical = z * z

    def excess(kappa: float) -> float:
        return _gof_statistic(kappa, counts, pi) - critical

    low = lowest if excess(lowest) <= 0.0 else _bisect_crossing(excess, estimate, lowest)
    high = 1.0 if excess(1.0) <= 0.0 else _bisect_crossing(excess, estimate, 1.0)
    return low, high


def _kappa_of_draws(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Kappa of each table of a stack ``p`` (draws x k x k, each summing to 1) with agreement weights ``w``."""
    row = p.sum(axis=2)
    col = p.sum(axis=1)
    p_o = p.reshape(p.shape[0], -1) @ w.ravel()
    p_e = ((row @ w) * col).sum(axis=1)
    return (p_o - p_e) / (1.0 - p_e)


def _seed(table: np.ndarray, w: np.ndarray) -> int:
    """A seed that depends only on the table and the weights (not on the process, unlike ``hash``)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(table, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(w, dtype=np.float64).tobytes())
    digest.update(str(table.shape).encode())
    return int.from_bytes(digest.digest()[:8], "big")


def dirichlet_posterior_interval(
    table: np.ndarray, w: np.ndarray, alpha: float, draws: int = POSTERIOR_DRAWS
) -> tuple[float, float]:
    """Equal-tailed ``1 - alpha`` interval of kappa under the Dirichlet(table + 1/k^2) posterior.

    ``table`` is the k x k count table, ``w`` the agreement weights. Draws whose chance agreement
    is 1 (kappa undefined) cannot occur: every cell of a Dirichlet draw with positive parameters
    is positive (a draw whose positive cells all underflow to 0 would give NaN and is dropped).
    The generator is seeded by the table and the weights (:func:`_seed`); each draw is a vector
    of independent Gamma(table + 1/k^2, 1) variables divided by its sum (the definition of the
    Dirichlet distribution; faster than ``Generator.dirichlet``, which switches to a slower
    algorithm for parameters below 0.1), and the bounds are ``numpy.quantile`` (linear
    interpolation) of the draws' kappas.
    """
    k = table.shape[0]
    rng = np.random.default_rng(_seed(table, w))
    concentration = table.astype(float).ravel() + 1.0 / (k * k)
    gammas = rng.standard_gamma(concentration, size=(draws, k * k))
    p = (gammas / gammas.sum(axis=1, keepdims=True)).reshape(draws, k, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappas = _kappa_of_draws(p, w)
    kappas = kappas[np.isfinite(kappas)]
    low, high = np.quantile(kappas, [alpha / 2.0, 1.0 - alpha / 2.0])
    return max(-1.0, float(low)), min(1.0, float(high))


def kappa_interval(
    table: np.ndarray, w: np.ndarray, kappa: float, se: float, z: float, alpha: float, weighted: bool
) -> tuple[float, float, str]:
    """``(low, high, method)``: the ``1 - alpha`` interval of the kappa of ``table`` (see the module).

    ``table`` is the k x k count table over the label scale, ``w`` its agreement weights,
    ``kappa`` and ``se`` the estimate and its Fleiss-Cohen-Everitt standard error, ``z`` the
    normal quantile ``z_{1-alpha/2}``. ``weighted`` says whether ``w`` is a weighted kappa's
    scale: an unweighted kappa depends only on the labels in use, so unused labels are dropped
    before the small-sample method is chosen, whereas a weighted kappa keeps its whole scale.
    Bounds always lie in [-1, 1] and contain ``kappa``.
    """
    n = int(table.sum())
    if not too_small(n) and se > 0.0 and math.isfinite(se):
        low, high, method = max(-1.0, kappa - z * se), min(1.0, kappa + z * se), METHOD_WALD
    else:
        if not weighted:
            used = (table.sum(axis=0) + table.sum(axis=1)) > 0
            table, w = table[np.ix_(used, used)], w[np.ix_(used, used)]
        if table.shape[0] == 2 and np.array_equal(w, np.eye(2)):  # binary (a 2-label weighted kappa is unweighted)
            low, high = goodness_of_fit_interval(
                int(table[0, 0]), int(table[0, 1]), int(table[1, 0]), int(table[1, 1]), z
            )
            method = METHOD_GOODNESS_OF_FIT
        else:
            low, high = dirichlet_posterior_interval(table, w, alpha)
            method = METHOD_POSTERIOR
    return min(low, kappa), max(high, kappa), method
