"""The population stream (reviews.sampling.population_blocks) and the simple random draw made
within it (``stream_simple_random``): the same digest and the same sample as the definitions
(SHA-256 of the sorted keys; first n by ``reference_rank``), whatever the keys; on PostgreSQL the
keys come in order from the population index (no sort); Python memory does not grow with the
population."""

import datetime as dt
import hashlib
import os
import tracemalloc

import pytest
from django.db import connection, transaction

from cases.models import Case, OptOut
from reviews import sampling
from reviews.sampling import Design, draw_sample, population_fingerprint, population_for, reference_rank
from tests.factories import CaseFactory
from tests.workflows import build_world

MARCH = dt.date(2026, 3, 10)
needs_postgres = pytest.mark.skipif(os.environ.get("CGH_DB_ENGINE") != "postgres",
                                    reason="the population index is PostgreSQL's (CGH_DB_ENGINE=postgres)")


def population(world, **kwargs):
    return population_for(ai_system_id=world.ai_system.pk, period_start=dt.date(2026, 1, 1),
                          period_end=dt.date(2026, 6, 30), sites=kwargs.get("sites") or [])


def with_keys(world, keys, **fields):
    return Case.objects.bulk_create([CaseFactory.build(ai_system=world.ai_system, exam_date=MARCH, source_key=k,
                                                       **fields) for k in keys])


def reference(keys, seed, n) -> tuple[int, str, list[str]]:
    """(size, digest, first n keys by rank): the definitions, recomputed in Python."""
    ordered = sorted(keys, key=lambda k: k.encode())
    digest = hashlib.sha256("".join(f"{k}\n" for k in ordered).encode()).hexdigest()
    return len(keys), digest, sorted(keys, key=lambda k: reference_rank(k, seed))[:n] if n else []


def database_draw(pop, seed, n, monkeypatch):
    """The draw with the stream's ranking switched off: the candidates query, as stratified
    designs do it."""
    with monkeypatch.context() as patch:
        patch.setattr(sampling, "stream_simple_random", lambda p, s, k: (*population_fingerprint(p), None))
        return draw_sample(pop, seed=seed, sample_size=n, design=Design())


@pytest.fixture
def world(db):
    return build_world(n_cases=0)


def hex_keys(count: int, salt: str = "") -> list[str]:
    return [hashlib.sha256(f"{salt}{i}".encode()).hexdigest() for i in range(count)]


@pytest.mark.parametrize("size", [1, 37, 250, 400])
def test_stream_draw_is_the_reference_sample_and_the_database_draw(world, size, monkeypatch):
    keys = hex_keys(250)
    cases = {c.source_key: c.pk for c in with_keys(world, keys)}
    want_size, want_digest, want_keys = reference(keys, 11, size)

    sample = draw_sample(population(world), seed=11, sample_size=size, design=Design())

    assert (sample.population_size, sample.population_hash) == (want_size, want_digest)
    assert sorted(sample.case_ids) == sorted(cases[k] for k in want_keys)
    assert all(u.inclusion_probability == min(size, 250) / 250 for u in sample.units)
    assert sample == database_draw(population(world), 11, size, monkeypatch)


def test_sample_ids_are_read_in_several_queries_when_the_sample_is_large(world, monkeypatch):
    monkeypatch.setattr(sampling, "ID_LOOKUP", 7)  # 45 keys: 7 queries, the last one short
    keys = hex_keys(120)
    cases = {c.source_key: c.pk for c in with_keys(world, keys)}

    sample = draw_sample(population(world), seed=4, sample_size=45, design=Design())

    assert sorted(sample.case_ids) == sorted(cases[k] for k in reference(keys, 4, 45)[2])
    assert sample == database_draw(population(world), 4, 45, monkeypatch)


def test_equal_ranks_are_broken_by_the_key_across_blocks(world, monkeypatch):
    # Keys sharing their first 8 hex digits share their rank; they sit in different blocks
    # (one per first hex digit here) and the cut falls among them.
    monkeypatch.setattr(sampling, "HASH_GROUP_PREFIX", 1)
    monkeypatch.setattr(sampling, "HASH_CHUNK", 3)
    keys = [f"1234abcd{i:056x}" for i in range(6)] + [f"{i:x}" * 64 for i in range(16)]
    keys += [f"{i:x}{'0' * 7}{'f' * 55}{i:x}" for i in range(16)]
    cases = {c.source_key: c.pk for c in with_keys(world, keys)}
    for seed in (1, 2, 3):
        ranked = sorted(keys, key=lambda k: reference_rank(k, seed))
        size = 4 + ranked.index(min(k for k in keys if k.startswith("1234abcd")))  # cut inside the tie

        sample = draw_sample(population(world), seed=seed, sample_size=size, design=Design())

        assert sorted(sample.case_ids) == sorted(cases[k] for k in ranked[:size])
        assert sample == database_draw(population(world), seed, size, monkeypatch)


@pytest.mark.parametrize("odd", [
    [hashlib.sha1(b"%d" % i).hexdigest() for i in range(5)],  # 40 characters, hex
    ["ABCDEF01" + "0" * 56, "abcdef01" + "1" * 56],  # upper-case hex: the same prefix value
    ["0000000" + "\t" + "a" * 56, "0000 000" + "b" * 56],  # whitespace, which bytes.fromhex would skip
], ids=["shorter", "upper-case", "whitespace"])
def test_keys_the_stream_cannot_rank_leave_the_draw_to_the_database(world, odd, monkeypatch):
    monkeypatch.setattr(sampling, "HASH_GROUP_PREFIX", 1)
    monkeypatch.setattr(sampling, "HASH_CHUNK", 4)
    keys = hex_keys(30) + odd
    with_keys(world, keys)
    rankable = all(len(k) == 64 and all(c in "0123456789abcdefABCDEF" for c in k[:8]) for k in keys)

    size, digest, chosen = sampling.stream_simple_random(population(world), 5, 10)

    assert (size, digest) == reference(keys, 5, 0)[:2]
    assert chosen == (reference(keys, 5, 10)[2] if rankable else None)
    if rankable:  # the database ranks these keys too: both draws agree
        draw = draw_sample(population(world), seed=5, sample_size=10, design=Design())
        assert draw == database_draw(population(world), 5, 10, monkeypatch)


def test_stream_draw_takes_only_the_population(world):
    inside = hex_keys(40, "in")
    cases = {c.source_key: c.pk for c in with_keys(world, inside)}
    with_keys(world, hex_keys(5, "opted"), is_opted_out=True)
    with_keys(world, hex_keys(5, "flagged"), blinding_flags=[{"field": "report_text", "mention": "AI"}])
    registered = with_keys(world, hex_keys(5, "register"), patient_pseudonym="p" * 64)
    OptOut.objects.create(patient_pseudonym=registered[0].patient_pseudonym)
    Case.objects.bulk_create([CaseFactory.build(ai_system=world.ai_system, exam_date=dt.date(2025, 1, 1),
                                                source_key=k) for k in hex_keys(5, "before")])

    sample = draw_sample(population(world), seed=9, sample_size=40, design=Design())

    assert (sample.population_size, sample.population_hash) == reference(inside, 9, 40)[:2]
    assert sorted(sample.case_ids) == sorted(cases.values())


def python_peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_python_memory_does_not_grow_with_the_population(world, monkeypatch):
    """The stream holds one block at a time: with blocks of a bounded size (HASH_CHUNK keys on
    SQLite, one key range of at most a few keys on PostgreSQL) the peak stays the same when the
    population grows tenfold, by 18,000 keys (1.2 MB of key text, which it would add if the
    population were held)."""
    monkeypatch.setattr(sampling, "HASH_CHUNK", 500)
    with_keys(world, hex_keys(2_000, "a"))
    pop = population(world)
    draw = lambda: draw_sample(pop, seed=3, sample_size=50, design=Design())  # noqa: E731
    small = max(python_peak(lambda: population_fingerprint(pop)), python_peak(draw))
    with_keys(world, hex_keys(18_000, "b"))

    large = max(python_peak(lambda: population_fingerprint(pop)), python_peak(draw))

    assert large < small + 256 * 1024, (small, large)


@pytest.mark.postgres
@needs_postgres
@pytest.mark.parametrize("sites", [[], ["Nord", "Sud"]], ids=["all-sites", "two-sites"])
def test_population_stream_reads_the_index_in_order_without_a_sort(world, sites):
    with_keys(world, hex_keys(2_000), site="Nord")
    OptOut.objects.create(patient_pseudonym="q" * 64)
    pop = population(world, sites=sites)
    statement, params = sampling.population_stream_statement(pop)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("; ".join(sampling.STREAM_SETTINGS))
        cursor.execute("ANALYZE cases_case")
        cursor.execute("EXPLAIN " + statement, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Sort" not in plan, plan
    assert plan.count("using case_population_key_order") == 2, plan
    assert population_fingerprint(pop) == reference(hex_keys(2_000), 1, 1)[:2]
