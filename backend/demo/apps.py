"""The demo app's configuration: it has no model, only the ``load_demo`` command."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
