"""The demo built through the services of every app (``DemoLoader``): the accounts, the two AI
systems and their imported cases, the committee, a finished campaign and one in review, and the
committee's year around them. Run by ``manage.py load_demo``, which holds the transaction.

The generated data comes from ``fixtures.demo`` and ``fixtures.demo_people`` (``fixtures_modules``).
Accounts have no service yet: they are created directly, with the shared demo password checked
against the project's password validators."""

import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from importlib import import_module
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from cases.importing.service import import_cases
from cases.models import Case
from cases.pseudonymization import current_key, pseudonymize
from cases.services import ai_system_create
from committees.services import committee_create, member_add
from reidentification.services import reidentification_request
from reports.enums import Audience
from reports.services import report_publish
from reviews import services as reviews
from reviews.enums import BLIND_STATES, AdjudicationMethod, AssignmentKind, CampaignCaseState
from reviews.models import Assignment, Campaign
from sittings import services as sittings
from sittings.enums import ActionKind, AgendaItemKind, CaseReason
from vigilance import services as vigilance
from vigilance.enums import Seriousness, VigilanceState
from vigilance.models import VigilanceReport

from .clock import DemoClock


def fixtures_modules():
    """``fixtures.demo`` and ``fixtures.demo_people``: ``fixtures`` lives at the project root,
    which ``manage.py`` does not put on the path."""
    root = str(getattr(settings, "PROJECT_DIR", Path(settings.BASE_DIR).parent))
    if root not in sys.path:
        sys.path.append(root)
    return import_module("fixtures.demo"), import_module("fixtures.demo_people")


def first_clinician(people) -> str:
    """The clinician account a visitor should try: it keeps blind cases in the campaign in review."""
    return next(a.username for a in people.DEMO_ACCOUNTS if a.role == "clinician")


class DemoLoader:
    """Builds the demo through the services; the caller holds the transaction."""

    def __init__(self, demo, people, *, total: int, seed: int, viewer_url: str):
        self.demo, self.people = demo, people
        self.total, self.seed, self.viewer_url = total, seed, viewer_url
        self.rng = np.random.Generator(np.random.PCG64([seed, 1]))
        self.users: dict[str, object] = {}
        self.truth: dict[str, str] = {}  # case source_key -> synthetic truth
        self.clock = DemoClock()
        self.today = timezone.localdate()
        self._session_actions: list = []

    def _day(self, days_ago: int, hour: int = 9, minute: int = 0) -> datetime:
        """A moment ``days_ago`` days before the real today, local time."""
        day = self.today - timedelta(days=days_ago)
        return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))

    def run(self) -> list[str]:
        with self.clock.at(self._day(100)):
            return self._run()

    def _run(self) -> list[str]:
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
        finished, for_session = self._finished_campaign(wrist, committee, quality, chair)
        with self.clock.at(self._day(97, 10)):
            self._assess_vigilance(finished)
        held = self._held_session(committee, wrist, for_session)
        with self.clock.at(self._day(48, 10)):
            finished = reviews.campaign_start_analysis(actor=quality, campaign=finished)
            finished = reviews.campaign_publish(actor=chair, campaign=finished)
            for audience in (Audience.INTERNAL, Audience.PUBLIC):
                report_publish(actor=chair, campaign=finished, audience=audience)
        self._follow_up_actions(committee)
        with self.clock.at(self._day(30)):
            ongoing = self._launch_in_review(wrist, committee, quality)
        with self.clock.at(self._day(10)):
            self._campaign_in_review(ongoing)
        with self.clock.at(self._day(3, 11)):
            self._request_reidentification(committee)
        with self.clock.at(self._day(2, 16)):
            planned = sittings.session_create(
                actor=self.users["secretaire"], committee=committee, title="Séance ordinaire du collège",
                scheduled_at=self._day(-12, 14), place="Salle du conseil, Valmont-sur-Loire",
                video_link="https://visio.example.invalid/college")
            audit_record(actor=self.users["admin"], action="demo.loaded", data={
                "seed": self.seed, "cases": self.total, "synthetic": True,
                "campaigns": [finished.pk, ongoing.pk], "sessions": [held.pk, planned.pk],
            })
        return self._summary(wrist, ecg, committee, finished, ongoing, held, planned)

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

    def _finished_campaign(self, ai, committee, quality, chair):
        """First quarter: everyone reviews, clinicians unblind and classify, the chair
        adjudicates the disagreements but one, left for the committee to decide by consensus in
        session (analysis and publication come after the session). Returns the campaign and
        that case (``None`` when the readers agreed on every case)."""
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
        disputed = list(campaign.campaign_cases.filter(state=CampaignCaseState.NEEDS_ADJUDICATION)
                        .select_related("case").order_by("id"))
        for cc in disputed[1:]:
            label, reasoning = self.people.adjudication(self.rng, truth=self.truth[cc.case.source_key],
                                                        labels=ai.labels)
            reviews.adjudication_record(actor=chair, campaign_case=cc, label=label, reasoning=reasoning,
                                        method=AdjudicationMethod.CONSENSUS)
        return campaign, (disputed[0] if disputed else None)

    def _launch_in_review(self, ai, committee, quality) -> Campaign:
        year = self.demo.YEAR
        return self._launch(ai=ai, committee=committee, quality=quality, name=f"Poignet — 3e trimestre {year}",
                            period=(date(year, 7, 1), date(year, 9, 30)), sample_size=30,
                            deadline=date(year, 12, 18), seed=self.seed + 2)

    def _campaign_in_review(self, campaign: Campaign) -> Campaign:
        """Third quarter, half way: each reviewer has done part of their queue, some have
        unblinded and classified; the first demo clinician has locked two answers, unblinded one,
        opened the next one and still has the rest to read blind."""
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

    # --- The committee's year --------------------------------------------------------------------

    def _assess_vigilance(self, campaign: Campaign) -> None:
        """Three days after the reviews flagged possible adverse events, the quality team assesses
        the draft reports: the first (a missed fracture the clinician followed) is completed and
        declared in time; the others are judged not serious and closed with a note."""
        quality = self.users["qualite"]
        drafts = list(VigilanceReport.objects.filter(campaign_case__campaign=campaign, state=VigilanceState.DRAFT)
                      .order_by("id"))
        if not drafts:  # nobody flagged one: the quality team opens it from a case where the AI erred
            positive = campaign.ai_system.positive_label
            erred = sorted(
                campaign.campaign_cases.exclude(reference_label="").exclude(reference_label=F("case__ai_label"))
                .select_related("case", "campaign"),
                key=lambda cc: (cc.case.ai_label == positive, cc.case.final_label != cc.case.ai_label, cc.pk))
            if erred:
                cc = erred[0]
                drafts = [vigilance.vigilance_create(
                    actor=quality, committee=campaign.committee, ai_system=campaign.ai_system, campaign_case=cc,
                    event_date=cc.case.exam_date, ai_version=cc.case.ai_version,
                    description="Erreur de l'IA relevée par la relecture du collège.")]
        positive_label = campaign.ai_system.positive_label
        for i, report in enumerate(drafts):
            if i == 0:
                missed = report.campaign_case is None or report.campaign_case.case.ai_label != positive_label
                report = vigilance.vigilance_update(
                    actor=quality, report=report, seriousness=Seriousness.SERIOUS_HARM,
                    description=(
                        "Fracture du poignet non signalée par l'IA ; le médecin a suivi la sortie de l'IA et le "
                        "patient est sorti sans immobilisation." if missed else
                        "Fracture signalée à tort par l'IA et suivie : immobilisation plâtrée et arrêt de travail "
                        "sans fracture."),
                    patient_consequences=(
                        "Reconsultation à J+9 pour douleur persistante, immobilisation retardée ; risque de cal "
                        "vicieux." if missed else
                        "Trois semaines d'immobilisation inutile ; raideur du poignet en rééducation."),
                    actions_taken="Patient rappelé et pris en charge ; fabricant informé.")
                vigilance.vigilance_declare(actor=quality, report=report, reference="DEMO-MRV-2026-0147")
            else:
                report = vigilance.vigilance_update(actor=quality, report=report, seriousness=Seriousness.NOT_SERIOUS,
                                                    description="Écart sans conséquence pour le patient.")
                vigilance.vigilance_close(actor=quality, report=report,
                                          note="Erreur rattrapée avant toute conséquence : pas d'incident grave.")

    def _held_session(self, committee, ai, disputed):
        """The session held fifty days ago: planned ten days before by the secretary (agenda built
        from what awaited the committee), attendance meeting the quorum, the chair's decisions
        with their votes (one with a dissent) and corrective actions, the rest deferred, minutes
        signed by the chair the next morning."""
        secretary, chair, quality = self.users["secretaire"], self.users["presidente"], self.users["qualite"]
        with self.clock.at(self._day(60, 11)):
            session = sittings.session_create(
                actor=secretary, committee=committee, title="Séance de revue du 1er trimestre",
                scheduled_at=self._day(50, 14), place="Salle du conseil, Valmont-sur-Loire")
        with self.clock.at(self._day(50, 14)):
            session = sittings.session_start(actor=secretary, session=session)
            status = {"clinicien4": "excused", "usager3": "absent"}
            for attendance in session.attendances.select_related("member__user").order_by("id"):
                sittings.attendance_record(actor=secretary, session=session, member=attendance.member,
                                             status=status.get(attendance.member.user.username, "present"))
            items = list(session.items.select_related("campaign_case__case", "vigilance_report").order_by("position"))
            case_items = [i for i in items if i.kind == AgendaItemKind.CASE]
            if disputed is not None:
                item = next(i for i in case_items if i.campaign_case_id == disputed.pk)
                label = self.truth[item.campaign_case.case.source_key]
                sittings.decision_record(
                    actor=chair, item=item, reference_label=label, votes_for=6, votes_against=1, votes_abstain=1,
                    summary=("Les deux lecteurs en aveugle divergeaient. Relecture collégiale des clichés : trait "
                             "visible sur l'incidence de profil selon la majorité."),
                    text="Le collège retient l'étiquette de référence par consensus.",
                    dissent="Un membre juge le trait non concluant sans incidence complémentaire.")
            differs = [i for i in case_items if CaseReason.REFERENCE_DIFFERS_FROM_AI in i.reasons
                       and i.state == "pending"]
            missed = [i for i in differs if i.campaign_case.case.ai_label != ai.positive_label]
            target = (missed or differs or [None])[0]
            if target is not None:
                decision = sittings.decision_record(
                    actor=chair, item=target, votes_for=8, votes_abstain=1,
                    summary="La référence du collège diffère de la sortie de l'IA : fracture non détectée.",
                    text=("Erreur de l'IA confirmée. Rappeler aux urgentistes que l'IA est un second lecteur, "
                          "et signaler au fabricant les fractures manquées sur os ostéopénique."))
                self._session_actions = [
                    sittings.action_create(
                        actor=chair, committee=committee, decision=decision, kind=ActionKind.TRAIN_USERS,
                        title="Former les urgentistes aux limites de l'IA chez les 80 ans et plus", owner=quality,
                        due_date=timezone.localdate() + timedelta(days=30),
                        description="Une séance de formation par site, avec un support écrit."),
                    sittings.action_create(
                        actor=chair, committee=committee, decision=decision, kind=ActionKind.NOTIFY_VENDOR,
                        title="Signaler au fabricant les fractures manquées sur os ostéopénique",
                        owner=self.users["clinicien"], due_date=timezone.localdate() + timedelta(days=90),
                        description="Transmettre les cas anonymisés et demander une analyse."),
                ]
            report_item = next((i for i in items if i.kind == AgendaItemKind.VIGILANCE), None)
            if report_item is not None:
                decision = sittings.decision_record(
                    actor=chair, item=report_item, votes_for=8, votes_abstain=1,
                    summary="Déclaration de matériovigilance faite dans le délai ; patiente rappelée.",
                    text="Le collège approuve la déclaration et demande d'informer la patiente par écrit.")
                self._session_actions.append(sittings.action_create(
                    actor=chair, committee=committee, decision=decision, kind=ActionKind.INFORM_PATIENTS,
                    title="Informer la patiente par écrit de l'erreur et de sa prise en charge", owner=chair,
                    due_date=timezone.localdate() + timedelta(days=15), ai_system=ai))
            session = sittings.session_close(actor=secretary, session=session)
        with self.clock.at(self._day(49, 9)):
            session = sittings.session_sign(actor=chair, session=session)
        return session

    def _follow_up_actions(self, committee) -> None:
        """The training (due twenty days ago) has not started: overdue. The vendor was contacted
        (in progress); the patient was informed (done)."""
        actions = getattr(self, "_session_actions", [])
        by_kind = {a.kind: a for a in actions}
        if ActionKind.NOTIFY_VENDOR in by_kind:
            with self.clock.at(self._day(40, 15)):
                sittings.action_start(actor=self.users["clinicien"], action=by_kind[ActionKind.NOTIFY_VENDOR])
        if ActionKind.INFORM_PATIENTS in by_kind:
            with self.clock.at(self._day(38, 11)):
                sittings.action_complete(
                    actor=self.users["presidente"], action=by_kind[ActionKind.INFORM_PATIENTS],
                    outcome="Courrier envoyé à la patiente ; entretien proposé et réalisé avec le chef de service.")

    def _request_reidentification(self, committee) -> None:
        """The chair asks to recall the patient of the declared incident (a source reference is kept,
        encrypted with ``CGH_SOURCE_KEY``): the request awaits the data-protection officer."""
        report = (VigilanceReport.objects.filter(committee=committee, state=VigilanceState.DECLARED,
                                                 campaign_case__isnull=False)
                  .select_related("campaign_case__case", "campaign_case__campaign").order_by("id").first())
        if report is None or not report.campaign_case.case.source_reference:
            return
        reidentification_request(
            actor=self.users["presidente"], campaign_case=report.campaign_case,
            justification=("Vérifier que la patiente de l'incident déclaré a bien été rappelée et que sa "
                           "consolidation est suivie."))

    def _summary(self, wrist, ecg, committee, finished, ongoing, held, planned) -> list[str]:
        counts = Counter(
            Case.objects.filter(ai_system__in=[wrist, ecg]).values_list("ai_system__name", flat=True))
        states = Counter(
            Assignment.objects.filter(campaign_case__campaign=ongoing).values_list("state", flat=True))
        demo_clinician = first_clinician(self.people)
        blind = Assignment.objects.filter(
            campaign_case__campaign=ongoing, reviewer__username=demo_clinician,
            state__in=BLIND_STATES).count()
        sites = ", ".join(s.name for s in self.demo.SITES)
        return [
            f"{self.demo.HOSPITAL_GROUP}: {len(self.demo.SITES)} sites ({sites})",
            *(f"AI system « {name} »: {n} cases in {self.demo.YEAR}" for name, n in sorted(counts.items())),
            f"Committee « {committee.name} »: {committee.members.count()} seats",
            f"Campaign « {finished.name} »: {finished.state}, {finished.campaign_cases.count()} cases",
            f"Campaign « {ongoing.name} »: {ongoing.state}, {ongoing.campaign_cases.count()} cases; "
            "assignments " + ", ".join(f"{s} {n}" for s, n in sorted(states.items())),
            f"« {demo_clinician} » has {blind} blind case(s) waiting in « {ongoing.name} »",
            f"Session « {held.title} »: minutes signed, {held.items.filter(state='decided').count()} decision(s); "
            f"next session planned with {planned.items.count()} agenda item(s)",
            "Corrective actions: " + ", ".join(f"{s} {n}" for s, n in sorted(Counter(
                committee.actions.values_list("state", flat=True)).items())),
            "Vigilance reports: " + ", ".join(f"{s} {n}" for s, n in sorted(Counter(
                committee.vigilance_reports.values_list("state", flat=True)).items())),
        ]
