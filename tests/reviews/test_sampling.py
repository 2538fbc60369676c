"""Sampling (DESIGN §6) and assignment (§7) through the real services: reproducible samples over
a recorded population, the exclusions, and the rules for choosing reviewers."""

import datetime as dt
import hashlib
from collections import Counter

import pytest

from accounts.enums import Role
from audit.models import AuditEvent
from cases.models import OptOut
from cases.pseudonymization import pseudonymize
from committees.enums import MemberRole
from committees.models import Member
from reviews import services
from reviews.enums import AssignmentKind, CampaignCaseState, CampaignState
from reviews.models import Assignment, Campaign, CampaignCase
from reviews.sampling import draw_simple_random_sample
from tests.factories import AISystemFactory, CaseFactory, MemberFactory, UserFactory
from tests.workflows import build_world

S = CampaignState
MARCH = dt.date(2026, 3, 10)


def scheduled(world, *, seed=7, sample_size=5, start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30), **kw):
    campaign = services.campaign_create(
        actor=world.quality, ai_system=world.ai_system, committee=world.committee, name=f"Campagne {seed}",
        period_start=start, period_end=end, sample_size=sample_size, review_deadline=dt.date(2026, 12, 31),
        seed=seed, **kw)
    return services.campaign_schedule(actor=world.quality, campaign=campaign)


def drawn(world, **kw) -> Campaign:
    return services.campaign_draw_sample(actor=world.quality, campaign=scheduled(world, **kw))


def sampled_ids(campaign) -> list[int]:
    rows = CampaignCase.objects.filter(campaign=campaign).order_by("case_id")
    return list(rows.values_list("case_id", flat=True))


def expected_hash(cases) -> str:
    """The population hash, recomputed here: SHA-256 over the sorted source keys, one per line."""
    return hashlib.sha256("".join(f"{c.source_key}\n" for c in sorted(cases, key=lambda c: c.source_key))
                          .encode()).hexdigest()


@pytest.fixture
def population(db):
    world = build_world(n_cases=0)
    world.cases = CaseFactory.create_batch(20, ai_system=world.ai_system, exam_date=MARCH)
    return world


# --- Reproducibility -----------------------------------------------------------------------------

def test_same_seed_on_the_same_population_gives_the_same_sample(population):
    first = drawn(population, seed=11)
    services.campaign_cancel(actor=population.quality, campaign=first)  # its cases are free again

    second = drawn(population, seed=11)

    assert len(sampled_ids(first)) == 5
    assert sampled_ids(second) == sampled_ids(first)
    assert (second.population_size, second.population_hash) == (first.population_size, first.population_hash)


def test_different_seed_gives_a_different_sample(population):
    first = drawn(population, seed=11)
    services.campaign_cancel(actor=population.quality, campaign=first)

    second = drawn(population, seed=12)

    assert len(sampled_ids(second)) == 5
    assert sampled_ids(second) != sampled_ids(first)
    assert second.population_hash == first.population_hash


def test_drawing_is_a_pure_function_of_seed_and_population(population):
    campaign = scheduled(population)

    a, b, c = (draw_simple_random_sample(campaign, seed=s) for s in (3, 3, 4))

    assert a == b
    assert a.case_ids != c.case_ids
    assert (a.population_size, a.population_hash) == (c.population_size, c.population_hash)


def test_population_hash_is_recorded_and_stable(population):
    campaign = drawn(population, seed=5)

    event = AuditEvent.objects.get(action="campaign.draw_sample")
    assert campaign.population_hash == expected_hash(population.cases)
    assert campaign.population_size == 20
    assert event.data == {"seed": 5, "population_size": 20, "population_hash": campaign.population_hash,
                          "sample_size": 5}
    # Recomputed later over the same population (the campaign's own cases are not excluded).
    assert draw_simple_random_sample(campaign, seed=5).population_hash == campaign.population_hash


def test_population_hash_changes_with_the_population(population):
    campaign = scheduled(population)
    before = draw_simple_random_sample(campaign, seed=5).population_hash
    CaseFactory(ai_system=population.ai_system, exam_date=MARCH)

    after = draw_simple_random_sample(campaign, seed=5).population_hash

    assert after != before


def test_inclusion_probability_is_n_over_population(population):
    campaign = drawn(population, sample_size=6)

    probabilities = list(CampaignCase.objects.filter(campaign=campaign).values_list("inclusion_probability",
                                                                                     flat=True))

    assert probabilities == [6 / 20] * 6


def test_sample_larger_than_population_takes_everything_with_probability_one(population):
    campaign = drawn(population, sample_size=50)

    rows = list(
        CampaignCase.objects.filter(campaign=campaign).values_list("case_id", "inclusion_probability"))

    assert sorted(rows) == sorted((c.pk, 1.0) for c in population.cases)
    assert campaign.population_size == 20


# --- Exclusions ----------------------------------------------------------------------------------

def test_population_excludes_opt_outs_other_campaigns_period_and_sites(db):
    world = build_world(n_cases=0)
    ai = world.ai_system
    make = lambda **kw: CaseFactory(ai_system=ai, **{"exam_date": MARCH, "site": "Nord", **kw})  # noqa: E731
    kept = [make(), make(site="Sud"), make(exam_date=dt.date(2026, 1, 1)),
            make(exam_date=dt.date(2026, 6, 30))]
    opted_out = make()
    OptOut.objects.create(patient_pseudonym=opted_out.patient_pseudonym, key_id="test1")
    flagged = make(is_opted_out=True)
    in_other = make(exam_date=dt.date(2026, 2, 10))
    other = drawn(world, seed=1, sample_size=1, start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 28))
    in_cancelled = make(exam_date=dt.date(2026, 4, 10))
    cancelled = drawn(world, seed=2, sample_size=1, start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 30))
    services.campaign_cancel(actor=world.quality, campaign=cancelled)
    kept.append(in_cancelled)  # a cancelled campaign gives its cases back
    make(exam_date=dt.date(2025, 12, 31))
    make(exam_date=dt.date(2026, 7, 1))
    make(site="Ouest")
    CaseFactory(ai_system=AISystemFactory(), exam_date=MARCH, site="Nord")

    campaign = drawn(world, seed=3, sample_size=100, sites=["Sud", "Nord"])

    assert sampled_ids(other) == [in_other.pk]
    assert sorted(sampled_ids(campaign)) == sorted(c.pk for c in kept)
    assert campaign.population_size == len(kept)
    assert campaign.population_hash == expected_hash(kept)
    assert {flagged.pk, opted_out.pk}.isdisjoint(sampled_ids(campaign))


def test_empty_population_is_409_and_changes_nothing(db, api):
    world = build_world(n_cases=0)
    CaseFactory(ai_system=world.ai_system, exam_date=dt.date(2025, 5, 1))
    campaign = scheduled(world)
    audit = AuditEvent.objects.count()

    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/draw_sample/")

    assert r.status_code == 409
    assert r.json() == {
        "code": "transition_not_allowed",
        "detail": "The population is empty: no case of this AI system in the period and scope can be "
                  "sampled.",
        "extra": {},
    }
    campaign.refresh_from_db()
    assert (campaign.state, campaign.population_size, campaign.population_hash) == (S.SCHEDULED, None, "")
    assert CampaignCase.objects.count() == 0
    assert AuditEvent.objects.count() == audit


# --- Assignment ----------------------------------------------------------------------------------

def reviewing(world, *, n_cases=9, **kw) -> Campaign:
    campaign = drawn(world, sample_size=n_cases, **kw)
    return services.campaign_start_review(actor=world.quality, campaign=campaign)


@pytest.fixture
def staffed(db):
    """Nine cases, four clinician readers (the chair and three clinicians), two patient reps."""
    return build_world(n_cases=9, n_clinicians=3, n_patient_reps=2)


def test_each_case_gets_k_clinicians_and_one_patient_rep(staffed):
    campaign = reviewing(staffed, clinicians_per_case=3)

    per_case = Counter(Assignment.objects.filter(campaign_case__campaign=campaign)
                       .values_list("campaign_case_id", "kind"))

    ccs = list(CampaignCase.objects.filter(campaign=campaign).values_list("pk", flat=True))
    assert len(ccs) == 9
    assert per_case == {**{(cc, AssignmentKind.CLINICIAN): 3 for cc in ccs},
                        **{(cc, AssignmentKind.PATIENT_REP): 1 for cc in ccs}}
    assert set(CampaignCase.objects.filter(campaign=campaign).values_list("state", flat=True)) == {
        CampaignCaseState.IN_REVIEW}


def test_workload_is_balanced_and_queue_order_is_a_permutation(staffed):
    campaign = reviewing(staffed)

    rows = list(Assignment.objects.filter(campaign_case__campaign=campaign)
                .values_list("reviewer_id", "kind", "display_order"))

    for kind, readers in [(AssignmentKind.CLINICIAN, [staffed.chair, *staffed.clinicians]),
                          (AssignmentKind.PATIENT_REP, staffed.patient_reps)]:
        loads = Counter(uid for uid, k, _ in rows if k == kind)
        assert set(loads) == {u.pk for u in readers}
        assert max(loads.values()) - min(loads.values()) <= 1
    for uid in {uid for uid, _, _ in rows}:
        orders = sorted(order for u, _, order in rows if u == uid)
        assert orders == list(range(1, len(orders) + 1))
    assert Counter(k for _, k, _ in rows) == {AssignmentKind.CLINICIAN: 18, AssignmentKind.PATIENT_REP: 9}


@pytest.fixture
def services_world(db):
    """Cases from two services; readers from Radiologie and from Urgences; one reader signed
    the Urgences cases."""
    world = build_world(n_cases=0, n_clinicians=3, n_patient_reps=1)
    signer = pseudonymize("DR-SIGNER", namespace="clinician")
    world.clinicians[2].clinician_pseudonym = signer
    world.clinicians[2].save()
    world.urgentistes = [UserFactory(role=Role.CLINICIAN, username=f"urg{i}") for i in range(2)]
    for u in world.urgentistes:
        MemberFactory(committee=world.committee, user=u, role=MemberRole.CLINICIAN, service="Urgences")
    world.cases = [
        *CaseFactory.create_batch(6, ai_system=world.ai_system, exam_date=MARCH, service="Urgences",
                                  clinician_pseudonym=signer),
        *CaseFactory.create_batch(6, ai_system=world.ai_system, exam_date=MARCH, service="Radiologie"),
    ]
    return world


def test_nobody_reads_a_case_from_their_own_service_or_that_they_signed(services_world):
    w = services_world
    campaign = reviewing(w, n_cases=12)

    seat = dict(Member.objects.filter(committee=w.committee).values_list("user_id", "service"))
    rows = list(Assignment.objects.filter(campaign_case__campaign=campaign).values_list(
        "reviewer_id", "kind", "campaign_case__case__service", "campaign_case__case__clinician_pseudonym"))

    assert [r for r in rows if r[1] == "clinician" and seat[r[0]] == r[2]] == []
    signer = w.clinicians[2]
    assert [r for r in rows if r[0] == signer.pk and r[3] == signer.clinician_pseudonym] == []
    urgences_readers = {r[0] for r in rows if r[1] == "clinician" and r[2] == "Urgences"}
    assert urgences_readers == {w.chair.pk, w.clinicians[0].pk, w.clinicians[1].pk}


def test_own_service_allowed_when_the_campaign_says_so_but_never_the_signer(services_world):
    w = services_world
    # Five readers per case: every reader eligible for an Urgences case must read it, whatever the
    # draw (six clinician readers, the signer of the Urgences cases barred from them).
    campaign = reviewing(w, n_cases=12, exclude_own_service=False, clinicians_per_case=5)

    rows = list(Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician").values_list(
        "reviewer_id", "campaign_case__case__service"))

    urgences_readers = {uid for uid, service in rows if service == "Urgences"}
    assert urgences_readers == {w.chair.pk, w.clinicians[0].pk, w.clinicians[1].pk, *(u.pk for u in w.urgentistes)}


def test_not_enough_eligible_reviewers_is_409_naming_the_case_and_writes_nothing(services_world, api):
    # Three readers are eligible for every case but one, signed by urg0: only two for that one.
    w = services_world
    w.urgentistes[0].clinician_pseudonym = pseudonymize("DR-URG0", namespace="clinician")
    w.urgentistes[0].save()
    short = CaseFactory(ai_system=w.ai_system, exam_date=MARCH, service="Radiologie",
                        clinician_pseudonym=w.urgentistes[0].clinician_pseudonym)
    campaign = drawn(w, sample_size=13, clinicians_per_case=3)
    states = list(CampaignCase.objects.order_by("pk").values_list("pk", "state"))
    audit = AuditEvent.objects.count()

    r = api(w.quality).post(f"/api/campaigns/{campaign.pk}/start_review/")

    assert r.status_code == 409
    assert r.json() == {
        "code": "transition_not_allowed",
        "detail": "Not enough eligible clinician reviewers for sampled case "
                  f"{short.pk}: 3 needed after conflict-of-interest rules. Add members to the committee.",
        "extra": {"case": short.pk, "kind": "clinician"},
    }
    campaign.refresh_from_db()
    assert campaign.state == S.SAMPLED
    assert Assignment.objects.count() == 0
    assert list(CampaignCase.objects.order_by("pk").values_list("pk", "state")) == states
    assert AuditEvent.objects.count() == audit


def test_missing_patient_rep_is_409_and_writes_nothing(db, api):
    world = build_world(n_cases=2, n_patient_reps=0)
    campaign = drawn(world, sample_size=2)
    first = CampaignCase.objects.filter(campaign=campaign).order_by("pk").first()

    r = api(world.quality).post(f"/api/campaigns/{campaign.pk}/start_review/")

    assert r.status_code == 409
    assert r.json()["extra"] == {"case": first.case_id, "kind": "patient_rep"}
    assert Assignment.objects.count() == 0
