"""The two outermost middlewares: the request's id and access line, then the health probe.

``RequestLogMiddleware`` comes first, so that everything after it (host validation, the HTTPS
redirect, sessions, the views, Django's own 500 handling) logs with the request's id; it answers
with the id in ``X-Request-ID`` and writes one access line on the ``cgh.request`` logger when the
response is ready.

``HealthCheckMiddleware`` comes right after it and answers ``GET /healthz`` itself, before
``SecurityMiddleware``, the host check, the session, the login and the second-factor gates: a
load balancer or an orchestrator probes each application server directly, over plain HTTP on
its own address, and must get the real answer, not a redirect to HTTPS or to the login page.
The answer holds component states only (``operations.health``).
"""

import logging
import time

from django.http import JsonResponse

from . import health
from .logs import REQUEST_ID_HEADER, bind_request, request_id_from, user_id_of

access_logger = logging.getLogger("cgh.request")

HEALTH_PATH = "/healthz"


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        bind_request(request, request_id)  # until request_finished (operations.logs.clear_request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        # A passing health probe every few seconds would drown the log: logged at DEBUG only.
        quiet = request.path_info == HEALTH_PATH and response.status_code == 200
        access_logger.log(
            logging.DEBUG if quiet else logging.INFO,
            "%s %s %s %.1f ms", request.method, request.path, response.status_code, duration_ms,
            extra={"method": request.method, "path": request.path[:500], "status": response.status_code,
                   "duration_ms": duration_ms, "user_id": user_id_of(request)},
        )
        return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != HEALTH_PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse({"code": "method_not_allowed", "detail": "Use GET.", "extra": {}}, status=405)
            response["Allow"] = "GET, HEAD"
            return response
        report = health.health_report()
        response = JsonResponse(report, status=200 if report["status"] == health.OK else 503)
        response["Cache-Control"] = "no-store"
        return response
