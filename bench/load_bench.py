#!/usr/bin/env python
"""Load benchmark: reviewers doing their real loop through the API, with quality-team and
management readers beside them, against gunicorn on a throw-away PostgreSQL.

    make bench-load
    .venv/bin/python bench/load_bench.py                      # starts its own PostgreSQL
    .venv/bin/python bench/load_bench.py --users 50 200 --duration 40 --repeat 2

What it does:
1. Builds a scratch PostgreSQL database (re-runs itself under ``scripts/with_postgres.sh`` when
   not given one) with ``--reviewers`` clinician reviewers, each holding ``--per-reviewer``
   blind reviews, in campaigns under review of ``--per-campaign`` reviewers each (800 cases, two
   clinicians per case, with the defaults), and a campaign in analysis with ``--verdicts``
   clinician verdicts (and one patient representative's answer per case) for the dashboards.
   Rows are written in bulk; API tokens and web sessions (through the second-factor step) are
   opened before the runs.
2. Starts ``gunicorn config.wsgi -w 3`` on loopback, settings ``bench/load_settings.py``
   (DEBUG off, persistent connections); its output goes to a temporary directory.
3. Runs locust headless (``bench/load_locustfile.py``) for each ``--users`` level,
   ``--repeat`` times, for ``--duration`` seconds after all users have started. Users are
   reviewers (each loop: queue, open, draft, submit, unblind, classify, with 1 to 3 s between
   steps: about 100 requests/s at 200 users), plus, per 25 users, one quality-team reader (a campaign's board page, its
   progress, the campaign list) and one management reader (the analysed campaign's dashboard
   page and results), 2 to 5 s between pages.
4. Prints per request type the throughput and the p50/p95/p99 latencies (median over the
   repeats), the error count, and the CPU time per request of the gunicorn workers and of
   PostgreSQL (read from /proc: less sensitive to other load on the machine than wall times).

Targets on 2 cores with 3 gunicorn workers: p95 <= 150 ms at 50 users and <= 600 ms at 200
users, no errors.
"""

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path[:0] = [str(ROOT / "backend"), str(ROOT), str(BENCH)]
os.environ["DJANGO_SETTINGS_MODULE"] = "load_settings"

TARGETS = {50: 0.150, 200: 0.600}
TICKS = os.sysconf("SC_CLK_TCK")
REVIEWER_REQUESTS = ("queue", "open", "draft", "submit", "unblind", "classify")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- CPU time of processes, from /proc --------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, utime + stime in ticks) of ``pid``; None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _children(parent: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st and st[0] == parent:
                out.append(int(entry))
    return out


def cpu_seconds(root: int, *, include_root: bool) -> float:
    """CPU seconds used so far by the children of ``root`` (and ``root`` itself if asked)."""
    pids = _children(root) + ([root] if include_root else [])
    return sum((st[1] for st in map(_stat, pids) if st), 0) / TICKS


def postmaster_pid(port: str) -> int | None:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"postgres") and b"-p" in args and port.encode() in args:
            return int(entry)
    return None


# --- Data -------------------------------------------------------------------------------------


def build(args) -> dict:
    """The scratch database: users, the live campaign (blind reviews to do), the analysed
    campaign (the dashboards' verdicts), API tokens and verified web sessions."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from knox.models import AuthToken
    from sampling_bench import fill

    from accounts.enums import Role
    from accounts.models import User
    from cases.enums import OutputType
    from cases.models import AISystem, Case
    from committees.models import Committee
    from reviews.enums import AssignmentKind, AssignmentState, CampaignCaseState, CampaignState
    from reviews.models import Assignment, Campaign, CampaignCase, Verdict

    start = time.perf_counter()
    call_command("migrate", verbosity=0)
    today = dt.date.today()
    deadline = today + dt.timedelta(days=60)
    n_live = args.reviewers * args.per_reviewer // 2  # at most
    n_closed = args.verdicts // 2
    ai = AISystem.objects.create(name="Load AI", vendor="Bench", version="1", intended_use="bench",
                                 output_type=OutputType.BINARY, labels=["fracture", "no_fracture"],
                                 positive_label="fracture", acceptance_thresholds={"sensitivity": 0.9})
    with transaction.atomic():
        fill(connection, ai.pk, n_live + n_closed)
    case_rows = list(Case.objects.filter(ai_system=ai).order_by("id").values_list("id", "ai_label"))
    rng = random.Random(12)
    with transaction.atomic():
        committee = Committee.objects.create(name="Load committee", hospital_group="Bench")
        users = User.objects.bulk_create(
            [User(username=f"load-reviewer-{i}", role=Role.CLINICIAN) for i in range(args.reviewers)]
            + [User(username=f"load-closed-{i}", role=Role.CLINICIAN) for i in range(6)]
            + [User(username=f"load-rep-{i}", role=Role.PATIENT_REP) for i in range(3)]
            + [User(username=f"load-quality-{i}", role=Role.QUALITY) for i in range(args.staff)]
            + [User(username=f"load-management-{i}", role=Role.MANAGEMENT) for i in range(args.staff)])
        by_role = {}
        for u in users:
            by_role.setdefault(u.username.rsplit("-", 1)[0], []).append(u)
        reviewers, closed_readers = by_role["load-reviewer"], by_role["load-closed"]
        reps, quality, management = by_role["load-rep"], by_role["load-quality"], by_role["load-management"]

        # Campaigns of --per-campaign reviewers each (800 cases with the defaults), reviewers
        # i and i+1 of a campaign (mod its size) reading its case i: per_reviewer cases each.
        live_ids, offset = [], 0
        for k, first in enumerate(range(0, len(reviewers), args.per_campaign)):
            team = reviewers[first:first + args.per_campaign]
            n_cases = len(team) * args.per_reviewer // 2
            live = Campaign.objects.create(
                name=f"Load campaign in review {k + 1}", ai_system=ai, committee=committee, created_by=quality[0],
                period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31), sample_size=n_cases,
                review_deadline=deadline, state=CampaignState.IN_REVIEW, seed=k + 10)
            live_ids.append(live.pk)
            live_ccs = CampaignCase.objects.bulk_create([
                CampaignCase(campaign=live, case_id=case_id, inclusion_probability=0.05, stratum="all",
                             state=CampaignCaseState.IN_REVIEW)
                for case_id, _ in case_rows[offset:offset + n_cases]], batch_size=5000)
            offset += n_cases
            queues: dict[int, list] = {u.pk: [] for u in team}
            for i, cc in enumerate(live_ccs):
                for r in (team[i % len(team)], team[(i + 1) % len(team)]):
                    queues[r.pk].append(cc)
            live_assignments = []
            for reviewer_id, ccs in queues.items():
                order = list(range(1, len(ccs) + 1))
                rng.shuffle(order)
                live_assignments += [
                    Assignment(campaign_case=cc, reviewer_id=reviewer_id, kind=AssignmentKind.CLINICIAN,
                               due_date=deadline, display_order=pos) for cc, pos in zip(ccs, order, strict=True)]
            Assignment.objects.bulk_create(live_assignments, batch_size=5000)
        n_live = offset

        closed = Campaign.objects.create(
            name="Load campaign in analysis", ai_system=ai, committee=committee, created_by=quality[0],
            period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31), sample_size=n_closed,
            review_deadline=today, state=CampaignState.ANALYSIS, seed=2)
        closed_rows = case_rows[n_live:n_live + n_closed]
        ccs = CampaignCase.objects.bulk_create([
            CampaignCase(campaign=closed, case_id=case_id, inclusion_probability=0.02 if i % 5 else 0.1,
                         stratum=ai_label, state=CampaignCaseState.CLOSED,
                         reference_label=ai_label if i % 11 else ("no_fracture" if ai_label == "fracture"
                                                                  else "fracture"))
            for i, (case_id, ai_label) in enumerate(closed_rows)], batch_size=5000)
        labels = dict(closed_rows)
        assignments = []
        for i, cc in enumerate(ccs):
            for j in range(2):
                assignments.append(Assignment(campaign_case=cc, reviewer=closed_readers[(i + j) % 6],
                                              kind=AssignmentKind.CLINICIAN, due_date=today, display_order=i,
                                              state=AssignmentState.CLASSIFIED))
            assignments.append(Assignment(campaign_case=cc, reviewer=reps[i % 3], kind=AssignmentKind.PATIENT_REP,
                                          due_date=today, display_order=i, state=AssignmentState.SUBMITTED))
        assignments = Assignment.objects.bulk_create(assignments, batch_size=5000)
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
        Verdict.objects.bulk_create(verdicts, batch_size=5000)
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would give after a bulk load
        cursor.execute("VACUUM ANALYZE")

    tokens = [AuthToken.objects.create(user=u)[1] for u in reviewers]

    def session_of(user) -> str:
        client = Client()
        client.force_login(user)
        device = TOTPDevice.objects.create(user=user, name="totp", confirmed=True)
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        response = client.post("/account/second-factor/", {"otp": f"{totp.token():0{device.digits}d}"})
        if response.status_code != 302:
            raise SystemExit(f"second-factor step for {user.username} answered {response.status_code}")
        return client.cookies["sessionid"].value

    config = {
        "reviewer_tokens": tokens,
        "quality_sessions": [session_of(u) for u in quality],
        "management_sessions": [session_of(u) for u in management],
        "live_campaigns": live_ids, "closed_campaign": closed.pk, "labels": ai.labels,
    }
    print(f"setup: {args.reviewers} reviewers x {args.per_reviewer} blind reviews in {len(live_ids)} campaigns "
          f"({n_live:,} cases in review), "
          f"{2 * n_closed:,} clinician verdicts in the analysed campaign, {args.staff} quality and "
          f"{args.staff} management readers; {time.perf_counter() - start:.0f} s")
    connection.close()
    return config


# --- Runs -------------------------------------------------------------------------------------


def start_gunicorn(port: int, workers: int, workdir: Path) -> subprocess.Popen:
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "load_settings"}
    log = open(workdir / "gunicorn.out", "w")  # noqa: SIM115 - the server's output, for as long as it runs
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--pythonpath", f"{ROOT / 'backend'},{BENCH}", "--error-logfile", str(workdir / "gunicorn.log"),
         "--timeout", "120"],
        cwd=workdir, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/", timeout=2)
        except urllib.error.HTTPError:
            break  # any HTTP answer: the server is up (401 without credentials)
        except OSError:
            time.sleep(0.3)
            continue
        break
    else:
        proc.kill()
        raise SystemExit("gunicorn did not start; see " + str(workdir / "gunicorn.log"))
    return proc


def run_locust(port: int, users: int, duration: int, config_path: Path, prefix: Path, staff_every: int,
               offset: int) -> dict:
    """One headless locust run; returns ``{name: row}`` of its stats CSV (``Aggregated`` too).
    ``offset``: the first reviewer identity used, so that successive runs share the queues."""
    spawn = max(1, users // 5)
    env = os.environ | {"CGH_LOAD_CONFIG": str(config_path), "CGH_LOAD_STAFF_EVERY": str(staff_every),
                        "CGH_LOAD_USERS": str(users), "CGH_LOAD_OFFSET": str(offset)}
    cmd = [str(Path(sys.executable).parent / "locust"), "-f", str(BENCH / "load_locustfile.py"), "--headless",
           "-u", str(users), "-r", str(spawn), "-t", f"{duration + users // spawn + 1}s", "--reset-stats",
           "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
           "--stop-timeout", "5"]
    with open(f"{prefix}.log", "w") as log:
        done = subprocess.run(cmd, env=env, check=False, stdout=log, stderr=subprocess.STDOUT)
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"locust failed (exit {done.returncode}):\n{Path(f'{prefix}.log').read_text()[-3000:]}")
    with open(f"{prefix}_stats.csv", newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[50, 200], help="user levels (50 200)")
    parser.add_argument("--duration", type=int, default=40, help="seconds measured per run, after ramp-up (40)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per level; medians are printed (2)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (3)")
    parser.add_argument("--reviewers", type=int, default=200, help="reviewers with blind reviews (200)")
    parser.add_argument("--per-reviewer", type=int, default=40, help="blind reviews per reviewer (40)")
    parser.add_argument("--per-campaign", type=int, default=40, help="reviewers per campaign in review (40)")
    parser.add_argument("--verdicts", type=int, default=100_000,
                        help="clinician verdicts in the analysed campaign, for the dashboards (100,000)")
    parser.add_argument("--staff-every", type=int, default=25,
                        help="one quality and one management reader per this many users (25)")
    args = parser.parse_args()
    if os.environ.get("CGH_DB_ENGINE") != "postgres":
        script = ROOT / "scripts" / "with_postgres.sh"
        os.execv(str(script), [str(script), sys.executable, *sys.argv])
    if max(args.users) - max(args.users) // args.staff_every * 2 > args.reviewers:
        raise SystemExit(f"--reviewers {args.reviewers} is fewer than the reviewing users of --users {max(args.users)}")
    args.staff = max(1, max(args.users) // args.staff_every)

    workdir = Path(tempfile.mkdtemp(prefix="cgh-load-"))
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(build(args)))
    port = free_port()
    server = start_gunicorn(port, args.workers, workdir)
    pg = postmaster_pid(os.environ.get("CGH_DB_PORT", ""))
    results: dict[int, list[dict]] = {}
    offset = 0
    try:
        for users in args.users:
            for run in range(args.repeat):
                load = os.getloadavg()[0]
                app0 = cpu_seconds(server.pid, include_root=False)
                db0 = cpu_seconds(pg, include_root=True) if pg else 0.0
                stats = run_locust(port, users, args.duration, config_path, workdir / f"u{users}-r{run}",
                                   args.staff_every, offset)
                offset += users
                app = cpu_seconds(server.pid, include_root=False) - app0
                db = (cpu_seconds(pg, include_root=True) - db0) if pg else 0.0
                # CPU is counted over the whole run (ramp-up included): divide by every request sent.
                total = _total_requests(workdir / f"u{users}-r{run}")
                results.setdefault(users, []).append(
                    {"stats": stats, "app_cpu": app / max(total, 1), "db_cpu": db / max(total, 1), "load": load})
                agg = stats["Aggregated"]
                print(f"  {users} users, run {run + 1}: {float(agg['Requests/s']):.0f} req/s, "
                      f"p95 {agg['95%']} ms, {agg['Failure Count']} errors, app CPU {app / max(total, 1) * 1000:.1f} "
                      f"ms/request, PostgreSQL {db / max(total, 1) * 1000:.1f} ms/request, load average {load:.1f}",
                      flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    report(results)
    shutil.rmtree(workdir, ignore_errors=True)


def _total_requests(prefix: Path) -> int:
    """Requests sent over the whole run, from the stats history (the summary was reset after
    ramp-up)."""
    with open(f"{prefix}_stats_history.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
    # The history restarts its counts at the reset: the last row before it plus the last row.
    total, previous = 0, 0
    for r in rows:
        count = int(r["Total Request Count"])
        if count < previous:
            total += previous
        previous = count
    return total + previous


def _median(runs: list[dict], name: str, column: str) -> float | None:
    values = [float(r["stats"][name][column]) for r in runs if name in r["stats"] and r["stats"][name][column]
              not in ("", "N/A")]
    return statistics.median(values) if values else None


def report(results: dict[int, list[dict]]) -> None:
    print(f"\nmedian of {len(next(iter(results.values())))} runs per level; latencies in ms; "
          f"{os.cpu_count()} cores")
    for users, runs in results.items():
        names = sorted({n for r in runs for n in r["stats"] if n != "Aggregated"},
                       key=lambda n: (n not in REVIEWER_REQUESTS, REVIEWER_REQUESTS.index(n)
                                      if n in REVIEWER_REQUESTS else 0, n))
        print(f"\n{users} users")
        print(f"  {'request':<12} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>6}")
        for name in [*names, "Aggregated"]:
            print(f"  {name:<12} {_median(runs, name, 'Requests/s'):>7.1f} {_median(runs, name, '50%'):>6.0f} "
                  f"{_median(runs, name, '95%'):>6.0f} {_median(runs, name, '99%'):>6.0f} "
                  f"{sum(int(r['stats'][name]['Failure Count']) for r in runs if name in r['stats']):>6}")
        p95 = _median(runs, "Aggregated", "95%")
        errors = sum(int(r["stats"]["Aggregated"]["Failure Count"]) for r in runs)
        target = TARGETS.get(users)
        verdict = "" if target is None else (
            f"; target p95 <= {target * 1000:.0f} ms and no errors: "
            f"{'meets' if p95 <= target * 1000 and errors == 0 else 'MISSES'}")
        loads = ", ".join(f"{r['load']:.1f}" for r in runs)
        print(f"  CPU per request: gunicorn workers {statistics.median(r['app_cpu'] for r in runs) * 1000:.1f} ms, "
              f"PostgreSQL {statistics.median(r['db_cpu'] for r in runs) * 1000:.1f} ms; load average before the "
              f"runs {loads}{verdict}")


if __name__ == "__main__":
    main()
