"""Pseudonyms: HMAC-SHA256 of a normalised source identifier, keyed by a secret held outside the
database (``CGH_PSEUDONYM_KEY`` or ``CGH_PSEUDONYM_KEY_FILE``). No correspondence table exists:
without the key, a pseudonym cannot be reversed or even recomputed."""

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class PseudonymKey:
    key_id: str
    secret: bytes


def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def normalise_identifier(value: str) -> str:
    """Same identifier, same pseudonym: NFKC, trimmed, inner spaces removed, upper case."""
    text = unicodedata.normalize("NFKC", str(value)).strip().upper()
    return "".join(text.split())


def current_key() -> PseudonymKey:
    secret = settings.PSEUDONYM_KEY
    if not secret and settings.PSEUDONYM_KEY_FILE:
        secret = Path(settings.PSEUDONYM_KEY_FILE).read_text(encoding="utf-8").strip()
    if not secret:
        raise ImproperlyConfigured("No pseudonymization key: set CGH_PSEUDONYM_KEY or CGH_PSEUDONYM_KEY_FILE.")
    return PseudonymKey(key_id=settings.PSEUDONYM_KEY_ID, secret=secret.encode("utf-8"))


def pseudonymize(value: str, *, namespace: str, key: PseudonymKey | None = None) -> str:
    """Pseudonym of ``value`` within ``namespace`` ("patient", "case", "clinician"), so that the
    same number used as a patient id and as an accession number never collides."""
    key = key or current_key()
    return hmac_sha256_hex(key.secret, f"{namespace}:{normalise_identifier(value)}".encode())
