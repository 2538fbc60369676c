"""When a figure is too small to conclude from: one threshold for every page and table."""

__all__ = ["SMALL_SAMPLE", "too_small"]

SMALL_SAMPLE = 30
"""Below this many observations a figure is still shown, with its interval, but flagged as too
small to conclude from: a campaign's concordance figures (counted on the cases with a
reference), an equity subgroup, and the switch from the large-sample (Wald) kappa interval to
the small-sample one."""


def too_small(n: int, min_n: int = SMALL_SAMPLE) -> bool:
    """The rule: a figure drawn from ``n`` observations is too small to conclude from when
    ``n < min_n`` (``SMALL_SAMPLE`` unless a caller sets its own threshold)."""
    return n < min_n
