"""Figures of the human oversight itself: AI against clinician (McNemar), the readers' reliability
across all of them (Krippendorff, Fleiss), the RADPEER-like discrepancy grades given after
unblinding, and a per-reader table for the quality team.

Each function takes plain sequences and returns a JSON-friendly dict (NaN as ``None``); the
definitions are stated in the docstrings and nowhere else.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from .accuracy import _paired_correctness, mcnemar
from .agreement import _is_missing, _native, fleiss_kappa
from .proportions import proportion
from .reliability import krippendorff_alpha
from .sample import too_small

__all__ = [
    "DISCREPANCY_GRADES",
    "SIGNIFICANT_GRADES",
    "ai_vs_clinician",
    "discrepancy_distribution",
    "reader_reliability",
    "reader_table",
]

#: The graded classification after unblinding, in the spirit of RADPEER, mildest first (the
#: values stored by the product).
DISCREPANCY_GRADES: tuple[str, ...] = (
    "concur", "understandable", "clear", "understandable_significant", "clear_significant",
)
#: The grades that say the discrepancy is likely clinically significant.
SIGNIFICANT_GRADES: frozenset[str] = frozenset({"understandable_significant", "clear_significant"})


def _none_if_nan(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def ai_vs_clinician(ai: Iterable[Any], final: Iterable[Any], reference: Iterable[Any]) -> dict[str, Any]:
    """Is the clinician's final decision right more often than the AI output? McNemar's test on
    the cases where the AI output, the final decision and the college's reference are all
    present, correctness being ``label == reference``.

    ``ai_only_right`` (b) counts the cases the AI got right and the clinician wrong,
    ``clinician_only_right`` (c) the reverse; the concordant cells (``both_right``,
    ``both_wrong``) do not enter the test. :func:`~concordance.accuracy.mcnemar`: exact binomial
    below 25 discordant pairs, else chi-square without continuity correction (``method`` says
    which). ``ai_accuracy`` and ``clinician_accuracy`` are the two paired shares (Wilson), and
    ``too_small`` applies the one rule (:func:`~concordance.sample.too_small`) to ``n``."""
    a, f, r = ([_native(v) for v in seq] for seq in (ai, final, reference))
    if not len(a) == len(f) == len(r):
        raise ValueError("ai, final and reference must have the same length")
    keep = [not (_is_missing(x) or _is_missing(y) or _is_missing(z)) for x, y, z in zip(a, f, r, strict=True)]
    both, ai_only, clinician_only, neither = _paired_correctness(a, f, r, keep)
    n = both + ai_only + clinician_only + neither
    test = mcnemar(ai_only, clinician_only)
    return {
        "n": n, "both_right": both, "ai_only_right": ai_only, "clinician_only_right": clinician_only,
        "both_wrong": neither, "statistic": _none_if_nan(test.statistic), "p_value": _none_if_nan(test.p_value),
        "method": test.method,
        "ai_accuracy": proportion(both + ai_only, n).to_dict(),
        "clinician_accuracy": proportion(both + clinician_only, n).to_dict(),
        "too_small": too_small(n),
    }


def reader_reliability(reader_labels: Sequence[Sequence[Any]], labels: Iterable[Hashable] | None = None,
                       ordinal: bool = False) -> dict[str, Any]:
    """Agreement among all the clinician readers of the cases, third readers included.

    ``reader_labels``: one list per case, every locked clinician reading of it (missing values
    dropped). Krippendorff's alpha (:func:`~concordance.reliability.krippendorff_alpha`) on the
    cases x readings table with missing cells, nominal, or ordinal over the order of ``labels``
    when ``ordinal``; a case read once is not pairable and does not count (``n_units`` counts
    those read at least twice). Fleiss' kappa (:func:`~concordance.agreement.fleiss_kappa`) only
    when every case read at all was read at least 3 times (``fleiss_m`` is then the smallest
    number of readings of a case, and each case enters with its first ``fleiss_m`` readings);
    otherwise ``fleiss_kappa`` is ``None``. ``max_readers`` is the largest number of readings of
    a case."""
    readings = [[_native(v) for v in case if not _is_missing(v)] for case in reader_labels]
    read = [case for case in readings if case]
    max_readers = max((len(c) for c in read), default=0)
    label_list = list(labels) if labels is not None else None
    if label_list is not None:
        label_list += sorted({v for c in read for v in c if v not in label_list}, key=str)
    table = [case + [None] * (max_readers - len(case)) for case in read]
    level = "ordinal" if ordinal else "nominal"
    if max_readers >= 2:
        alpha = krippendorff_alpha(table, level=level, labels=label_list).to_dict()
    else:
        alpha = {"alpha": None, "level": level, "n_units": 0, "n_values": 0}
    fleiss_m = min((len(c) for c in read), default=0)
    fleiss = None
    if read and fleiss_m >= 3:
        fleiss = _none_if_nan(fleiss_kappa([c[:fleiss_m] for c in read]))
    return {
        "alpha": alpha["alpha"], "level": level, "n_units": alpha["n_units"], "n_values": alpha["n_values"],
        "max_readers": max_readers, "fleiss_kappa": fleiss, "fleiss_m": fleiss_m if fleiss is not None else None,
        "n_fleiss": len(read) if fleiss is not None else 0, "too_small": too_small(alpha["n_units"]),
    }


def discrepancy_distribution(grades: Iterable[Any]) -> dict[str, Any]:
    """The RADPEER-like grades given by the readers after unblinding, one per classified reading.

    ``counts`` per grade of :data:`DISCREPANCY_GRADES` (missing grades dropped; an unknown
    grade raises ``ValueError``), ``rates`` each ``count / n`` (Wilson), and
    ``significant``: the clinically significant discrepancy rate, readings graded
    ``understandable_significant`` or ``clear_significant`` over all graded readings ``n``
    (concurring readings included in ``n``)."""
    present = [_native(g) for g in grades if not _is_missing(g)]
    unknown = sorted({g for g in present if g not in DISCREPANCY_GRADES}, key=str)
    if unknown:
        raise ValueError(f"unknown discrepancy grade(s) {unknown}")
    counts = Counter(present)
    n = len(present)
    significant = sum(counts[g] for g in SIGNIFICANT_GRADES)
    return {
        "n": n, "counts": {g: counts[g] for g in DISCREPANCY_GRADES},
        "rates": {g: proportion(counts[g], n).to_dict() for g in DISCREPANCY_GRADES},
        "significant": proportion(significant, n).to_dict(), "too_small": too_small(n),
    }


def reader_table(readings: Iterable[tuple[Hashable, Any, Any, Any]]) -> list[dict[str, Any]]:
    """One row per reader: agreement of their locked readings with the case's reference, and
    the discrepancy grades they gave after unblinding.

    ``readings``: ``(reader, label, reference, grade)`` per locked reading; ``reference`` is the
    case's reference (missing: the reading does not count in the agreement), ``grade`` the
    reader's RADPEER-like classification of it (missing: not classified). Per reader:
    ``n_readings``; ``agreement`` = readings equal to the reference / readings with a reference
    (Wilson); ``n_graded``; ``discrepancy`` = graded readings other than ``concur`` / graded;
    ``significant`` = graded ``*_significant`` / graded. The reference of a case without
    adjudication is its readers' majority, the reader's own reading included: a reader's
    agreement is therefore an upper bound, the more so with two readers per case. Rows are
    sorted by reader."""
    rows: dict[Any, dict[str, int]] = defaultdict(lambda: {"n": 0, "with_ref": 0, "agree": 0, "graded": 0,
                                                            "discrepant": 0, "significant": 0})
    for reader, label, reference, grade in readings:
        row = rows[_native(reader)]
        row["n"] += 1
        label, reference, grade = _native(label), _native(reference), _native(grade)
        if not _is_missing(reference) and not _is_missing(label):
            row["with_ref"] += 1
            row["agree"] += label == reference
        if not _is_missing(grade) and grade != "":
            if grade not in DISCREPANCY_GRADES:
                raise ValueError(f"unknown discrepancy grade {grade!r}")
            row["graded"] += 1
            row["discrepant"] += grade != "concur"
            row["significant"] += grade in SIGNIFICANT_GRADES
    return [{
        "reader": reader, "n_readings": r["n"],
        "agreement": proportion(r["agree"], r["with_ref"]).to_dict(),
        "n_graded": r["graded"],
        "discrepancy": proportion(r["discrepant"], r["graded"]).to_dict(),
        "significant": proportion(r["significant"], r["graded"]).to_dict(),
        "too_small": too_small(r["with_ref"]),
    } for reader, r in sorted(rows.items(), key=lambda kv: str(kv[0]))]
