"""Run the web server and the task worker together, and stop both together.

    python scripts/serve.py demo [--addr 127.0.0.1:8000]
    python scripts/serve.py prod [--env-file deploy/env] [--no-migrate]

``demo`` (``make demo``, which migrates and loads the demo first): Django's development server
and the task worker, with the settings of the environment (``config.settings.local`` by default).

``prod`` (``make prod``): reads the env file if given (variables already set in the environment
win), checks that production's required variables are there and that Django's deployment checks
pass, migrates, collects the static files, marks the imports of a dead worker interrupted
(``recover_imports``), then runs gunicorn (``deploy/gunicorn.conf.py``) and the task worker.

Both processes run in their own process groups, so that the launcher decides how they stop: on
Ctrl-C (SIGINT) or SIGTERM it sends SIGTERM to both (gunicorn finishes the requests in flight,
the worker the task in hand), waits up to ``--grace`` seconds, then kills what is left. If either
process ends by itself, the other is stopped and the launcher exits with an error: a web server
without its worker would accept imports that nobody runs. Exit status: 0 after a requested stop,
1 when a process ended by itself, 2 when the environment or a preparation step failed.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"

# What production refuses to start without (config/settings/production.py checks the keys' strength).
REQUIRED = [
    ("CGH_SECRET_KEY",),
    ("CGH_PSEUDONYM_KEY", "CGH_PSEUDONYM_KEY_FILE"),
    ("CGH_SOURCE_KEY", "CGH_SOURCE_KEY_FILE"),
    ("CGH_AUDIT_KEY", "CGH_AUDIT_KEY_FILE"),
    ("CGH_AUDIT_ANCHOR_PATH",),
    ("CGH_ALLOWED_HOSTS",),
    ("CGH_SITE_URL",),
    ("CGH_DB_NAME",),
    ("CGH_DB_USER",),
    ("CGH_DB_HOST",),
]


def say(message: str) -> None:
    print(f"serve: {message}", file=sys.stderr, flush=True)


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (``export`` and quotes allowed, ``#`` comments); errors name the line."""
    values = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise SystemExit(f"serve: {path}, line {number}: expected NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def production_problems(env: dict[str, str]) -> list[str]:
    problems = []
    for names in REQUIRED:
        if not any(env.get(name) for name in names):
            problems.append(f"set {' or '.join(names)}")
    if env.get("CGH_DB_ENGINE") != "postgres":
        problems.append("set CGH_DB_ENGINE=postgres: production runs on PostgreSQL")
    if not env.get("CGH_EMAIL_HOST"):
        problems.append("set CGH_EMAIL_HOST (the SMTP relay): without it reminders are only printed")
    settings_module = env.get("DJANGO_SETTINGS_MODULE", "config.settings.production")
    if settings_module != "config.settings.production":
        problems.append(f"DJANGO_SETTINGS_MODULE is {settings_module}, not config.settings.production")
    return problems


def manage(env: dict[str, str], *args: str) -> None:
    say("manage.py " + " ".join(args))
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BACKEND, env=env)
    if _requested:
        say("stopped before the servers started")
        raise SystemExit(0)
    if result.returncode != 0:
        say(f"manage.py {args[0]} failed (exit {result.returncode})")
        raise SystemExit(2)


def start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(command, cwd=BACKEND, env=env, start_new_session=True)
    say(f"{name} started (pid {process.pid})")
    return process


def stop(processes: dict[str, subprocess.Popen], grace: float) -> None:
    for process in processes.values():
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop within {grace:.0f} s: killed")
        # Whatever the group still holds (the autoreloader's child, a gunicorn worker) goes too.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


_requested: list[int] = []  # the stop signals received


def _on_signal(signum, _frame) -> None:
    _requested.append(signum)


def catch_stop_signals() -> None:
    """From the first step on, Ctrl-C and SIGTERM are recorded instead of killing the launcher, so
    that no process it started is left behind."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def supervise(processes: dict[str, subprocess.Popen], grace: float) -> int:
    while not _requested:
        ended = [name for name, process in processes.items() if process.poll() is not None]
        if ended:
            for name in ended:
                say(f"{name} ended by itself (exit {processes[name].returncode}): stopping the rest")
            stop(processes, grace)
            return 1
        time.sleep(0.2)
    say(f"{signal.Signals(_requested[0]).name} received: stopping")
    stop(processes, grace)
    return 0


def run_demo(args) -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    processes = {
        "web server": start("web server", [sys.executable, "manage.py", "runserver", args.addr], env),
        "task worker": start("task worker", [sys.executable, "manage.py", "run_worker", "--no-reload",
                                             "--interval", "0.5"], env),
    }
    return supervise(processes, args.grace)


def run_prod(args) -> int:
    env = dict(os.environ)
    if args.env_file:
        for name, value in read_env_file(Path(args.env_file)).items():
            env.setdefault(name, value)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    problems = production_problems(env)
    if problems:
        say("the environment is not ready for production (see deploy/env.example):")
        for problem in problems:
            say(f"  - {problem}")
        return 2
    manage(env, "check", "--deploy", "--fail-level", "WARNING")
    if not args.no_migrate:
        manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    manage(env, "recover_imports")
    processes = {
        "gunicorn": start("gunicorn", [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)], env),
        "task worker": start("task worker", [sys.executable, "manage.py", "run_worker", "--no-reload"], env),
    }
    return supervise(processes, args.grace)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    demo = modes.add_parser("demo", help="development server and task worker (settings from the environment)")
    demo.add_argument("--addr", default="127.0.0.1:8000", help="address:port of the development server")
    prod = modes.add_parser("prod", help="checks, migrations, static files, then gunicorn and the task worker")
    prod.add_argument("--env-file", help="NAME=value file read before the checks (the environment wins)")
    prod.add_argument("--no-migrate", action="store_true", help="do not migrate (another server does it)")
    for mode in (demo, prod):
        mode.add_argument("--grace", type=float, default=40.0,
                          help="seconds given to both processes to stop before they are killed (40)")
    args = parser.parse_args(argv)
    catch_stop_signals()
    return run_demo(args) if args.mode == "demo" else run_prod(args)


if __name__ == "__main__":
    sys.exit(main())
