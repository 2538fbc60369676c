"""``manage.py optout --user USERNAME FILE`` (one source patient identifier per line, or ``-`` for
stdin): records the objections, flags the patients' cases; the identifiers are never stored."""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cases.services import optout_register
from common.exceptions import DomainError


class Command(BaseCommand):
    help = "Register patients who objected to the reuse of their data (opt-out register)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="one source patient identifier per line; - for stdin")
        parser.add_argument("--user", required=True, help="username of the quality team member or DPO")

    def handle(self, *args, **options):
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist as exc:
            raise CommandError(str(exc)) from exc
        stream = sys.stdin if options["file"] == "-" else open(options["file"], encoding="utf-8-sig")  # noqa: SIM115
        with stream:
            ids = [line.strip() for line in stream if line.strip()]
        try:
            result = optout_register(actor=user, patient_ids=ids)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"{result.added} added, {result.already} already registered, "
                          f"{result.cases_flagged} cases flagged")
