"""``manage.py load_demo``: the synthetic demo, loaded through the real services.

Idempotent: when the demo AI systems already exist, the command prints the accounts again and
changes nothing. Otherwise, in one transaction (so that a failure leaves nothing behind), it
creates the demo accounts, registers the two AI systems, imports the generated cases through
``cases.importing.service.import_cases`` (CSV built in memory, the importer's bulk path),
composes the committee, then runs two campaigns through ``reviews.services``: a finished one
(reviewed, adjudicated, classified, published, with its internal and public reports) and one in
review where the first demo clinician still has blind cases to read. Around them, the committee's
year through ``sittings.services``, ``vigilance.services`` and ``reidentification.services``: a
held session (attendance meeting the quorum, decisions with votes and a dissent, a consensus
adjudication of a case the readers disagreed on, corrective actions, minutes signed by the
chair), the actions' follow-up (one done, one in progress, one overdue), vigilance reports (one
declared in time, the clock of any new draft running), a re-identification request awaiting the
data-protection officer, and the next session, planned with its agenda built automatically. Side
effects: the rows above and the audit events the services write, plus one ``demo.loaded`` event.

The story is told over the last hundred days: each step runs under a demo clock
(``demo.clock.DemoClock``) set to the day it happened, so that dates, due dates, art. 73 clocks
and the audit trail (timestamps in chain order) agree with one another. The steps are
``demo.loader.DemoLoader``'s. Refused under production settings (the demo accounts share a
published password).
"""

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cases.models import AISystem
from demo.loader import DemoLoader, first_clinician, fixtures_modules

URL = "http://127.0.0.1:8000/"
MIN_CASES = 200


class Command(BaseCommand):
    help = "Load the synthetic demo (accounts, AI systems, cases, committee, two campaigns). Idempotent."

    def add_arguments(self, parser):
        demo, _ = fixtures_modules()
        parser.add_argument(
            "--cases", type=int, default=demo.DEFAULT_TOTAL,
            help=f"total number of synthetic cases (default {demo.DEFAULT_TOTAL}, at least {MIN_CASES})",
        )
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="seed of the generator")
        parser.add_argument("--viewer-url", default=demo.DEFAULT_VIEWER_URL,
                            help="base URL of the image viewer; links are <url>?study=<pseudonymous id>")

    def handle(self, *args, cases: int, seed: int, viewer_url: str, **options):
        demo, people = fixtures_modules()
        if str(getattr(settings, "SETTINGS_MODULE", "")).endswith("production"):
            raise CommandError("Refusing to load demo accounts with a published password under production "
                               "settings.")
        names = [demo.WRIST_AI["name"], demo.ECG_AI["name"]]
        if AISystem.objects.filter(name__in=names).exists():
            self.stdout.write(self.style.WARNING("The demo is already loaded: nothing was changed."))
            self._print_accounts(people, only_existing=True)
            return
        taken = sorted(get_user_model().objects.filter(
            username__in=[a.username for a in people.DEMO_ACCOUNTS]).values_list("username", flat=True))
        if taken:
            raise CommandError(f"These usernames already exist and the demo would clash with them: "
                               f"{', '.join(taken)}. Load the demo into an empty database.")
        if cases < MIN_CASES:
            raise CommandError(f"--cases must be at least {MIN_CASES} so that both campaigns can be sampled.")
        started = time.monotonic()
        with transaction.atomic():
            summary = DemoLoader(demo, people, total=cases, seed=seed, viewer_url=viewer_url).run()
        elapsed = time.monotonic() - started
        done = f"Demo loaded in {elapsed:.1f} s (synthetic data, seed {seed})."
        self.stdout.write(self.style.SUCCESS(done))
        for line in summary:
            self.stdout.write(f"  {line}")
        self._print_accounts(people)

    def _print_accounts(self, people, *, only_existing: bool = False) -> None:
        accounts = people.DEMO_ACCOUNTS
        if only_existing:
            existing = set(get_user_model().objects.filter(
                username__in=[a.username for a in accounts]).values_list("username", flat=True))
            accounts = [a for a in accounts if a.username in existing]
        rows = [("Identifiant", "Rôle", "Nom", "Mot de passe")] + [
            (a.username, f"{a.role} ({people.ROLE_LABELS_FR[a.role]})", f"{a.first_name} {a.last_name}",
             people.PASSWORD) for a in accounts
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        self.stdout.write("")
        self.stdout.write(f"URL : {URL}")
        self.stdout.write(line)
        for i, row in enumerate(rows):
            cells = (cell.ljust(w) for cell, w in zip(row, widths, strict=True))
            self.stdout.write("| " + " | ".join(cells) + " |")
            if i == 0:
                self.stdout.write(line)
        self.stdout.write(line)
        self.stdout.write(f"Mot de passe commun à tous les comptes de démonstration : {people.PASSWORD}")
        self.stdout.write("Pour relire un cas en aveugle tout de suite : se connecter en "
                          f"« {first_clinician(people)} ».")
        self.stdout.write("Comptes administrateur, DPO, président et qualité : à la première connexion, "
                          "configurer le second facteur (application TOTP : FreeOTP, Google Authenticator…) ; "
                          "les codes de secours ne sont affichés qu'une fois.")
