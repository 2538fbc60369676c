"""Scale-out test: two application servers, one task worker and nginx, sharing nothing but the
database, each process in its own working directory.

    scripts/with_postgres.sh .venv/bin/python scripts/scaleout.py      # what `make test-scaleout` runs

What it starts (all on loopback, free ports): two gunicorn servers (``gunicorn config.wsgi``, two
workers each), a task worker (``manage.py db_worker``) and nginx (Debian's package, installed by
scripts/ensure_nginx.sh) balancing round-robin over the two servers. Each of the three Django
processes runs with its own temporary directory as working directory and as
``CGH_UPLOAD_TEMP_DIR``; uploads go to the uploads storage (the database), so nothing on disk is
shared. The database is the throw-away PostgreSQL of scripts/with_postgres.sh.

What it checks, through HTTP only (a setup step creates the accounts with ``manage.py shell``):
1. the quality team uploads a CSV with ``background=true`` to server A; the import is followed on
   server B until it completes; the worker did it (server A and B never ran a task); the stored
   upload is gone and every process's temporary directory is empty;
2. a committee and a campaign are created through nginx, and every reviewer's loop (queue, open,
   submit, unblind, classify) alternates between server A, server B and nginx; before its verdict
   is locked, a reviewer's assignment read on the other server carries no sealed field (blinding),
   afterwards it does; the campaign ends with every assignment classified and closes its review;
3. nginx sent requests to both servers.

Every process is stopped at the end, on success, failure or Ctrl-C, and the whole run is bounded
(``--timeout``, default 240 s). Exit status 0 on success, 1 on a failed check.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from django_otp.oath import totp

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
VENV_BIN = Path(sys.executable).parent
SETTINGS = "config.settings.local"
PASSWORD = "scale-out-" + uuid.uuid4().hex  # throw-away accounts of a throw-away database
F, N = "fracture", "no_fracture"
ROWS = 20_000
SAMPLE = 8

# Run with ``manage.py shell``: the accounts (accounts are provisioned outside the API), a
# confirmed TOTP device for those that need one; prints the device keys as JSON.
SETUP = """
import json, sys
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
from accounts.second_factor import requires_second_factor
User = get_user_model()
keys = {}
for username, role in PEOPLE:
    user = User.objects.create_user(username=username, password=PASSWORD, role=role,
                                    first_name=username.capitalize(), last_name="Test")
    if requires_second_factor(user):
        d = TOTPDevice.objects.create(user=user, name="totp", confirmed=True)
        keys[username] = {"key": d.key, "step": d.step, "t0": d.t0, "digits": d.digits}
sys.stdout.write("SETUP " + json.dumps(keys) + "\\n")
"""
PEOPLE = [("qualite", "quality"), ("presidente", "chair"), ("radiologue1", "clinician"),
          ("radiologue2", "clinician"), ("radiologue3", "clinician"), ("usager1", "patient_rep")]

# What the final check reads in the database (``manage.py shell``).
AFTERWARDS = """
import json, sys
from django_tasks_db.models import DBTaskResult
from common.models import StoredFile
from cases.models import ImportBatch
sys.stdout.write("AFTER " + json.dumps({
    "stored_files": StoredFile.objects.count(),
    "import_tasks": list(DBTaskResult.objects.filter(task_path="cases.tasks.run_import_batch")
                         .values_list("status", "worker_ids")),
}, default=str) + "\\n")
"""

NGINX_CONF = """
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    log_format upstream '$request_method $uri $status $upstream_addr';
    access_log {dir}/access.log upstream;
    client_max_body_size 200m;
    upstream app {{
        server 127.0.0.1:{port_a};
        server 127.0.0.1:{port_b};
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
            proxy_set_header Host 127.0.0.1;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_next_upstream off;
        }}
    }}
}}
"""


class Failed(Exception):
    pass


def log(message: str) -> None:
    print(f"scaleout: {message}", flush=True)


def require(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def check(condition: bool, message: str) -> None:
    require(condition, message)
    log(f"ok: {message}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The processes of the run, each in its own directory; ``stop()`` ends them all."""

    def __init__(self, root: Path):
        self.root = root
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "CGH_DEBUG": "0", "PYTHONUNBUFFERED": "1"}
        for name in ("CGH_UPLOAD_TEMP_DIR", "CGH_STORAGE"):
            self.env.pop(name, None)

    def directory(self, name: str) -> Path:
        path = self.root / name
        (path / "tmp").mkdir(parents=True, exist_ok=True)
        return path

    def env_for(self, name: str) -> dict:
        return {**self.env, "CGH_UPLOAD_TEMP_DIR": str(self.directory(name) / "tmp")}

    def manage(self, name: str, *args: str, stdin: str = "") -> str:
        done = subprocess.run([sys.executable, str(BACKEND / "manage.py"), *args], cwd=self.directory(name),
                              env=self.env_for(name), input=stdin, capture_output=True, text=True, timeout=180)
        if done.returncode:
            raise Failed(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self, name: str, command: list[str], env: dict | None = None) -> None:
        directory = self.directory(name)
        out = open(directory / "output.log", "wb")  # noqa: SIM115 - kept open for the process's life
        process = subprocess.Popen(command, cwd=directory, env=env or self.env_for(name), stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append((name, process))

    def gunicorn(self, name: str, port: int) -> None:
        self.start(name, [str(VENV_BIN / "gunicorn"), "config.wsgi", "--pythonpath", str(BACKEND),
                          "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "120",
                          "--access-logfile", "-"])

    def alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                raise Failed(f"{name} stopped (exit {process.returncode}):\n{self.output(name)}")

    def output(self, name: str) -> str:
        path = self.root / name / "output.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        deadline = time.monotonic() + 15
        for _, process in self.processes:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


class Client:
    """JSON over HTTP with a token, to one base address."""

    def __init__(self, base: str, token: str = ""):
        self.base, self.token = base, token

    def on(self, base: str) -> "Client":
        return Client(base, self.token)

    def call(self, method: str, path: str, data: dict | None = None, *, body: bytes | None = None,
             content_type: str = "application/json", expect: int = 200) -> dict:
        if data is not None:
            body = json.dumps(data).encode()
        req = urllib.request.Request(self.base + path, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        if status != expect:
            raise Failed(f"{method} {self.base}{path} answered {status}, not {expect}: {payload[:800]!r}")
        return json.loads(payload) if payload else {}

    def get(self, path: str, **kw) -> dict:
        return self.call("GET", path, **kw)

    def post(self, path: str, data: dict | None = None, **kw) -> dict:
        return self.call("POST", path, data if data is not None else {}, **kw)

    def pages(self, path: str) -> list[dict]:
        body = self.get(path)
        rows = list(body["results"])
        while body["next"]:
            body = self.get("/" + body["next"].split("://", 1)[1].split("/", 1)[1])
            rows.extend(body["results"])
        return rows


def wait_until_served(cluster: Cluster, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.alive()
        try:
            with urllib.request.urlopen(base + "/api/schema/", timeout=2):
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise Failed(f"{base} did not answer within {timeout:.0f} s")


def login(base: str, username: str, device: dict | None) -> Client:
    data = {"username": username, "password": PASSWORD}
    if device:
        code = totp(bytes.fromhex(device["key"]), device["step"], device["t0"], device["digits"])
        data["otp"] = f"{code:0{device['digits']}d}"
    return Client(base, Client(base).post("/api/auth/token/", data)["token"])


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def export_csv(rows: int) -> bytes:
    lines = ["accession_number;patient_id;exam_date;site;service;sex;age;ai_label;final_label;report_text"]
    for i in range(rows):
        ai = F if i % 3 else N
        lines.append(f"SO-{i:07d};IPP{i:08d};{1 + i % 28:02d}/03/2026;{'Nord' if i % 2 else 'Sud'};Urgences;"
                     f"{'F' if i % 5 else 'M'};{20 + i % 70};{ai};{ai if i % 7 else (N if ai == F else F)};"
                     "Radiographie face et profil.")
    return ("\n".join(lines) + "\n").encode()


SEALED = {"ai_label", "ai_score", "ai_version", "final_label"}


def sealed_keys(value) -> set[str]:
    if isinstance(value, dict):
        return (set(value) & SEALED) | {k for v in value.values() for k in sealed_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in sealed_keys(v)}
    return set()


def run(cluster: Cluster, deadline: float) -> None:
    # --- setup: database, accounts, processes
    log("migrating the database")
    cluster.manage("setup", "migrate", "--noinput", "--verbosity", "0")
    out = cluster.manage("setup", "shell", stdin=f"PEOPLE = {PEOPLE!r}\nPASSWORD = {PASSWORD!r}\n{SETUP}")
    keys = json.loads(next(line for line in out.splitlines() if line.startswith("SETUP "))[6:])
    port_a, port_b, port_lb = free_port(), free_port(), free_port()
    cluster.gunicorn("web-a", port_a)
    cluster.gunicorn("web-b", port_b)
    cluster.start("worker", [sys.executable, str(BACKEND / "manage.py"), "db_worker", "--interval", "0.2",
                             "--no-reload"])
    nginx_dir = cluster.directory("nginx")
    (nginx_dir / "nginx.conf").write_text(NGINX_CONF.format(
        user="user root;" if os.geteuid() == 0 else "", dir=nginx_dir, port=port_lb, port_a=port_a, port_b=port_b))
    cluster.start("nginx", [os.environ.get("NGINX", "/usr/sbin/nginx"), "-p", str(nginx_dir), "-c",
                            str(nginx_dir / "nginx.conf"), "-g", "daemon off;"], env=os.environ.copy())
    a, b, lb = (f"http://127.0.0.1:{p}" for p in (port_a, port_b, port_lb))
    for base in (a, b, lb):
        wait_until_served(cluster, base)
    log(f"serving: A {a}, B {b}, nginx {lb}; worker running; each in its own directory under {cluster.root}")

    # --- 1. an import uploaded through A, followed through B, done by the worker
    quality = login(lb, "qualite", keys["qualite"])
    ai = quality.post("/api/ai-systems/", {
        "name": "PoignetIA", "vendor": "Radiolab SAS", "version": "3.0", "intended_use": "Fractures du poignet",
        "output_type": "binary", "labels": [F, N], "positive_label": F}, expect=201)
    body, content_type = multipart({"ai_system": str(ai["id"]), "background": "true"}, "export.csv",
                                   export_csv(ROWS))
    started = time.monotonic()
    batch = quality.on(a).call("POST", "/api/import-batches/", body=body, content_type=content_type, expect=202)
    check(batch["status"] == "queued", f"upload of {ROWS:,} rows through server A queued as batch {batch['id']}")
    seen = []
    while True:
        cluster.alive()
        state = quality.on(b).get(f"/api/import-batches/{batch['id']}/")
        seen.append((state["status"], state["progress"]["done"]))
        if state["status"] not in ("queued", "running"):
            break
        if time.monotonic() > deadline:
            raise Failed(f"the import did not end in time; seen on B: {seen[-5:]}")
        time.sleep(0.2)
    log(f"followed on server B: {len(seen)} polls, progress seen {sorted({d for s, d in seen if s == 'running'})}, "
        f"done in {time.monotonic() - started:.1f} s")
    check((state["status"], state["rows_created"], state["rows_rejected"], state["progress"]["done"]) ==
          ("completed", ROWS, 0, ROWS), f"batch completed as seen on server B: {ROWS:,} cases created")
    after = json.loads(next(line for line in cluster.manage("setup", "shell", stdin=AFTERWARDS).splitlines()
                            if line.startswith("AFTER "))[6:])
    check(after["stored_files"] == 0, "the stored upload was deleted after the import")
    check(len(after["import_tasks"]) == 1 and after["import_tasks"][0][0] == "SUCCESSFUL"
          and after["import_tasks"][0][1], f"the import task ran in the worker ({after['import_tasks']})")
    leftovers = [str(p) for name in ("web-a", "web-b", "worker") for p in (cluster.root / name / "tmp").iterdir()]
    check(leftovers == [], "no temporary file left in any process's directory")

    # --- 2. a campaign reviewed through both servers
    chair = login(lb, "presidente", keys["presidente"])
    committee = chair.post("/api/committees/", {"name": "Collège imagerie", "hospital_group": "GHT",
                                                "ai_system_ids": [ai["id"]]}, expect=201)
    reviewers = {name: login(lb, name, keys.get(name))
                 for name in ("radiologue1", "radiologue2", "radiologue3", "usager1")}
    ids = cluster.manage("setup", "shell", "-c", "from django.contrib.auth import get_user_model; import json; "
                         "print(json.dumps(dict(get_user_model().objects.values_list('username', 'id'))))")
    user_ids = json.loads(ids.strip().splitlines()[-1])
    for username, role, service in [("presidente", "chair", "Direction"), ("radiologue1", "clinician", "Radiologie"),
                                    ("radiologue2", "clinician", "Radiologie"),
                                    ("radiologue3", "clinician", "Radiologie"), ("usager1", "patient_rep", "")]:
        chair.on(a if role == "chair" else b).post(f"/api/committees/{committee['id']}/members/", {
            "user": user_ids[username], "role": role, "term_start": "2026-01-01", "service": service}, expect=201)
    campaign = quality.post("/api/campaigns/", {
        "name": "Campagne mars 2026", "ai_system": ai["id"], "committee": committee["id"],
        "period_start": "2026-03-01", "period_end": "2026-03-31", "sample_size": SAMPLE,
        "review_deadline": "2026-12-31", "seed": 12}, expect=201)
    url = f"/api/campaigns/{campaign['id']}/"
    for step, server, expected in [("schedule", a, "scheduled"), ("draw_sample", b, "sampled"),
                                   ("start_review", lb, "in_review")]:
        check(quality.on(server).post(url + f"{step}/")["state"] == expected, f"campaign {step} → {expected}")
    reviewers["presidente"] = chair
    servers, turn, blind_checked, done = [a, b, lb], 0, 0, 0
    for name, client in reviewers.items():
        queue = client.on(servers[turn % 3]).pages("/api/assignments/")
        for row in queue:
            path = f"/api/assignments/{row['id']}/"
            require(sealed_keys(row) == set(), f"{name}'s queue row {row['id']} carries a sealed field")
            opened = client.on(servers[turn % 3]).post(path + "open/")
            turn += 1
            other = client.on(b if servers[turn % 3] == a else a).get(path)
            require(sealed_keys(opened) == sealed_keys(other) == set(),
                    f"blinding broken before the verdict of assignment {row['id']}")
            blind_checked += 1
            verdict = ({"label": F, "confidence": 4, "rationale": "Lecture à l'aveugle."} if row["kind"] == "clinician"
                       else {"patient_informed": "yes", "information_understandable": "yes",
                             "rights_respected": "yes", "equity_concern": False})
            submitted = client.on(servers[turn % 3]).post(path + "submit/", verdict)
            require(submitted["state"] == "submitted", f"{name} could not submit {row['id']}")
            turn += 1
            done += 1
            if row["kind"] != "clinician":
                continue  # a patient representative's review ends with their locked form
            unblinded = client.on(servers[turn % 3]).post(path + "unblind/")
            turn += 1
            require("ai_label" in unblinded["case"], f"the unblinded assignment {row['id']} lacks the AI output")
            discrepancy = "concur" if unblinded["case"]["ai_label"] == F else "understandable"
            client.on(servers[turn % 3]).post(path + "classify/", {"discrepancy": discrepancy,
                                                                  "would_have_changed": False})
            turn += 1
        if time.monotonic() > deadline:
            raise Failed("the review did not end in time")
    staff = quality.on(b).pages("/api/assignments/")
    states = sorted({(row["kind"], row["state"]) for row in staff})
    check(len(staff) == done and done >= 2 * SAMPLE
          and states == [("clinician", "classified"), ("patient_rep", "submitted")],
          f"every assignment ({done}) reviewed across A, B and nginx is classified by its clinician or locked by "
          f"its patient representative; blinding held for each "
          f"until its verdict ({blind_checked} checks on the other server)")
    check(quality.on(a).post(url + "close_review/")["state"] in ("adjudication", "analysis"),
          "the campaign closes its review")

    # --- 3. nginx balanced over both servers
    upstreams = [line.split()[-1] for line in (nginx_dir / "access.log").read_text().splitlines()]
    counts = {f"127.0.0.1:{p}": upstreams.count(f"127.0.0.1:{p}") for p in (port_a, port_b)}
    check(all(counts.values()), f"nginx balanced the requests over both servers {counts}")
    for name in ("web-a", "web-b", "worker"):
        if "Traceback" in cluster.output(name):
            raise Failed(f"{name} logged an error:\n{cluster.output(name)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=240, help="seconds for the whole run (default 240)")
    parser.add_argument("--keep", action="store_true", help="keep the processes' directories (logs) afterwards")
    args = parser.parse_args()
    if os.environ.get("CGH_DB_ENGINE") != "postgres":
        log("needs PostgreSQL: run it as scripts/with_postgres.sh .venv/bin/python scripts/scaleout.py")
        return 2
    if subprocess.run([str(ROOT / "scripts" / "ensure_nginx.sh")]).returncode:
        return 2
    root = Path(tempfile.mkdtemp(prefix="cgh-scaleout-"))
    cluster = Cluster(root)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    status = 0
    started = time.monotonic()
    try:
        run(cluster, deadline=started + args.timeout)
        log(f"passed in {time.monotonic() - started:.0f} s")
    except Failed as exc:
        log(f"FAILED: {exc}")
        for name in ("web-a", "web-b", "worker"):
            log(f"--- last output of {name}:\n{cluster.output(name)}")
        status = 1
    finally:
        cluster.stop()
        if args.keep:
            log(f"directories kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
