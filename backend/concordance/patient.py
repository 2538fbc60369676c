"""Patient-representative findings: shares of yes answers with Wilson intervals, unknowns reported apart."""

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .agreement import _is_missing, _native
from .proportions import IntervalMethod, proportion

__all__ = ["PATIENT_QUESTIONS", "patient_representative_findings"]

#: Default questions (column names) of the patient representatives' review form.
PATIENT_QUESTIONS: tuple[str, ...] = (
    "patient_information_documented",
    "rights_respected",
    "equity_concern_raised",
)
_YES = {"yes", "oui", "true", "1"}
_NO = {"no", "non", "false", "0"}
_UNKNOWN = {"unknown", "inconnu", "ne sait pas", "dont_know", "don't know", "na", "n/a"}


def _answer(value: Any) -> str:
    """``"yes"``, ``"no"``, ``"unknown"`` or ``"missing"`` for one cell."""
    value = _native(value)
    if _is_missing(value):
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().lower()
    if text in _YES:
        return "yes"
    if text in _NO:
        return "no"
    if text in _UNKNOWN:
        return "unknown"
    raise ValueError(f"unexpected answer {value!r}: expected yes/no/unknown")


def patient_representative_findings(
    df: pd.DataFrame,
    questions: Sequence[str] = PATIENT_QUESTIONS,
    alpha: float = 0.05,
    method: IntervalMethod = "wilson",
) -> dict[str, dict[str, Any]]:
    """For each yes/no/unknown question: the share of "yes" among the yes/no answers, with its interval.

    One row per reviewed case (or per representative's review). Accepted answers: bools,
    "yes"/"no"/"oui"/"non"/"true"/"false"/"1"/"0", and "unknown"/"inconnu"/"ne sait pas"/"n/a"
    (case-insensitive); a missing cell means the question was not answered; anything else raises
    ``ValueError`` rather than being silently miscounted.

    "Unknown" is an answer, not a "no": it is left out of the denominator of ``share_yes``
    (the share among the cases where the representative could tell) and reported as
    ``n_unknown`` together with ``share_unknown`` among all answered cases, so that a high rate
    of "unknown" (e.g. information impossible to check in the record) is visible. Returns
    ``{question: {"share_yes": Proportion.to_dict(), "share_unknown": Proportion.to_dict(),
    "n_yes", "n_no", "n_unknown", "n_missing", "n_rows"}}``.
    """
    missing_columns = [q for q in questions if q not in df.columns]
    if missing_columns:
        raise ValueError(f"patient_representative_findings: missing column(s) {missing_columns}")
    findings = {}
    for question in questions:
        counts = {"yes": 0, "no": 0, "unknown": 0, "missing": 0}
        for value in df[question]:
            counts[_answer(value)] += 1
        decided = counts["yes"] + counts["no"]
        answered = decided + counts["unknown"]
        findings[question] = {
            "share_yes": proportion(counts["yes"], decided, alpha, method).to_dict(),
            "share_unknown": proportion(counts["unknown"], answered, alpha, method).to_dict(),
            "n_yes": counts["yes"],
            "n_no": counts["no"],
            "n_unknown": counts["unknown"],
            "n_missing": counts["missing"],
            "n_rows": len(df),
        }
    return findings
