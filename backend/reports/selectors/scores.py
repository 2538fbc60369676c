"""Score outputs of a campaign's figures: ROC curve and AUC, calibration, threshold what-if.

Read from the campaign's case frame (:func:`reports.selectors.campaign.campaign_frame`, which
carries the AI score): no query of its own. Aggregates only, as the rest of the figures: the ROC
curve keeps its coordinates but not the cases' scores that make its steps, the calibration bins
their mean score rounded to three decimals, and the what-if table is computed at round
thresholds, never at a case's score.
"""

import math

import numpy as np
import pandas as pd

from concordance.scores import auc_with_ci, brier_score, calibration_table, roc_points, threshold_table

CALIBRATION_BINS = 10
"""Bins of equal width on [0, 1] in the calibration table (a bin with no case is left out)."""
PROBABILITY_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""The what-if thresholds of a score on [0, 1] (the AI system's own threshold is added)."""
ROUND = 3
"""Decimals kept of a mean score in the figures (a bin of one case would otherwise give its score)."""


def score_grid(low: float, high: float, steps: int = 8) -> list[float]:
    """Round thresholds spanning ``[low, high]`` for a score that is not a probability: a step of
    1, 2 or 5 times a power of ten giving about ``steps`` intervals, from the multiple of the step
    at or below ``low`` to the one at or above ``high`` (so that no threshold is a case's score,
    unless that score is itself a round number)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [float(low)] if math.isfinite(low) else []
    raw = (high - low) / steps
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start, stop = math.floor(low / step), math.ceil(high / step)
    digits = max(0, -math.floor(math.log10(step)))
    return [round(k * step, digits) for k in range(start, stop + 1)]


def _thresholds(scores: np.ndarray, threshold: float | None, is_probability: bool) -> list[float]:
    grid = list(PROBABILITY_THRESHOLDS) if is_probability else score_grid(float(scores.min()), float(scores.max()))
    if threshold is not None:
        grid.append(float(threshold))
    return sorted(set(grid))


def score_figures(df: pd.DataFrame, ai) -> dict | None:
    """The score figures of a campaign, or ``None`` when there is nothing to show: no positive
    label, or no sampled case with an AI score.

    ``truth`` is the college's reference equal to the AI system's positive label (missing while
    a case has no reference); ``ai.score_threshold`` is the threshold in force (``score >=
    threshold`` flags a case). Plain figures describe the sample; ``weighted`` ones (Hajek
    weights ``1 / inclusion probability``, the sampling strata) the population of cases the AI
    processed. Calibration and the Brier score only when every score lies in [0, 1]."""
    positive = ai.positive_label or None
    if positive is None or not len(df) or "ai_score" not in df:
        return None
    scores = pd.to_numeric(df["ai_score"], errors="coerce").astype(float)
    present = scores.notna()
    if not present.any():
        return None
    reference = df["reference_label"]
    truth = np.where(reference.notna(), (reference == positive).to_numpy(dtype=bool), None)
    probabilities = df["inclusion_probability"].astype(float).clip(upper=1.0).to_numpy()
    strata = [s or "" for s in df["stratum"].to_numpy(dtype=object).tolist()]
    values = scores.to_numpy()
    score_list = [None if math.isnan(v) else v for v in values.tolist()]
    threshold = ai.score_threshold
    kept = values[present.to_numpy()]
    is_probability = bool(kept.min() >= 0.0 and kept.max() <= 1.0)
    unequal = bool(len(set(probabilities.tolist())) > 1)

    def curve(weights):
        points = roc_points(score_list, truth, weights)
        return {"fpr": points["fpr"], "tpr": points["tpr"]}  # the thresholds are the cases' scores

    auc = auc_with_ci(score_list, truth)
    weighted_auc = auc_with_ci(score_list, truth, probabilities, strata)
    what_if = threshold_table(score_list, truth, _thresholds(kept, threshold, is_probability), probabilities, strata)
    for row in what_if:
        row["current"] = threshold is not None and row["threshold"] == float(threshold)
    out = {
        "positive": positive,
        "threshold": threshold,
        "n_scored": int(present.sum()),
        "n_scored_with_reference": int((present & reference.notna()).sum()),
        "is_probability": is_probability,
        "unequal_weights": unequal,
        "auc": auc.to_dict(),
        "auc_weighted": weighted_auc.to_dict(),
        "roc": curve(None),
        "roc_weighted": curve(probabilities) if unequal else None,
        "brier": None,
        "brier_weighted": None,
        "calibration": [],
        "what_if": what_if,
    }
    if is_probability:
        out["brier"] = brier_score(score_list, truth).to_dict()
        out["brier_weighted"] = brier_score(score_list, truth, probabilities, strata).to_dict()
        out["calibration"] = [row | {"expected": round(row["expected"], ROUND)} for row in calibration_table(
            score_list, truth, probabilities, strata, n_bins=CALIBRATION_BINS)]
    return out
