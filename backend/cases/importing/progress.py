"""The command line's progress bar for an import (``manage.py import_cases``): rows done, rows per
second and the time left, passed to ``service.import_cases`` as its ``progress`` callback."""

import time
from collections.abc import Callable


class ProgressPrinter:
    """rows/s and ETA for a terminal, at most once a second."""

    def __init__(self, write: Callable[[str], None]):
        self.write, self.start, self.last = write, time.monotonic(), 0.0

    def __call__(self, done: int, expected: int | None) -> None:
        now = time.monotonic()
        if now - self.last < 1 and (expected is None or done < expected):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        if expected:
            share = min(done / expected, 1)
            bar = "#" * int(30 * share)
            eta = (expected - done) / rate if rate else 0
            self.write(f"\r[{bar:<30}] {done:,}/{expected:,} rows  {rate:,.0f} rows/s  ETA {eta:,.0f} s")
        else:
            self.write(f"\r{done:,} rows  {rate:,.0f} rows/s")
