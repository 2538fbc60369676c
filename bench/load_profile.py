#!/usr/bin/env python
"""The cost of each request of the load benchmark in one process: queries and CPU time per
request type, through the whole Django stack (middleware, knox token authentication, views,
serializers) with the test client, on a throw-away PostgreSQL with the settings of the load
benchmark's servers (``bench/load_settings.py``).

    .venv/bin/python bench/load_profile.py                 # starts its own PostgreSQL
    .venv/bin/python bench/load_profile.py --loops 60 --profile submit --top 30

Builds a small version of ``bench/load_bench.py``'s database (the same builder), walks
``--loops`` reviewers' loops (queue, open, draft, submit, unblind, classify) with their API
tokens, and reads the staff pages as the benchmark's readers do. Prints, per request type, the
queries per request and the median CPU time of this process per request (``time.process_time``:
Python, the driver and the kernel, not PostgreSQL's own work). ``--profile NAME`` prints the
cProfile of that request type (CPU time, summed over the loops, by cumulative time); the
profiler slows the request types it watches, so take the table from a run without it.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path[:0] = [str(ROOT / "backend"), str(ROOT), str(BENCH)]
os.environ["DJANGO_SETTINGS_MODULE"] = "load_settings"

LOOP = ("queue", "open", "draft", "submit", "unblind", "classify")
STAFF = ("board", "progress", "campaigns", "dashboard", "results")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loops", type=int, default=40, help="reviewer loops measured (40)")
    parser.add_argument("--warmup", type=int, default=5, help="loops run first and not measured (5)")
    parser.add_argument("--verdicts", type=int, default=20_000, help="verdicts of the analysed campaign (20,000)")
    parser.add_argument("--profile", choices=[*LOOP, *STAFF], action="append", default=[],
                        help="print the cProfile of this request type (repeatable)")
    parser.add_argument("--top", type=int, default=25, help="lines of each profile (25)")
    args = parser.parse_args()
    if os.environ.get("CGH_DB_ENGINE") != "postgres":
        script = ROOT / "scripts" / "with_postgres.sh"
        os.execv(str(script), [str(script), sys.executable, *sys.argv])

    from load_bench import build  # noqa: PLC0415 - sets up Django; imported once the database is chosen

    n = args.loops + args.warmup
    config = build(argparse.Namespace(reviewers=n, per_reviewer=4, per_campaign=n, verdicts=args.verdicts,
                                      staff=1))

    from django.db import connection  # noqa: PLC0415 - after django.setup() in build
    from django.test import Client  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    class TokenClient(Client):
        """One client (one handler, its middleware loaded once, as in a server process) speaking
        with one reviewer's API token at a time."""

        def with_token(self, token: str) -> "TokenClient":
            self.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
            return self

    reviewer = TokenClient()
    cpu: dict[str, list[float]] = {}
    queries: dict[str, list[int]] = {}
    profiles = {name: cProfile.Profile(time.process_time) for name in args.profile}  # CPU, not wall time

    def timed(name: str, measured: bool, send):
        profile = profiles.get(name) if measured else None
        with CaptureQueriesContext(connection) as captured:
            start = time.process_time()
            if profile:
                profile.enable()
            response = send()
            if profile:
                profile.disable()
            spent = time.process_time() - start
        if response.status_code != 200:
            raise SystemExit(f"{name} answered {response.status_code}: {response.content[:300]!r}")
        if measured:
            cpu.setdefault(name, []).append(spent)
            queries.setdefault(name, []).append(len(captured))
        return response

    label = config["labels"][0]
    for i, token in enumerate(config["reviewer_tokens"]):
        measured = i >= args.warmup
        client = reviewer.with_token(token)
        queue = timed("queue", measured, lambda c=client: c.get("/api/assignments/")).json()
        a = next(row for row in queue["results"] if row["state"] == "assigned")
        url = f"/api/assignments/{a['id']}"
        timed("open", measured, lambda c=client, u=url: c.post(f"{u}/open/", {}, content_type="application/json"))
        timed("draft", measured, lambda c=client, u=url: c.put(
            f"{u}/draft/", {"label": label, "rationale": "Lecture en cours."}, content_type="application/json"))
        timed("submit", measured, lambda c=client, u=url: c.post(
            f"{u}/submit/", {"label": label, "confidence": 3, "rationale": "Trait de fracture non retrouvé."},
            content_type="application/json"))
        unblinded = timed("unblind", measured, lambda c=client, u=url: c.post(f"{u}/unblind/", {},
                                                                             content_type="application/json"))
        # "concur" only when the locked reading is the AI output's (the service refuses it otherwise)
        grade = "concur" if unblinded.json()["case"]["ai_label"] == label else "understandable"
        timed("classify", measured, lambda c=client, u=url, g=grade: c.post(
            f"{u}/classify/", {"discrepancy": g, "would_have_changed": False},
            content_type="application/json"))

    quality = Client(HTTP_COOKIE=f"sessionid={config['quality_sessions'][0]}")
    management = Client(HTTP_COOKIE=f"sessionid={config['management_sessions'][0]}")
    live, closed = config["live_campaigns"][0], config["closed_campaign"]
    pages = {
        "board": (quality, f"/campaigns/{live}/board/"),
        "progress": (quality, f"/api/campaigns/{live}/progress/"),
        "campaigns": (quality, "/api/campaigns/"),
        "dashboard": (management, f"/reports/campaigns/{closed}/"),
        "results": (management, f"/api/campaigns/{closed}/results/"),
    }
    for i in range(args.loops + 1):  # the first read fills the caches
        for name, (client, url) in pages.items():
            timed(name, i > 0, lambda c=client, u=url: c.get(u))

    print(f"\nper request, median of {args.loops}; CPU of this process (Python, driver), not PostgreSQL's")
    print(f"  {'request':<10} {'queries':>8} {'CPU ms':>7}")
    for name in [*LOOP, *STAFF]:
        counts = sorted(set(queries[name]))
        shown = "/".join(map(str, counts)) if len(counts) <= 2 else f"{counts[0]}-{counts[-1]}"
        print(f"  {name:<10} {shown:>8} {statistics.median(cpu[name]) * 1000:>7.1f}")
    for name, profile in profiles.items():
        print(f"\ncProfile of {name} ({args.loops} requests), by cumulative CPU time")
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
