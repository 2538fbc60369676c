"""Public transparency pages (``/public/...``, no login) and the work on public texts
(``/transparency/...``), under the ``transparency:`` namespace (``web.views.transparency``)."""

from django.urls import path

from .views import transparency as views

app_name = "transparency"

urlpatterns = [
    path("public/register/", views.register, name="register"),
    path("public/reports/<id:pk>/", views.report_public, name="report"),
    path("public/reports/<id:pk>/easy-to-read/", views.report_falc, name="falc"),
    path("public/reports/<id:pk>/poster/", views.report_poster, name="poster"),
    path("public/reports/<id:pk>/poster.pdf", views.report_poster_pdf, name="poster_pdf"),
    path("transparency/", views.text_list, name="texts"),
    path("transparency/ai-systems/<id:pk>/", views.ai_system_profile, name="ai_system"),
    path("transparency/ai-systems/<id:pk>/register-draft/", views.register_draft, name="register_draft"),
    path("transparency/reports/<id:pk>/falc-draft/", views.falc_draft, name="falc_draft"),
    path("transparency/texts/<id:pk>/", views.text_detail, name="text"),
    path("transparency/texts/<id:pk>/edit/", views.text_edit, name="text_edit"),
    path("transparency/texts/<id:pk>/<slug:name>/", views.text_transition, name="text_transition"),
]
