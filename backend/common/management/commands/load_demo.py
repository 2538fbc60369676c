"""``manage.py load_demo``: the synthetic demo, loaded through the real services.

Idempotent: when the demo AI systems already exist, the command prints the accounts again and
changes nothing. Otherwise, in one transaction (so that a failure leaves nothing behind), it
creates the demo accounts, registers the two AI systems, imports the generated cases through
``cases.importing.import_cases`` (CSV built in memory, the importer's bulk path), composes the
committee, then runs two campaigns through ``reviews.services``: a finished one (reviewed,
adjudicated, classified, published) and one in review where the first demo clinician still has
blind cases to read. Side effects: the rows above and the audit events the services write,
plus one ``demo.loaded`` event. Accounts have no service yet: they are created directly, with
the shared demo password checked against the project's password validators.
"""

import sys
import time
from collections import Counter, defaultdict
from datetime import date
from importlib import import_module
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from cases.importing import import_cases
from cases.models import AISystem, Case
from cases.pseudonymization import current_key, pseudonymize
from cases.services import ai_system_create
from committees.services import committee_create, member_add
from reviews import services as reviews
from reviews.enums import AdjudicationMethod, AssignmentKind, AssignmentState, CampaignCaseState
from reviews.models import Assignment, Campaign

URL = "http://127.0.0.1:8000/"
MIN_CASES = 200


def _fixtures():
    """``fixtures`` lives at the project root, which ``manage.py`` does not put on the path."""
    root = str(getattr(settings, "PROJECT_DIR", Path(settings.BASE_DIR).parent))
    if root not in sys.path:
        sys.path.append(root)
    return import_module("fixtures.demo"), import_module("fixtures.demo_people")


def first_clinician(people) -> str:
    """The clinician account a visitor should try: it keeps blind cases in the campaign in review."""
    return next(a.username for a in people.DEMO_ACCOUNTS if a.role == "clinician")


class Command(BaseCommand):
    help = "Load the synthetic demo (accounts, AI systems, cases, committee, two campaigns). Idempotent."

    def add_arguments(self, parser):
        demo, _ = _fixtures()
        parser.add_argument(
            "--cases", type=int, default=demo.DEFAULT_TOTAL,
            help=f"total number of synthetic cases (default {demo.DEFAULT_TOTAL}, at least {MIN_CASES})",
        )
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="seed of the generator")
        parser.add_argument("--viewer-url", default=demo.DEFAULT_VIEWER_URL,
                            help="base URL of the image viewer; links are <url>?study=<pseudonymous id>")

    def handle(self, *args, cases: int, seed: int, viewer_url: str, **options):
        demo, people = _fixtures()
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


class DemoLoader:
    """Builds the demo through the services; the caller holds the transaction."""

    def __init__(self, demo, people, *, total: int, seed: int, viewer_url: str):
        self.demo, self.people = demo, people
        self.total, self.seed, self.viewer_url = total, seed, viewer_url
        self.rng = np.random.Generator(np.random.PCG64([seed, 1]))
        self.users: dict[str, object] = {}
        self.truth: dict[str, str] = {}  # case source_key -> synthetic truth

    def run(self) -> list[str]:
        demo = self.demo
        self._create_accounts()
        quality, chair = self.users["qualite"], self.users["presidente"]
        wrist = ai_system_create(actor=quality, **demo.WRIST_AI)
        ecg = ai_system_create(actor=quality, **demo.ECG_AI)
        data = demo.generate(seed=self.seed, total=self.total, viewer_url=self.viewer_url)
        files = ((wrist, data.wrist, f"demo-poignet-{demo.YEAR}.csv"),
                 (ecg, data.ecg, f"demo-ecg-{demo.YEAR}.csv"))
        for ai, rows, filename in files:
            result = import_cases(actor=quality, ai_system=ai, raw=demo.to_csv(rows), filename=filename)
            if result.errors:
                raise CommandError(f"The demo import of {filename} rejected rows: {result.errors[:3]}")
        key = current_key()
        self.truth = {
            pseudonymize(acc, namespace="case", key=key): t for acc, t in data.truth_by_accession().items()
        }
        committee = self._compose_committee([wrist.pk, ecg.pk])
        finished = self._finished_campaign(wrist, committee, quality, chair)
        ongoing = self._campaign_in_review(wrist, committee, quality)
        audit_record(actor=self.users["admin"], action="demo.loaded", data={
            "seed": self.seed, "cases": self.total, "synthetic": True,
            "campaigns": [finished.pk, ongoing.pk],
        })
        return self._summary(wrist, ecg, committee, finished, ongoing)

    # --- People ----------------------------------------------------------------------------------

    def _create_accounts(self) -> None:
        User = get_user_model()
        key = current_key()
        hashed = make_password(self.people.PASSWORD)  # one hash (Argon2 is slow on purpose), same password
        for a in self.people.DEMO_ACCOUNTS:
            user = User(
                username=a.username, first_name=a.first_name, last_name=a.last_name, role=a.role,
                specialty=a.specialty, site=a.site, service=a.service,
                clinician_pseudonym=(
                    pseudonymize(a.signer_id, namespace="clinician", key=key) if a.signer_id else ""
                ),
                is_staff=a.role == "admin", is_superuser=a.role == "admin",
            )
            try:
                validate_password(self.people.PASSWORD, user)
            except ValidationError as exc:
                raise CommandError(
                    f"The demo password is refused for {a.username}: {' '.join(exc.messages)}"
                ) from exc
            user.password = hashed
            user.save()
            self.users[a.username] = user

    def _compose_committee(self, ai_system_ids: list[int]):
        demo, quality = self.demo, self.users["qualite"]
        committee = committee_create(
            actor=quality, name=demo.COMMITTEE_NAME, hospital_group=demo.HOSPITAL_GROUP,
            ai_system_ids=ai_system_ids,
            description="Collège pluriprofessionnel avec des représentants des usagers (démonstration).",
        )
        term_start = min(date(demo.YEAR, 1, 5), timezone.localdate())
        for a in self.people.DEMO_ACCOUNTS:
            if a.seat:
                member_add(actor=quality, committee=committee, user=self.users[a.username], role=a.seat,
                           term_start=term_start, specialty=a.specialty, site=a.site, service=a.service,
                           declared_conflicts=a.declared_conflicts)
        return committee

    # --- Campaigns -------------------------------------------------------------------------------

    def _launch(self, *, ai, committee, quality, name, period, sample_size, deadline, seed) -> Campaign:
        campaign = reviews.campaign_create(
            actor=quality, ai_system=ai, committee=committee, name=name, period_start=period[0],
            period_end=period[1], sample_size=sample_size, review_deadline=deadline, seed=seed,
            clinicians_per_case=2, patient_reps_per_case=1,
        )
        for step in (reviews.campaign_schedule, reviews.campaign_draw_sample, reviews.campaign_start_review):
            campaign = step(actor=quality, campaign=campaign)
        return campaign

    def _assignments(self, campaign: Campaign) -> list[Assignment]:
        return list(
            Assignment.objects.filter(campaign_case__campaign=campaign)
            .select_related("reviewer", "campaign_case__case", "campaign_case__campaign__ai_system")
            .order_by("reviewer_id", "display_order")
        )

    def _submit(self, a: Assignment) -> None:
        case, ai = a.campaign_case.case, a.campaign_case.campaign.ai_system
        if a.kind == AssignmentKind.CLINICIAN:
            data = self.people.clinician_verdict(self.rng, truth=self.truth[case.source_key],
                                                 labels=ai.labels)
        else:
            data = self.people.patient_rep_form(
                self.rng, patient_informed=case.patient_informed, age_band=case.age_band,
                clinical_context=case.clinical_context,
            )
        reviews.assignment_submit(actor=a.reviewer, assignment=a, data=data)

    def _unblind_and_classify(self, a: Assignment, *, classify: bool = True) -> None:
        reviews.assignment_unblind(actor=a.reviewer, assignment=a)
        if not classify or a.kind != AssignmentKind.CLINICIAN:
            return
        case, ai = a.campaign_case.case, a.campaign_case.campaign.ai_system
        grade = self.people.classification(
            self.rng, verdict_label=a.verdict.label, ai_label=case.ai_label, final_label=case.final_label,
            truth=self.truth[case.source_key], positive=ai.positive_label,
        )
        reviews.assignment_classify(actor=a.reviewer, assignment=a, **grade)

    def _finished_campaign(self, ai, committee, quality, chair) -> Campaign:
        """First quarter: everyone reviews, clinicians unblind and classify, the chair
        adjudicates the disagreements, then analysis and publication."""
        year = self.demo.YEAR
        campaign = self._launch(ai=ai, committee=committee, quality=quality,
                                name=f"Poignet — 1er trimestre {year}",
                                period=(date(year, 1, 1), date(year, 3, 31)), sample_size=40,
                                deadline=date(year, 5, 15), seed=self.seed + 1)
        assignments = self._assignments(campaign)
        for a in assignments:
            self._submit(a)
        for a in assignments:
            if a.kind == AssignmentKind.CLINICIAN:
                self._unblind_and_classify(a)
        campaign = reviews.campaign_close_review(actor=quality, campaign=campaign)
        disputed = campaign.campaign_cases.filter(state=CampaignCaseState.NEEDS_ADJUDICATION)
        for cc in disputed.select_related("case").order_by("id"):
            label, reasoning = self.people.adjudication(self.rng, truth=self.truth[cc.case.source_key],
                                                        labels=ai.labels)
            reviews.adjudication_record(actor=chair, campaign_case=cc, label=label, reasoning=reasoning,
                                        method=AdjudicationMethod.CONSENSUS)
        campaign = reviews.campaign_start_analysis(actor=quality, campaign=campaign)
        return reviews.campaign_publish(actor=chair, campaign=campaign)

    def _campaign_in_review(self, ai, committee, quality) -> Campaign:
        """Third quarter, half way: each reviewer has done part of their queue, some have
        unblinded and classified; the first demo clinician has locked two answers, unblinded one,
        opened the next one and still has the rest to read blind."""
        year = self.demo.YEAR
        campaign = self._launch(ai=ai, committee=committee, quality=quality,
                                name=f"Poignet — 3e trimestre {year}",
                                period=(date(year, 7, 1), date(year, 9, 30)), sample_size=30,
                                deadline=date(year, 12, 18), seed=self.seed + 2)
        progress = {"clinicien2": 0.8, "clinicien3": 0.6, "clinicien4": 0.5, "clinicien5": 1.0,
                    "presidente": 0.4, "usager": 0.7, "usager2": 0.5, "usager3": 0.9}
        queues: dict[str, list[Assignment]] = defaultdict(list)
        for a in self._assignments(campaign):
            queues[a.reviewer.username].append(a)
        demo_clinician = first_clinician(self.people)
        for username, queue in queues.items():
            if username == demo_clinician:
                done = min(2, max(0, len(queue) - 3))  # keep at least three blind cases to try
            else:
                done = round(progress.get(username, 0.5) * len(queue))
            for a in queue[:done]:
                self._submit(a)
            for i, a in enumerate(queue[:done]):
                if username == demo_clinician:
                    if i == 0:
                        self._unblind_and_classify(a, classify=False)
                elif a.kind == AssignmentKind.CLINICIAN and i % 2 == 0:
                    self._unblind_and_classify(a, classify=i % 4 == 0)
            if username == demo_clinician and len(queue) > done:
                reviews.assignment_open(actor=queue[done].reviewer, assignment=queue[done])
        return campaign

    def _summary(self, wrist, ecg, committee, finished, ongoing) -> list[str]:
        counts = Counter(
            Case.objects.filter(ai_system__in=[wrist, ecg]).values_list("ai_system__name", flat=True))
        states = Counter(
            Assignment.objects.filter(campaign_case__campaign=ongoing).values_list("state", flat=True))
        demo_clinician = first_clinician(self.people)
        blind = Assignment.objects.filter(
            campaign_case__campaign=ongoing, reviewer__username=demo_clinician,
            state__in=[AssignmentState.ASSIGNED, AssignmentState.OPENED]).count()
        sites = ", ".join(s.name for s in self.demo.SITES)
        return [
            f"{self.demo.HOSPITAL_GROUP}: {len(self.demo.SITES)} sites ({sites})",
            *(f"AI system « {name} »: {n} cases in {self.demo.YEAR}" for name, n in sorted(counts.items())),
            f"Committee « {committee.name} »: {committee.members.count()} seats",
            f"Campaign « {finished.name} »: {finished.state}, {finished.campaign_cases.count()} cases",
            f"Campaign « {ongoing.name} »: {ongoing.state}, {ongoing.campaign_cases.count()} cases; "
            "assignments " + ", ".join(f"{s} {n}" for s, n in sorted(states.items())),
            f"« {demo_clinician} » has {blind} blind case(s) waiting in « {ongoing.name} »",
        ]
