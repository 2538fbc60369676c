"""Headless Chromium through Playwright's sync API, on Debian's /usr/bin/chromium.

Never ``playwright install``: the browser comes from the distribution (scripts/ensure_browser.sh
installs it). Playwright's sync API runs an asyncio event loop in the test thread, so Django's
ORM would refuse to run there (SynchronousOnlyOperation) while the browser is open:
``DJANGO_ALLOW_ASYNC_UNSAFE`` is set for as long as the browser is (Django reads it at each
call), and restored afterwards so that the rest of the suite keeps Django's async guard.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed: run scripts/ensure_browser.sh (apt-get install chromium)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class PageWatch:
    """Everything a page asked for and every console error, to assert that nothing is loaded
    from outside the application and that the CSP reports no violation."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))

    def _on_console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.console_errors.append(message.text)

    def assert_clean(self) -> None:
        outside = [url for url in self.requests if not url.startswith(self.base_url)]
        assert outside == []
        csp = [text for text in self.console_errors if "Content Security Policy" in text or "CSP" in text]
        assert csp == []
        assert self.console_errors == []

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_page(browser, live_server):
    """``open_page()`` gives a fresh French browser context's page, watched; all are closed
    at the end of the test."""
    contexts = []

    def make() -> PageWatch:
        context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return PageWatch(context.new_page(), live_server.url)

    yield make
    for context in contexts:
        context.close()
