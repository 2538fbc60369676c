"""Factories for tests. States are never assigned: rows that need a later state are brought
there through the real services (see ``tests.workflows``)."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from accounts.enums import Role
from cases.enums import OutputType
from cases.models import AISystem, Case
from cases.pseudonymization import pseudonymize
from committees.enums import MemberRole
from committees.models import Committee, Member

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = Role.CLINICIAN
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AISystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AISystem

    name = factory.Sequence(lambda n: f"WristFracture AI {n}")
    vendor = "Radiolab SAS"
    version = "2.1"
    intended_use = "Detection of wrist fractures on X-rays"
    ce_class = "IIa"
    output_type = OutputType.BINARY
    labels = ["fracture", "no_fracture"]
    positive_label = "fracture"
    acceptance_thresholds = {"sensitivity": 0.9}


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    ai_system = factory.SubFactory(AISystemFactory)
    source_key = factory.Sequence(lambda n: pseudonymize(f"ACC{n:07d}", namespace="case"))
    patient_pseudonym = factory.Sequence(lambda n: pseudonymize(f"PAT{n:07d}", namespace="patient"))
    key_id = "test1"
    exam_date = dt.date(2026, 3, 15)
    site = "Nord"
    service = "Urgences"
    sex = "F"
    age_band = "40-59"
    clinical_context = "Chute de sa hauteur, douleur du poignet."
    report_text = "Radiographie du poignet, deux incidences."
    ai_label = "fracture"
    ai_score = None
    ai_version = "2.1"
    final_label = "fracture"


class CommitteeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Committee
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Collège {n}")
    hospital_group = "GHT Test"

    @factory.post_generation
    def ai_systems(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.ai_systems.set(extracted)


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    committee = factory.SubFactory(CommitteeFactory)
    user = factory.SubFactory(UserFactory)
    role = MemberRole.CLINICIAN
    term_start = dt.date(2025, 1, 1)
    site = "Sud"
    service = "Radiologie"
