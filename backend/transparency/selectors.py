"""Reads of the public texts and of the public pages.

The public reads (``register_entries``, ``public_report_get``, ``published_*``) return published
material only: published register entries, published public reports, published FALC texts. Each
costs a fixed number of queries whatever the number of AI systems or reports."""

from django.db.models import OuterRef, QuerySet, Subquery

from cases.models import AISystem
from reports.enums import Audience, ReportState
from reports.models import Report

from .enums import TextKind, TextState
from .models import PublicText
from .permissions import approver_ai_system_ids, can_manage_public_texts, can_view_text


def public_text_list_for_user(user) -> QuerySet[PublicText]:
    """The texts the caller works on: all for the quality team; for a patient representative, the
    submitted, decided and published texts of the AI systems they approve for; none otherwise."""
    qs = PublicText.objects.select_related("ai_system", "report").order_by("-updated_at", "-pk")
    if can_manage_public_texts(user):
        return qs
    ids = approver_ai_system_ids(user)
    if not ids:
        return qs.none()
    return qs.filter(ai_system_id__in=ids).exclude(state=TextState.DRAFT)


def public_text_get_for_user(user, pk: int) -> PublicText | None:
    text = PublicText.objects.select_related("ai_system", "report", "decided_by").filter(pk=pk).first()
    if text is None or not can_view_text(user, text):
        return None
    return text


def published_public_reports() -> QuerySet[Report]:
    return Report.objects.filter(audience=Audience.PUBLIC, state=ReportState.PUBLISHED)


def public_report_get(pk: int) -> Report | None:
    """A public report as its public page shows it: the published version, or for a superseded
    version the version that replaced it (a printed QR code keeps working); ``None`` for anything
    else (internal, draft, unknown). Two queries at most."""
    report = Report.objects.select_related("campaign__ai_system").filter(
        pk=pk, audience=Audience.PUBLIC, state__in=(ReportState.PUBLISHED, ReportState.SUPERSEDED)).first()
    if report is None or report.state == ReportState.PUBLISHED:
        return report
    return published_public_reports().select_related("campaign__ai_system").filter(
        campaign_id=report.campaign_id).first()


def published_falc_text(report: Report) -> PublicText | None:
    return PublicText.objects.filter(kind=TextKind.FALC, report=report, state=TextState.PUBLISHED).first()


def published_register_text(ai_system_id: int) -> PublicText | None:
    return PublicText.objects.filter(kind=TextKind.REGISTER, ai_system_id=ai_system_id,
                                     state=TextState.PUBLISHED).first()


def register_entries() -> list[dict]:
    """The public register: every AI system in use, its published register entry (``None`` while
    none is approved and published) and its latest published public report (``None`` before the
    first). Two queries."""
    latest = published_public_reports().filter(campaign__ai_system=OuterRef("pk")).order_by("-published_at", "-pk")
    systems = AISystem.objects.filter(is_active=True).annotate(
        report_id=Subquery(latest.values("pk")[:1]), report_title=Subquery(latest.values("title")[:1]),
        report_published_at=Subquery(latest.values("published_at")[:1]),
    ).order_by("name").values("pk", "name", "report_id", "report_title", "report_published_at")
    texts = {t.ai_system_id: t for t in PublicText.objects.filter(kind=TextKind.REGISTER, state=TextState.PUBLISHED)}
    return [{"id": s["pk"], "name": s["name"], "entry": texts[s["pk"]].content if s["pk"] in texts else None,
             "entry_published_at": texts[s["pk"]].published_at if s["pk"] in texts else None,
             "report": {"id": s["report_id"], "title": s["report_title"], "published_at": s["report_published_at"]}
             if s["report_id"] else None} for s in systems]
