from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_verify


class Command(BaseCommand):
    help = (
        "Verify the keyed hash chain of the audit trail against the signed checkpoints of the anchor "
        "file; name the first broken event, or the checkpoint the trail contradicts. Exits with status 1 "
        "when the trail does not verify."
    )

    def handle(self, *args, **options):
        report = audit_verify()
        if not report.ok:
            if report.first_broken_id is not None:
                where = f"event {report.first_broken_id} (lane {report.lane}, position {report.seq})"
                raise CommandError(
                    f"Audit trail broken at {where}: {report.reason} ({report.checked} events verified)."
                )
            if report.anchor is not None:
                raise CommandError(
                    f"Audit trail contradicts checkpoint {report.anchor}: {report.reason} "
                    f"({report.checked} events verified)."
                )
            raise CommandError(f"Audit trail does not verify: {report.reason} ({report.checked} events verified).")
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {report.checked} events verified."))
        if report.anchor_file:
            self.stdout.write(f"Consistent with {report.checkpoints} signed checkpoints in {report.anchor_file}.")
        for note in report.notes:
            self.stdout.write(self.style.WARNING(f"Warning: {note}."))
