#!/usr/bin/env python
"""Import benchmark: rows/s end to end, memory of the import processes, and the ratio to a raw bulk
load of the same rows into an empty table with the same indexes and constraints.

    .venv/bin/python bench/import_bench.py                      # SQLite, 100,000 rows
    .venv/bin/python bench/import_bench.py --rows 1000000       # the 1M-row target
    scripts/with_postgres.sh .venv/bin/python bench/import_bench.py --rows 1000000 --repeat 3   # PostgreSQL

Generates a CSV file on disk (streamed, never in memory) and, from it, the very rows the import
stores (already pseudonymized and encrypted, prepared once outside any timing) in the database's
load format: COPY text on PostgreSQL, pickled tuples on SQLite. Then, ``--repeat`` times, in
turn:

- the import, through ``cases.importing.service.import_cases`` (stream, parse, validate,
  pseudonymize and encrypt in a process pool, write new cases as they come, decide existing ones
  in SQL, audit), into the emptied case table;
- the baseline: the same rows, same columns, loaded by the rawest path (PostgreSQL ``COPY`` of
  the text file in 1 MiB blocks; SQLite one ``executemany``) into an empty twin of the case table
  with the same indexes and constraints (PostgreSQL: ``LIKE ... INCLUDING ALL`` plus the same
  foreign keys; SQLite: the case table's own ``CREATE`` statements), committed.

Memory: a sampler thread adds up, every 20 ms during the import, the resident set size (RSS) and
the proportional set size (PSS: pages shared between the forked workers counted once) of this
process and of its child processes (the pool workers); the peak of each sum is printed. Prints
the median of each figure with its min-max over the runs.
"""

import argparse
import os
import pickle
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
if os.environ.get("CGH_DB_ENGINE", "sqlite") != "postgres":
    os.environ["CGH_SQLITE_PATH"] = str(Path(tempfile.mkdtemp(prefix="cgh-bench-")) / "bench.sqlite3")

TWIN = "cgh_bench_raw_case"


def write_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("accession_number;patient_id;exam_date;site;service;sex;age;report_text;ai_label;ai_score;"
                "final_label\n")
        for i in range(n):
            label = "fracture" if i % 4 == 0 else "no_fracture"
            f.write(f"ACC{i:09d};PAT{i // 2:09d};{1 + i % 28:02d}/03/2026;Site {i % 3};Urgences;{'FM'[i % 2]};"
                    f"{20 + i % 70};Radiographie du poignet {i};{label};0,{i % 100:02d};{label}\n")


class MemorySampler:
    """Peak of the summed RSS and PSS (MiB) of this process and its descendants while running."""

    def __init__(self, every: float = 0.02):
        self.every, self.rss, self.pss = every, 0.0, 0.0
        self._stop = threading.Event()

    @staticmethod
    def _pids() -> list[int]:
        todo, seen = [os.getpid()], []
        while todo:
            pid = todo.pop()
            seen.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    todo += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except OSError:
                continue
        return seen

    @staticmethod
    def _rollup(pid: int) -> tuple[float, float]:
        rss = pss = 0.0
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) / 1024
        except OSError:
            pass
        return rss, pss

    def _run(self) -> None:
        while not self._stop.is_set():
            sums = [sum(x) for x in zip(*(self._rollup(p) for p in self._pids()), strict=True)]
            self.rss, self.pss = max(self.rss, sums[0]), max(self.pss, sums[1])
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def twin_table(connection, table: str) -> None:
    """An empty table with the case table's columns, indexes and constraints."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TWIN}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {TWIN} (LIKE {table} INCLUDING ALL)")
            cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE conrelid = %s::regclass AND contype = 'f'", [table])
            for name, definition in cursor.fetchall():
                cursor.execute(f"ALTER TABLE {TWIN} ADD CONSTRAINT {name}_twin {definition}")
            return
        cursor.execute("SELECT sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL ORDER BY type = 'index'",
                       [table])
        for (sql,) in cursor.fetchall():
            sql = re.sub(rf'INDEX "([^"]+)" ON "{table}"', rf'INDEX "{TWIN}_\1" ON "{TWIN}"', sql)
            cursor.execute(sql.replace(f'TABLE "{table}"', f'TABLE "{TWIN}"', 1))


def summary(values: list[float], fmt: str) -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1, help="import + baseline runs, medians printed (default 1)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from accounts.enums import Role
    from accounts.models import User
    from cases.enums import OutputType
    from cases.importing.pool import prepared_chunks
    from cases.importing.service import CHUNK, import_cases
    from cases.models import AISystem, Case, ImportBatch
    from cases.pseudonymization import current_key
    from cases.readers import inspect, read_csv_blocks
    from cases.rows import STAGED, RowContext
    from cases.source_reference import current_source_key

    pg = connection.vendor == "postgresql"
    table = Case._meta.db_table
    quality, _ = User.objects.get_or_create(username="bench-import", defaults={"role": Role.QUALITY})
    ai = AISystem.objects.create(name=f"Import {time.time_ns()}", vendor="Bench", version="1", intended_use="bench",
                                 output_type=OutputType.BINARY, labels=["fracture", "no_fracture"],
                                 positive_label="fracture")
    work = Path(tempfile.mkdtemp(prefix="cgh-bench-"))
    path = work / "cases.csv"
    write_csv(path, args.rows)
    print(f"database: {connection.vendor}; file: {args.rows:,} rows, {path.stat().st_size / 2**20:,.0f} MiB; "
          f"load average {os.getloadavg()[0]:.1f}")

    # The rows as the import stores them, prepared once by the import's own code.
    batch = ImportBatch.objects.create(ai_system=ai, created_by=quality, filename="raw.csv", key_id="bench")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = ", ".join(("ai_system_id", "import_batch_id", "created_at", "updated_at", "is_opted_out", *STAGED))
    ctx = RowContext.for_system(ai, current_key(), current_source_key(), copy_text=pg,
                                copy_prefix=f"{ai.pk}\t{batch.pk}\t{now}\t{now}\tf\t")
    raw = work / ("rows.copy" if pg else "rows.pickle")
    with path.open("rb") as stream, raw.open("wb") as out:
        header, blocks = read_csv_blocks(stream, inspect(stream), CHUNK)
        ctx.index = {c: i for i, c in enumerate(header)}
        for chunk in prepared_chunks(blocks, ctx, 2):
            if pg:
                out.write(chunk.values.encode())
            else:
                pickle.dump([(ai.pk, batch.pk, now, now, False, *r) for r in chunk.values], out)

    def empty_case_table() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table} CASCADE" if pg else f"DELETE FROM {table}")

    def raw_load() -> float:
        rows = None
        if not pg:
            with raw.open("rb") as f:
                rows = []
                while True:
                    try:
                        rows += pickle.load(f)
                    except EOFError:
                        break
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            if pg:
                with raw.open("rb") as f, cursor.cursor.copy(f"COPY {TWIN} ({columns}) FROM STDIN") as copy:
                    while block := f.read(1 << 20):
                        copy.write(block)
            else:
                marks = ", ".join(["%s"] * (5 + len(STAGED)))
                cursor.executemany(f"INSERT INTO {TWIN} ({columns}) VALUES ({marks})", rows)
        return time.perf_counter() - start

    t_imports, t_raws, rss, pss = [], [], [], []
    for run in range(max(1, args.repeat)):
        empty_case_table()
        with MemorySampler() as memory:
            start = time.perf_counter()
            result = import_cases(actor=quality, ai_system=ai, path=str(path), filename="bench.csv",
                                  workers=args.workers)
            t_import = time.perf_counter() - start
        assert result.created == args.rows, result.errors[:3]
        twin_table(connection, table)
        t_raw = raw_load()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {TWIN}")
            assert cursor.fetchone()[0] == args.rows
        t_imports.append(t_import)
        t_raws.append(t_raw)
        rss.append(memory.rss)
        pss.append(memory.pss)
        print(f"run {run + 1}: import {t_import:.2f} s, raw load {t_raw:.2f} s, ratio {t_import / t_raw:.2f}x; "
              f"import processes together: peak RSS {memory.rss:.0f} MiB, peak PSS {memory.pss:.0f} MiB; "
              f"load average {os.getloadavg()[0]:.1f}")
    ratios = [a / b for a, b in zip(t_imports, t_raws, strict=True)]
    raw_path = "COPY" if pg else "executemany"
    print(f"import: {args.rows:,} rows in {summary(t_imports, '{:.2f}')} s = "
          f"{args.rows / statistics.median(t_imports):,.0f} rows/s end to end; raw {raw_path} of the same rows into "
          f"an empty table with the same indexes {summary(t_raws, '{:.2f}')} s; ratio {summary(ratios, '{:.2f}')}x; "
          f"import processes together: peak RSS {summary(rss, '{:.0f}')} MiB, peak PSS {summary(pss, '{:.0f}')} MiB "
          f"(median, min-max of {len(ratios)} runs)")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TWIN}")


if __name__ == "__main__":
    main()
