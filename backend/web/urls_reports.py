"""The report pages under the ``reports:`` namespace and ``/reports/`` (``web.views.reports``)."""

from django.urls import path

from .views import reports as views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("campaigns/<id:pk>/", views.campaign_dashboard, name="campaign"),
    path("campaigns/<id:pk>/publish/", views.report_publish, name="report_publish"),
    path("ai-systems/<id:pk>/", views.ai_system_dashboard, name="ai_system"),
    path("ai-systems/<id:pk>/population/", views.population, name="population"),
    path("ai-systems/<id:pk>/evidence/", views.evidence_pack, name="evidence"),
    path("ai-systems/<id:pk>/evidence.html", views.evidence_pack_html, name="evidence_html"),
    path("ai-systems/<id:pk>/evidence.pdf", views.evidence_pack_pdf, name="evidence_pdf"),
    path("ai-systems/<id:pk>/evidence.csv", views.evidence_pack_csv, name="evidence_csv"),
    path("published/<id:pk>/", views.report_detail, name="report"),
    path("campaigns/<id:pk>/draft/", views.report_draft, name="report_draft"),
    path("published/<id:pk>/correct/", views.report_correct, name="report_correct"),
    path("published/<id:pk>/comment/", views.report_comment, name="report_comment"),
    path("published/<id:pk>/edit/", views.report_edit, name="report_edit"),
    path("published/<id:pk>/export.html", views.report_export_html, name="report_export_html"),
    path("published/<id:pk>/export.pdf", views.report_export_pdf, name="report_export_pdf"),
    path("published/<id:pk>/export.csv", views.report_export_csv, name="report_export_csv"),
]
