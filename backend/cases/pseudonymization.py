"""Pseudonyms: HMAC-SHA256 of a normalised source identifier, keyed by a secret held outside the
database. No correspondence table exists: without the key, a pseudonym cannot be reversed or even
recomputed.

The key ring
------------
The **current key** (``CGH_PSEUDONYM_KEY`` or ``CGH_PSEUDONYM_KEY_FILE``, named by
``CGH_PSEUDONYM_KEY_ID``) makes every new pseudonym. **Retired keys** are kept for matching only:
after a rotation, a re-imported file, an opt-out or a signer is still recognised in the rows made
under an earlier key. Every stored pseudonym sits beside the id of the key that made it
(``Case.key_id``, ``OptOut.key_id``, ``User.clinician_key_id``), so that a value is only ever
compared with the pseudonym of the same identifier under the same key.

Retired keys are given as ``id:secret`` entries, either in ``CGH_PSEUDONYM_OLD_KEYS`` (entries
separated by commas or white space) or in the file named by ``CGH_PSEUDONYM_OLD_KEYS_FILE`` (one
entry per line; blank lines and lines starting with ``#`` are ignored). The id is what the rows
store (letters, digits, ``.``, ``_`` and ``-``, at most 20 characters); the secret is everything
after the first colon. A key id found in the data but absent from the ring is an error
(``UnknownPseudonymKey``), never a silent mismatch. ``manage.py rekey_pseudonyms`` moves stored
pseudonyms to the current key, after which a retired key can leave the ring.
"""

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from common.exceptions import DomainError

KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,20}$")


class UnknownPseudonymKey(DomainError):
    """Stored pseudonyms name a key that is not in the ring: they cannot be matched, and the
    operation stops (409) rather than miss an opt-out, a signer or an already imported case."""

    status_code = 409
    code = "unknown_pseudonym_key"

    def __init__(self, key_ids: Iterable[str], where: str):
        self.key_ids = sorted(set(key_ids))
        super().__init__(
            f"Pseudonyms in {where} were made with key id(s) {', '.join(self.key_ids)}, which the key ring does not "
            "hold: add the retired key to CGH_PSEUDONYM_OLD_KEYS (or CGH_PSEUDONYM_OLD_KEYS_FILE).",
            extra={"key_ids": self.key_ids})


@dataclass(frozen=True)
class PseudonymKey:
    key_id: str
    secret: bytes


@dataclass(frozen=True)
class KeyRing:
    """The current key and the retired keys (matching only), by id."""

    current: PseudonymKey
    retired: tuple[PseudonymKey, ...] = ()

    @property
    def keys(self) -> tuple[PseudonymKey, ...]:
        return (self.current, *self.retired)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(k.key_id for k in self.keys)

    def get(self, key_id: str) -> PseudonymKey:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise UnknownPseudonymKey([key_id], "the data")

    def require(self, key_ids: Iterable[str], where: str) -> None:
        """Raise ``UnknownPseudonymKey`` unless every id of ``key_ids`` is in the ring."""
        unknown = set(key_ids) - set(self.key_ids)
        if unknown:
            raise UnknownPseudonymKey(unknown, where)

    def pseudonyms(self, value: str, *, namespace: str) -> dict[str, str]:
        """Key id → pseudonym of ``value`` under every key of the ring."""
        return {key.key_id: pseudonymize(value, namespace=namespace, key=key) for key in self.keys}


def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def normalise_identifier(value: str) -> str:
    """Same identifier, same pseudonym: NFKC, trimmed, inner spaces removed, upper case."""
    text = unicodedata.normalize("NFKC", str(value)).strip().upper()
    return "".join(text.split())


def _check_key_id(key_id: str, origin: str) -> str:
    if not KEY_ID_PATTERN.match(key_id):
        raise ImproperlyConfigured(
            f"{origin}: a key id is 1 to 20 letters, digits, '.', '_' or '-'.")
    return key_id


def read_secret(value: str | None, path: str | None) -> str:
    """A secret given directly or in a file (its content, stripped), or ''."""
    if value:
        return value
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"Cannot read the key file {path}: {exc.strerror}.") from exc
    return ""


def parse_retired_keys(text: str | None, *, origin: str, one_per_line: bool = False) -> list[tuple[str, str]]:
    """``[(key_id, secret)]`` from the retired-key format (see the module docstring)."""
    if not text:
        return []
    if one_per_line:
        entries = [line.strip() for line in text.splitlines()]
        entries = [e for e in entries if e and not e.startswith("#")]
    else:
        entries = [e for e in re.split(r"[\s,]+", text) if e]
    out = []
    for n, entry in enumerate(entries, start=1):
        key_id, sep, secret = entry.partition(":")
        if not sep or not secret.strip():
            raise ImproperlyConfigured(f"{origin}: entry {n} is not 'id:secret'.")
        out.append((_check_key_id(key_id.strip(), origin), secret.strip()))
    return out


def retired_key_entries(old_keys: str | None, old_keys_file: str | None) -> list[tuple[str, str]]:
    """Retired keys from the environment value and the key-ring file, both allowed together."""
    entries = parse_retired_keys(old_keys, origin="CGH_PSEUDONYM_OLD_KEYS")
    if old_keys_file:
        entries += parse_retired_keys(read_secret(None, old_keys_file), origin="CGH_PSEUDONYM_OLD_KEYS_FILE",
                                      one_per_line=True)
    return entries


def key_ring() -> KeyRing:
    """The configured ring; ``ImproperlyConfigured`` when the current key is missing, or when a key
    id appears twice (a retired key cannot share the current key's id)."""
    secret = read_secret(settings.PSEUDONYM_KEY, settings.PSEUDONYM_KEY_FILE)
    if not secret:
        raise ImproperlyConfigured("No pseudonymization key: set CGH_PSEUDONYM_KEY or CGH_PSEUDONYM_KEY_FILE.")
    current = PseudonymKey(key_id=_check_key_id(settings.PSEUDONYM_KEY_ID, "CGH_PSEUDONYM_KEY_ID"),
                           secret=secret.encode("utf-8"))
    retired = []
    seen = {current.key_id}
    entries = retired_key_entries(getattr(settings, "PSEUDONYM_OLD_KEYS", None),
                                  getattr(settings, "PSEUDONYM_OLD_KEYS_FILE", None))
    for key_id, old_secret in entries:
        if key_id in seen:
            raise ImproperlyConfigured(f"The key id {key_id} appears twice in the pseudonymization key ring.")
        seen.add(key_id)
        if old_secret.encode("utf-8") == current.secret:
            raise ImproperlyConfigured(f"The retired key {key_id} has the current key's secret.")
        retired.append(PseudonymKey(key_id=key_id, secret=old_secret.encode("utf-8")))
    return KeyRing(current=current, retired=tuple(retired))


def current_key() -> PseudonymKey:
    return key_ring().current


def pseudonymize(value: str, *, namespace: str, key: PseudonymKey | None = None) -> str:
    """Pseudonym of ``value`` within ``namespace`` ("patient", "case", "clinician"), so that the
    same number used as a patient id and as an accession number never collides."""
    key = key or current_key()
    return hmac_sha256_hex(key.secret, f"{namespace}:{normalise_identifier(value)}".encode())
