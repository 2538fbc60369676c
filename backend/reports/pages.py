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
    } | patient_and_weighted_context(figures) | scores.scores_context(figures, figs)


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
                        "small": p["n"] < 30} for p in chart["points"]],
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
                     for r in rows], "charts": figs}


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
