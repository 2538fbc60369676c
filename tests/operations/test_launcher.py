"""``scripts/serve.py demo`` (what ``make demo`` runs): the web server and the task worker start
together, an import uploaded through the web page is processed by the worker, and Ctrl-C (SIGINT)
stops both. Everything is real: a throw-away SQLite database, the demo's settings, a free loopback
port, a login through the password and second-factor pages."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from django_otp.oath import totp

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "backend"
SAMPLE = ROOT / "fixtures" / "import_samples" / "cases.csv"

# Run with manage.py shell in the throw-away database: a quality manager with a TOTP device and
# an AI system; prints what the test needs.
SETUP = """
import json
from django_otp.plugins.otp_totp.models import TOTPDevice
from tests.factories import PASSWORD, AISystemFactory, UserFactory
user = UserFactory(role="quality", username="qualite")
device = TOTPDevice.objects.create(user=user, name="totp", confirmed=True)
ai = AISystemFactory()
print(json.dumps({"password": PASSWORD, "key": device.key, "ai_system": ai.pk}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """Cookies, CSRF token and no automatic redirects: each answer is looked at as it is."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        if data is not None:
            req.add_header("Referer", self.base + path)
        try:
            with self.opener.open(req, timeout=60) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def csrf_token(self, page: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def post_form(self, path: str, fields: dict) -> tuple:
        _, _, page = self.request(path)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.csrf_token(page), **fields}).encode()
        return self.request(path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def post_file(self, path: str, fields: dict, name: str, filename: str, content: bytes) -> tuple:
        _, _, page = self.request(path)
        boundary = uuid.uuid4().hex
        parts = []
        for key, value in {"csrfmiddlewaretoken": self.csrf_token(page), **fields}.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(path, b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def _wait_for(condition, what: str, launcher: subprocess.Popen, timeout: float = 120):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        assert launcher.poll() is None, f"the launcher stopped (exit {launcher.returncode}) waiting for {what}"
        try:
            last = condition()
            if last:
                return last
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached within {timeout:.0f} s (last: {last!r})")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid and _alive(int(entry.name)):
                    return True
            except ProcessLookupError:
                continue
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by its parent) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def test_launcher_demo_runs_the_worker_beside_the_web_server_and_stops_both(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CGH_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", CGH_DB_ENGINE="sqlite", CGH_DEBUG="0",
               CGH_SQLITE_PATH=str(tmp_path / "demo.sqlite3"), CGH_IMPORT_DIR=str(tmp_path / "imports"),
               PYTHONPATH=str(ROOT))
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "--verbosity", "0"], cwd=BACKEND, env=env, check=True,
                   timeout=300)
    setup = json.loads(subprocess.run([*manage, "shell", "-c", SETUP], cwd=BACKEND, env=env, check=True,
                                      capture_output=True, text=True, timeout=120).stdout.strip().splitlines()[-1])
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "launcher.log").open("w+")
    launcher = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve.py"), "demo", "--addr",
                                 f"127.0.0.1:{port}", "--grace", "20"], cwd=tmp_path, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        browser = Browser(base)

        def healthy():
            status, _, body = browser.request("/healthz")
            return status == 200 and json.loads(body)["checks"]["worker"] == "ok"

        _wait_for(healthy, "a healthy server with its worker", launcher)

        status, headers, _ = browser.post_form("/login/", {"username": "qualite", "password": setup["password"]})
        assert (status, headers["Location"]) == (302, "/account/second-factor/")
        code = f"{totp(bytes.fromhex(setup['key'])):06d}"
        status, _, _ = browser.post_form("/account/second-factor/", {"otp": code})
        assert status == 302

        status, headers, _ = browser.post_file("/imports/", {"ai_system": setup["ai_system"], "format": ""},
                                               "file", "cases.csv", SAMPLE.read_bytes())
        assert status == 302
        batch_id = int(re.fullmatch(r"/imports/(\d+)/", headers["Location"]).group(1))

        def finished():
            status, _, body = browser.request(f"/api/import-batches/{batch_id}/")
            batch = json.loads(body)
            return batch if status == 200 and batch["status"] not in ("queued", "running") else None

        batch = _wait_for(finished, "the import processed by the worker", launcher)
        assert (batch["status"], batch["rows_total"], batch["rows_created"], batch["rows_rejected"]) == (
            "completed", 3, 3, 0)
    finally:
        launcher.send_signal(signal.SIGINT)
        exit_code = launcher.wait(timeout=60)
        log.seek(0)
        output = log.read()
        log.close()

    pids = [int(pid) for pid in re.findall(r"started \(pid (\d+)\)", output)]
    assert exit_code == 0, output
    assert len(pids) == 2, output
    assert "SIGINT received: stopping" in output
    assert [pid for pid in pids if _alive(pid)] == []
    assert [pid for pid in pids if _group_alive(pid)] == []  # nothing they started either
