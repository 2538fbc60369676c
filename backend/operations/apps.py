from django.apps import AppConfig
from django.core.signals import request_finished

from . import logs


class OperationsConfig(AppConfig):
    """Running the product: request ids and JSON logs, the health endpoint, the task worker's
    heartbeat. Depends on Django and django-tasks only, so that every app may sit above it."""

    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        request_finished.connect(logs.clear_request, dispatch_uid="operations.logs.clear_request")
