from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from common.api import not_found
from common.security_log import log_denied
from web.views import reports as reports_views


def handler403(request, exception=None):
    log_denied(request, status=403, reason="permission_denied")
    return defaults.permission_denied(request, exception)


def handler404(request, exception=None):
    log_denied(request, status=404, reason="not_found")
    return not_found(request, exception)  # the API's error shape under /api/


urlpatterns = [
    path("api/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # GET and HEAD only: its template renderer has no template for an OPTIONS answer (a 500).
    # The documentation pages are for logged-in users: anonymous visitors go to the login page.
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="schema",
                                                                         http_method_names=["get", "head"])),
         name="swagger-ui"),
    path("api/redoc/", login_required(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("reports/", include("web.urls_reports")),
    path("public/", reports_views.public, name="public"),
    path("", include("web.urls_transparency")),
    path("", include("web.urls")),
]
