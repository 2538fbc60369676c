"""The audit key: an HMAC-SHA256 secret held outside the database.

The current key comes from ``CGH_AUDIT_KEY`` or from the file named by ``CGH_AUDIT_KEY_FILE``; its
id (``CGH_AUDIT_KEY_ID``) is stored on every event and every checkpoint. When the key is rotated,
the retired keys stay readable for verification only, one file per key named ``<key id>.key`` in
the directory ``CGH_AUDIT_RETIRED_KEYS_DIR``. Whoever can read the database but not the key cannot
produce a hash or a checkpoint that verifies.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MIN_KEY_BYTES = 32


@dataclass(frozen=True)
class AuditKey:
    key_id: str
    secret: bytes


def _read_secret(path: str | Path) -> bytes:
    return Path(path).read_bytes().strip()


_file_cache: dict[str, bytes] = {}


def current_key() -> AuditKey:
    """The key new events and checkpoints are sealed with. A key file is read once per process
    (every audited write needs the key): replacing the file takes effect at the next restart."""
    secret = (settings.AUDIT_KEY or "").encode("utf-8")
    if not secret and settings.AUDIT_KEY_FILE:
        path = str(settings.AUDIT_KEY_FILE)
        if path not in _file_cache:
            _file_cache[path] = _read_secret(path)
        secret = _file_cache[path]
    if not secret:
        raise ImproperlyConfigured("No audit key: set CGH_AUDIT_KEY or CGH_AUDIT_KEY_FILE.")
    return AuditKey(key_id=settings.AUDIT_KEY_ID, secret=secret)


def keyring() -> dict[str, bytes]:
    """Every key this server can verify with, by id: the retired ones, then the current one."""
    keys: dict[str, bytes] = {}
    directory = getattr(settings, "AUDIT_RETIRED_KEYS_DIR", None)
    if directory:
        for path in sorted(Path(directory).glob("*.key")):
            keys[path.stem] = _read_secret(path)
    current = current_key()
    keys[current.key_id] = current.secret
    return keys
