"""API plumbing shared by every app: the single error shape (``{"code": ..., "detail": ...,
"extra": {...}}``) and the state-transition action of a viewset."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import DomainError
from .parsers import RequestTooLarge, max_body_bytes
from .security_log import log_denied
from .uploads import UploadTooLarge


def exception_handler(exc, context):
    """The project error shape; every 403 and 404 is also logged on the ``security`` logger."""
    response = _error_response(exc, context)
    if response is not None and response.status_code in (status.HTTP_403_FORBIDDEN, status.HTTP_404_NOT_FOUND):
        request = context.get("request")
        log_denied(getattr(request, "_request", request), status=response.status_code,
                   reason=str(response.data.get("code", "")) if isinstance(response.data, dict) else "")
    return response


def _error_response(exc, context):
    if isinstance(exc, DomainError):
        return Response(
            {"code": exc.code, "detail": exc.detail, "extra": exc.extra}, status=exc.status_code
        )
    if isinstance(exc, UploadTooLarge):
        exc = RequestTooLarge(str(exc))
    elif isinstance(exc, RequestDataTooBig):  # Django's own bound on a body read whole
        exc = RequestTooLarge(f"The request body is larger than {max_body_bytes()} bytes.")
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ParseError(str(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: stays a 500 so that it is noticed
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": "The request is not valid: see extra for each field.",
            "extra": exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail},
        }
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {
            "code": codes if isinstance(codes, str) else "error",
            "detail": str(getattr(exc, "detail", exc)),
            "extra": {},
        }
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response.data["code"] = "not_authenticated"
    return response


def not_found(request, exception=None):
    """The 404 of an address no route matches (``handler404``): the project error shape under
    ``/api/`` (an id that is not a database id does not match its route), the 404 page elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": str(exceptions.NotFound.default_detail), "extra": {}},
                            status=404)
    return page_not_found(request, exception)


def transition_action(name: str, service, *, input_serializer=None, responses=None, as_data=False, reread=True,
                      scoped=False):
    """A ``POST /<things>/{id}/<name>/`` action that fires one service on a visible object. The
    viewset names the service's keyword for that object (``service_object_name``) and answers with
    ``represent`` of the object read again through ``get_queryset``. ``as_data``: the service
    takes the validated input as one ``data`` dict, not as keywords. ``reread=False``: answer with
    ``represent`` of the object the service returns, for services that return the row they locked
    and saved with every relation its representation reads already joined (no second read).
    ``scoped``: the view does not look the object up; the service gets a reference to it (its id
    only) and ``scope=get_queryset()``, and finds it there with the same query that locks it (404
    outside the scope)."""

    def handler(self, request, pk=None):
        if scoped:
            obj = self.get_queryset().model(pk=self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        else:
            obj = self.get_object()
        kwargs = {"scope": self.get_queryset()} if scoped else {}
        if input_serializer is not None:
            data = input_serializer(data=request.data)
            data.is_valid(raise_exception=True)
            kwargs |= {"data": dict(data.validated_data)} if as_data else dict(data.validated_data)
        result = service(actor=request.user, **{self.service_object_name: obj}, **kwargs)
        return Response(self.represent(self.get_queryset().get(pk=obj.pk) if reread else result))

    handler.__name__ = name  # DRF routes an action by its function name
    handler = action(detail=True, methods=["post"], url_path=name, url_name=name.replace("_", "-"))(handler)
    return extend_schema(request=input_serializer, responses=responses)(handler)
