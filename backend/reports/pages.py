"""Template contexts of the report pages, built from the selectors' JSON figures.

The same functions serve the live dashboards, the frozen reports and the self-contained HTML
export, so that a published report looks exactly like the dashboard it froze. Contexts hold
plain dictionaries and strings, never model instances.
"""

import pandas as pd
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.enums import Sex
from cases.labels import label_display
from concordance import DISCREPANCY_GRADES, SIGNIFICANT_GRADES, SMALL_SAMPLE, too_small
from reviews.enums import Discrepancy
from sittings.enums import ActionKind, ActionState
from vigilance.enums import Seriousness, VigilanceState

from . import charts, scores
from .selectors.campaign import PUBLIC_MIN_CELL

DIMENSIONS = {
    "sex": gettext_lazy("Sex"),
    "age_band": gettext_lazy("Age band"),
    "site": gettext_lazy("Site"),
    "ai_version": gettext_lazy("AI version"),
}
METRIC_NAMES = {
    "agreement": gettext_lazy("Agreement AI / reference"),
    "sensitivity": gettext_lazy("Sensitivity"),
    "specificity": gettext_lazy("Specificity"),
    "ppv": gettext_lazy("Positive predictive value"),
    "npv": gettext_lazy("Negative predictive value"),
    "clinician_agreement": gettext_lazy("Agreement clinician's final decision / reference"),
    "override_rate": gettext_lazy("Override rate"),
    "reliance_on_wrong_ai": gettext_lazy("AI errors let through"),
}
CONTROL_STATUS_NAMES = {
    "in": gettext_lazy("Within the control limits"),
    "above": gettext_lazy("Above the upper control limit"),
    "below": gettext_lazy("Below the lower control limit"),
    "empty": gettext_lazy("No case in this period"),
}
"""The status of a control-chart point (``concordance.drift``) as a person reads it."""

THREE_WAY_NAMES = {
    "ai_right_followed": gettext_lazy("AI right, followed"),
    "ai_right_overridden": gettext_lazy("AI right, overridden"),
    "ai_wrong_followed": gettext_lazy("AI wrong, followed"),
    "ai_wrong_overridden": gettext_lazy("AI wrong, overridden"),
    "all_disagree": gettext_lazy("All three disagree"),
    "missing": gettext_lazy("Incomplete (no reference or no final decision)"),
}


def pct(value) -> str:
    """A proportion as a percentage with one decimal, rounded (``number_format`` alone truncates:
    8/12 would read 66,6 %)."""
    return "—" if value is None else f"{number_format(round(value * 100, 1), 1)} %"


def num(value, digits: int = 2) -> str:
    return "—" if value is None else number_format(round(value, digits), digits)


def interval(low, high, percent: bool = True) -> str:
    if low is None or high is None:
        return ""
    return f"[{pct(low)} ; {pct(high)}]" if percent else f"[{num(low)} ; {num(high)}]"


def _group_label(dimension: str, value) -> str:
    if dimension == "sex":
        try:
            return str(Sex(value).label)
        except ValueError:
            return str(value)
    return str(value)


def _proportion_row(name, block: dict | None) -> dict:
    block = block or {}
    return {"name": name, "x": block.get("x"), "n": block.get("n"), "estimate": pct(block.get("estimate")),
            "interval": interval(block.get("ci_low"), block.get("ci_high"))}


def campaign_context(figures: dict) -> dict:
    """Headline figures, tables and the charts (plotly JSON) of a campaign's figures."""
    summary = figures["summary"]
    labels = summary["labels"]
    ref = summary["ai_vs_reference"]
    headline = [
        {"name": _("Agreement AI / reference"), "value": pct(ref["percent_agreement"]), "n": ref["n"],
         "detail": _("kappa %(k)s %(ci)s") % {"k": num(ref["kappa"]), "ci": interval(
             ref.get("kappa_ci_low"), ref.get("kappa_ci_high"), percent=False)}},
    ]
    readers = summary["readers"]
    ac1 = figures["readers_ac1"]
    headline.append({"name": _("Agreement between readers"), "value": pct(readers["percent_agreement"]),
                     "n": readers["n"], "detail": _("Cohen's kappa %(k)s, Gwet's AC1 %(a)s %(ci)s") % {
                         "k": num(readers["kappa"]), "a": num(ac1["ac1"]),
                         "ci": interval(ac1.get("ci_low"), ac1.get("ci_high"), percent=False)}})
    final = summary["ai_vs_final"]
    headline.append({"name": _("Agreement AI / clinician's final decision"), "value": pct(final["percent_agreement"]),
                     "n": final["n"], "detail": _("kappa %(k)s") % {"k": num(final["kappa"])}})
    accuracy_rows = []
    if figures.get("accuracy"):
        accuracy = figures["accuracy"]
        accuracy_rows = [_proportion_row(METRIC_NAMES[k], accuracy[k])
                         for k in ("sensitivity", "specificity", "ppv", "npv")]
    table = pd.DataFrame([[summary["confusion"][r][c] for c in labels] for r in labels],
                         index=[label_display(x) for x in labels], columns=[label_display(x) for x in labels])
    confusion_rows = [{"label": label_display(r), "counts": [summary["confusion"][r][c] for c in labels]}
                      for r in labels]
    three = figures["three_way"]
    three_rows = [{"key": k, "label": str(THREE_WAY_NAMES.get(k, k)), "count": v} for k, v in three["counts"].items()]
    equity = figures["equity"]
    equity_rows = [{
        "dimension": str(DIMENSIONS.get(r["dimension"], r["dimension"])),
        "group": _group_label(r["dimension"], r["group"]),
        "x": r["x"], "n": r["n"], "estimate": pct(r["estimate"]), "interval": interval(r["ci_low"], r["ci_high"]),
        "rest": pct(r["rest_estimate"]), "p_adjusted": num(r["p_adjusted"], 3), "differs": r["differs"],
        "too_small": r["too_small"],
    } for r in equity["rows"]]
    metric_label = str(METRIC_NAMES.get(equity["metric"], equity["metric"]))
    figs = {"confusion": charts.to_dict(charts.confusion_heatmap(table)),
            "three_way": charts.to_dict(charts.category_bar(
                pd.DataFrame([r for r in three_rows if r["key"] != "missing"], columns=["key", "label", "count"])))}
    if equity_rows:
        forest = pd.DataFrame([{
            "label": f"{row['dimension']} : {row['group']}", "estimate": r["estimate"], "ci_low": r["ci_low"],
            "ci_high": r["ci_high"], "differs": r["differs"], "too_small": r["too_small"]}
            for row, r in zip(equity_rows, equity["rows"], strict=True)])
        figs["forest"] = charts.to_dict(charts.forest_plot(
            forest, _("%(metric)s by subgroup, with 95-percent intervals") % {"metric": metric_label}))
    return {
        "figures_meta": figures["campaign"],
        "headline": headline,
        "accuracy_rows": accuracy_rows,
        "positive": label_display(figures.get("positive")),
        "n_cases": summary["n_cases"], "n_with_reference": summary["n_with_reference"],
        "n_needs_adjudication": summary["n_needs_adjudication"],
        "small_sample": figures["small_sample"], "small_sample_threshold": figures["small_sample_threshold"],
        "labels": [label_display(x) for x in labels], "confusion_rows": confusion_rows,
        "three_rows": three_rows,
        "override_rate": _proportion_row(_("Override rate"), three["override_rate"]),
        "reliance_row": _proportion_row(_("AI errors let through"), three["reliance_on_wrong_ai"]),
        "equity_metric": metric_label, "equity_rows": equity_rows, "equity_min_n": equity["min_n"],
        "charts": figs,
    } | patient_and_weighted_context(figures) | validation_context(figures, figs) | scores.scores_context(figures, figs)


AGENDA_NAMES = {
    "pending": gettext_lazy("On the agenda"),
    "decided": gettext_lazy("Decided by the committee"),
}


def discordant_context(rows: list[dict]) -> list[dict]:
    """Display rows of the discordant-case list (case-level: the live dashboard only, for callers
    with case-level access; never a frozen report)."""
    return [r | {
        "ai_display": label_display(r["ai_label"]), "final_display": label_display(r["final_label"]),
        "reference_display": label_display(r["reference_label"]),
        "category_display": str(THREE_WAY_NAMES.get(r["category"], r["category"])),
        "agenda_display": str(AGENDA_NAMES[r["agenda"]]) if r["agenda"] else "",
    } for r in rows]


def series_context(series: dict) -> dict:
    if not series["campaigns"]:  # no campaign: a sentence on the page, not empty charts and tables
        return {"campaigns": [], "metrics": [], "charts": {}}
    metrics = []
    figs = {}
    for key, block in series["metrics"].items():
        chart = block["chart"]
        points = pd.DataFrame(chart["points"], columns=["period", "x", "n", "estimate", "lower", "upper", "status"])
        name = str(METRIC_NAMES.get(key, key))
        figs[key] = charts.to_dict(charts.control_chart(points, name, chart["centre"], block["threshold"]))
        metrics.append({
            "key": key, "name": name, "chart": figs[key],
            "threshold": pct(block["threshold"]) if block["threshold"] is not None else "",
            "centre": pct(chart["centre"]),
            "points": [{"period": p["period"], "x": p["x"], "n": p["n"], "estimate": pct(p["estimate"]),
                        "limits": interval(p["lower"], p["upper"]), "status": p["status"],
                        "status_label": str(CONTROL_STATUS_NAMES.get(p["status"], p["status"])),
                        "small": too_small(p["n"])} for p in chart["points"]],
            "reading": control_reading(chart),
            "alerts": [{"period": a["period"], "estimate": pct(a["estimate"]),
                        "interval": interval(a["ci_low"], a["ci_high"]), "conclusive": a["level"] == "conclusive"}
                       for a in block["alerts"]],
        })
    return {"campaigns": series["campaigns"], "metrics": metrics, "charts": figs}


def population_context(rows: list[dict]) -> dict:
    frame = pd.DataFrame(rows, columns=["month", "site", "n", "ai_positive", "ai_positive_rate", "n_decided",
                                        "overridden", "override_rate", "small"])
    figs = {}
    if len(frame):
        figs["ai_positive"] = charts.to_dict(
            charts.monthly_lines(frame, "ai_positive_rate", _("AI positive rate by month and site")))
        figs["override"] = charts.to_dict(
            charts.monthly_lines(frame, "override_rate", _("Clinician override rate by month and site")))
    return {"rows": [r | {"ai_positive_pct": pct(r["ai_positive_rate"]), "override_pct": pct(r["override_rate"]),
                          "month_label": charts.month_label(r["month"]) if r["month"] else ""}
                     for r in rows], "charts": figs,
            "readings": {"ai_positive": population_reading(rows, "ai_positive_rate"),
                         "override": population_reading(rows, "override_rate")}}


PUBLIC_METRIC_NAMES = {
    "agreement": gettext_lazy("The AI agreed with the doctors of the college"),
    "sensitivity": gettext_lazy("The AI found the disease when the doctors of the college found it"),
}


def public_context(public: dict | None) -> dict:
    """The public figures of a published public report. Robust to what an older frozen summary
    lacks (no equity table, a missing block): a missing figure reads as suppressed."""
    public = public or {}

    def cell(block):
        block = block or {}
        suppressed = block.get("suppressed", True) or block.get("estimate") is None
        return {"suppressed": suppressed, "value": None if suppressed else pct(block["estimate"]),
                "estimate": None if suppressed else block["estimate"], "n": block.get("n")}

    equity = public.get("equity") or {}
    dimensions = [{
        "key": d["dimension"], "label": str(DIMENSIONS.get(d["dimension"], d["dimension"])),
        "groups": [{"label": _group_label(d["dimension"], g["group"]), "suppressed": g["suppressed"],
                    "n": g["n"], "value": None if g["suppressed"] else pct(g["estimate"])} for g in d["groups"]],
    } for d in equity.get("dimensions") or []]
    metric = equity.get("metric")
    return {"campaign": public.get("campaign") or {}, "n_cases": public.get("n_cases"),
            "agreement": cell(public.get("agreement")), "override": cell(public.get("override")),
            "ai_wrong_caught": cell(public.get("ai_wrong_caught")),
            "equity": {"metric": metric, "metric_label": str(PUBLIC_METRIC_NAMES.get(metric, METRIC_NAMES.get(
                metric, metric or ""))), "dimensions": dimensions} if dimensions else None,
            "min_cell": public.get("min_cell", PUBLIC_MIN_CELL)}


def _choice_label(enum, value) -> str:
    try:
        return str(enum(value).label)
    except ValueError:
        return str(value)


def oversight_context(actions: dict, vigilance: dict) -> dict:
    """Corrective actions and vigilance clocks of the AI-system dashboard (management sees them:
    no case, no description)."""
    action_rows = [a | {"kind_label": _choice_label(ActionKind, a["kind"]),
                        "state_label": _choice_label(ActionState, a["state"])} for a in actions["rows"]]
    vigilance_rows = [r | {"state_label": _choice_label(VigilanceState, r["state"]),
                           "seriousness_label": _choice_label(Seriousness, r["seriousness"])}
                      for r in vigilance["open"]]
    return {
        "actions": {"n": actions["n"], "n_open": actions["n_open"], "n_overdue": actions["n_overdue"],
                    "rows": action_rows},
        "vigilance": {"n": vigilance["n"], "open": vigilance_rows,
                      "by_state": [{"state": s, "label": _choice_label(VigilanceState, s), "n": n}
                                   for s, n in vigilance["by_state"].items()]},
    }


PATIENT_QUESTION_NAMES = {
    "patient_informed": gettext_lazy("Patient informed of the use of AI"),
    "information_understandable": gettext_lazy("Information understandable"),
    "rights_respected": gettext_lazy("Rights respected"),
    "equity_concern": gettext_lazy("Equity concern raised"),
}


def patient_and_weighted_context(figures: dict) -> dict:
    """Patient representatives' findings and design-weighted estimates, when the figures hold
    them (reports frozen before they were computed do not)."""
    patient = figures.get("patient_findings") or {}
    patient_rows = [{
        "name": str(PATIENT_QUESTION_NAMES.get(q, q)), "yes": f["n_yes"], "no": f["n_no"], "unknown": f["n_unknown"],
        "share": pct(f["share_yes"].get("estimate")),
        "interval": interval(f["share_yes"].get("ci_low"), f["share_yes"].get("ci_high")),
    } for q, f in (patient.get("questions") or {}).items()]
    weighted_rows = [{
        "name": str(METRIC_NAMES.get(k, k)), "estimate": pct(w.get("estimate")),
        "interval": interval(w.get("ci_low"), w.get("ci_high")), "n": w.get("n"),
        "design_effect": num(w.get("design_effect")),
    } for k, w in (figures.get("design_weighted") or {}).items()]
    return {"patient_rows": patient_rows, "patient_n": patient.get("n_reviews"), "weighted_rows": weighted_rows}


def evidence_context(pack: dict) -> dict:
    def value(v):
        return v if isinstance(v, int | float | str) or v is None else str(v)

    duties = [{
        "key": d.key, "title": d.title, "description": d.description,
        "records": [{"label": r.label, "value": value(r.value), "date": r.date,
                     "date_iso": r.date.isoformat() if r.date else "", "reference": r.reference, "url": r.url}
                    for r in d.records],
    } for d in pack["duties"]]
    return {"ai_system": pack["ai_system"], "generated_at": pack["generated_at"], "duties": duties,
            "audit_ok": pack["audit_ok"]}


# --- Oversight figures and plain readings --------------------------------------------------------

SCALE_NAMES = {"nominal": gettext_lazy("nominal"), "ordinal": gettext_lazy("ordinal")}
TEST_NAMES = {
    "exact binomial": gettext_lazy("exact binomial test"),
    "chi-square without continuity correction": gettext_lazy("chi-square test without continuity correction"),
    "chi-square with continuity correction": gettext_lazy("chi-square test with continuity correction"),
}


def too_small_note(n) -> str:
    """The one "too small to conclude" sentence (:func:`concordance.too_small`), or ``""``."""
    if n is None or not too_small(n):
        return ""
    return _("Too few cases to conclude (%(n)s, fewer than %(min)s): read the interval, not the value.") % {
        "n": n, "min": SMALL_SAMPLE}


def _reading(text: str, n) -> str:
    note = too_small_note(n)
    return f"{text} {note}" if note else text


def population_reading(rows: list[dict], column: str) -> str:
    """A plain reading of a population chart: the range of the rate over the cells shown."""
    values = [r[column] for r in rows if r.get(column) is not None]
    hidden = sum(1 for r in rows if r.get(column) is None)
    if not values:
        return _("No month-and-site cell can be shown yet.")
    text = _("Over the %(n)s month-and-site cells shown, the rate ranged from %(low)s to %(high)s.") % {
        "n": len(values), "low": pct(min(values)), "high": pct(max(values))}
    if hidden:
        text += " " + _("%(n)s cell(s) are not shown (fewer than 10 cases, or cases you still read blind).") % {
            "n": hidden}
    return text


def control_reading(chart: dict) -> str:
    """A plain reading of a control chart for a hospital director."""
    points = chart.get("points") or []
    if not points:
        return _("No finished campaign yet: nothing to read.")
    last = points[-1]
    text = _("Last campaign (%(period)s): %(value)s on %(n)s cases; average of the series %(centre)s; "
             "%(out)s campaign(s) outside the control limits, i.e. beyond the usual variation.") % {
        "period": last["period"], "value": pct(last["estimate"]), "n": last["n"], "centre": pct(chart.get("centre")),
        "out": chart.get("n_out", 0)}
    return _reading(text, last["n"])


def _grade_label(grade: str) -> str:
    return _choice_label(Discrepancy, grade)


def _equity_matrix(blocks: list[dict]) -> tuple[list[str], list[dict]]:
    """Every headline figure by subgroup: one row per (dimension, group), one cell per figure."""
    metrics = [str(METRIC_NAMES.get(b["metric"], b["metric"])) for b in blocks]
    rows: dict[tuple, dict] = {}
    for i, block in enumerate(blocks):
        for r in block["rows"]:
            key = (r["dimension"], str(r["group"]))
            row = rows.setdefault(key, {"dimension": str(DIMENSIONS.get(r["dimension"], r["dimension"])),
                                        "group": _group_label(r["dimension"], r["group"]),
                                        "cells": [None] * len(blocks)})
            row["cells"][i] = {"value": pct(r["estimate"]), "x": r["x"], "n": r["n"],
                               "interval": interval(r["ci_low"], r["ci_high"]), "differs": r["differs"],
                               "too_small": r["too_small"]}
    return metrics, list(rows.values())


def _headline_readings(figures: dict) -> dict:
    summary = figures["summary"]
    ref = summary["ai_vs_reference"]
    readings = {}
    text = _("Of %(n)s cases with a reference, the AI output matched the college's blind reading in %(pct)s "
             "of them.") % {"n": ref["n"], "pct": pct(ref["percent_agreement"])}
    accuracy = figures.get("accuracy")
    if accuracy and accuracy.get("sensitivity", {}).get("n"):
        text += " " + _("It flagged %(sens)s of the positive cases (%(x)s of %(n)s).") % {
            "sens": pct(accuracy["sensitivity"]["estimate"]), "x": accuracy["sensitivity"]["x"],
            "n": accuracy["sensitivity"]["n"]}
    readings["confusion"] = _reading(text, ref["n"])
    three = figures["three_way"]
    counts = three["counts"]
    readings["three_way"] = _reading(_(
        "Of %(n)s cases with the AI output, the clinician's decision and the reference, %(followed)s AI error(s) "
        "went through because the clinician followed the AI, and %(caught)s were caught by the clinician. "
        "The clinician overrode the AI in %(override)s of the cases.") % {
        "n": three["n_complete"], "followed": counts.get("ai_wrong_followed", 0),
        "caught": counts.get("ai_wrong_overridden", 0), "override": pct(three["override_rate"]["estimate"])},
        three["n_complete"])
    rows = figures["equity"]["rows"]
    differing = [f"{DIMENSIONS.get(r['dimension'], r['dimension'])} : {_group_label(r['dimension'], r['group'])}"
                 for r in rows if r["differs"]]
    small = sum(1 for r in rows if r["too_small"])
    if differing:
        text = _("Groups that differ from the others beyond chance: %(groups)s.") % {"groups": ", ".join(differing)}
    else:
        text = _("No group differs from the others beyond chance.")
    if small:
        text += " " + _("%(n)s group(s) are too small to conclude either way.") % {"n": small}
    readings["forest"] = text
    return readings


def validation_context(figures: dict, charts_out: dict) -> dict:
    """The oversight figures (AI vs clinician, weighted kappa, reliability across all readers,
    discrepancy grades, automation bias, equity of every figure) and a plain reading under each
    chart. Reports frozen before these figures existed lack them: their sections stay hidden.
    Adds the discrepancy chart to ``charts_out``."""
    ctx: dict = {"readings": _headline_readings(figures)}
    paired = figures.get("ai_vs_clinician")
    if paired is not None:
        significant = paired["p_value"] is not None and paired["p_value"] < 0.05
        verdict = _("a difference beyond chance") if significant else _("no difference beyond chance")
        ctx["ai_vs_clinician"] = paired | {
            "ai": pct(paired["ai_accuracy"]["estimate"]), "clinician": pct(paired["clinician_accuracy"]["estimate"]),
            "ai_interval": interval(paired["ai_accuracy"]["ci_low"], paired["ai_accuracy"]["ci_high"]),
            "clinician_interval": interval(paired["clinician_accuracy"]["ci_low"],
                                           paired["clinician_accuracy"]["ci_high"]),
            "p": num(paired["p_value"], 3), "method_label": str(TEST_NAMES.get(paired["method"], paired["method"])),
            "reading": _reading(_(
                "On %(n)s cases, the clinician's final decision matched the reference in %(c)s of them and the AI "
                "output in %(a)s: %(verdict)s (McNemar test, p = %(p)s).") % {
                "n": paired["n"], "c": pct(paired["clinician_accuracy"]["estimate"]),
                "a": pct(paired["ai_accuracy"]["estimate"]), "verdict": verdict, "p": num(paired["p_value"], 3)},
                paired["n"]),
        }
    weighted = figures.get("weighted_kappa")
    if weighted is not None:
        ctx["weighted_kappa"] = {"value": num(weighted["kappa"]), "n": weighted["n"],
                                 "interval": interval(weighted["ci_low"], weighted["ci_high"], percent=False),
                                 "weights": weighted["weights"], "too_small": too_small(weighted["n"])}
    reliability = figures.get("reliability")
    if reliability is not None:
        ctx["reliability"] = reliability | {"alpha_display": num(reliability["alpha"]),
                                            "level_label": str(SCALE_NAMES.get(reliability["level"],
                                                                               reliability["level"])),
                                            "fleiss_display": num(reliability["fleiss_kappa"])}
    discrepancies = figures.get("discrepancies")
    if discrepancies is not None:
        rows = [{"label": _grade_label(g), "count": discrepancies["counts"][g],
                 "estimate": pct(discrepancies["rates"][g]["estimate"]),
                 "interval": interval(discrepancies["rates"][g]["ci_low"], discrepancies["rates"][g]["ci_high"]),
                 "significant": g in SIGNIFICANT_GRADES} for g in DISCREPANCY_GRADES]
        significant = discrepancies["significant"]
        ctx["discrepancies"] = {
            "rows": rows, "n": discrepancies["n"], "significant": _proportion_row(
                _("Clinically significant discrepancy rate"), significant),
            "too_small": discrepancies["too_small"],
            "reading": _reading(_(
                "After seeing the AI output, the readers judged %(x)s of their %(n)s readings (%(pct)s) to differ "
                "from it in a likely clinically significant way.") % {
                "x": significant["x"], "n": discrepancies["n"], "pct": pct(significant["estimate"])},
                discrepancies["n"]),
        }
        if discrepancies["n"]:
            charts_out["discrepancies"] = charts.to_dict(charts.grade_bar(
                pd.DataFrame(rows, columns=["label", "count", "significant"]),
                _("Discrepancies graded after unblinding")))
    bias = figures.get("automation_bias")
    if bias is not None:
        ctx["automation_bias"] = _proportion_row(_("Automation bias"), bias["automation_bias"]) | {
            "n_differed": bias["n_differed"], "n_unanswered": bias["n_unanswered"],
            "too_small": too_small(bias["n_answered"])}
    if figures.get("equity_by_metric"):
        ctx["equity_metrics"], ctx["equity_matrix"] = _equity_matrix(figures["equity_by_metric"])
    return ctx


def reader_table_context(rows: list[dict]) -> list[dict]:
    """Display rows of the per-reader table (quality team only, live dashboard only)."""
    return [{"reader": r["reader"], "n_readings": r["n_readings"],
             "agreement": _proportion_row("", r["agreement"]), "n_graded": r["n_graded"],
             "discrepancy": _proportion_row("", r["discrepancy"]),
             "significant": _proportion_row("", r["significant"]), "too_small": r["too_small"]} for r in rows]
