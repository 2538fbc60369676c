from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running the product: request ids and JSON logs, the health endpoint, the task worker's
    heartbeat. Depends on Django and django-tasks only, so that every app may sit above it."""

    name = "operations"
    verbose_name = "Operations"
