from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_verify


class Command(BaseCommand):
    help = "Verify the hash chain of the audit trail and name the first broken row."

    def handle(self, *args, **options):
        report = audit_verify()
        if not report.ok:
            where = "the chain head" if report.first_broken_id == -1 else f"row {report.first_broken_id}"
            raise CommandError(
                f"Audit trail broken at {where}: {report.reason} ({report.checked} rows verified before it)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {report.checked} events verified."))
