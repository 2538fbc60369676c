#!/usr/bin/env python
"""Import benchmark (issue #3): rows/s end to end, peak memory, and the ratio to a raw bulk load.

    .venv/bin/python bench/import_bench.py                      # SQLite, 100,000 rows
    .venv/bin/python bench/import_bench.py --rows 1000000       # the 1M-row target
    scripts/with_postgres.sh .venv/bin/python bench/import_bench.py --rows 1000000   # PostgreSQL

Generates a CSV file on disk (streamed, never in memory), imports it through
``cases.importing.service.import_cases`` (stream, parse, validate, pseudonymize and encrypt in a process
pool, write new cases as they come, decide existing ones in SQL, audit), then loads the same
already-pseudonymized rows into the same table, with the same indexes, by the rawest path:
PostgreSQL ``COPY`` / SQLite ``executemany``. Peak memory is the
process's maximum resident set size (ru_maxrss, children included) after the import.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
if os.environ.get("CGH_DB_ENGINE", "sqlite") != "postgres":
    os.environ["CGH_SQLITE_PATH"] = str(Path(tempfile.mkdtemp(prefix="cgh-bench-")) / "bench.sqlite3")


def write_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("accession_number;patient_id;exam_date;site;service;sex;age;report_text;ai_label;ai_score;"
                "final_label\n")
        for i in range(n):
            label = "fracture" if i % 4 == 0 else "no_fracture"
            f.write(f"ACC{i:09d};PAT{i // 2:09d};{1 + i % 28:02d}/03/2026;Site {i % 3};Urgences;{'FM'[i % 2]};"
                    f"{20 + i % 70};Radiographie du poignet {i};{label};0,{i % 100:02d};{label}\n")


def rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from accounts.enums import Role
    from accounts.models import User
    from cases.enums import OutputType
    from cases.importing.pool import prepared_chunks, record_chunks
    from cases.importing.rules import ColumnMapping
    from cases.importing.service import CHUNK, import_cases
    from cases.models import AISystem, Case
    from cases.pseudonymization import current_key
    from cases.readers import inspect, read_records
    from cases.rows import STAGED, RowContext
    from cases.source_reference import current_source_key

    quality, _ = User.objects.get_or_create(username="bench-import", defaults={"role": Role.QUALITY})

    def system(name):
        return AISystem.objects.create(name=f"{name} {time.time_ns()}", vendor="Bench", version="1",
                                       intended_use="bench", output_type=OutputType.BINARY,
                                       labels=["fracture", "no_fracture"], positive_label="fracture")

    path = Path(tempfile.mkdtemp(prefix="cgh-bench-")) / "cases.csv"
    write_csv(path, args.rows)
    print(f"database: {connection.vendor}; file: {args.rows:,} rows, {path.stat().st_size / 2**20:,.0f} MiB")

    ai = system("Import")
    start = time.perf_counter()
    result = import_cases(actor=quality, ai_system=ai, path=str(path), filename="bench.csv", workers=args.workers)
    t_import = time.perf_counter() - start
    peak = rss_mib()
    assert result.created == args.rows, result.errors[:3]

    # The same rows, already pseudonymized (prepared outside the timing), loaded raw.
    ai2 = system("Raw")
    ctx = RowContext.for_system(ai2, current_key(), current_source_key())
    with path.open("rb") as stream:
        info = inspect(stream)
        header, records = read_records(stream, info, "csv")
        ctx.index = {c: i for i, c in enumerate(header)}
        chunks = record_chunks(records, CHUNK, ColumnMapping({}, set()), is_csv=True)
        prepared = [row for chunk in prepared_chunks(chunks, ctx, 2) for row in chunk.values]
    cols = ["ai_system_id", "created_at", "updated_at", "is_opted_out", *STAGED]
    from django.utils import timezone

    now = timezone.now()
    rows = [(ai2.pk, now, now, False, *r) for r in prepared]
    del prepared
    table = Case._meta.db_table
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        else:
            marks = ", ".join(["%s"] * len(cols))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)
    t_raw = time.perf_counter() - start
    print(f"import: {args.rows:,} rows in {t_import:.1f} s = {args.rows / t_import:,.0f} rows/s end to end; "
          f"raw bulk load of the same pseudonymized rows {t_raw:.1f} s = {args.rows / t_raw:,.0f} rows/s; "
          f"ratio {t_import / t_raw:.2f}x; peak RSS during the import {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
