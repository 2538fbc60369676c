#!/usr/bin/env python
"""Benchmark of in-database sampling (reviews.sampling) on a large population.

    .venv/bin/python bench/sampling_bench.py                               # SQLite, 1,000,000 cases
    scripts/with_postgres.sh .venv/bin/python bench/sampling_bench.py      # PostgreSQL
    .venv/bin/python bench/sampling_bench.py --cases 200000 --n 400 --repeat 5

    scripts/with_postgres.sh .venv/bin/python bench/sampling_bench.py --cases 5000000   # about 10 min to fill

Prints, for a draw of ``--n`` cases: the time (median of ``--repeat`` runs, with min-max) and peak
Python memory (tracemalloc) of the whole draw (population hash + strata counts + candidates), of
its parts, for a simple random and a stratified design, and the ratio to a bare ``ORDER BY random()
LIMIT n`` over the same population. The population hash (a stream of the sorted keys) is also
compared with the database sorting the same keys and counting them (no transfer, no hash) and, on
PostgreSQL, with the former ``sha256(string_agg(...))`` aggregate; beside each: the growth of this
process's peak RSS and, on a local PostgreSQL, the server backend's peak RSS and its temporary
files. Runs on a scratch database (a temporary SQLite file, or the PostgreSQL database named by the
CGH_DB_* environment), never on the demo database.
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
SPREADS: list[str] = []


def measure(fn, repeat: int | None = None):
    times, peaks, result = [], [], None
    for _ in range(repeat or REPEAT):
        tracemalloc.start()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    SPREADS.append(f"{min(times):.3f}-{max(times):.3f} s")
    return result, statistics.median(times), max(peaks)


def spread() -> str:
    """min-max of the last measure's runs"""
    return SPREADS[-1]


def peak_rss_mib(pid: int | str = "self") -> float | None:
    """VmHWM of a process (Linux), None when unreadable (another host, another user)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss(pid: int | str = "self") -> None:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def memory_of(fn, connection):
    """(result, client peak RSS growth MiB, server backend peak RSS MiB or None, server temp MiB or None)
    of one run of ``fn``."""
    backend = temp_before = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), temp_bytes FROM pg_stat_database WHERE datname = "
                           "current_database()")
            backend, temp_before = cursor.fetchone()
        reset_peak_rss(backend)
    reset_peak_rss()
    before = peak_rss_mib() or 0.0
    result = fn()
    client = (peak_rss_mib() or 0.0) - before
    server = temp = None
    if backend is not None:
        server = peak_rss_mib(backend)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
            cursor.execute("SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
            temp = (cursor.fetchone()[0] - temp_before) / 2**20
    return result, client, server, temp


def server_cpu_of(fn, connection):
    """(result, CPU seconds of the PostgreSQL backend serving ``fn``, None elsewhere): read from
    /proc, less disturbed than wall times by other load on the machine."""
    if connection.vendor != "postgresql":
        return fn(), None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def ticks():
        try:
            fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    before = ticks()
    result = fn()
    after = ticks()
    return result, (None if before is None or after is None else after - before)


def describe_memory(client, server, temp) -> str:
    out = f"client peak RSS +{client:.0f} MiB"
    if server is not None:
        out += f", server backend peak RSS {server:.0f} MiB"
    if temp is not None:
        out += f", server temporary files {temp:.0f} MiB (parallel workers included)"
    return out


def former_fingerprint(population, connection) -> tuple[int, str]:
    """The population hash as PostgreSQL computed it before it was streamed: one text value."""
    from django.db import transaction

    sql, params = population.order_by().values_list("source_key").query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(
            "SELECT COUNT(*), encode(sha256(convert_to(COALESCE(string_agg(t.k || chr(10), ''), ''), 'UTF8')), "
            f"'hex') FROM (SELECT p.source_key COLLATE \"C\" AS k FROM ({sql}) p ORDER BY 1) t", params)
        size, digest = cursor.fetchone()
    return int(size), digest


def sorted_scan(population, connection) -> int:
    """The database sorts the population's keys as the hash needs them and only counts them."""
    from django.db import transaction

    sql, params = population.order_by().values_list("source_key").query.sql_with_params()
    pg = connection.vendor == "postgresql"
    collate, offset = (' COLLATE "C"', "OFFSET 0") if pg else ("", "LIMIT -1 OFFSET 0")  # keeps the sort
    with transaction.atomic(), connection.cursor() as cursor:
        if pg:
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT p.source_key{collate} AS k FROM ({sql}) p ORDER BY 1 {offset}) t",
                       params)
        return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000, help="population size (default 1,000,000)")
    parser.add_argument("--n", type=int, default=400, help="sample size (default 400)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure, the median is printed (default 3)")
    parser.add_argument("--skip-former", action="store_true",
                        help="do not run the former string_agg hash (it fails near 16.5M cases)")
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

    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.1f}")
    ai = AISystem.objects.create(name="Bench sampling AI", vendor="Bench", version="1", intended_use="bench",
                                 output_type=OutputType.BINARY, labels=["fracture", "no_fracture"],
                                 positive_label="fracture")
    start = time.perf_counter()
    with transaction.atomic():
        fill(connection, ai.pk, args.cases)
    if connection.vendor == "postgresql":
        # What autovacuum does after a large load: the visibility map lets the population index be
        # read without visiting the table (an index-only scan).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE cases_case")
    print(f"setup: {args.cases:,} cases written (and vacuumed) in {time.perf_counter() - start:.1f} s")
    population = population_for(ai_system_id=ai.pk, period_start=dt.date(2026, 1, 1),
                                period_end=dt.date(2026, 12, 31), sites=[])

    _, t_bare, m_bare = measure(lambda: list(population.order_by("?").values_list("id", flat=True)[: args.n]))
    _, bare_cpu = server_cpu_of(lambda: list(population.order_by("?").values_list("id", flat=True)[: args.n]),
                                connection)
    print(f"baseline: ORDER BY random() LIMIT {args.n}: {t_bare:.3f} s ({spread()}), "
          f"peak Python memory {m_bare / 2**20:.2f} MiB"
          + ("" if bare_cpu is None else f", server backend CPU {bare_cpu:.2f} s (parallel workers not counted)"))

    _, t_sort, _ = measure(lambda: sorted_scan(population, connection))
    print(f"baseline: the database sorts the keys and counts them: {t_sort:.3f} s ({spread()})")
    (size, digest), t_hash, m_hash = measure(lambda: population_fingerprint(population))
    _, *mem = memory_of(lambda: population_fingerprint(population), connection)
    print(f"population hash (stream): {size:,} cases in {t_hash:.3f} s ({spread()}), "
          f"{t_hash / t_sort:.2f}x the sort alone; peak Python memory {m_hash / 2**20:.2f} MiB, "
          f"{describe_memory(*mem)} ({digest[:12]}...)")
    if connection.vendor == "postgresql" and not args.skip_former:
        former, t_former, _ = measure(lambda: former_fingerprint(population, connection))
        _, *mem = memory_of(lambda: former_fingerprint(population, connection), connection)
        assert former == (size, digest), (former, digest)
        print(f"former hash (string_agg in PostgreSQL): {t_former:.3f} s ({spread()}), same digest; "
              f"stream / former {t_hash / t_former:.2f}x; {describe_memory(*mem)}")

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
        t_spread = spread()
        cpu_start = time.process_time()
        _, server_cpu = server_cpu_of(
            lambda d=design: draw_sample(population, seed=20260315, sample_size=args.n, design=d), connection)
        client_cpu = time.process_time() - cpu_start
        again = draw_sample(population, seed=20260315, sample_size=args.n, design=design)
        assert again == sample and len(sample.units) == args.n, (len(sample.units), args.n)
        extra = f"; of which strata counts {t_counts:.3f} s" if design.type == "stratified" else ""
        print(f"draw [{name}]: {args.n} of {sample.population_size:,} in {t:.3f} s ({t_spread}) end to end "
              f"(hash included{extra}), peak Python memory {peak / 2**20:.2f} MiB, "
              f"{len(sample.strata)} strata; ratio to ORDER BY random() {t / t_bare:.2f}x; same seed, same sample; "
              f"CPU of one draw: this process {client_cpu:.2f} s"
              + ("" if server_cpu is None else f", server backend {server_cpu:.2f} s (parallel workers not counted)"))


if __name__ == "__main__":
    main()
