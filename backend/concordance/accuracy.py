"""Diagnostic accuracy of a test (e.g. the AI output) against a reference, and McNemar's test."""

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from .agreement import _complete_pairs, _is_missing, _native, confusion_matrix
from .proportions import IntervalMethod, Proportion, _as_count, _binomial_cdf_half, proportion

__all__ = ["EXACT_BELOW_DISCORDANT", "McNemarResult", "diagnostic_accuracy", "diagnostic_summary", "mcnemar"]

#: With ``exact=None``, :func:`mcnemar` uses the exact binomial test below this many discordant pairs.
EXACT_BELOW_DISCORDANT = 25

METHOD_EXACT = "exact binomial"
METHOD_CHI2 = "chi-square without continuity correction"
METHOD_CHI2_CORRECTED = "chi-square with continuity correction"


def diagnostic_accuracy(
    test: Iterable[Any],
    reference: Iterable[Any],
    positive: Hashable,
    alpha: float = 0.05,
    method: IntervalMethod = "wilson",
) -> dict[str, Proportion | int]:
    """Sensitivity, specificity and predictive values of ``test`` against ``reference``.

    The two sequences are paired by position; pairs with a missing value are dropped. A label is
    *positive* when it equals ``positive`` and *negative* otherwise (one-versus-rest, so
    multi-class outputs can be assessed for one class at a time). With the 2 x 2 counts::

                          reference +   reference -
            test +            tp            fp
            test -            fn            tn

    sensitivity = tp / (tp + fn), specificity = tn / (tn + fp), ppv = tp / (tp + fp),
    npv = tn / (tn + fn) (e.g. Altman DG, Bland JM, BMJ 1994;308:1552 and 309:102).

    Returns a dict with ``sensitivity``, ``specificity``, ``ppv`` and ``npv`` as
    :class:`~concordance.proportions.Proportion` (Wilson interval by default; a NaN estimate and
    the interval (0, 1) when the denominator is 0) and the integer counts ``tp``, ``fp``, ``fn``,
    ``tn``. Predictive values depend on the prevalence in the sample: they transfer to another
    population only if the sample's prevalence is representative of it.
    """
    test_kept, reference_kept = _complete_pairs(test, reference)
    positive = _native(positive)
    tp = fp = fn = tn = 0
    for t, r in zip(test_kept, reference_kept, strict=True):
        t_pos, r_pos = t == positive, r == positive
        if t_pos and r_pos:
            tp += 1
        elif t_pos:
            fp += 1
        elif r_pos:
            fn += 1
        else:
            tn += 1
    return {
        "sensitivity": proportion(tp, tp + fn, alpha, method),
        "specificity": proportion(tn, tn + fp, alpha, method),
        "ppv": proportion(tp, tp + fp, alpha, method),
        "npv": proportion(tn, tn + fn, alpha, method),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


@dataclass(frozen=True, slots=True)
class McNemarResult:
    """Result of :func:`mcnemar`; ``method`` states which test was run (see the module constants)."""

    statistic: float
    p_value: float
    method: str


def mcnemar(b: int, c: int, exact: bool | None = None, correction: bool = False) -> McNemarResult:
    """McNemar's test of marginal homogeneity in a paired 2 x 2 table, from its discordant cells.

    ``b`` and ``c`` are the two off-diagonal counts (pairs positive on the first measurement only,
    and on the second only); the concordant cells do not enter the test. Under H0, ``b`` follows
    Binomial(b + c, 1/2). McNemar Q, Psychometrika 1947;12:153-157.

    * Chi-square (``exact=False``): ``statistic = (|b - c| - k)^2 / (b + c)`` referred to chi-square
      with 1 degree of freedom, ``p = erfc(sqrt(statistic / 2))``; ``k = 0`` without correction,
      ``k = 1`` with Edwards' continuity correction (Edwards AL, Psychometrika 1948;13:185-187),
      where ``|b - c| - 1`` is floored at 0 so that ``b = c`` gives ``statistic = 0, p = 1``
      (statsmodels would report ``1 / (b + c)`` there). With ``b + c = 0`` the statistic is
      ``0/0``: ``statistic`` and ``p_value`` are NaN.
    * Exact (``exact=True``): ``statistic = min(b, c)`` and the two-sided p-value is twice the
      smaller binomial tail, capped at 1: ``p = min(1, 2 P(X <= min(b, c)))``,
      ``X ~ Binomial(b + c, 1/2)``; ``b + c = 0`` gives ``p = 1``. ``correction`` is ignored.
    * ``exact=None`` (default): exact when ``b + c < 25``, chi-square otherwise (the usual rule
      of thumb for the chi-square approximation, e.g. Wikipedia's "McNemar's test").

    Both tests agree with ``statsmodels.stats.contingency_tables.mcnemar`` (``exact`` and
    ``correction`` arguments alike), except for the ``b = c`` corrected case noted above.
    """
    b, c = _as_count(b, "b"), _as_count(c, "c")
    discordant = b + c
    if exact is None:
        exact = discordant < EXACT_BELOW_DISCORDANT
    if exact:
        smaller = min(b, c)
        p_value = min(1.0, 2.0 * _binomial_cdf_half(smaller, discordant))
        return McNemarResult(statistic=float(smaller), p_value=p_value, method=METHOD_EXACT)

    method = METHOD_CHI2_CORRECTED if correction else METHOD_CHI2
    if discordant == 0:
        return McNemarResult(statistic=math.nan, p_value=math.nan, method=method)
    difference = max(abs(b - c) - (1 if correction else 0), 0)
    statistic = difference * difference / discordant
    return McNemarResult(statistic=statistic, p_value=math.erfc(math.sqrt(statistic / 2.0)), method=method)


def _paired_correctness(
    first: list[Any], second: list[Any], reference: list[Any], keep: list[bool]
) -> tuple[int, int, int, int]:
    """Counts of (both right, first only right, second only right, both wrong) on the kept cases."""
    both = first_only = second_only = neither = 0
    for f, s, r, k in zip(first, second, reference, keep, strict=True):
        if not k:
            continue
        f_ok, s_ok = f == r, s == r
        if f_ok and s_ok:
            both += 1
        elif f_ok:
            first_only += 1
        elif s_ok:
            second_only += 1
        else:
            neither += 1
    return both, first_only, second_only, neither


def diagnostic_summary(
    test: Iterable[Any],
    reference: Iterable[Any],
    positive: Hashable,
    comparator: Iterable[Any] | None = None,
    labels: Iterable[Hashable] | None = None,
    alpha: float = 0.05,
    method: IntervalMethod = "wilson",
    exact: bool | None = None,
    correction: bool = False,
) -> dict[str, Any]:
    """Confusion matrix, accuracy figures and (optionally) McNemar against a comparator, in one dict.

    ``test`` is typically the AI output, ``reference`` the college's blind reference and
    ``comparator`` the clinician's final decision, all paired by position.

    Returns a JSON-friendly dict:

    * ``labels`` and ``confusion`` (``{test_label: {reference_label: count}}``, complete pairs,
      :func:`~concordance.agreement.confusion_matrix`), ``n`` complete pairs;
    * ``accuracy``: share of complete pairs with ``test == reference`` (exact label match, so
      multi-class), and ``sensitivity``, ``specificity``, ``ppv``, ``npv`` for ``positive``
      one-versus-rest (:func:`diagnostic_accuracy`), each a ``Proportion.to_dict()`` with a
      Wilson interval unless ``method="clopper-pearson"``; the counts ``tp fp fn tn``;
    * with ``comparator``, ``paired``: on the cases where test, comparator and reference are all
      present, McNemar's test (:func:`mcnemar`, ``exact``/``correction`` as there; the method
      run is stated in ``method``) for three paired comparisons of correctness against the
      reference: ``accuracy`` (all cases), ``sensitivity`` (reference positive) and
      ``specificity`` (reference negative). Each block gives ``test_only_right`` (b),
      ``comparator_only_right`` (c), ``both_right``, ``both_wrong``, ``n``, ``statistic``,
      ``p_value`` and ``method``; NaN statistics are ``None``. Correctness is ``label ==
      reference`` for accuracy, and the positive/negative call for sensitivity/specificity.
    """
    test_list, reference_list = list(test), list(reference)
    table = confusion_matrix(test_list, reference_list, labels)
    label_list = list(table.index)
    figures = diagnostic_accuracy(test_list, reference_list, positive, alpha, method)
    kept_test, kept_reference = _complete_pairs(test_list, reference_list)
    n_right = sum(t == r for t, r in zip(kept_test, kept_reference, strict=True))
    summary: dict[str, Any] = {
        "labels": label_list,
        "confusion": {
            row: {col: int(count) for col, count in zip(label_list, counts, strict=True)}
            for row, counts in zip(label_list, table.to_numpy(), strict=True)
        },
        "n": len(kept_test),
        "accuracy": proportion(n_right, len(kept_test), alpha, method).to_dict(),
        "positive": _native(positive),
    }
    for key in ("sensitivity", "specificity", "ppv", "npv"):
        summary[key] = figures[key].to_dict()
    for key in ("tp", "fp", "fn", "tn"):
        summary[key] = figures[key]
    if comparator is None:
        return summary

    comparator_list = list(comparator)
    if not len(comparator_list) == len(test_list) == len(reference_list):
        raise ValueError("test, reference and comparator must have the same length")
    test_n = [_native(v) for v in test_list]
    comp_n = [_native(v) for v in comparator_list]
    ref_n = [_native(v) for v in reference_list]
    complete = [
        not (_is_missing(t) or _is_missing(c) or _is_missing(r)) for t, c, r in zip(test_n, comp_n, ref_n, strict=True)
    ]
    positive = _native(positive)
    test_pos = [t == positive for t in test_n]
    comp_pos = [c == positive for c in comp_n]
    truth = [r == positive for r in ref_n]
    domains = {
        "accuracy": (test_n, comp_n, ref_n, complete),
        "sensitivity": (test_pos, comp_pos, truth, [k and t for k, t in zip(complete, truth, strict=True)]),
        "specificity": (test_pos, comp_pos, truth, [k and not t for k, t in zip(complete, truth, strict=True)]),
    }
    paired = {}
    for name, (first, second, ref, keep) in domains.items():
        both, first_only, second_only, neither = _paired_correctness(first, second, ref, keep)
        result = mcnemar(first_only, second_only, exact=exact, correction=correction)
        paired[name] = {
            "test_only_right": first_only,
            "comparator_only_right": second_only,
            "both_right": both,
            "both_wrong": neither,
            "n": both + first_only + second_only + neither,
            "statistic": None if math.isnan(result.statistic) else result.statistic,
            "p_value": None if math.isnan(result.p_value) else result.p_value,
            "method": result.method,
        }
    summary["paired"] = paired
    return summary
