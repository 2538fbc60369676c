#!/usr/bin/env python
"""Benchmarks of the walking skeleton, printed as figures and ratios to a bare baseline.

    make bench                                   # SQLite, default sizes
    scripts/with_postgres.sh .venv/bin/python bench/run.py   # the same on PostgreSQL
    .venv/bin/python bench/run.py --cases 50000 --campaign-cases 5000

Measures:
- import: rows/s end to end through ``cases.importing.service.import_cases`` (parse, validate,
  pseudonymize, write, audit) against a raw ``bulk_create`` of the same already-pseudonymized
  rows into the same table; peak Python memory of the import (tracemalloc).
- results: ``reviews.selectors.campaign_results`` (two queries + pandas + statistics) for a
  campaign of N cases with two clinician verdicts each, against a bare pandas crosstab of the
  same labels read in one query.
- queue: SQL queries and time to serve a reviewer's assignment list through the API.

Runs on a scratch database (a temporary SQLite file, or the PostgreSQL database named by the
CGH_DB_* environment), never on the demo database.
"""

import argparse
import io
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


def timed(fn, repeat: int = 1):
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def make_csv(n: int, offset: int = 0) -> bytes:
    out = io.StringIO()
    out.write("accession_number;patient_id;exam_date;site;service;sex;age;report_text;ai_label;ai_score;final_label\n")
    for i in range(offset, offset + n):
        label = "fracture" if i % 4 == 0 else "no_fracture"
        out.write(f"ACC{i:09d};PAT{i // 2:09d};{1 + i % 28:02d}/03/2026;Site {i % 3};Urgences;"
                  f"{'FM'[i % 2]};{20 + i % 70};Radiographie du poignet {i};{label};0,{i % 100:02d};{label}\n")
    return out.getvalue().encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20_000, help="rows imported (default 20,000)")
    parser.add_argument("--campaign-cases", type=int, default=5_000, help="cases in the results campaign")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    import pandas as pd
    from rest_framework.test import APIClient

    from accounts.enums import Role
    from accounts.models import User
    from cases.enums import OutputType
    from cases.importing.service import import_cases
    from cases.models import AISystem, Case
    from cases.pseudonymization import current_key
    from cases.readers import read_rows
    from cases.rows import build_case
    from committees.models import Committee
    from reviews.enums import AssignmentKind, AssignmentState, CampaignCaseState, CampaignState
    from reviews.models import Assignment, Campaign, CampaignCase, Verdict
    from reviews.selectors import campaign_results

    engine = connection.vendor
    print(f"database: {engine}")
    quality = User.objects.create(username="bench-quality", role=Role.QUALITY)
    ai = AISystem.objects.create(name="Bench AI", vendor="Bench", version="1", intended_use="bench",
                                 output_type=OutputType.BINARY, labels=["fracture", "no_fracture"],
                                 positive_label="fracture")

    # --- import --------------------------------------------------------------------------
    raw = make_csv(args.cases)
    tracemalloc.start()
    result, t_import = timed(lambda: import_cases(actor=quality, ai_system=ai, raw=raw, filename="bench.csv"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.created == args.cases, result.errors[:3]

    ai2 = AISystem.objects.create(name="Bench AI raw", vendor="Bench", version="1", intended_use="bench",
                                  output_type=OutputType.BINARY, labels=["fracture", "no_fracture"],
                                  positive_label="fracture")
    key = current_key()
    _, rows = read_rows(raw, "csv")
    prepared = [build_case(ai2, line, {k.lower(): v for k, v in row.items()}, key)[0] for line, row in rows]
    _, t_raw = timed(lambda: Case.objects.bulk_create([Case(ai_system=ai2, **v) for v in prepared], batch_size=1000))
    print(f"import: {args.cases} rows in {t_import:.2f} s = {args.cases / t_import:,.0f} rows/s end to end; "
          f"raw bulk insert of the same pseudonymized rows {t_raw:.2f} s; ratio {t_import / t_raw:.2f}x; "
          f"peak Python memory {peak / 2**20:.1f} MiB")

    # --- results ---------------------------------------------------------------------------
    committee = Committee.objects.create(name="Bench committee", hospital_group="Bench")
    readers = [User.objects.create(username=f"bench-reader{i}", role=Role.CLINICIAN) for i in range(2)]
    import datetime as dt

    campaign = Campaign(name="Bench", ai_system=ai, committee=committee, created_by=quality,
                        state=CampaignState.ANALYSIS, period_start=dt.date(2026, 1, 1),
                        period_end=dt.date(2026, 12, 31), sample_size=args.campaign_cases,
                        review_deadline=dt.date(2026, 12, 31))
    campaign.save()
    case_ids = list(Case.objects.filter(ai_system=ai).values_list("id", flat=True)[: args.campaign_cases])
    CampaignCase.objects.bulk_create(
        [CampaignCase(campaign=campaign, case_id=cid, inclusion_probability=0.1, state=CampaignCaseState.CLOSED)
         for cid in case_ids], batch_size=1000)
    ccs = list(CampaignCase.objects.filter(campaign=campaign).values_list("id", flat=True))
    Assignment.objects.bulk_create(
        [Assignment(campaign_case_id=cc, reviewer=r, kind=AssignmentKind.CLINICIAN, state=AssignmentState.SUBMITTED,
                    due_date=dt.date(2026, 12, 31), display_order=i)
         for i, cc in enumerate(ccs) for r in readers], batch_size=1000)
    Verdict.objects.bulk_create(
        [Verdict(assignment_id=aid, label="fracture" if (aid % 7) else "no_fracture", confidence=4)
         for aid in Assignment.objects.filter(campaign_case__campaign=campaign).values_list("id", flat=True)],
        batch_size=1000)
    n_verdicts = 2 * len(ccs)
    summary, t_results = timed(lambda: campaign_results(campaign), repeat=5)

    def bare():
        df = pd.DataFrame.from_records(
            Verdict.objects.filter(assignment__campaign_case__campaign=campaign).values_list(
                "assignment__campaign_case__case__ai_label", "label"), columns=["ai", "label"])
        return pd.crosstab(df["ai"], df["label"])

    _, t_bare = timed(bare, repeat=5)
    print(f"results: campaign of {len(ccs)} cases / {n_verdicts} verdicts in {t_results * 1000:.0f} ms; "
          f"bare pandas crosstab {t_bare * 1000:.0f} ms; ratio {t_results / t_bare:.2f}x "
          f"(kappa AI vs reference {summary['ai_vs_reference']['kappa']})")

    # --- reviewer queue --------------------------------------------------------------------
    client = APIClient()
    client.force_authenticate(readers[0])
    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        response, t_queue = timed(lambda: client.get("/api/assignments/?limit=50"))
    assert response.status_code == 200
    print(f"queue: reviewer's assignment list (page of 50 of {len(ccs)}) in {t_queue * 1000:.0f} ms, "
          f"{len(ctx.captured_queries)} SQL queries")


if __name__ == "__main__":
    main()
