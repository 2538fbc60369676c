"""deploy/env.example lists every CGH_* variable that production reads (settings, gunicorn)."""

import re
from pathlib import Path

import pytest

from accounts.oidc.config import ENDPOINTS

ROOT = Path(__file__).resolve().parents[2]
# The settings, the gunicorn config, and the modules the settings call to read a whole group.
READERS = [*sorted((ROOT / "backend" / "config" / "settings").glob("*.py")), ROOT / "deploy" / "gunicorn.conf.py",
           ROOT / "backend" / "common" / "storage_settings.py", ROOT / "backend" / "accounts" / "oidc" / "config.py"]
# CGH_OIDC is the settings name of the parsed configuration, not a variable.
NOT_PRODUCTION = {"CGH_OIDC", "CGH_SQLITE_PATH", "CGH_DB_TEST_NAME", "CGH_DEBUG"}  # SQLite, tests, the demo


@pytest.mark.unit
def test_env_example_lists_every_variable_production_reads():
    read = set()
    for path in READERS:
        if path.name not in ("local.py", "test.py"):
            read |= set(re.findall(r"\b(CGH_[A-Z0-9_]*[A-Z0-9])\b", path.read_text(encoding="utf-8")))
    read |= {f"CGH_OIDC_{name.upper()}" for name in ENDPOINTS}
    listed = set(re.findall(r"^#?(CGH_[A-Z0-9_]+)=", (ROOT / "deploy" / "env.example").read_text(encoding="utf-8"),
                            flags=re.MULTILINE))

    assert sorted(read - NOT_PRODUCTION - listed) == []
    assert sorted(listed - read) == []
