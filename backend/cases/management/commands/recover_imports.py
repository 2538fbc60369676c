"""Mark ``interrupted`` the import batches that dead workers left queued or running, and delete
the uploaded files nobody is working on (``cases.importing.batches.import_batches_recover``). Run
it when the task workers start and from a periodic timer (every few minutes)."""

from django.core.management.base import BaseCommand

from cases.importing.batches import import_batches_recover


class Command(BaseCommand):
    help = "Mark import batches left by dead workers as interrupted and delete stale import files."

    def handle(self, *args, **options):
        result = import_batches_recover()
        self.stdout.write(f"{len(result.interrupted)} batch(es) interrupted"
                          f"{': ' + ', '.join(map(str, result.interrupted)) if result.interrupted else ''}; "
                          f"{result.files_deleted} stale file(s) deleted.")
