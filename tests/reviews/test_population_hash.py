"""The population hash (reviews.sampling.population_fingerprint) is a stream in key order: it must
give the digest that campaigns already recorded, on every population, on SQLite and PostgreSQL.

Two references: the definition recomputed in Python (SHA-256 over the source keys sorted by their
UTF-8 bytes, one per line), and, on PostgreSQL, the aggregate the product used before
(``sha256(string_agg(...))`` over the keys sorted in the "C" collation), run here verbatim."""

import datetime as dt
import hashlib

import pytest
from django.db import connection

from cases.models import Case
from reviews import sampling
from reviews.sampling import Design, draw_sample, population_fingerprint, population_for
from tests.factories import CaseFactory
from tests.workflows import build_world

MARCH = dt.date(2026, 3, 10)

# Keys whose bytewise order differs from a locale's order or from UTF-16's, with characters SQL,
# COPY or a naive join would treat specially; real keys are hex HMACs (tests/factories).
ODD_KEYS = ["Zèbre", "zebra", "a", "A", "ab", "a b", "a\\b", "a'b", "a%b", "a\tb", "10", "9", "É", "é", "\u00ff",
            "€uro", "😀 emoji", "\ufb01", "日本", "-", "_", "~"]


def python_reference(keys) -> tuple[int, str]:
    keys = sorted(keys, key=lambda k: k.encode())
    return len(keys), hashlib.sha256("".join(f"{k}\n" for k in keys).encode()).hexdigest()


def former_postgres_digest(population) -> tuple[int, str]:
    """The aggregate population_fingerprint ran on PostgreSQL before it streamed (digests recorded
    by existing campaigns)."""
    sql, params = population.order_by().values_list("source_key").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), encode(sha256(convert_to(COALESCE(string_agg(t.k || chr(10), ''), ''), 'UTF8')), "
            f"'hex') FROM (SELECT p.source_key COLLATE \"C\" AS k FROM ({sql}) p ORDER BY 1) t", params)
        size, digest = cursor.fetchone()
    return int(size), digest


def population(world):
    return population_for(ai_system_id=world.ai_system.pk, period_start=dt.date(2026, 1, 1),
                          period_end=dt.date(2026, 6, 30), sites=[])


def with_keys(world, keys) -> None:
    Case.objects.bulk_create([CaseFactory.build(ai_system=world.ai_system, exam_date=MARCH, source_key=k)
                              for k in keys])


@pytest.fixture
def world(db):
    return build_world(n_cases=0)


@pytest.mark.parametrize("keys", [[], ["only one"], ODD_KEYS], ids=["empty", "one", "odd-keys"])
def test_population_hash_is_the_digest_of_the_sorted_keys(world, keys):
    with_keys(world, keys)

    result = population_fingerprint(population(world))

    assert result == python_reference(keys)
    if connection.vendor == "postgresql":
        assert result == former_postgres_digest(population(world))


def test_population_hash_is_the_same_whatever_the_chunks_or_groups(world, monkeypatch):
    keys = [hashlib.sha256(b"%d" % i).hexdigest() for i in range(23)]  # hex keys, like real ones
    with_keys(world, keys)
    whole = population_fingerprint(population(world))
    monkeypatch.setattr(sampling, "HASH_CHUNK", 5)  # SQLite: 5 chunks, the last one short
    monkeypatch.setattr(sampling, "HASH_GROUP_PREFIX", 1)  # PostgreSQL: groups of several keys

    chunked = population_fingerprint(population(world))

    assert chunked == whole == python_reference(keys)
    if connection.vendor == "postgresql":
        assert chunked == former_postgres_digest(population(world))


def test_population_hash_covers_the_population_only(world):
    inside = [f"{i:064x}" for i in range(1, 8)]
    with_keys(world, inside)
    Case.objects.bulk_create([CaseFactory.build(ai_system=world.ai_system, exam_date=dt.date(2025, 12, 31),
                                                source_key="0" * 64),
                              CaseFactory.build(ai_system=world.ai_system, exam_date=MARCH, source_key="f" * 64,
                                                is_opted_out=True)])

    assert population_fingerprint(population(world)) == python_reference(inside)


def test_stratified_draw_records_the_hash_of_the_whole_population(world):
    keys = [f"{i * 7919:064x}" for i in range(40)]
    Case.objects.bulk_create([
        CaseFactory.build(ai_system=world.ai_system, exam_date=MARCH, source_key=k, site=("Nord", "Sud", "Est")[i % 3],
                          ai_label=("fracture", "no_fracture")[i % 2]) for i, k in enumerate(keys)])
    design = Design.from_dict({"type": "stratified", "strata_by": ["site", "ai_label"], "allocation": "equal"})

    sample = draw_sample(population(world), seed=3, sample_size=12, design=design)

    assert (sample.population_size, sample.population_hash) == python_reference(keys)
    assert len(sample.strata) == 6
    if connection.vendor == "postgresql":
        assert (sample.population_size, sample.population_hash) == former_postgres_digest(population(world))
