"""Compile the project's French catalogue before the web tests, when it is missing or stale.

The ``.mo`` files are build products (git-ignored; ``make messages`` compiles them), but the
web tests assert French pages, so running ``pytest tests/web`` straight from a clone must work
too. After compiling, Django's translation caches are reset exactly as its ``setting_changed``
receiver does for ``LOCALE_PATHS``, and so is the standard library's cache of parsed ``.mo``
files, in case a catalogue was loaded before it was recompiled.
"""

import gettext
import shutil
import subprocess
from pathlib import Path

from asgiref.local import Local
from django.utils.translation import trans_real

BACKEND_DIR = Path(__file__).resolve().parents[2] / "backend"


def ensure_messages_compiled() -> None:
    stale = []
    for po in BACKEND_DIR.glob("**/locale/*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            stale.append((po, mo))
    if not stale:
        return
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        raise RuntimeError("msgfmt not found: install GNU gettext (Debian: apt-get install gettext)")
    for po, mo in stale:
        subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=True)

    gettext._translations.clear()
    trans_real._translations = {}
    trans_real._default = None
    trans_real._active = Local()
    trans_real.translation_catalog_exists.cache_clear()
