"""Reads of the dashboards: flat ``values_list`` queries into pandas, or aggregates in SQL.

``campaign``: one campaign's figures, its discordant cases (case-level callers only) and the
public summary; ``ai_system``: the series across an AI system's campaigns, population monitoring,
its corrective actions and vigilance reports. Nothing here checks permissions: the views call
:mod:`reports.permissions` first.
"""

from .ai_system import (
    ai_system_actions,
    ai_system_series,
    ai_system_vigilance,
    campaigns_in_series,
    population_by_month_and_site,
    population_table,
)
from .campaign import (
    FIGURE_STATES,
    GROUPS,
    PUBLIC_MIN_CELL,
    campaign_dashboard,
    campaign_dashboard_frame,
    campaign_frame,
    cell_disclosure,
    clean,
    design_weighted,
    discordant_cases,
    patient_findings,
    public_equity,
    public_summary,
)
from .oversight import EQUITY_METRICS, WEIGHTS, oversight_figures, reader_rows

__all__ = [
    "FIGURE_STATES", "GROUPS", "PUBLIC_MIN_CELL", "ai_system_actions",
    "ai_system_series", "ai_system_vigilance", "campaign_dashboard", "campaign_dashboard_frame", "campaign_frame",
    "campaigns_in_series", "cell_disclosure", "clean", "design_weighted", "discordant_cases", "patient_findings",
    "population_by_month_and_site", "population_table", "public_equity", "public_summary", "EQUITY_METRICS",
    "WEIGHTS", "oversight_figures", "reader_rows",
]
