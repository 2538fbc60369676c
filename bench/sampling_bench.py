#!/usr/bin/env python
"""Benchmark of in-database sampling (reviews.sampling) on a large population.

    .venv/bin/python bench/sampling_bench.py                               # SQLite, 1,000,000 cases
    scripts/with_postgres.sh .venv/bin/python bench/sampling_bench.py      # PostgreSQL
    .venv/bin/python bench/sampling_bench.py --cases 200000 --n 400 --repeat 5

Prints, for a draw of ``--n`` cases: the time (median of ``--repeat`` runs) and peak Python
memory (tracemalloc) of the whole draw (population hash + strata counts + candidates), of its
parts, for a simple random and a stratified design, and the ratio to a bare ``ORDER BY random() LIMIT n`` over the same
population. Runs on a scratch database (a temporary SQLite file, or the PostgreSQL database
named by the CGH_DB_* environment), never on the demo database.
"""

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
if os.environ.get("CGH_DB_ENGINE", "sqlite") != "postgres":
    os.environ["CGH_SQLITE_PATH"] = str(Path(tempfile.mkdtemp(prefix="cgh-bench-")) / "bench.sqlite3")

COLUMNS = ("created_at, updated_at, ai_system_id, source_key, patient_pseudonym, key_id, exam_date, site, service, "
           "sex, age_band, clinical_context, report_text, image_url, ai_label, ai_score, ai_version, final_label, "
           "clinician_pseudonym, is_opted_out")


def other_columns(connection) -> tuple[str, list]:
    """Every other NOT NULL column of Case (the model evolves), with its default value."""
    from cases.models import Case

    names, values = [], []
    for f in Case._meta.concrete_fields:
        if f.primary_key or f.column in COLUMNS or f.null:
            continue
        names.append(f.column)
        values.append(f.get_db_prep_save(f.get_default(), connection))
    return "".join(f", {n}" for n in names), values


def fill(connection, ai_id: int, n: int) -> None:
    """``n`` synthetic cases: 10 % AI positives, 4 sites, 5 % overridden, scores spread."""
    extra_names, extra_values = other_columns(connection)
    extra_marks = "".join(", %s" for _ in extra_values)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO cases_case ({COLUMNS}{extra_names}) SELECT now(), now(), %s, "
                "md5(i::text) || md5((i + 7)::text), "
                "md5('p' || (i / 2)::text), 'bench', DATE '2026-01-01' + (i %% 180), 'Site ' || (i %% 4), "
                "'Urgences', 'F', '40-59', '', '', '', CASE WHEN i %% 10 = 0 THEN 'fracture' ELSE 'no_fracture' END, "
                "(i %% 1000) / 1000.0, '1', CASE WHEN i %% 20 = 0 THEN (CASE WHEN i %% 10 = 0 THEN 'no_fracture' "
                "ELSE 'fracture' END) WHEN i %% 10 = 0 THEN 'fracture' ELSE 'no_fracture' END, '', false"
                f"{extra_marks} FROM generate_series(1, %s) AS i", [ai_id, *extra_values, n])
            cursor.execute("ANALYZE cases_case")
            return
        import datetime as dt

        start = dt.date(2026, 1, 1)
        chunk = 50_000
        for lo in range(1, n + 1, chunk):
            rows = []
            for i in range(lo, min(n, lo + chunk - 1) + 1):
                ai = "fracture" if i % 10 == 0 else "no_fracture"
                final = ("no_fracture" if ai == "fracture" else "fracture") if i % 20 == 0 else ai
                rows.append(("2026-01-01", "2026-01-01", ai_id, hashlib.sha256(b"%d" % i).hexdigest(),
                             hashlib.md5(b"p%d" % (i // 2)).hexdigest(), "bench",
                             (start + dt.timedelta(days=i % 180)).isoformat(), f"Site {i % 4}", "Urgences", "F",
                             "40-59", "", "", "", ai, (i % 1000) / 1000, "1", final, "", False, *extra_values))
            cursor.executemany(f"INSERT INTO cases_case ({COLUMNS}{extra_names}) "
                               f"VALUES ({', '.join(['%s'] * 20)}{extra_marks})", rows)
        cursor.execute("ANALYZE")


REPEAT = 3


def measure(fn, repeat: int | None = None):
    times, peaks, result = [], [], None
    for _ in range(repeat or REPEAT):
        tracemalloc.start()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return result, statistics.median(times), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000, help="population size (default 1,000,000)")
    parser.add_argument("--n", type=int, default=400, help="sample size (default 400)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure, the median is printed (default 3)")
    args = parser.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)

    import django

    django.setup()
    import datetime as dt

    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from cases.enums import OutputType
    from cases.models import AISystem
    from reviews.sampling import Design, draw_sample, population_fingerprint, population_for, stratum_counts

    print(f"database: {connection.vendor}")
    ai = AISystem.objects.create(name="Bench sampling AI", vendor="Bench", version="1", intended_use="bench",
                                 output_type=OutputType.BINARY, labels=["fracture", "no_fracture"],
                                 positive_label="fracture")
    start = time.perf_counter()
    with transaction.atomic():
        fill(connection, ai.pk, args.cases)
    print(f"setup: {args.cases:,} cases written in {time.perf_counter() - start:.1f} s")
    population = population_for(ai_system_id=ai.pk, period_start=dt.date(2026, 1, 1),
                                period_end=dt.date(2026, 12, 31), sites=[])

    _, t_bare, m_bare = measure(lambda: list(population.order_by("?").values_list("id", flat=True)[: args.n]))
    print(f"baseline: ORDER BY random() LIMIT {args.n}: {t_bare:.3f} s, peak Python memory {m_bare / 2**20:.2f} MiB")

    (size, digest), t_hash, m_hash = measure(lambda: population_fingerprint(population))
    print(f"population hash: {size:,} cases in {t_hash:.3f} s, peak {m_hash / 2**20:.2f} MiB ({digest[:12]}...)")

    designs = {
        "simple random": Design(),
        "stratified ai_label x override, proportional, positives x4": Design.from_dict({
            "type": "stratified", "strata_by": ["ai_label", "override"], "allocation": "proportional",
            "oversample": {"ai_label=fracture|override=no": 4, "ai_label=fracture|override=yes": 4}}),
        "stratified site x score band, equal": Design.from_dict({
            "type": "stratified", "strata_by": ["site", "score_band"], "allocation": "equal"}),
    }
    for name, design in designs.items():
        if design.type == "stratified":
            _, t_counts, _ = measure(lambda d=design: stratum_counts(population, d))
        sample, t, peak = measure(lambda d=design: draw_sample(population, seed=20260315, sample_size=args.n, design=d))
        again = draw_sample(population, seed=20260315, sample_size=args.n, design=design)
        assert again == sample and len(sample.units) == args.n, (len(sample.units), args.n)
        extra = f"; of which strata counts {t_counts:.3f} s" if design.type == "stratified" else ""
        print(f"draw [{name}]: {args.n} of {sample.population_size:,} in {t:.3f} s end to end "
              f"(hash included{extra}), peak Python memory {peak / 2**20:.2f} MiB, "
              f"{len(sample.strata)} strata; ratio to ORDER BY random() {t / t_bare:.2f}x; same seed, same sample")


if __name__ == "__main__":
    main()
