#!/usr/bin/env python
"""Audit trail under concurrent writers: one chain head (the former design) against lanes.

    scripts/with_postgres.sh .venv/bin/python bench/audit_bench.py
    scripts/with_postgres.sh .venv/bin/python bench/audit_bench.py --writers 16 --transactions 100 --lanes 8

K writer threads, each with its own database connection, run transactions that model a request:
a small write (one row), ``audit_record``, then ``--hold-ms`` of work inside the transaction
(default 5 ms) before the commit. The same load runs with ``AUDIT_LANES=1`` (every audited
transaction locks the same head until it commits: the single-chain design) and with
``--lanes`` lanes. Prints events/s, median and p95 transaction latency for each, and the ratios;
then checks that the trail still verifies.

Meant for PostgreSQL (``SELECT ... FOR UPDATE SKIP LOCKED``); on SQLite, which serializes all
writers whatever the design, both runs use one lane and the figures only show SQLite's own limit.
Runs on a scratch database (the PostgreSQL database named by the CGH_DB_* environment, or a
temporary SQLite file), never on the demo database.
"""

import argparse
import os
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


RUNS = iter(range(1_000_000))


def run(lanes: int, writers: int, transactions: int, hold: float) -> dict:
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from audit.services import audit_record

    settings.AUDIT_LANES = lanes
    run_id = next(RUNS)
    barrier = threading.Barrier(writers + 1)
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        mine = []
        try:
            barrier.wait()
            for i in range(transactions):
                start = time.perf_counter()
                with transaction.atomic():
                    group = Group.objects.create(name=f"bench-{run_id}-{w}-{i}")
                    audit_record(actor=None, action="bench.write", target=group, data={"i": i})
                    time.sleep(hold)
                mine.append(time.perf_counter() - start)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    latencies.sort()
    return {
        "events_per_s": len(latencies) / elapsed,
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=8, help="concurrent writer threads (default 8)")
    parser.add_argument("--transactions", type=int, default=60, help="transactions per writer (default 60)")
    parser.add_argument("--lanes", type=int, default=8, help="lanes of the new design (default 8)")
    parser.add_argument("--hold-ms", type=float, default=5.0, help="work inside each transaction (default 5 ms)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from audit.services import audit_verify

    call_command("migrate", verbosity=0)
    vendor = connection.vendor
    print(f"Audit writers on {vendor}: {args.writers} threads x {args.transactions} transactions, "
          f"{args.hold_ms:g} ms held inside each transaction")
    results = {}
    for label, lanes in (("1 lane (single head)", 1), (f"{args.lanes} lanes", args.lanes)):
        run(lanes, args.writers, 3, args.hold_ms / 1000)  # warm up connections and heads
        results[label] = r = run(lanes, args.writers, args.transactions, args.hold_ms / 1000)
        print(f"  {label:<22} {r['events_per_s']:8.1f} events/s   median {r['median_ms']:7.1f} ms"
              f"   p95 {r['p95_ms']:7.1f} ms")
    old, new = results.values()
    print(f"  ratio                  {new['events_per_s'] / old['events_per_s']:8.2f}x events/s   "
          f"p95 {old['p95_ms'] / new['p95_ms']:.2f}x lower")
    report = audit_verify()
    print(f"  trail verifies: {report.ok} ({report.checked} events)")


if __name__ == "__main__":
    main()
