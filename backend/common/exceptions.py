"""Domain exceptions. The API's exception handler turns each into the project error shape
``{"code", "detail", "extra"}`` with its HTTP status; the web views turn them into messages."""

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}


class ValidationFailed(DomainError):
    status_code = 400
    code = "invalid"


class Forbidden(DomainError):
    """The caller may see the object but may not do this to it."""

    status_code = 403
    code = "permission_denied"


class TransitionNotAllowed(DomainError):
    status_code = 409
    code = "transition_not_allowed"


class ConcurrentUpdate(DomainError):
    status_code = 409
    code = "concurrent_update"


def ensure(condition: bool, detail: str = "You are not allowed to do this.") -> None:
    """Raise ``Forbidden`` unless ``condition``: the services' permission gate."""
    if not condition:
        raise Forbidden(detail)
