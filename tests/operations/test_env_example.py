"""deploy/env.example lists every CGH_* variable that production reads (settings, gunicorn)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READERS = [*sorted((ROOT / "backend" / "config" / "settings").glob("*.py")), ROOT / "deploy" / "gunicorn.conf.py"]
NOT_PRODUCTION = {"CGH_SQLITE_PATH", "CGH_DB_TEST_NAME", "CGH_DEBUG"}  # SQLite, tests, the demo


@pytest.mark.unit
def test_env_example_lists_every_variable_production_reads():
    read = set()
    for path in READERS:
        if path.name not in ("local.py", "test.py"):
            read |= set(re.findall(r"\b(CGH_[A-Z0-9_]+)\b", path.read_text(encoding="utf-8")))
    listed = set(re.findall(r"^#?(CGH_[A-Z0-9_]+)=", (ROOT / "deploy" / "env.example").read_text(encoding="utf-8"),
                            flags=re.MULTILINE))

    assert sorted(read - NOT_PRODUCTION - listed) == []
    assert sorted(listed - read) == []
