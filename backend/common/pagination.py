"""The API's one pagination: limit and offset, validated.

DRF's ``LimitOffsetPagination`` silently ignores a limit it cannot read and passes any number
through to SQL (``?limit=99999999999999999999`` was a 500 on SQLite). Here a limit outside
1..``API_MAX_PAGE_SIZE`` or an offset that is not a non-negative integer is a 400 naming the
parameter; the bounds are published in the OpenAPI schema.
"""

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

DEFAULT_MAX_PAGE_SIZE = 200
MAX_OFFSET = 2**31 - 1


def _integer(raw: str) -> int | None:
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    return int(raw)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    @property
    def max_limit(self) -> int:
        return int(getattr(settings, "API_MAX_PAGE_SIZE", DEFAULT_MAX_PAGE_SIZE))

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw is None or raw == "":
            return min(self.default_limit, self.max_limit)
        value = _integer(raw)
        if value is None or not 1 <= value <= self.max_limit:
            raise ValidationError({self.limit_query_param: [
                f"Give a whole number from 1 to {self.max_limit}."]})
        return value

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw is None or raw == "":
            return 0
        value = _integer(raw)
        if value is None or value > MAX_OFFSET:
            raise ValidationError({self.offset_query_param: [
                f"Give a whole number from 0 to {MAX_OFFSET}."]})
        return value

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_limit}
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}
        return parameters
