"""Single binomial proportions and their confidence intervals.

Two interval methods are provided:

* **Wilson score interval** (Wilson EB, J Am Stat Assoc 1927;22:209-212), the default of this
  package. It inverts the score test and has close-to-nominal coverage even for small ``n`` or
  proportions near 0 or 1, unlike the normal-approximation ("Wald") interval, which is what
  ``statsmodels.stats.proportion.proportion_confint`` returns by default.
* **Clopper-Pearson "exact" interval** (Clopper CJ, Pearson ES, Biometrika 1934;26:404-413),
  obtained by inverting two one-sided binomial tests; guaranteed coverage, but conservative.

Both are "method 3" and "method 5" of Newcombe RG, Statistics in Medicine 1998;17:857-872, whose
published limits are used in this package's tests.

Convention for ``n = 0``: the estimate is NaN (no information) and the interval is the whole
parameter space ``(0.0, 1.0)``.

Only the Python standard library and NumPy-free arithmetic are used here; in particular SciPy is
not a runtime dependency: the normal quantile comes from :class:`statistics.NormalDist` and the
beta quantile needed by Clopper-Pearson from a continued-fraction evaluation of the regularized
incomplete beta function, inverted by bisection.
"""

import functools
import math
import numbers
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal

__all__ = [
    "Proportion",
    "clopper_pearson_interval",
    "proportion",
    "wilson_interval",
]

IntervalMethod = Literal["wilson", "clopper-pearson"]
INTERVAL_METHODS: tuple[str, ...] = ("wilson", "clopper-pearson")

_STANDARD_NORMAL = NormalDist()


# --------------------------------------------------------------------------------------------
# Validation and special functions (private, shared with the other modules of the package)
# --------------------------------------------------------------------------------------------


def _as_count(value: Any, name: str) -> int:
    """Return ``value`` as a non-negative Python ``int``; integral floats such as ``3.0`` are accepted."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer count, not a bool")
    if isinstance(value, numbers.Integral):
        count = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        count = int(value)
    else:
        raise ValueError(f"{name} must be an integer count, got {value!r}")
    if count < 0:
        raise ValueError(f"{name} must be non-negative, got {count}")
    return count


def _check_x_n(x: Any, n: Any) -> tuple[int, int]:
    x, n = _as_count(x, "x"), _as_count(n, "n")
    if x > n:
        raise ValueError(f"x must not exceed n (x={x}, n={n})")
    return x, n


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    return alpha


def _two_sided_z(alpha: float) -> float:
    """Standard normal quantile ``z_{1 - alpha/2}`` (1.959963984540054 for ``alpha = 0.05``)."""
    return _STANDARD_NORMAL.inv_cdf(1.0 - _check_alpha(alpha) / 2.0)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function, modified Lentz algorithm.

    Press WH et al., *Numerical Recipes*, 3rd ed. (2007), section 6.4, eq. 6.4.5; converges
    quickly for ``x < (a + 1) / (a + b + 2)``.
    """
    # ``-tiny < d < tiny`` is ``abs(d) < tiny`` without a call (the same for every float, NaN
    # included): this is the inner loop of every Clopper-Pearson and Korn-Graubard bisection.
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (tiny if -tiny < d < tiny else d)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (tiny if -tiny < d < tiny else d)
        c = 1.0 + aa / c
        c = tiny if -tiny < c < tiny else c
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (tiny if -tiny < d < tiny else d)
        c = 1.0 + aa / c
        c = tiny if -tiny < c < tiny else c
        delta = d * c
        h *= delta
        if -1e-16 < delta - 1.0 < 1e-16:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)`` for ``a, b > 0`` and ``0 <= x <= 1``.

    ``I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) * CF(a, b, x)``, using the symmetry
    ``I_x(a, b) = 1 - I_{1-x}(b, a)`` where the continued fraction converges faster
    (Numerical Recipes, 3rd ed., eq. 6.4.5 and 6.4.6).
    """
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def _beta_ppf(q: float, a: float, b: float) -> float:
    """Quantile of the Beta(a, b) distribution: the ``x`` with ``I_x(a, b) = q``.

    Bisection on ``[0, 1]`` until the bracket cannot be split any further in double precision;
    ``I_x`` is strictly increasing in ``x``, so this always converges.
    """
    lo, hi = 0.0, 1.0
    while True:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            return mid
        if _betainc(a, b, mid) < q:
            lo = mid
        else:
            hi = mid


def _student_t_cdf(t: float, df: float) -> float:
    """``P(T <= t)`` for Student's t with ``df`` degrees of freedom, via ``I_{df/(df+t^2)}(df/2, 1/2)``."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@functools.lru_cache(maxsize=256)
def _two_sided_t(alpha: float, df: float) -> float:
    """Student t quantile ``t_{1 - alpha/2, df}`` (bisection on the CDF; 12.706... for df = 1)."""
    target = 1.0 - _check_alpha(alpha) / 2.0
    lo, hi = 0.0, 1.0
    while _student_t_cdf(hi, df) < target:
        hi *= 2.0
    while True:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            return mid
        if _student_t_cdf(mid, df) < target:
            lo = mid
        else:
            hi = mid


def _binomial_cdf_half(k: int, n: int) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, 1/2)``, via ``I_{1/2}(n - k, k + 1)``."""
    if k >= n:
        return 1.0
    if k < 0:
        return 0.0
    return _betainc(float(n - k), float(k + 1), 0.5)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def wilson_interval(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for the binomial proportion ``x / n``.

    With ``p = x / n`` and ``z = z_{1 - alpha/2}`` (Wilson 1927; Newcombe 1998, method 3)::

        centre     = (p + z^2 / (2n)) / (1 + z^2 / n)
        half_width = z * sqrt(p (1 - p) / n + z^2 / (4 n^2)) / (1 + z^2 / n)

    The limits are ``centre -/+ half_width``; they are exactly 0 when ``x = 0`` and exactly 1 when
    ``x = n`` (the formula gives these values up to rounding). Same arithmetic as
    ``statsmodels.stats.proportion.proportion_confint(x, n, alpha, method="wilson")``.

    ``n = 0`` returns ``(0.0, 1.0)``. Raises ``ValueError`` unless ``0 <= x <= n`` are integers
    and ``0 < alpha < 1``.
    """
    x, n = _check_x_n(x, n)
    z = _two_sided_z(alpha)
    if n == 0:
        return 0.0, 1.0
    p = x / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half_width = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator
    low = 0.0 if x == 0 else max(0.0, centre - half_width)
    high = 1.0 if x == n else min(1.0, centre + half_width)
    return low, high


def clopper_pearson_interval(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Clopper-Pearson ("exact") interval for the binomial proportion ``x / n``.

    Clopper and Pearson (1934); Newcombe 1998, method 5. The limits are beta quantiles::

        low  = B^{-1}(alpha / 2;     x,     n - x + 1)   (0 when x = 0)
        high = B^{-1}(1 - alpha / 2; x + 1, n - x)       (1 when x = n)

    i.e. the values of ``p`` at which ``P(X >= x | p) = alpha/2`` and ``P(X <= x | p) = alpha/2``.
    Matches ``proportion_confint(x, n, alpha, method="beta")`` of statsmodels.

    ``n = 0`` returns ``(0.0, 1.0)``. Raises ``ValueError`` unless ``0 <= x <= n`` are integers
    and ``0 < alpha < 1``.
    """
    x, n = _check_x_n(x, n)
    alpha = _check_alpha(alpha)
    if n == 0:
        return 0.0, 1.0
    low = 0.0 if x == 0 else _beta_ppf(alpha / 2.0, float(x), float(n - x + 1))
    high = 1.0 if x == n else _beta_ppf(1.0 - alpha / 2.0, float(x + 1), float(n - x))
    return low, high


@dataclass(frozen=True, slots=True)
class Proportion:
    """A proportion ``x / n`` with its two-sided ``1 - alpha`` confidence interval.

    ``estimate`` is NaN and the interval ``(0.0, 1.0)`` when ``n = 0``. ``method`` names the
    interval ("wilson" or "clopper-pearson"). Build instances with :func:`proportion`.
    """

    x: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    method: str = "wilson"
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable dict; a NaN estimate becomes ``None``."""
        data = asdict(self)
        if math.isnan(data["estimate"]):
            data["estimate"] = None
        return data


def proportion(x: int, n: int, alpha: float = 0.05, method: IntervalMethod = "wilson") -> Proportion:
    """Return :class:`Proportion` for ``x`` successes out of ``n``, with a ``1 - alpha`` interval.

    ``method`` is ``"wilson"`` (default, :func:`wilson_interval`) or ``"clopper-pearson"``
    (:func:`clopper_pearson_interval`). ``n = 0`` gives a NaN estimate and the interval (0, 1).
    """
    x, n = _check_x_n(x, n)
    alpha = _check_alpha(alpha)
    if method == "wilson":
        low, high = wilson_interval(x, n, alpha)
    elif method == "clopper-pearson":
        low, high = clopper_pearson_interval(x, n, alpha)
    else:
        raise ValueError(f"method must be one of {INTERVAL_METHODS}, got {method!r}")
    estimate = x / n if n else math.nan
    return Proportion(x=x, n=n, estimate=estimate, ci_low=low, ci_high=high, method=method, alpha=alpha)
