import datetime as dt

import pytest

from cases.models import Case
from cases.services import ai_system_update_public_profile
from committees.enums import MemberRole
from reports import services as report_services
from reports.enums import Audience
from reviews import services as review_services
from reviews.enums import CampaignState
from tests.factories import AISystemFactory, CommitteeFactory, MemberFactory, UserFactory
from tests.workflows import build_world, campaign_in, submit_all

PROFILE = {
    "public_purpose": "Repérer les fractures du poignet sur les radiographies.",
    "vendor": "Radiolab SAS", "ce_class": "IIa", "ce_number": "CE 0123-4567",
    "human_oversight": "Un médecin relit chaque examen. Un collège contrôle l'outil chaque trimestre.",
    "how_to_object": "Dites-le au médecin ou au secrétariat avant l'examen.",
    "public_contact": "Maison des usagers, 01 23 45 67 89",
}


def analysed(world, *, sample_size: int, seed: int = 20260315):
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=sample_size, seed=seed)
    submit_all(campaign)
    campaign = review_services.campaign_close_review(actor=world.quality, campaign=campaign)
    return review_services.campaign_start_analysis(actor=world.quality, campaign=campaign)


@pytest.fixture
def tworld(db):
    """A world of 12 cases, all sampled and read ("fracture" by every clinician), its public report
    published, the AI system's public profile filled in; an outsider patient representative who sits
    on another committee, and one whose term has ended."""
    world = build_world(n_cases=12)
    Case.objects.filter(pk__in=[c.pk for c in world.cases[:1]]).update(site="Isolé")
    campaign = analysed(world, sample_size=12)
    world.campaign = campaign
    world.report = report_services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.PUBLIC)
    ai_system_update_public_profile(actor=world.quality, ai_system=world.ai_system, **PROFILE)
    world.ai_system.refresh_from_db()
    other = CommitteeFactory(ai_systems=[AISystemFactory()])
    world.outsider_rep = UserFactory(role="patient_rep", username="rep_other")
    MemberFactory(committee=other, user=world.outsider_rep, role=MemberRole.PATIENT_REP)
    world.former_rep = UserFactory(role="patient_rep", username="rep_former")
    MemberFactory(committee=world.committee, user=world.former_rep, role=MemberRole.PATIENT_REP,
                  term_start=dt.date(2024, 1, 1), term_end=dt.date(2025, 1, 1))
    return world
