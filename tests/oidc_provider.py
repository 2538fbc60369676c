"""A real OpenID Connect provider for the single sign-on tests: scripts/oidc/server.js (the npm
package ``oidc-provider``), installed by scripts/ensure_oidc_provider.sh and started here on a free
loopback port, and an HTTP client that goes through the login the way a browser does (following
the real redirects and filling in the provider's login form).

Nothing is skipped: without Node.js and npm, or when the provider does not start, the test fails
with the reason.
"""

import json
import os
import re
import secrets
import select
import subprocess
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "scripts" / "oidc" / "server.js"
ENSURE = ROOT / "scripts" / "ensure_oidc_provider.sh"
START_TIMEOUT_SECONDS = 30


class TestProvider:
    """One provider process with one client; ``accounts`` are written to a file the provider reads
    again at every login, so that ``set_accounts`` changes what the next login gets."""

    __test__ = False  # not a test class

    def __init__(self, *, workdir: Path, redirect_uri: str, post_logout_uri: str, accounts: dict,
                 alg: str = "RS256"):
        self.client_id = "college-garantie-humaine"
        self.client_secret = secrets.token_urlsafe(32)
        self.accounts_file = workdir / f"accounts-{alg}.json"
        self.set_accounts(accounts)
        ensured = subprocess.run([str(ENSURE)], capture_output=True, text=True)
        if ensured.returncode != 0:
            pytest.fail(f"The test OpenID provider cannot be installed:\n{ensured.stderr}", pytrace=False)
        self.log = open(workdir / f"provider-{alg}.log", "w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            ["node", str(SERVER)], stdout=subprocess.PIPE, stderr=self.log, text=True,
            env={"PATH": _path(), "OIDC_CLIENT_ID": self.client_id, "OIDC_CLIENT_SECRET": self.client_secret,
                 "OIDC_REDIRECT_URIS": redirect_uri, "OIDC_POST_LOGOUT_REDIRECT_URIS": post_logout_uri,
                 "OIDC_ACCOUNTS_FILE": str(self.accounts_file), "OIDC_ALG": alg})
        self.issuer = self._wait_for_issuer()
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"

    def _wait_for_issuer(self) -> str:
        # The server prints its issuer once it listens; a process that dies or hangs fails the test.
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT_SECONDS)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            self.log.seek(0)
            pytest.fail(f"The test OpenID provider did not start:\n{self.log.read()}", pytrace=False)
        return json.loads(line)["issuer"]

    def set_accounts(self, accounts: dict) -> None:
        self.accounts_file.write_text(json.dumps(accounts))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _path() -> str:
    return os.environ.get("PATH", "/usr/bin:/bin")


def _form(html: str) -> tuple[str, dict]:
    """The action and the hidden fields of the first form of a page."""
    action = re.search(r'<form[^>]*action="([^"]+)"', html).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    return action.replace("&amp;", "&"), fields


class Browser:
    """An HTTP client with its own cookies, like one person's browser."""

    def __init__(self, base_url: str, provider: TestProvider):
        self.base_url = base_url
        self.provider = provider
        self.http = requests.Session()

    def start(self, next_url: str = "") -> requests.Response:
        """Click "Se connecter avec ...": returns the provider's login page."""
        query = f"?next={next_url}" if next_url else ""
        response = self.http.get(f"{self.base_url}/login/sso/{query}", allow_redirects=False)
        assert response.status_code == 302, response.text
        assert response.headers["Location"].startswith(f"{self.provider.issuer}/auth?")
        page = self.http.get(response.headers["Location"])
        assert page.status_code == 200 and 'name="login"' in page.text, page.text
        return page

    def sign_in_at_provider(self, login: str, password: str) -> str:
        """Fill in the provider's form; follow the provider's redirects up to the way back to the
        application, and return that callback address (not visited yet)."""
        page = self.start()
        action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
        response = self.http.post(f"{self.provider.issuer}{action}", data={"login": login, "password": password},
                                  allow_redirects=False)
        while response.status_code in (302, 303):
            location = response.headers["Location"]
            if not location.startswith(self.provider.issuer) and not location.startswith("/"):
                return location
            url = location if location.startswith("http") else f"{self.provider.issuer}{location}"
            response = self.http.get(url, allow_redirects=False)
        raise AssertionError(f"the provider did not send back to the application: {response.status_code} "
                             f"{response.text[:500]}")

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.http.get(url if url.startswith("http") else f"{self.base_url}{url}", allow_redirects=False,
                             **kwargs)

    def login(self, login: str, password: str) -> requests.Response:
        """The whole login: the application's answer to the provider's callback."""
        return self.get(self.sign_in_at_provider(login, password))

    def logout(self) -> requests.Response:
        csrf = self.http.cookies.get("csrftoken") or ""
        return self.http.post(f"{self.base_url}/logout/", data={"csrfmiddlewaretoken": csrf},
                              headers={"Referer": f"{self.base_url}/"}, allow_redirects=False)

    def confirm_provider_logout(self, end_session_url: str) -> requests.Response:
        """Answer the provider's "sign out?" page; returns its redirect back to the application."""
        page = self.http.get(end_session_url)
        assert page.status_code == 200, page.text
        action, fields = _form(page.text)
        url = action if action.startswith("http") else f"{self.provider.issuer}{action}"
        return self.http.post(url, data={**fields, "logout": "yes"}, allow_redirects=False)
