#!/usr/bin/env python
"""Benchmark of the dashboards' figures (reports.selectors), against bare aggregations.

    .venv/bin/python bench/dashboard_bench.py                                  # SQLite
    scripts/with_postgres.sh .venv/bin/python bench/dashboard_bench.py         # PostgreSQL
    .venv/bin/python bench/dashboard_bench.py --verdicts 10000 --population 1000000 --repeat 5

Measures (median of ``--repeat`` runs), each with its ratio to a baseline on the same data:
- campaign dashboard: ``reports.selectors.campaign_dashboard`` (what the campaign page computes:
  case rows and clinicians' verdicts in two queries, patient representatives' answers, then the
  concordance statistics, equity tables, design weights) for a campaign of ``--verdicts / 2``
  cases read by two clinicians and one patient representative each; target 200 ms for 10,000
  verdicts. Baseline: the same labels read in one query and a bare pandas crosstab.
- population monitoring: ``reports.selectors.population_table`` (grouped by month and site in
  SQL) over ``--population`` cases; target 1 s for 1,000,000 cases on PostgreSQL. Baseline: the
  bare ``GROUP BY`` in SQL of the same counts.

Runs on a scratch database (a temporary SQLite file, or the PostgreSQL database named by the
CGH_DB_* environment), never on the demo database. Data are written in bulk (``INSERT ...
SELECT generate_series`` on PostgreSQL, ``executemany`` on SQLite, ``bulk_create`` for the
campaign).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
if os.environ.get("CGH_DB_ENGINE", "sqlite") != "postgres":
    os.environ["CGH_SQLITE_PATH"] = str(Path(tempfile.mkdtemp(prefix="cgh-bench-")) / "bench.sqlite3")

CAMPAIGN_TARGET = 0.200
POPULATION_TARGET = 1.0


def measure(fn, repeat: int, cpu: list | None = None):
    """``(result, median wall time)``; with ``cpu``, the median CPU time of this process is
    appended to it (on a shared machine the wall time also counts the waits for a core)."""
    fn()  # warm-up: imports, statement caches
    times, cpu_times = [], []
    result = None
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    if cpu is not None:
        cpu.append(statistics.median(cpu_times))
    return result, statistics.median(times)


def verdict(t: float, target: float) -> str:
    return "meets" if t <= target else "MISSES"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verdicts", type=int, default=10_000, help="clinician verdicts in the campaign (10,000)")
    parser.add_argument("--population", type=int, default=None,
                        help="cases for population monitoring (default 1,000,000 on PostgreSQL, 200,000 on SQLite)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measure, the median is printed (default 5)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one campaign dashboard")
    args = parser.parse_args()

    import django

    django.setup()
    import datetime as dt

    import pandas as pd
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from sampling_bench import fill

    from accounts.enums import Role
    from accounts.models import User
    from cases.enums import OutputType
    from cases.models import AISystem, Case
    from committees.models import Committee
    from reports import selectors
    from reviews.enums import AssignmentKind, AssignmentState, CampaignCaseState, CampaignState
    from reviews.models import Assignment, Campaign, CampaignCase, Verdict

    is_pg = connection.vendor == "postgresql"
    population = args.population or (1_000_000 if is_pg else 200_000)
    n_campaign = max(1, args.verdicts // 2)
    print(f"database: {connection.vendor}")
    ai = AISystem.objects.create(name="Bench dashboard AI", vendor="Bench", version="1", intended_use="bench",
                                 output_type=OutputType.BINARY, labels=["fracture", "no_fracture"],
                                 positive_label="fracture", acceptance_thresholds={"sensitivity": 0.9})
    start = time.perf_counter()
    with transaction.atomic():
        fill(connection, ai.pk, max(population, n_campaign))
    print(f"setup: {max(population, n_campaign):,} cases written in {time.perf_counter() - start:.1f} s")

    # --- A campaign with two clinician verdicts and one patient representative's answer per case.
    start = time.perf_counter()
    with transaction.atomic():
        committee = Committee.objects.create(name="Bench committee", hospital_group="Bench")
        users = User.objects.bulk_create([
            User(username=f"bench-{role}-{i}", role=role)
            for role, n in ((Role.CLINICIAN, 6), (Role.PATIENT_REP, 3), (Role.QUALITY, 1)) for i in range(n)])
        clinicians = [u for u in users if u.role == Role.CLINICIAN]
        reps = [u for u in users if u.role == Role.PATIENT_REP]
        campaign = Campaign.objects.create(
            name="Bench campaign", ai_system=ai, committee=committee, created_by=users[-1],
            period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31), sample_size=n_campaign,
            review_deadline=dt.date(2026, 12, 31), state=CampaignState.ANALYSIS)
        case_rows = list(Case.objects.filter(ai_system=ai).order_by("id").values_list("id", "ai_label")[:n_campaign])
        ccs = CampaignCase.objects.bulk_create([
            CampaignCase(campaign=campaign, case_id=case_id, inclusion_probability=0.02 if i % 5 else 0.1,
                         stratum=ai_label, state=CampaignCaseState.CLOSED,
                         reference_label=ai_label if i % 11 else ("no_fracture" if ai_label == "fracture"
                                                                  else "fracture"))
            for i, (case_id, ai_label) in enumerate(case_rows)], batch_size=2000)
        labels = {case_id: ai_label for case_id, ai_label in case_rows}
        assignments = []
        for i, cc in enumerate(ccs):
            for j in range(2):
                assignments.append(Assignment(campaign_case=cc, reviewer=clinicians[(i + j) % 6],
                                              kind=AssignmentKind.CLINICIAN, due_date=dt.date(2026, 12, 31),
                                              display_order=i, state=AssignmentState.CLASSIFIED))
            assignments.append(Assignment(campaign_case=cc, reviewer=reps[i % 3], kind=AssignmentKind.PATIENT_REP,
                                          due_date=dt.date(2026, 12, 31), display_order=i,
                                          state=AssignmentState.SUBMITTED))
        assignments = Assignment.objects.bulk_create(assignments, batch_size=2000)
        verdicts = []
        for k, a in enumerate(assignments):
            if a.kind == AssignmentKind.CLINICIAN:
                ai_label = labels[a.campaign_case.case_id]
                other = "no_fracture" if ai_label == "fracture" else "fracture"
                verdicts.append(Verdict(assignment=a, label=other if k % 13 == 0 else ai_label, confidence=4))
            else:
                verdicts.append(Verdict(assignment=a, patient_informed=("yes", "no", "unknown")[k % 3],
                                        information_understandable="yes", rights_respected="yes",
                                        equity_concern=k % 7 == 0))
        Verdict.objects.bulk_create(verdicts, batch_size=2000)
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would give after a bulk load
        cursor.execute("ANALYZE")
    n_verdicts = sum(1 for a in assignments if a.kind == AssignmentKind.CLINICIAN)
    print(f"setup: campaign of {len(ccs):,} cases, {n_verdicts:,} clinician verdicts, written in "
          f"{time.perf_counter() - start:.1f} s")

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(selectors.campaign_dashboard, campaign, with_ai_version=True)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    load = os.getloadavg()[0]
    cpu: list[float] = []
    figures, t_dash = measure(lambda: selectors.campaign_dashboard(campaign, with_ai_version=True), args.repeat, cpu)

    def bare_campaign():
        frame = pd.DataFrame.from_records(
            Verdict.objects.filter(assignment__campaign_case__campaign=campaign,
                                   assignment__kind=AssignmentKind.CLINICIAN)
            .values_list("assignment__campaign_case_id", "label", "assignment__campaign_case__case__ai_label"),
            columns=["cc", "label", "ai_label"])
        return pd.crosstab(frame["ai_label"], frame["label"])

    _, t_bare = measure(bare_campaign, args.repeat)
    print(f"campaign dashboard: {n_verdicts:,} verdicts in {t_dash * 1000:.0f} ms "
          f"({verdict(t_dash, CAMPAIGN_TARGET)} the {CAMPAIGN_TARGET * 1000:.0f} ms target); bare pandas crosstab "
          f"{t_bare * 1000:.0f} ms; ratio {t_dash / t_bare:.1f}x "
          f"(agreement AI/reference {figures['summary']['ai_vs_reference']['percent_agreement']:.3f}); "
          f"CPU time of this process {cpu[0] * 1000:.0f} ms{'' if is_pg else ' (SQLite runs in it)'}; "
          f"load average {load:.1f} on {os.cpu_count()} cores")

    rows, t_pop = measure(lambda: selectors.population_table(ai), args.repeat)
    month = "date_trunc('month', exam_date)" if is_pg else "strftime('%%Y-%%m', exam_date)"
    bare_sql = (f"SELECT {month}, site, count(*), sum(CASE WHEN ai_label = %s THEN 1 ELSE 0 END), "
                "sum(CASE WHEN final_label <> '' THEN 1 ELSE 0 END), "
                "sum(CASE WHEN final_label <> '' AND final_label <> ai_label THEN 1 ELSE 0 END) "
                "FROM cases_case WHERE ai_system_id = %s AND NOT is_opted_out GROUP BY 1, 2 ORDER BY 1, 2")

    def bare_population():
        with connection.cursor() as cursor:
            cursor.execute(bare_sql, ["fracture", ai.pk])
            return cursor.fetchall()

    bare_rows, t_pop_bare = measure(bare_population, args.repeat)
    assert len(rows) == len(bare_rows), (len(rows), len(bare_rows))
    target = f"{verdict(t_pop, POPULATION_TARGET)} the {POPULATION_TARGET:.0f} s target" if is_pg and \
        population >= 1_000_000 else "the 1 s target is for 1,000,000 cases on PostgreSQL"
    print(f"population monitoring: {population:,} cases, {len(rows)} month × site rows in {t_pop * 1000:.0f} ms "
          f"({target}); bare SQL GROUP BY {t_pop_bare * 1000:.0f} ms; ratio {t_pop / t_pop_bare:.2f}x")


if __name__ == "__main__":
    main()
