"""The project's URLs plus two views that fail, for the logging tests of the 500 path."""

import logging

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from config.urls import handler403, handler404  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns

logger = logging.getLogger("cases.failing")


def failing_page(request):
    logger.warning("about to fail")
    raise RuntimeError("failing on purpose")


@api_view(["GET"])
@permission_classes([AllowAny])
def failing_api(request):
    logger.warning("about to fail in the API")
    raise RuntimeError("failing on purpose in the API")


urlpatterns = [
    path("test-failing/", failing_page),
    path("api/test-failing/", failing_api),
    *project_urlpatterns,
]
