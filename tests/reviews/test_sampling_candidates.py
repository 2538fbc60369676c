"""The draw reads only the cases under a rank cut-off per stratum (reviews.sampling, "Candidates"):
the sample must be exactly the reference one (first n_h of each stratum by ``reference_rank``),
whatever the cut-offs, on SQLite and on PostgreSQL."""

import datetime as dt

import pytest

from cases.pseudonymization import pseudonymize
from reviews import sampling
from reviews.sampling import Design, draw_sample, population_for, reference_rank
from tests.factories import CaseFactory
from tests.workflows import build_world

MARCH = dt.date(2026, 3, 10)
DESIGNS = [
    {},
    {"type": "stratified", "strata_by": ["ai_label", "override"], "allocation": "proportional",
     "oversample": {"ai_label=fracture|override=yes": 4}},
    {"type": "stratified", "strata_by": ["site", "score_band"], "allocation": "equal"},
    {"type": "stratified", "strata_by": ["site"], "allocation": "set", "sizes": {"site=Nord": 3, "site=Sud": 40}},
]


@pytest.fixture
def large(db):
    """300 cases (large enough for cut-offs below P): 10 % AI positives, a third of them
    overridden, three sites, scores spread."""
    world = build_world(n_cases=0)
    rows = []
    for i in range(300):
        ai = "fracture" if i % 10 == 0 else "no_fracture"
        final = ("no_fracture" if ai == "fracture" else "fracture") if i % 30 == 0 else ai
        rows.append(CaseFactory.build(
            ai_system=world.ai_system, exam_date=MARCH, ai_label=ai, final_label=final,
            site=("Nord", "Sud", "Est")[i % 3],
            ai_score=(i % 100) / 100, source_key=pseudonymize(f"LARGE{i:05d}", namespace="case"),
            patient_pseudonym=pseudonymize(f"LARGEP{i:05d}", namespace="patient")))
    world.cases = CaseFactory._meta.model.objects.bulk_create(rows)
    return world


def population(world):
    return population_for(ai_system_id=world.ai_system.pk, period_start=dt.date(2026, 1, 1),
                          period_end=dt.date(2026, 6, 30), sites=[])


def stratum_of(case, design: Design) -> str:
    values = {"ai_label": case.ai_label, "site": case.site,
              "override": "unknown" if not case.final_label else ("no" if case.final_label == case.ai_label else "yes"),
              "score_band": "0-0.5" if case.ai_score < 0.5 else ("0.5-0.8" if case.ai_score < 0.8 else ">=0.8")}
    return "|".join(f"{d}={values[d]}" for d in design.strata_by)


def reference_sample(cases, design: Design, seed: int, strata: dict[str, tuple[int, int]]) -> list[tuple[int, str]]:
    """The sample recomputed in Python from the source keys: the auditor's way."""
    chosen = []
    for stratum, (_, n) in strata.items():
        pool = [c for c in cases if design.type == "simple_random" or stratum_of(c, design) == stratum]
        chosen += [(c, stratum) for c in sorted(pool, key=lambda c: reference_rank(c.source_key, seed))[:n]]
    return [(c.pk, s) for c, s in sorted(chosen, key=lambda cs: cs[0].source_key)]


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("size", [1, 12, 60])
def test_sample_is_the_reference_sample_on_this_database(large, design, size):
    design = Design.from_dict(design or None)
    for seed in (0, 7, 20260315):
        sample = draw_sample(population(large), seed=seed, sample_size=size, design=design)

        assert [(u.case_id, u.stratum) for u in sample.units] == reference_sample(large.cases, design, seed,
                                                                                   sample.strata)
        assert len(sample.units) == sum(n for _, n in sample.strata.values())


@pytest.mark.parametrize("design", DESIGNS)
def test_too_tight_cutoffs_are_widened_and_give_the_same_sample(large, design, monkeypatch):
    design = Design.from_dict(design or None)
    expected = draw_sample(population(large), seed=5, sample_size=30, design=design)
    monkeypatch.setattr(sampling, "_cutoff", lambda quota, stratum_size: 1000)  # about nobody under it

    sample = draw_sample(population(large), seed=5, sample_size=30, design=design)

    assert sample == expected


def test_cutoff_is_everything_when_the_stratum_is_small_and_below_p_otherwise():
    assert sampling._cutoff(10, 40) == sampling.PRIME
    assert sampling._cutoff(400, 1_000_000) < sampling.PRIME // 1000
    assert sampling._cutoff(0, 10) == sampling.PRIME


def test_stratified_draw_needs_no_query_per_stratum(large, django_assert_max_num_queries):
    design = Design.from_dict(DESIGNS[2])
    with django_assert_max_num_queries(7):  # hash (with its transaction on PostgreSQL), counts, candidates
        sample = draw_sample(population(large), seed=1, sample_size=3, design=design)
    assert len(sample.units) == 3
