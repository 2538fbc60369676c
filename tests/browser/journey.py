"""Measuring a journey in the browser as the person lives it: the clicks they make, the pages the
browser loads (a full document load, not an htmx swap) and the wall-clock time, so that a change
of the workspace is judged by figures measured the same way before and after."""

import time


class JourneyMeter:
    """Counts the clicks made through ``click`` and the main-frame document loads of ``page``
    (every navigation, a form post answered by a redirect counting once), between ``start`` and
    ``stop``. Keys pressed (``press``) are counted apart: a keyboard shortcut is not a click."""

    def __init__(self, page):
        self.page = page
        self.clicks = 0
        self.keys = 0
        self.loads = 0
        self.seconds = 0.0
        self._started: float | None = None
        page.on("load", lambda _page: self._on_load())

    def _on_load(self) -> None:
        if self._started is not None:
            self.loads += 1

    def start(self) -> None:
        self.clicks = self.keys = self.loads = 0
        self._started = time.perf_counter()

    def stop(self) -> dict:
        self.page.wait_for_load_state()
        self.seconds = time.perf_counter() - (self._started or time.perf_counter())
        self._started = None
        return {"clicks": self.clicks, "keys": self.keys, "page_loads": self.loads, "seconds": self.seconds}

    def click(self, locator) -> None:
        self.clicks += 1
        locator.click()

    def check(self, locator) -> None:
        """Ticking a radio button or a box with the mouse: one click."""
        self.clicks += 1
        locator.check()

    def press(self, key: str) -> None:
        self.keys += 1
        self.page.keyboard.press(key)
