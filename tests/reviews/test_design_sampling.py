"""Stratified designs, the in-database rank (the same sample on SQLite and PostgreSQL), the
sample-size planner against its reference anchors, and the planner endpoint."""

import csv
import datetime as dt
from pathlib import Path

import pytest

from audit.models import AuditEvent
from cases.pseudonymization import pseudonymize
from reviews import planner, services
from reviews.models import CampaignCase
from reviews.sampling import Design, draw_sample, population_for, reference_rank
from tests.factories import CaseFactory
from tests.workflows import build_world

MARCH = dt.date(2026, 3, 10)
REFDATA = Path(__file__).resolve().parents[1] / "refdata"


# --- Planner (pure) ------------------------------------------------------------------------------

def anchors() -> dict[str, int]:
    with open(REFDATA / "sample_size_anchors.csv", newline="") as f:
        return {row["id"]: int(row["expected_n"]) for row in csv.DictReader(f)}


def test_planner_matches_the_reference_anchors():
    a = anchors()
    assert planner.n_for_proportion(0.5, 0.05, 0.95) == a["prop_ci"] == 385
    plan = planner.n_for_sensitivity(0.9, 0.05, prevalence=0.2)
    assert (plan.diseased, plan.total) == (a["buderer_cases"], a["buderer_total"]) == (139, 692)


def test_planner_finite_population_correction():
    assert planner.n_for_proportion(0.5, 0.05, 0.95, population=1000) == 278
    assert planner.n_for_proportion(0.5, 0.05, 0.95, population=100) == 80
    assert planner.n_for_proportion(0.5, 0.05, 0.95, population=10) == 10


@pytest.mark.parametrize(("method", "kw", "expected"), [
    ("proportional", {}, {"a": 65, "b": 33, "c": 2}),  # 65.2, 32.6, 2.2: largest remainder to b
    ("equal", {}, {"a": 40, "b": 40, "c": 20}),  # c holds 20 only: the rest goes to a and b
    ("proportional", {"weights": {"c": 4}}, {"a": 61, "b": 31, "c": 8}),  # c over-sampled 4 times
    ("set", {"sizes": {"a": 5, "c": 50}}, {"a": 5, "b": 0, "c": 20}),
])
def test_allocate(method, kw, expected):
    assert planner.allocate(100, {"a": 600, "b": 300, "c": 20}, method=method, **kw) == expected


def test_allocate_never_exceeds_a_stratum_and_sums_to_the_population_at_most():
    got = planner.allocate(1000, {"a": 3, "b": 5}, method="proportional")
    assert got == {"a": 3, "b": 5}


def test_allocate_rejects_unknown_method_and_strata():
    with pytest.raises(ValueError):
        planner.allocate(10, {"a": 3}, method="neyman")
    with pytest.raises(ValueError):
        planner.allocate(10, {"a": 3}, method="set", sizes={"z": 1})


# --- Rank in the database ------------------------------------------------------------------------

@pytest.fixture
def mixed(db):
    """40 cases: 10 AI positives (4 overridden), 30 negatives (3 overridden), two sites."""
    world = build_world(n_cases=0)
    cases = []
    for i in range(40):
        ai = "fracture" if i < 10 else "no_fracture"
        other = "no_fracture" if ai == "fracture" else "fracture"
        final = other if (i < 4 or 10 <= i < 13) else ai
        cases.append(CaseFactory(ai_system=world.ai_system, exam_date=MARCH, ai_label=ai, final_label=final,
                                 site="Nord" if i % 2 else "Sud", ai_score=(i % 10) / 10,
                                 source_key=pseudonymize(f"MIXED{i:04d}", namespace="case")))
    world.cases = cases
    return world


def population(world):
    return population_for(ai_system_id=world.ai_system.pk, period_start=dt.date(2026, 1, 1),
                          period_end=dt.date(2026, 6, 30), sites=[])


def test_database_rank_equals_the_python_reference_on_this_database(mixed):
    """Run on SQLite and on PostgreSQL by the suite: both give exactly the reference sample."""
    for seed in (0, 1, 20260315, 2**48 - 1):
        sample = draw_sample(population(mixed), seed=seed, sample_size=7, design=Design())
        expected = sorted(mixed.cases, key=lambda c: reference_rank(c.source_key, seed))[:7]
        assert sample.case_ids == [c.pk for c in sorted(expected, key=lambda c: c.source_key)]


def test_key_prefix_covers_the_whole_hex_range(db):
    world = build_world(n_cases=0)
    keys = ["ffffffff" + "0" * 56, "00000000" + "f" * 56, "80000000" + "1" * 56, "7fffffff" + "2" * 56]
    cases = [CaseFactory(ai_system=world.ai_system, exam_date=MARCH, source_key=k) for k in keys]
    sample = draw_sample(population(world), seed=99, sample_size=4, design=Design())
    ranked = sorted(cases, key=lambda c: reference_rank(c.source_key, 99))
    first_two = draw_sample(population(world), seed=99, sample_size=2, design=Design())
    assert set(first_two.case_ids) == {c.pk for c in ranked[:2]}
    assert sorted(sample.case_ids) == sorted(c.pk for c in cases)


def test_same_population_same_seed_same_sample_whatever_the_insertion_order(mixed):
    first = draw_sample(population(mixed), seed=5, sample_size=9, design=Design())
    keys = {c.pk: c.source_key for c in mixed.cases}
    CaseFactory._meta.model.objects.filter(pk__in=keys).delete()
    recreated = {CaseFactory(ai_system=mixed.ai_system, exam_date=MARCH, source_key=k).source_key
                 for k in reversed(list(keys.values()))}
    again = draw_sample(population(mixed), seed=5, sample_size=9, design=Design())
    assert recreated == set(keys.values())
    assert [keys[i] for i in first.case_ids] == [
        CaseFactory._meta.model.objects.get(pk=i).source_key for i in again.case_ids]
    assert (again.population_size, again.population_hash) == (first.population_size, first.population_hash)


# --- Stratified designs --------------------------------------------------------------------------

STRATIFIED = {"type": "stratified", "strata_by": ["ai_label", "override"], "allocation": "proportional",
              "oversample": {"ai_label=fracture|override=yes": 3}}


def test_stratified_draw_records_stratum_and_inclusion_probability(mixed):
    sample = draw_sample(population(mixed), seed=3, sample_size=10, design=Design.from_dict(STRATIFIED))

    assert sample.strata == {"ai_label=fracture|override=no": (6, 1), "ai_label=fracture|override=yes": (4, 2),
                             "ai_label=no_fracture|override=no": (27, 6),
                             "ai_label=no_fracture|override=yes": (3, 1)}
    by_id = {c.pk: c for c in mixed.cases}
    for unit in sample.units:
        case = by_id[unit.case_id]
        override = "yes" if case.final_label != case.ai_label else "no"
        assert unit.stratum == f"ai_label={case.ai_label}|override={override}"
        assert unit.inclusion_probability == sample.strata[unit.stratum][1] / sample.strata[unit.stratum][0]
    for stratum, (_, n) in sample.strata.items():
        members = [by_id[u.case_id] for u in sample.units if u.stratum == stratum]
        pool = [c for c in mixed.cases if f"ai_label={c.ai_label}|override="
                f"{'yes' if c.final_label != c.ai_label else 'no'}" == stratum]
        assert members == sorted(sorted(pool, key=lambda c: reference_rank(c.source_key, 3))[:n],
                                 key=lambda c: c.source_key)


@pytest.mark.parametrize(("design", "expected"), [
    ({"type": "stratified", "strata_by": ["site"], "allocation": "equal"}, {"site=Nord": 4, "site=Sud": 4}),
    ({"type": "stratified", "strata_by": ["site"], "allocation": "set", "sizes": {"site=Nord": 2, "site=Sud": 5}},
     {"site=Nord": 2, "site=Sud": 5}),
    ({"type": "stratified", "strata_by": ["score_band"], "allocation": "proportional", "score_bands": [0.5]},
     {"score_band=0-0.5": 4, "score_band=>=0.5": 4}),
])
def test_stratified_allocations(mixed, design, expected):
    sample = draw_sample(population(mixed), seed=3, sample_size=8, design=Design.from_dict(design))
    assert {s: n for s, (_, n) in sample.strata.items()} == expected
    assert len(sample.units) == sum(expected.values())


def test_stratified_campaign_stores_strata_and_audits_them(mixed):
    expected = draw_sample(population(mixed), seed=3, sample_size=10, design=Design.from_dict(STRATIFIED))
    campaign = services.campaign_create(
        actor=mixed.quality, ai_system=mixed.ai_system, committee=mixed.committee, name="Stratifiée",
        period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 6, 30), sample_size=10,
        review_deadline=dt.date(2026, 12, 31), seed=3, design=STRATIFIED)
    campaign = services.campaign_schedule(actor=mixed.quality, campaign=campaign)
    campaign = services.campaign_draw_sample(actor=mixed.quality, campaign=campaign)

    rows = sorted(CampaignCase.objects.filter(campaign=campaign).values_list("case_id", "stratum",
                                                                             "inclusion_probability"))
    assert rows == sorted((u.case_id, u.stratum, u.inclusion_probability) for u in expected.units)
    assert campaign.protocol["design"] == STRATIFIED | {"oversample": {"ai_label=fracture|override=yes": 3.0}}
    event = AuditEvent.objects.get(action="campaign.draw_sample")
    assert event.data["strata"] == {s: list(v) for s, v in expected.strata.items()}


@pytest.mark.parametrize("design", [
    {"type": "cluster"}, {"type": "stratified"}, {"type": "stratified", "strata_by": ["ai_score"]},
    {"type": "stratified", "strata_by": ["site"], "allocation": "set"},
    {"type": "stratified", "strata_by": ["site"], "oversample": {"site=Nord": 0}},
    {"type": "simple_random", "strata_by": ["site"]}, {"type": "simple_random", "colour": "blue"},
])
def test_invalid_design_is_400_and_creates_nothing(mixed, api, design):
    r = api(mixed.quality).post("/api/campaigns/", {
        "name": "X", "ai_system": mixed.ai_system.pk, "committee": mixed.committee.pk,
        "period_start": "2026-01-01", "period_end": "2026-06-30", "sample_size": 5,
        "review_deadline": "2026-12-31", "design": design}, format="json")
    assert r.status_code == 400
    assert r.json()["code"] == "invalid" and "design" in r.json()["extra"]
    assert not CampaignCase.objects.exists()
    assert not AuditEvent.objects.filter(action="campaign.create").exists()


def test_set_allocation_sets_the_sample_size(mixed, api):
    r = api(mixed.quality).post("/api/campaigns/", {
        "name": "X", "ai_system": mixed.ai_system.pk, "committee": mixed.committee.pk,
        "period_start": "2026-01-01", "period_end": "2026-06-30", "sample_size": 5,
        "review_deadline": "2026-12-31", "design": {"type": "stratified", "strata_by": ["site"],
                                                    "allocation": "set", "sizes": {"site=Nord": 3, "site=Sud": 4}}},
        format="json")
    assert r.status_code == 201
    assert (r.json()["sample_size"], r.json()["design"]["sizes"]) == (7, {"site=Nord": 3, "site=Sud": 4})


# --- Planner endpoint ----------------------------------------------------------------------------

def test_plan_endpoint_without_population(db, api, world):
    r = api(world.quality).get("/api/campaigns/plan/")
    assert r.status_code == 200
    assert r.json() == {"target": "agreement", "confidence": 0.95, "half_width": 0.05, "population_size": None,
                        "expected": 0.5, "required_without_fpc": 385, "required": 385,
                        "design": {"type": "simple_random"}, "sample_size": 385, "strata": None}


def test_plan_endpoint_sensitivity(db, api, world):
    r = api(world.quality).get("/api/campaigns/plan/", {"target": "sensitivity", "expected": 0.9,
                                                         "prevalence": 0.2})
    assert r.status_code == 200
    assert (r.json()["diseased_needed"], r.json()["required"]) == (139, 692)


def test_plan_endpoint_previews_strata_of_the_population(mixed, api, django_assert_max_num_queries):
    params = {"ai_system": mixed.ai_system.pk, "period_start": "2026-01-01", "period_end": "2026-06-30",
              "half_width": 0.1, "design": '{"type": "stratified", "strata_by": ["site"]}'}
    with django_assert_max_num_queries(3):
        r = api(mixed.quality).get("/api/campaigns/plan/", params)
    body = r.json()
    assert r.status_code == 200
    assert (body["population_size"], body["required_without_fpc"], body["required"]) == (40, 97, 29)
    assert body["strata"] == [
        {"stratum": "site=Nord", "population": 20, "sample": 15, "inclusion_probability": 0.75},
        {"stratum": "site=Sud", "population": 20, "sample": 14, "inclusion_probability": 0.7},
    ]


@pytest.mark.parametrize("who", ["chair", "secretary", "management", "dpo"])
def test_plan_endpoint_is_for_the_quality_team(world, api, who):
    r = api(getattr(world, who)).get("/api/campaigns/plan/")
    assert r.status_code == 403
    r = api(world.clinicians[0]).get("/api/campaigns/plan/", {"ai_system": world.ai_system.pk,
                                                               "period_start": "2026-01-01",
                                                               "period_end": "2026-06-30"})
    assert r.status_code == 403


def test_plan_endpoint_unknown_ai_system_is_404_and_bad_input_400(world, api):
    q = api(world.quality)
    assert q.get("/api/campaigns/plan/", {"ai_system": 999999, "period_start": "2026-01-01",
                                          "period_end": "2026-06-30"}).status_code == 404
    assert q.get("/api/campaigns/plan/", {"target": "sensitivity"}).status_code == 400
    assert q.get("/api/campaigns/plan/", {"design": '{"type": "cluster"}'}).status_code == 400
