"""``can``: the user-level permission predicates, for every template.

Templates never test a role: they ask the same ``can_<verb>_<thing>(user)`` predicate the views
and services ask, as ``{% if can.import_cases %}``. The predicates taking only a user are
collected from the apps' ``permissions`` modules; each is evaluated the first time a template
reads it and cached on the request, so a page that asks nothing costs no query and a page that
asks twice (base navigation and content) costs one evaluation.
"""

import inspect
from collections.abc import Callable
from importlib import import_module

from django.core.exceptions import ImproperlyConfigured

PERMISSION_MODULES = (
    "accounts.permissions",
    "cases.permissions",
    "committees.permissions",
    "reviews.permissions",
    "sittings.permissions",
    "vigilance.permissions",
    "reidentification.permissions",
    "reports.permissions",
    "transparency.permissions",
)


def _user_level_predicates() -> dict[str, Callable]:
    """``{"import_cases": cases.permissions.can_import_cases, ...}``: every ``can_*`` function
    whose only parameter is the user. Two apps exposing the same name is a mistake, so it fails
    at start-up rather than letting one silently win."""
    found: dict[str, Callable] = {}
    for module_name in PERMISSION_MODULES:
        module = import_module(module_name)
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("can_") or func.__module__ != module_name:
                continue
            if len(inspect.signature(func).parameters) != 1:
                continue
            key = name.removeprefix("can_")
            if key in found and found[key] is not func:
                raise ImproperlyConfigured(f"{name} is defined in two permission modules")
            found[key] = func
    return found


_PREDICATES: dict[str, Callable] | None = None


def predicates() -> dict[str, Callable]:
    """The predicates, collected once per process (the app registry must be ready)."""
    global _PREDICATES
    if _PREDICATES is None:
        _PREDICATES = _user_level_predicates()
    return _PREDICATES


class Can:
    """Lazy attributes: ``can.import_cases`` is ``can_import_cases(request.user)``, computed on
    first access and then kept for the rest of the request. An unknown name raises
    ``AttributeError`` (a template then renders it as false)."""

    def __init__(self, request):
        self._request = request

    def __getattr__(self, name: str) -> bool:
        if name.startswith("_"):
            raise AttributeError(name)
        predicate = predicates().get(name)
        if predicate is None:
            raise AttributeError(f"no user-level predicate can_{name}")
        value = bool(predicate(self._request.user))
        setattr(self, name, value)
        return value


def can(request) -> dict:
    """Context processor: one ``Can`` per request, shared by every template it renders."""
    obj = getattr(request, "_cgh_can", None)
    if obj is None:
        obj = request._cgh_can = Can(request)
    return {"can": obj}
