"""Figures shown on a blind re-reading campaign page of the collège de garantie humaine.

One row per case. For each case the AI output (``ai_label``), the clinician's final decision
(``final_label``) and the blind re-readings of the committee's clinicians (``reader_labels``).
The human *reference* of a case is the label its verdicts are compared with
(:func:`case_reference`): the one recorded for the case, else the strict-majority reader label.
"""

import itertools
import math
import operator
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .agreement import (
    _checked_labels,
    _complete_pairs,
    _contingency,
    _is_missing,
    _kappa_from_table,
    _missing_mask,
    _native,
    _natives,
    _object_array,
    _ordered_labels,
    _strict_majority,
    confusion_matrix,
)

__all__ = ["REQUIRED_COLUMNS", "campaign_summary", "case_reference"]

REQUIRED_COLUMNS: tuple[str, ...] = ("case_id", "ai_label", "final_label", "reader_labels")


def _reader_list(value: Any) -> list[Any]:
    """The non-missing reader labels of one case, in their stored order."""
    if _is_missing(value):
        return []
    if not pd.api.types.is_list_like(value) or isinstance(value, dict):
        raise TypeError(f"reader_labels must hold a list of labels per case, got {type(value).__name__}")
    return [_native(v) for v in value if not _is_missing(v)]


def _reader_lists(values: Iterable[Any]) -> list[list[Any]]:
    """:func:`_reader_list` of every case. When every case holds a plain list (the usual input),
    the labels are converted and checked for missing values in one pass over all of them."""
    raw = list(values)
    if not all(type(v) is list for v in raw):
        return [_reader_list(v) for v in raw]
    flat = _natives(itertools.chain.from_iterable(raw))
    if _missing_mask(flat).any():
        return [_reader_list(v) for v in raw]
    ends = itertools.accumulate(map(len, raw))
    return [flat[stop - len(r):stop] for r, stop in zip(raw, ends, strict=True)]


def _scalar_column(df: pd.DataFrame, column: str) -> list[Any]:
    """The column as native labels, every missing value as ``None``."""
    values = _natives(df[column])
    missing = _missing_mask(values)
    if not missing.any():
        return values
    array = _object_array(values)
    array[missing] = None
    return array.tolist()


def case_reference(reader_labels: Iterable[Any], recorded: Any = None, min_readers: int = 1) -> Any | None:
    """The rule for a case's reference label, the label its verdicts are compared with.

    The reference recorded for the case (unanimous clinician readers, or an adjudication), when
    there is one; else the label of a strict majority of the clinician readers' non-missing labels
    (:func:`~concordance.agreement.majority_label`), once at least ``min_readers`` of them are in
    (a campaign passes its readers per case, so that a half-read case has no reference yet);
    else None: no reference yet, or readers who disagree with no majority (adjudication needed).
    """
    present = [_native(v) for v in reader_labels if not _is_missing(v)]
    return _reference(present, None if _is_missing(recorded) else _native(recorded), min_readers)


def _reference(present: list[Any], recorded: Any, min_readers: int) -> Any | None:
    """:func:`case_reference` of reader labels already native and non-missing."""
    if recorded is not None:
        return recorded
    return _strict_majority(present) if len(present) >= min_readers else None


def _json_clean(value: Any) -> Any:
    """Replace NaN by None, recursively, and NumPy scalars by Python scalars."""
    value = _native(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {_native(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_clean(v) for v in value]
    return value


def _agreement(a: Iterable[Any], b: Iterable[Any], labels: list[Any], with_ci: bool = False) -> dict:
    """``cohen_kappa(a, b, labels=labels)`` and ``percent_agreement(a, b)``, pairing ``a`` and
    ``b`` once for both."""
    a_kept, b_kept = _complete_pairs(list(a), list(b))
    label_list = _checked_labels(labels)
    result = _kappa_from_table(_contingency(a_kept, b_kept, label_list), None, 0.05, label_list)
    agreement = sum(map(operator.eq, a_kept, b_kept)) / len(a_kept) if a_kept else math.nan
    block = {"percent_agreement": agreement, "kappa": result.kappa}
    if with_ci:
        block |= {"kappa_ci_low": result.ci_low, "kappa_ci_high": result.ci_high}
    block["n"] = result.n
    return block


def campaign_summary(
    df: pd.DataFrame, labels: list[Any] | None = None, min_readers: int = 1
) -> dict[str, Any]:
    """Concordance figures of a campaign, as a JSON-serialisable dict (NaN reported as ``None``).

    Input: a DataFrame with one row per case and the columns ``case_id`` (unique),
    ``ai_label``, ``final_label`` (may be missing) and ``reader_labels`` (a list of the
    clinician readers' labels in a stable order; may be empty, missing, or hold missing values,
    which are ignored). An optional ``reference_label`` column holds a reference already
    recorded for the case (an adjudication, or unanimous readers): where present it overrides
    the majority. ``labels`` fixes the label set and its order (e.g. the AI system's labels,
    positive first); by default it is every label seen, sorted. ``min_readers``: a case whose
    reference is not recorded needs at least that many reader labels before their majority
    counts (a campaign passes its readers per case, so that a half-read case has no reference
    yet).

    Definitions
    -----------
    * Reference of a case (:func:`case_reference`): the recorded ``reference_label`` if any, else
      ``majority_label(reader_labels)``, the label given by more than half of the non-missing
      reader labels. A case read by a single clinician therefore has that
      reading as its reference. A case with two or more reader labels but no strict majority
      (with two readers: any disagreement) has no reference: it needs adjudication and is
      counted in ``n_needs_adjudication``; it is excluded from ``ai_vs_reference`` and
      ``confusion``. A case without any reader label has no reference and is not counted there.
    * Label set: every non-missing label seen in the campaign (AI, final, readers), sorted when
      comparable. It is used for every kappa (labels nobody used do not change an unweighted
      kappa) and for both axes of ``confusion``.
    * All agreement figures use pairwise deletion: a case enters a comparison when both of its
      labels are present, and ``n`` is the number of such cases. Kappas are unweighted Cohen's
      kappas (:func:`~concordance.agreement.cohen_kappa`); ``percent_agreement`` is a fraction
      in [0, 1]; kappa is None when undefined (no case, or a single label used throughout).

    Output keys
    -----------
    ``n_cases``, ``n_with_reference``, ``n_needs_adjudication``;
    ``ai_vs_reference`` {``percent_agreement``, ``kappa``, ``kappa_ci_low``, ``kappa_ci_high``
    (95 % interval of :func:`~concordance.agreement.cohen_kappa`, inside [-1, 1]: Wald with the
    Fleiss-Cohen-Everitt standard error from 30 cases, a small-sample interval below or when
    that standard error is 0), ``n``};
    ``readers`` {``percent_agreement``, ``kappa``, ``n``}: first versus second reader, on the
    cases with at least two non-missing reader labels (the first two of them, in list order);
    ``ai_vs_final`` {``percent_agreement``, ``kappa``, ``n``};
    ``labels`` (the label set, in order) and ``confusion``: counts as
    ``{ai_label: {reference_label: count}}`` over all labels of the label set.
    """
    missing_columns = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing_columns:
        raise ValueError(f"campaign_summary: missing column(s) {missing_columns}")
    if df["case_id"].duplicated().any():
        duplicated = df.loc[df["case_id"].duplicated(), "case_id"].unique().tolist()
        raise ValueError(f"campaign_summary: duplicated case_id {duplicated[:10]}")

    ai = _scalar_column(df, "ai_label")
    final = _scalar_column(df, "final_label")
    readers = _reader_lists(df["reader_labels"])
    recorded = _scalar_column(df, "reference_label") if "reference_label" in df.columns else [None] * len(df)
    reference = [_reference(r, rec, min_readers) for r, rec in zip(readers, recorded, strict=True)]
    seen = _ordered_labels(ai + final + list(itertools.chain.from_iterable(readers)) + [r for r in reference if r])
    labels = list(labels) + [x for x in seen if x not in labels] if labels is not None else seen

    two_read = [r for r in readers if len(r) >= 2]
    confusion = confusion_matrix(ai, reference, labels)
    summary = {
        "n_cases": len(df),
        "n_with_reference": sum(ref is not None for ref in reference),
        "n_needs_adjudication": sum(
            len(r) >= max(2, min_readers) and ref is None for r, ref in zip(readers, reference, strict=True)
        ),
        "ai_vs_reference": _agreement(ai, reference, labels, with_ci=True),
        "readers": _agreement((r[0] for r in two_read), (r[1] for r in two_read), labels),
        "ai_vs_final": _agreement(ai, final, labels),
        "labels": labels,
        "confusion": {
            row: {col: int(count) for col, count in zip(labels, counts, strict=True)}
            for row, counts in zip(labels, confusion.to_numpy(), strict=True)
        },
    }
    return _json_clean(summary)
