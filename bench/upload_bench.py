"""Memory of an upload through gunicorn: a large CSV accepted, an oversize one refused.

    .venv/bin/python bench/upload_bench.py [--mb 190] [--oversize-mb 455] [--limit-mb 200]

Serves the application with gunicorn (deploy/gunicorn.conf.py, one worker, the test settings on a
throw-away SQLite database), then streams through a raw socket:
1. a CSV of about ``--mb`` MB to ``POST /api/import-batches/`` as a dry run (the body is received,
   spooled to disk and parsed; nothing is written);
2. a body of ``--oversize-mb`` MB announced by its Content-Length, over ``CGH_MAX_UPLOAD_MB``.

For each, it prints the answer, the time, and the gunicorn worker's peak RSS (VmHWM, read from
/proc, reset between the two by starting a fresh server) beside its RSS when idle (the baseline,
measured in the same run). The oversize upload must be answered 413 before its body is read: the
client stops sending when the answer arrives, and the worker's memory does not grow with it.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
ROW = ("ACC-{n:09d};IPP-{n:09d};01/03/2026;Nord;Urgences;F;34;Chute à vélo, poignet déformé, douleur vive.;"
       "Radiographie du poignet droit, deux incidences, sans particularité notable.;fracture;0,91;2.1;fracture;"
       "RPPS-11;oui\n")
HEADER = ("accession_number;patient_id;exam_date;site;service;sex;age;clinical_context;report_text;ai_label;"
          "ai_score;ai_version;final_label;clinician_id;patient_informed\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def start_server(env: dict, port: int) -> subprocess.Popen:
    env = {**env, "CGH_BIND": f"127.0.0.1:{port}", "CGH_WEB_WORKERS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    time.sleep(1)
                    return server
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=60)


def stream_upload(port: int, token: str, ai_system: int, rows: int, announced: int | None = None) -> tuple:
    """Multipart upload of ``rows`` CSV rows, written in 1 MiB chunks; returns (status line, seconds,
    bytes sent)."""
    boundary = "benchboundary0123456789"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"ai_system\"\r\n\r\n{ai_system}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"dry_run\"\r\n\r\ntrue\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cases.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + HEADER.encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    row_bytes = len(ROW.format(n=0).encode())
    length = announced or (len(head) + rows * row_bytes + len(tail))
    sock = socket.create_connection(("127.0.0.1", port), timeout=600)
    sock.sendall((f"POST /api/import-batches/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
                  f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n"
                  f"Connection: close\r\n\r\n").encode())
    started = time.monotonic()
    sent = 0
    try:
        sock.sendall(head)
        sent += len(head)
        chunk_rows = (1024 * 1024) // row_bytes
        n = 0
        while n < rows:
            block = "".join(ROW.format(n=i) for i in range(n, min(rows, n + chunk_rows))).encode()
            sock.sendall(block)
            sent += len(block)
            n += chunk_rows
        sock.sendall(tail)
        sent += len(tail)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed: the rest of the body was never read
    try:
        answer = sock.recv(65536).split(b"\r\n", 1)[0].decode()
    except ConnectionResetError:
        answer = "(connection reset)"
    sock.close()
    return answer, time.monotonic() - started, sent


SETUP = """
import json
from knox.models import AuthToken
from tests.factories import AISystemFactory, UserFactory
user = UserFactory(role="quality", username="bench")
print(json.dumps({"token": AuthToken.objects.create(user=user)[1], "ai_system": AISystemFactory().pk}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=190)
    parser.add_argument("--oversize-mb", type=float, default=455)
    parser.add_argument("--limit-mb", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CGH_")}
        env.update(DJANGO_SETTINGS_MODULE="config.settings.test", CGH_DB_ENGINE="sqlite",
                   CGH_SQLITE_PATH=f"{tmp}/bench.sqlite3", CGH_IMPORT_DIR=f"{tmp}/imports",
                   CGH_MAX_UPLOAD_MB=str(args.limit_mb), PYTHONPATH=str(ROOT))
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=BACKEND, env=env, check=True)
        setup = json.loads(subprocess.run([*manage, "shell", "-c", SETUP], cwd=BACKEND, env=env, check=True,
                                          capture_output=True, text=True).stdout.strip().splitlines()[-1])
        row_bytes = len(ROW.format(n=0).encode())
        rows = int(args.mb * 1e6 / row_bytes)
        print(f"gunicorn, 1 sync worker, CGH_MAX_UPLOAD_MB={args.limit_mb}, SQLite, dry-run import")
        for label, kwargs in (
                (f"accepted upload {rows * row_bytes / 1e6:.0f} MB ({rows:,} rows)", {"rows": rows}),
                (f"oversize upload {args.oversize_mb:.0f} MB (refused)",
                 {"rows": int(args.oversize_mb * 1e6 / row_bytes), "announced": int(args.oversize_mb * 1e6)})):
            port = free_port()
            server = start_server(env, port)
            try:
                pid = worker_pid(server.pid)
                idle = kib(pid, "VmRSS") / 1024
                answer, seconds, sent = stream_upload(port, setup["token"], setup["ai_system"], **kwargs)
                peak = kib(pid, "VmHWM") / 1024
            finally:
                stop_server(server)
            print(f"{label}: {answer}; {seconds:.1f} s; {sent / 1e6:.0f} MB sent; worker RSS idle {idle:.0f} MiB, "
                  f"peak {peak:.0f} MiB (+{peak - idle:.0f} MiB, {peak / idle:.2f}x idle)")


if __name__ == "__main__":
    main()
