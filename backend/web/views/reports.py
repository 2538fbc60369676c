"""Report pages: dashboards (campaign, AI system, population), published reports, exports and
the public page, under the ``reports:`` URL namespace (``web.urls_reports``). Views check the
permission, call one selector or service of ``reports``, render."""

import io
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from cases.models import AISystem
from cases.selectors import ai_system_get_for_user, ai_system_list_for_user
from common import csv_export
from common.cache import cached
from common.exceptions import Forbidden
from common.pdf import pdf_response
from reports import evidence, pages, selectors, services, static_charts
from reports import permissions as perms
from reports.enums import Audience, ReportState
from reports.finders import plotly_js_source
from reports.models import Report
from reports.selectors.published import (
    public_report_list,
    report_comment_list,
    report_get_for_user,
    report_list_for_campaign,
)
from reviews import selectors as review_selectors
from reviews import services as review_services
from reviews.permissions import (
    blind_campaign_ids_of,
    can_view_campaign_results,
    reads_campaign_figures,
    reads_member_figures,
)

from .. import reads
from ..errors import web_errors


@login_required
@require_safe
def index(request):
    """The dashboards the caller may open: campaigns whose figures they may read (none where
    they still review blind), AI systems, and the public page. Three queries."""
    user = request.user
    campaigns, ai_systems = [], []
    if reads_campaign_figures(user) or reads_member_figures(user):
        blind = blind_campaign_ids_of(user)
        campaigns = [{"id": c.pk, "name": c.name, "ai_system": c.ai_system.name}
                     for c in review_selectors.figures_campaign_list_for_user(user)
                     if can_view_campaign_results(user, c, blind_campaign_ids=blind)]
    if perms.can_view_ai_system_dashboard(user):
        ai_systems = [{"id": s.pk, "name": s.name} for s in ai_system_list_for_user(user)]
    return render(request, "reports/index.html", {"campaigns": campaigns, "ai_systems": ai_systems})


def _ai_system(user, pk: int) -> AISystem:
    if not perms.can_view_ai_system_dashboard(user):
        raise Forbidden("You cannot read the AI system dashboards.")
    ai_system = ai_system_get_for_user(user, pk)
    if ai_system is None:
        raise Http404
    return ai_system


@login_required
@require_safe
@web_errors("campaign")
def campaign_dashboard(request, pk: int):
    campaign = reads.figures_campaign_for(request.user, pk)
    if not can_view_campaign_results(request.user, campaign):
        raise Forbidden("You cannot read this campaign's figures.")
    # Case-level access (quality team, the committee's officers) adds the AI-version subgroup and
    # the discordant-case list, read from the same two queries as the figures; management gets
    # the figures only. The list lives in this page's context, never in the figures a report freezes.
    case_level = perms.has_case_level_access(request.user, campaign)
    # The figures are cached under the campaign's revision and the audience (with or without the
    # AI-version subgroup); the discordant-case list carries agenda flags that change outside the
    # campaign, so it is read afresh (case-level callers only).
    frame = selectors.campaign_dashboard_frame(campaign, with_case_flags=True) if case_level else None
    figures_context = cached(
        ("campaign_dashboard", campaign.pk, case_level, get_language()),
        lambda: pages.campaign_context(selectors.campaign_dashboard(campaign, with_ai_version=case_level, frame=frame)),
        revision=review_selectors.campaign_revision(campaign))
    discordant = None
    if case_level:
        rows = selectors.discordant_cases(frame)
        # a chair who also reads is never drawn blind afterwards on a case this list shows them
        review_services.evidence_seen(user=request.user, case_ids=[r["case_id"] for r in rows])
        discordant = pages.discordant_context(rows)
    # The per-reader table names readers: the quality team only, read afresh, never cached with
    # the figures and never frozen into a report.
    reader_rows = None
    if frame is not None and perms.can_view_reader_table(request.user, campaign):
        reader_rows = pages.reader_table_context(selectors.reader_rows(campaign, frame))
    reports = [_report_row(r) for r in report_list_for_campaign(campaign)]
    return render(request, "reports/campaign_dashboard.html", figures_context | {
        "campaign": {"id": campaign.pk, "name": campaign.name, "ai_system_id": campaign.ai_system_id},
        "discordant_cases": discordant, "reader_rows": reader_rows,
        "reports": reports, "can_publish": perms.can_publish_report(request.user, campaign)
        and campaign.state in selectors.FIGURE_STATES,
        "audiences": Audience.choices,
    })


@login_required
@require_safe
@web_errors()
def ai_system_dashboard(request, pk: int):
    ai_system = _ai_system(request.user, pk)
    series = selectors.ai_system_series(ai_system, selectors.campaigns_in_series(request.user, ai_system))
    return render(request, "reports/ai_system_dashboard.html", pages.series_context(series) | pages.oversight_context(
        selectors.ai_system_actions(ai_system), selectors.ai_system_vigilance(ai_system)) | {
        "ai_system": {"id": ai_system.pk, "name": ai_system.name, "version": ai_system.version},
        "can_view_evidence": perms.can_view_evidence_pack(request.user, ai_system),
    })


@login_required
@require_safe
@web_errors()
def population(request, pk: int):
    ai_system = _ai_system(request.user, pk)
    context = pages.population_context(selectors.population_table(ai_system, request.user))
    return render(request, "reports/population.html", context | {
        "ai_system": {"id": ai_system.pk, "name": ai_system.name},
    })


# --- Evidence pack -----------------------------------------------------------------------------

def _evidence_for(user, pk: int) -> dict:
    """The pack, or 404 for anyone who may not read it (clinicians, patient representatives, the
    data-protection officer, anonymous visitors, officers of other committees)."""
    ai_system = ai_system_get_for_user(user, pk)
    if ai_system is None or not perms.can_view_evidence_pack(user, ai_system):
        raise Http404
    return pages.evidence_context(evidence.evidence_pack(ai_system, user=user))


@require_safe
def evidence_pack(request, pk: int):
    context = _evidence_for(request.user, pk)
    return render(request, "reports/evidence_pack.html", context)


@require_safe
def evidence_pack_html(request, pk: int):
    """One self-contained file (no script, no external resource) for an inspection visit."""
    context = _evidence_for(request.user, pk)
    body = render_to_string("reports/evidence_export.html", context, request=request)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dossier-preuves-ia-{pk}.html"'
    return response


@require_safe
def evidence_pack_pdf(request, pk: int):
    context = _evidence_for(request.user, pk)
    body = render_to_string("reports/evidence_export.html", context | {"for_print": True}, request=request)
    return pdf_response(body, filename=f"dossier-preuves-ia-{pk}.pdf")


@require_safe
def evidence_pack_csv(request, pk: int):
    """The index of the pack: one line per record, with its duty."""
    context = _evidence_for(request.user, pk)
    buffer = io.StringIO()
    writer = csv_export.writer(buffer)
    writer.writerow(["duty", "record", "value", "date", "reference", "link"])
    for duty in context["duties"]:
        for r in duty["records"]:
            writer.writerow([duty["key"], r["label"], r["value"], r["date_iso"], r["reference"], r["url"]])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dossier-preuves-ia-{pk}.csv"'
    return response


# --- Published reports ------------------------------------------------------------------------

def _report_row(report: Report) -> dict:
    return {"id": report.pk, "campaign_id": report.campaign_id, "title": report.title, "version": report.version,
            "audience": report.audience,
            "audience_label": Audience(report.audience).label, "state": report.state,
            "state_label": ReportState(report.state).label, "published_at": report.published_at,
            "content_hash": report.content_hash, "reason": report.reason}


def _report_for(user, pk: int, *, frozen: bool = False) -> Report:
    """The report the caller reads (404 otherwise); ``frozen``: only a published or superseded
    version (a draft is read on its page, never downloaded as if it were the report)."""
    report = report_get_for_user(user, pk)
    if report is None or frozen and report.state == ReportState.DRAFT:
        raise Http404
    return report


def _report_context(report: Report) -> dict:
    figures = report.figures
    ctx = {"report": _report_row(report), "is_public": report.audience == Audience.PUBLIC}
    if report.audience == Audience.PUBLIC:
        ctx["public"] = pages.public_context(figures["public"])
    else:
        ctx |= pages.campaign_context(figures["dashboard"])
        ctx["charts"] = figures["charts"]  # the frozen charts, not redrawn
    return ctx


@require_safe
@web_errors("report")
def report_detail(request, pk: int):
    report = _report_for(request.user, pk)
    is_draft = report.state == ReportState.DRAFT
    may_publish = perms.can_publish_report(request.user, report.campaign)
    return render(request, "reports/report_detail.html", _report_context(report) | {
        "can_correct": report.state == ReportState.PUBLISHED and may_publish,
        "is_draft": is_draft,
        "can_publish_draft": is_draft and may_publish,
        "can_comment": is_draft and perms.can_comment_report(request.user, report),
        "comments": list(report_comment_list(report)),
    })


@login_required
@require_POST
@web_errors("report", "draft")
def report_draft(request, pk: int):
    campaign = reads.campaign_for(request.user, pk)
    report = services.report_draft_create(actor=request.user, campaign=campaign,
                                          audience=request.POST.get("audience", Audience.INTERNAL))
    return redirect("reports:report", pk=report.pk)


@login_required
@require_POST
@web_errors("report", "comment")
def report_comment(request, pk: int):
    report = _report_for(request.user, pk)
    services.report_comment_add(actor=request.user, report=report, text=request.POST.get("text", ""))
    messages.success(request, _("Your comment is recorded."))
    return redirect(reverse("reports:report", args=[report.pk]) + "#comments")


@login_required
@require_POST
@web_errors("report", "publish")
def report_publish(request, pk: int):
    campaign = reads.campaign_for(request.user, pk)
    report = services.report_publish(actor=request.user, campaign=campaign,
                                     audience=request.POST.get("audience", Audience.INTERNAL))
    return redirect("reports:report", pk=report.pk)


@login_required
@require_POST
@web_errors("report", "correct")
def report_correct(request, pk: int):
    report = _report_for(request.user, pk)
    new = services.report_correct(actor=request.user, report=report, reason=request.POST.get("reason", ""))
    return redirect("reports:report", pk=new.pk)


@login_required
@require_POST
@web_errors("report", "edit")
def report_edit(request, pk: int):
    report = _report_for(request.user, pk)
    services.report_update(actor=request.user, report=report, title=request.POST.get("title", ""))
    return redirect("reports:report", pk=report.pk)


@require_safe
@web_errors("report")
def report_export_html(request, pk: int):
    """One file that opens offline: plotly.js and the figures inlined. A download, never
    rendered under the site's CSP (it holds inline scripts by design)."""
    report = _report_for(request.user, pk, frozen=True)
    plotly_js = plotly_js_source().replace("</script", "<\\/script")
    body = render_to_string("reports/export.html", _report_context(report) | {"plotly_js": plotly_js}, request=request)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rapport-{report.campaign_id}-v{report.version}.html"'
    return response


@require_safe
@web_errors("report")
def report_export_pdf(request, pk: int):
    """The frozen report printed by WeasyPrint, with the page's tables and its frozen charts drawn
    as static SVG beforehand (:mod:`reports.static_charts`; 503 when the server has no browser to
    draw them). Nothing is fetched."""
    report = _report_for(request.user, pk, frozen=True)
    context = _report_context(report)
    if context.get("charts"):
        context["charts"] = static_charts.charts_for_print(context["charts"])
    body = render_to_string("reports/export.html", context | {"for_print": True}, request=request)
    return pdf_response(body, filename=f"rapport-{report.campaign_id}-v{report.version}.pdf")


def _flatten(prefix: str, value, out: list) -> None:
    if isinstance(value, dict):
        for k in sorted(value):
            _flatten(f"{prefix}.{k}" if prefix else str(k), value[k], out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    else:
        out.append((prefix, json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value))


@require_safe
@web_errors("report")
def report_export_csv(request, pk: int):
    """The frozen figures, one ``figure,value`` line each (charts left out: they are drawings)."""
    report = _report_for(request.user, pk, frozen=True)
    data = {k: v for k, v in report.figures.items() if k != "charts"}
    rows: list = []
    _flatten("", data, rows)
    buffer = io.StringIO()
    writer = csv_export.writer(buffer)
    writer.writerow(["figure", "value"])
    writer.writerow(["report.version", report.version])
    writer.writerow(["report.content_hash", report.content_hash])
    writer.writerows(rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rapport-{report.campaign_id}-v{report.version}.csv"'
    return response


@require_safe
def public(request):
    """Every published public summary, without login: aggregates only, small cells suppressed."""
    reports = public_report_list()
    return render(request, "reports/public.html", {
        "reports": [_report_row(r) | {"public": pages.public_context(r.figures["public"])} for r in reports],
        "title": _("AI under human oversight: public results"),
    })
