from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("campaigns/<int:pk>/", views.campaign_dashboard, name="campaign"),
    path("campaigns/<int:pk>/publish/", views.report_publish, name="report_publish"),
    path("ai-systems/<int:pk>/", views.ai_system_dashboard, name="ai_system"),
    path("ai-systems/<int:pk>/population/", views.population, name="population"),
    path("ai-systems/<int:pk>/evidence/", views.evidence_pack, name="evidence"),
    path("ai-systems/<int:pk>/evidence.html", views.evidence_pack_html, name="evidence_html"),
    path("ai-systems/<int:pk>/evidence.pdf", views.evidence_pack_pdf, name="evidence_pdf"),
    path("ai-systems/<int:pk>/evidence.csv", views.evidence_pack_csv, name="evidence_csv"),
    path("published/<int:pk>/", views.report_detail, name="report"),
    path("published/<int:pk>/correct/", views.report_correct, name="report_correct"),
    path("published/<int:pk>/edit/", views.report_edit, name="report_edit"),
    path("published/<int:pk>/export.html", views.report_export_html, name="report_export_html"),
    path("published/<int:pk>/export.pdf", views.report_export_pdf, name="report_export_pdf"),
    path("published/<int:pk>/export.csv", views.report_export_csv, name="report_export_csv"),
]
