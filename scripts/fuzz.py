"""Bounded property-based fuzzing of the whole API, end to end, on a throw-away database.

    .venv/bin/python scripts/fuzz.py                      # SQLite in a temporary directory
    scripts/with_postgres.sh .venv/bin/python scripts/fuzz.py   # the same on a throw-away PostgreSQL
    .venv/bin/python scripts/fuzz.py --max-examples 10 --max-time 60 --users clinicien

What it does, in order: creates a database (a SQLite file in a temporary directory, or, when
``CGH_DB_ENGINE=postgres``, the database named by ``CGH_DB_*``, which must be throw-away),
migrates it, loads the synthetic demo (``load_demo``), enrols a TOTP device for the demo
accounts that need a second factor, serves the application with the test settings (``DEBUG``
off) on a free loopback port, logs in through ``POST /api/auth/token/`` as each chosen demo user
(the quality manager with a TOTP code, a clinician reviewer with the password only), then runs
schemathesis against the served schema (``/api/schema/``) once per user, with a bounded number
of examples per operation and a time budget per user. Path ids are drawn half of the time from
the demo's real ids, so that the detail and transition endpoints (``POST /api/<things>/{id}/<verb>/``)
are reached with real objects and not only answered 404. ``POST /api/auth/logout/`` is left out:
it would end the run's own token.

The check is ``not_a_server_error``: bad input must get a 4xx in the project's error shape, so
any 5xx is a bug. Exits 0 when no user's run found one, 1 when a check failed or the server logged
an error (its tracebacks are printed), 2 when the setup failed, and 3 when schemathesis itself
raised an error on some operations (a generation bug of the tool, named in the summary) without
any server error: those operations were not fully tested, so the run is not a pass.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from django_otp.oath import totp

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
SETTINGS = "config.settings.test"
DEMO_PASSWORD_MODULE = "fixtures.demo_people"
EXCLUDED_PATHS = ["/api/auth/logout/"]  # would delete the token the run uses

# Run inside the project with ``manage.py shell``: enrol a confirmed TOTP device for every demo
# account that needs a second factor and print, as JSON, the device keys and the demo's ids.
SETUP = """
import json
from django.apps import apps
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
from accounts.second_factor import requires_second_factor

keys = {}
for user in get_user_model().objects.filter(username__in=USERNAMES):
    if requires_second_factor(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="totp", confirmed=True)
        keys[user.username] = {"key": device.key, "step": device.step, "t0": device.t0, "digits": device.digits}
ids = set()
for label in MODELS:
    ids.update(apps.get_model(label).objects.order_by("pk").values_list("pk", flat=True)[:40])
print(json.dumps({"keys": keys, "ids": sorted(ids)}))
"""
MODELS = ["cases.AISystem", "cases.Case", "cases.ImportBatch", "committees.Committee", "sittings.Session",
          "sittings.AgendaItem", "sittings.Action", "reviews.Campaign", "reviews.CampaignCase",
          "reviews.Assignment", "vigilance.VigilanceReport", "reidentification.ReidentificationRequest"]


@dataclass
class Result:
    username: str
    status: int
    seconds: float
    failed: list[str] = field(default_factory=list)  # operations where a check failed (a 5xx)
    errored: list[str] = field(default_factory=list)  # operations schemathesis itself could not test

    @property
    def verdict(self) -> str:
        if self.failed:
            return f"FAILED on {len(self.failed)} operation(s): {', '.join(self.failed)}"
        if self.errored:
            return f"INCOMPLETE: schemathesis failed internally on {', '.join(self.errored)} (no server error)"
        if self.status != 0:
            return f"FAILED (schemathesis exit {self.status})"
        return "no server error"


def log(message: str) -> None:
    print(f"fuzz: {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str, capture: bool = False) -> str:
    completed = subprocess.run([sys.executable, "manage.py", *args], cwd=BACKEND, env=env, check=True,
                               text=True, stdout=subprocess.PIPE if capture else subprocess.DEVNULL)
    return completed.stdout if capture else ""


def request(url: str, *, data: dict | None = None, token: str = "") -> tuple[int, dict | None]:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method="POST" if data is not None else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return error.code, json.loads(payload)
        except ValueError:
            return error.code, None


def wait_until_served(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped at start-up (exit {server.returncode})")
        try:
            status, _ = request(f"{base}/api/schema/")
        except OSError:
            time.sleep(0.3)
            continue
        if status == 401:  # served, and the schema asks for a login as it should
            return
        raise RuntimeError(f"GET /api/schema/ without a token answered {status}, not 401")
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


def totp_code(device: dict) -> str:
    return f"{totp(bytes.fromhex(device['key']), device['step'], device['t0'], device['digits']):0{device['digits']}d}"


def obtain_token(base: str, username: str, password: str, device: dict | None) -> str:
    data = {"username": username, "password": password}
    if device is not None:
        data["otp"] = totp_code(device)
    status, payload = request(f"{base}/api/auth/token/", data=data)
    if status != 200 or not payload or "token" not in payload:
        raise RuntimeError(f"login as {username} answered {status}: {payload}")
    return payload["token"]


def write_config(directory: Path, ids: list[int]) -> Path:
    """schemathesis.toml: path ids drawn half of the time from the demo's real ids."""
    config = directory / "schemathesis.toml"
    values = ", ".join(str(pk) for pk in ids) or "1"
    config.write_text(f'[dictionaries.demo_ids]\nvalues = [{values}]\n\n'
                      '[parameters]\n"path.id" = { dictionary = "demo_ids", probability = 0.5 }\n',
                      encoding="utf-8")
    return config


def run_schemathesis(base: str, token: str, config: Path, args, report: Path) -> int:
    command = [str(Path(sys.executable).with_name("st")), "--config-file", str(config), "run", f"{base}/api/schema/",
               "--header", f"Authorization: Token {token}",
               "--checks", "not_a_server_error",
               "--max-examples", str(args.max_examples),
               "--seed", str(args.seed),
               "--workers", str(args.workers),
               "--request-timeout", "60",
               "--suppress-health-check", "all",
               "--output-sanitize", "true",
               "--report", "junit", "--report-junit-path", str(report)]
    for path in EXCLUDED_PATHS:
        command += ["--exclude-path", path]
    if args.phases:
        command += ["--phases", args.phases]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    try:
        return subprocess.run(command, cwd=ROOT, timeout=args.timeout).returncode
    except subprocess.TimeoutExpired:
        log(f"stopped after {args.timeout} s: over the time bound")
        return 124


def junit_outcomes(report: Path) -> tuple[list[str], list[str]]:
    """The operations of a schemathesis JUnit report with a failed check, and those where the
    tool raised an error of its own (a generation bug, not an answer of the server)."""
    if not report.exists():
        return [], []
    failed, errored = [], []
    for case in ET.parse(report).iter("testcase"):
        name = case.get("name", "?")
        if case.find("failure") is not None:
            failed.append(name)
        elif case.find("error") is not None:
            errored.append(name)
    return failed, errored


def server_errors(text: str) -> list[str]:
    """Each distinct traceback of the server's log ("Internal Server Error: <path>" up to the
    exception line), once, in order of first appearance."""
    found: dict[str, str] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("Internal Server Error:"):
            continue
        block = [line]
        for following in lines[i + 1:]:
            if following.startswith("[") or following.startswith("{"):  # the next request's log line
                break
            block.append(following)
        key = "\n".join(b for b in block[1:] if b.startswith("  File") or not b.startswith(" "))
        found.setdefault(key, "\n".join(block))
    return list(found.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="qualite,clinicien",
                        help="comma-separated demo usernames to fuzz as (default: qualite,clinicien)")
    parser.add_argument("--max-examples", type=int, default=25, help="examples per operation (default 25)")
    parser.add_argument("--max-time", type=int, default=0,
                        help="schemathesis time budget per user, in seconds: fuzzing and stateful testing repeat "
                             "until it is spent (default: none, the run ends when every operation had its examples)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="hard bound per user, in seconds: a longer run is stopped and fails (default 600)")
    parser.add_argument("--seed", type=int, default=20260101, help="seed, for reproducible runs")
    parser.add_argument("--workers", default="2", help="schemathesis workers (default 2)")
    parser.add_argument("--phases", default="", help="schemathesis phases (default: all of them)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server log)")
    args = parser.parse_args()
    usernames = [name.strip() for name in args.users.split(",") if name.strip()]

    sys.path[:0] = [str(ROOT), str(BACKEND)]
    password = __import__(DEMO_PASSWORD_MODULE, fromlist=["PASSWORD"]).PASSWORD
    workdir = Path(tempfile.mkdtemp(prefix="cgh-fuzz-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONUNBUFFERED": "1"}
    env.setdefault("CGH_DB_ENGINE", "sqlite")
    if env["CGH_DB_ENGINE"] != "postgres":
        env["CGH_SQLITE_PATH"] = str(workdir / "fuzz.sqlite3")
    server = None
    server_log = workdir / "server.log"
    results: list[Result] = []
    started = time.monotonic()
    try:
        log(f"database: {env['CGH_DB_ENGINE']}; migrating and loading the demo")
        manage(env, "migrate", "--noinput")
        manage(env, "load_demo")
        setup = SETUP.replace("USERNAMES", repr(usernames)).replace("MODELS", repr(MODELS))
        state = json.loads(manage(env, "shell", "--no-imports", "-c", setup, capture=True).strip().splitlines()[-1])

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server_log.open("w") as out:
            server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
                                       "--skip-checks"], cwd=BACKEND, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_until_served(base, server)
        log(f"serving on {base} (settings {SETTINGS}, DEBUG off)")

        # Every token first: fuzzing the token endpoint fills the login throttle for this client.
        tokens = {name: obtain_token(base, name, password, state["keys"].get(name)) for name in usernames}
        config = write_config(workdir, state["ids"])
        for name in usernames:
            log(f"=== as {name}: up to {args.max_examples} examples per operation")
            begun = time.monotonic()
            report = workdir / f"junit-{name}.xml"
            status = run_schemathesis(base, tokens[name], config, args, report)
            results.append(Result(name, status, time.monotonic() - begun, *junit_outcomes(report)))
    except (subprocess.CalledProcessError, RuntimeError, json.JSONDecodeError) as error:
        log(f"setup failed: {error}")
        return 2
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        tracebacks = server_errors(server_log.read_text(errors="replace")) if server_log.exists() else []
        if tracebacks:
            log(f"the server's tracebacks ({len(tracebacks)} distinct):")
            print("\n\n".join(tracebacks), flush=True)
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    log("summary:")
    for result in results:
        log(f"  {result.username:<12} {result.verdict} in {result.seconds:.0f} s")
    if tracebacks:
        log(f"  the server logged {len(tracebacks)} distinct error(s)")
    log(f"total {time.monotonic() - started:.0f} s")
    if tracebacks or any(r.failed or (r.status != 0 and not r.errored) for r in results):
        return 1
    return 3 if any(r.errored for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
