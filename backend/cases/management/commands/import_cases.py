"""``manage.py import_cases FILE --ai-system NAME --user USERNAME [--profile NAME] [--format F] [--dry-run]``

Streams the file (any size), prints a progress bar with rows/s and ETA, then the report; rejected
rows can be written as CSV with ``--errors-csv PATH``. Exits 1 when the file is refused whole."""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cases.api.views import errors_csv
from cases.enums import ImportFormat
from cases.importing.progress import ProgressPrinter
from cases.importing.service import import_cases
from cases.models import AISystem, ImportProfile
from common.exceptions import DomainError


class Command(BaseCommand):
    help = "Import a CSV, JSON, JSON Lines or FHIR file of AI-assisted cases, pseudonymizing on the way in."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--ai-system", required=True, help="the AI system's name")
        parser.add_argument("--user", required=True, help="username of the quality-team member importing")
        parser.add_argument("--profile", help="name of a saved import profile (column mapping)")
        parser.add_argument("--format", choices=ImportFormat.values)
        parser.add_argument("--dry-run", action="store_true", help="validate and report, write no case")
        parser.add_argument("--errors-csv", help="write the rejected rows and warnings to this CSV file")
        parser.add_argument("--workers", type=int, help="processes preparing rows (default: cores, large files)")

    def handle(self, *args, **options):
        try:
            ai = AISystem.objects.get(name=options["ai_system"])
            user = get_user_model().objects.get(username=options["user"])
            profile = ImportProfile.objects.get(name=options["profile"]) if options["profile"] else None
        except (AISystem.DoesNotExist, ImportProfile.DoesNotExist, get_user_model().DoesNotExist) as exc:
            raise CommandError(str(exc)) from exc
        err = self.stderr if options["verbosity"] else None
        printer = ProgressPrinter(lambda s: (err._out.write(s), err._out.flush())) if err else None
        try:
            result = import_cases(actor=user, ai_system=ai, path=options["file"], filename=options["file"],
                                  fmt=options["format"], profile=profile, dry_run=options["dry_run"],
                                  progress=printer, workers=options["workers"])
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        if err:
            err._out.write("\n")
        b = result.batch
        self.stdout.write(
            f"batch {b.pk} {b.status}: {b.rows_total} rows, {b.rows_created} created, {b.rows_updated} updated, "
            f"{b.rows_unchanged} unchanged, {b.rows_rejected} rejected, {b.rows_redacted} redacted, "
            f"{len(b.warnings)} warnings" + (" (dry run: nothing written)" if b.is_dry_run else ""))
        for e in result.errors[:20]:
            self.stdout.write(f"  line {e.line}: {e.field}: {e.reason}")
        if options["errors_csv"]:
            with open(options["errors_csv"], "w", encoding="utf-8", newline="") as f:
                f.write(errors_csv(b))
        sys.stdout.flush()
