from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class CommonConfig(AppConfig):
    name = "common"

    def ready(self):
        from . import converters  # noqa: PLC0415 (registered once, before any URLconf is loaded)

        converters.register()  # <id:pk> in every URLconf, before any is loaded
        # Uploads over FILE_UPLOAD_MAX_MEMORY_SIZE stream to this directory (beside the import
        # files, so that the import recovery sweeps what a killed process left there).
        temp_dir = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)
        if temp_dir:
            try:
                Path(temp_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError:
                pass  # the files.E001 system check names the problem
