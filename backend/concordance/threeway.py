"""Three-way concordance, case by case: AI output, clinician's final decision, college reference.

The human guarantee exists to catch the cases where the AI was wrong and the clinician followed
it; this module classifies every case, counts the classes with Wilson intervals and derives the
override and reliance rates, plus automation bias from the answers given after unblinding.
"""

import operator
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .agreement import _is_missing, _missing_mask, _native, _natives, _object_array
from .proportions import IntervalMethod, proportion

__all__ = [
    "AI_RIGHT_FOLLOWED",
    "AI_RIGHT_OVERRIDDEN",
    "AI_WRONG_FOLLOWED",
    "AI_WRONG_OVERRIDDEN",
    "ALL_DISAGREE",
    "MISSING",
    "THREE_WAY_CATEGORIES",
    "automation_bias",
    "three_way_category",
    "three_way_concordance",
]

AI_RIGHT_FOLLOWED = "ai_right_followed"
AI_RIGHT_OVERRIDDEN = "ai_right_overridden"
AI_WRONG_FOLLOWED = "ai_wrong_followed"
AI_WRONG_OVERRIDDEN = "ai_wrong_overridden"
ALL_DISAGREE = "all_disagree"
MISSING = "missing"
#: The complete-case categories, in display order, then ``MISSING``.
THREE_WAY_CATEGORIES: tuple[str, ...] = (
    AI_RIGHT_FOLLOWED,
    AI_RIGHT_OVERRIDDEN,
    AI_WRONG_FOLLOWED,
    AI_WRONG_OVERRIDDEN,
    ALL_DISAGREE,
    MISSING,
)


def three_way_category(ai: Any, final: Any, reference: Any) -> str:
    """Category of one case; the reference is taken as the truth, labels compared with ``==``.

    * ``ai_right_followed``: ai == reference and final == ai;
    * ``ai_right_overridden``: ai == reference, final != ai (the clinician introduced an error);
    * ``ai_wrong_followed``: ai != reference and final == ai (the error went through);
    * ``ai_wrong_overridden``: ai != reference and final == reference (the clinician caught it);
    * ``all_disagree``: three different labels (multi-class only: the AI was wrong, overridden,
      and the clinician was wrong too);
    * ``missing``: any of the three is missing (``pandas.isna``).
    """
    ai, final, reference = _native(ai), _native(final), _native(reference)
    if _is_missing(ai) or _is_missing(final) or _is_missing(reference):
        return MISSING
    if ai == reference:
        return AI_RIGHT_FOLLOWED if final == ai else AI_RIGHT_OVERRIDDEN
    if final == ai:
        return AI_WRONG_FOLLOWED
    return AI_WRONG_OVERRIDDEN if final == reference else ALL_DISAGREE


def three_way_concordance(
    ai: Iterable[Any],
    final: Iterable[Any],
    reference: Iterable[Any],
    alpha: float = 0.05,
    method: IntervalMethod = "wilson",
) -> dict[str, Any]:
    """Counts, rates and derived rates of the three-way categories (see :func:`three_way_category`).

    The three sequences are paired by position. Returns a JSON-friendly dict:

    * ``categories``: the per-case category, in input order (a list of strings);
    * ``counts``: every category of :data:`THREE_WAY_CATEGORIES`, ``missing`` included;
    * ``n_cases`` (all) and ``n_complete`` (all three labels present);
    * ``rates``: each complete-case category as ``count / n_complete`` with a Wilson interval
      (``Proportion.to_dict()``);
    * ``override_rate``: ``final != ai`` among the cases where both are present, **whether or
      not a reference exists** (overriding is observable without the college);
    * ``reliance_on_wrong_ai``: ``ai_wrong_followed / (cases where the AI was wrong)`` -- of the
      AI's errors, the share the clinician let through;
    * ``override_of_right_ai``: ``ai_right_overridden / (cases where the AI was right)``;
    * ``clinician_accuracy`` and ``ai_accuracy`` on the complete cases.
    """
    ai_list, final_list, reference_list = _natives(ai), _natives(final), _natives(reference)
    if not len(ai_list) == len(final_list) == len(reference_list):
        raise ValueError("ai, final and reference must have the same length")
    # three_way_category case by case, with the missing values found in one pass per column.
    ai_missing, final_missing = _missing_mask(ai_list), _missing_mask(final_list)
    incomplete = (ai_missing | final_missing | _missing_mask(reference_list)).tolist()
    categories = [
        MISSING if gap
        else (AI_RIGHT_FOLLOWED if f == a else AI_RIGHT_OVERRIDDEN) if a == r
        else AI_WRONG_FOLLOWED if f == a
        else AI_WRONG_OVERRIDDEN if f == r
        else ALL_DISAGREE
        for a, f, r, gap in zip(ai_list, final_list, reference_list, incomplete, strict=True)
    ]  # fmt: skip
    counts = {category: 0 for category in THREE_WAY_CATEGORIES}
    for category, count in Counter(categories).items():
        counts[category] += count
    n_complete = len(categories) - counts[MISSING]
    ai_wrong = counts[AI_WRONG_FOLLOWED] + counts[AI_WRONG_OVERRIDDEN] + counts[ALL_DISAGREE]
    ai_right = counts[AI_RIGHT_FOLLOWED] + counts[AI_RIGHT_OVERRIDDEN]
    both = ~(ai_missing | final_missing)
    both_present = (_object_array(ai_list)[both].tolist(), _object_array(final_list)[both].tolist())
    n_both = len(both_present[0])
    overridden = sum(map(operator.ne, *both_present))
    clinician_right = counts[AI_RIGHT_FOLLOWED] + counts[AI_WRONG_OVERRIDDEN]

    def share(x: int, n: int) -> dict[str, Any]:
        return proportion(x, n, alpha, method).to_dict()

    return {
        "categories": categories,
        "counts": counts,
        "n_cases": len(categories),
        "n_complete": n_complete,
        "rates": {c: share(counts[c], n_complete) for c in THREE_WAY_CATEGORIES if c != MISSING},
        "override_rate": share(overridden, n_both),
        "reliance_on_wrong_ai": share(counts[AI_WRONG_FOLLOWED], ai_wrong),
        "override_of_right_ai": share(counts[AI_RIGHT_OVERRIDDEN], ai_right),
        "clinician_accuracy": share(clinician_right, n_complete),
        "ai_accuracy": share(ai_right, n_complete),
    }


_YES = {"yes", "oui", "true", "1", "y"}
_NO = {"no", "non", "false", "0", "n"}


def _as_bool(value: Any) -> bool | None:
    """``True``/``False`` for yes/no answers (bools, 0/1, "yes"/"no"/"oui"/"non"), else ``None``."""
    value = _native(value)
    if _is_missing(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    return None


def automation_bias(
    df: pd.DataFrame,
    verdict: str = "verdict",
    ai_label: str = "ai_label",
    would_change: str = "would_change",
    alpha: float = 0.05,
    method: IntervalMethod = "wilson",
) -> dict[str, Any]:
    """Share of "I would have changed my answer" among reviewers whose blind verdict differed from the AI.

    One row per (reviewer, case) answer: the blind ``verdict``, the ``ai_label`` revealed after
    it, and the post-unblinding answer ``would_change`` (yes/no: bools, 0/1, "yes"/"no",
    "oui"/"non"; anything else, "unknown" included, counts as not answered). Only the rows with
    ``verdict != ai_label`` (both present) are in the denominator: a reviewer who agreed with the
    AI has nothing to change towards. A high share means the AI's output would have pulled the
    reviewers towards it, i.e. automation bias (Goddard K et al., JAMIA 2012;19:121-127).

    Returns ``{"automation_bias": Proportion.to_dict(), "n_differed", "n_answered",
    "n_unanswered", "n_rows"}``; the proportion's ``n`` is ``n_answered``.
    """
    missing_columns = [c for c in (verdict, ai_label, would_change) if c not in df.columns]
    if missing_columns:
        raise ValueError(f"automation_bias: missing column(s) {missing_columns}")
    differed = answered = changed = 0
    for v, a, w in zip(df[verdict], df[ai_label], df[would_change], strict=True):
        if _is_missing(v) or _is_missing(a) or _native(v) == _native(a):
            continue
        differed += 1
        answer = _as_bool(w)
        if answer is None:
            continue
        answered += 1
        changed += answer
    return {
        "automation_bias": proportion(changed, answered, alpha, method).to_dict(),
        "n_differed": differed,
        "n_answered": answered,
        "n_unanswered": differed - answered,
        "n_rows": len(df),
    }
