from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from audit.anchors import AnchorError, anchor_path, anchor_write


class Command(BaseCommand):
    help = (
        "Append one signed checkpoint of every lane of the audit chain to the anchor file "
        "(CGH_AUDIT_ANCHOR_PATH). Run it from cron or a systemd timer, and once right after upgrading."
    )

    def handle(self, *args, **options):
        try:
            cp = anchor_write()
        except (AnchorError, ImproperlyConfigured) as exc:
            raise CommandError(f"No checkpoint written: {exc}.") from exc
        self.stdout.write(self.style.SUCCESS(
            f"Checkpoint {cp.number} written to {anchor_path()}: {cp.events} events in {len(cp.lanes)} lanes."
        ))
