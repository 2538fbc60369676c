"""Reach workflow states through the real services, as the right role at each step."""

import datetime as dt
from dataclasses import dataclass, field

from accounts.enums import Role
from committees.enums import MemberRole
from reviews import services
from reviews.models import Assignment, Campaign
from sittings.services import attendance_record
from tests.factories import AISystemFactory, CaseFactory, CommitteeFactory, MemberFactory, UserFactory


@dataclass
class World:
    quality: object
    chair: object
    secretary: object
    management: object
    admin: object
    dpo: object
    clinicians: list
    patient_reps: list
    ai_system: object
    committee: object
    cases: list = field(default_factory=list)

    @property
    def reviewers(self) -> list:
        return [*self.clinicians, *self.patient_reps]


def build_world(*, n_cases: int = 6, n_clinicians: int = 3, n_patient_reps: int = 2) -> World:
    ai = AISystemFactory()
    committee = CommitteeFactory(ai_systems=[ai])
    chair = UserFactory(role=Role.CHAIR, username="chair")
    secretary = UserFactory(role=Role.SECRETARY, username="secretary")
    MemberFactory(committee=committee, user=chair, role=MemberRole.CHAIR, service="Direction médicale")
    MemberFactory(committee=committee, user=secretary, role=MemberRole.SECRETARY, service="Qualité")
    clinicians = [UserFactory(role=Role.CLINICIAN, username=f"clin{i}") for i in range(n_clinicians)]
    for u in clinicians:
        MemberFactory(committee=committee, user=u, role=MemberRole.CLINICIAN, service="Radiologie")
    reps = [UserFactory(role=Role.PATIENT_REP, username=f"rep{i}") for i in range(n_patient_reps)]
    for u in reps:
        MemberFactory(committee=committee, user=u, role=MemberRole.PATIENT_REP, service="", site="")
    world = World(
        quality=UserFactory(role=Role.QUALITY, username="quality"),
        chair=chair, secretary=secretary,
        management=UserFactory(role=Role.MANAGEMENT, username="management"),
        admin=UserFactory(role=Role.ADMIN, username="admin"),
        dpo=UserFactory(role=Role.DPO, username="dpo"),
        clinicians=clinicians, patient_reps=reps, ai_system=ai, committee=committee,
    )
    world.cases = [
        CaseFactory(ai_system=ai, ai_label="fracture" if i % 3 else "no_fracture",
                    final_label="fracture" if i % 2 else "no_fracture", ai_score=0.5 + i / 100)
        for i in range(n_cases)
    ]
    return world


def campaign_in(world: World, state: str, *, sample_size: int = 4, seed: int = 20260315) -> Campaign:
    """A campaign of ``world`` brought to ``state`` (draft → ... → in_review) by the services."""
    q = world.quality
    campaign = services.campaign_create(
        actor=q, ai_system=world.ai_system, committee=world.committee, name="Campagne T1",
        period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 6, 30), sample_size=sample_size,
        review_deadline=dt.date(2026, 12, 31), seed=seed,
    )
    steps = [services.campaign_schedule, services.campaign_draw_sample, services.campaign_start_review]
    for step in steps:
        if campaign.state == state:
            break
        campaign = step(actor=q, campaign=campaign)
    assert campaign.state == state, f"cannot build a campaign in state {state} with campaign_in()"
    return campaign


def submit_all(campaign: Campaign, label_for=lambda a: "fracture") -> None:
    """Every open assignment of the campaign submits a verdict (clinicians: ``label_for``)."""
    for a in Assignment.objects.filter(campaign_case__campaign=campaign, state__in=["assigned", "opened"]):
        if a.kind == "clinician":
            data = {"label": label_for(a), "confidence": 4, "rationale": "Trait visible."}
        else:
            data = {"patient_informed": "yes", "information_understandable": "yes", "rights_respected": "yes",
                    "equity_concern": False, "comments": ""}
        services.assignment_submit(actor=a.reviewer, assignment=a, data=data)


def disagreeing_campaign(world: World, *, sample_size: int = 4) -> Campaign:
    """A campaign in review whose clinician readers disagree on every case (the first reader of a
    case says "fracture", the next "no_fracture"): every case needs adjudication."""
    campaign = campaign_in(world, "in_review", sample_size=sample_size)
    first: dict[int, int] = {}

    def label_for(a):
        first.setdefault(a.campaign_case_id, a.pk)
        return "fracture" if first[a.campaign_case_id] == a.pk else "no_fracture"

    submit_all(campaign, label_for)
    return campaign


def present_quorum(session, actor) -> None:
    """Mark every invited member present (the default world meets the quorum: the chair and three
    clinicians, two patient representatives)."""
    for attendance in session.attendances.select_related("member"):
        attendance_record(actor=actor, session=session, member=attendance.member, status="present")
