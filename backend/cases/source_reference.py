"""The source reference (accession number) kept for a later patient recall, encrypted.

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with a key held outside the database and
separate from the pseudonymization key: ``CGH_SOURCE_KEY`` or ``CGH_SOURCE_KEY_FILE``, with
``CGH_SOURCE_KEY_ID`` stored beside each ciphertext for rotation. The reviewers' side never holds
this key, and no reviewer serializer has a field for the ciphertext. Decryption happens only in
the re-identification workflow (DESIGN §3), through :func:`decrypt_source_reference`.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class SourceKey:
    key_id: str
    fernet: Fernet


@lru_cache(maxsize=8)
def _fernet(secret: str) -> Fernet:
    try:
        return Fernet(secret.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ImproperlyConfigured(
            "CGH_SOURCE_KEY must be a Fernet key (32 url-safe base64-encoded bytes): "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from exc


def current_source_key() -> SourceKey | None:
    """The encryption key, or None when none is configured (the source reference is then not kept)."""
    secret = settings.SOURCE_KEY
    if not secret and settings.SOURCE_KEY_FILE:
        secret = Path(settings.SOURCE_KEY_FILE).read_text(encoding="utf-8").strip()
    if not secret:
        return None
    key_id = settings.SOURCE_KEY_ID
    return SourceKey(key_id=key_id, fernet=_fernet(secret))


def encrypt_source_reference(value: str, key: SourceKey) -> str:
    return key.fernet.encrypt(value.strip().encode("utf-8")).decode("ascii")


def decrypt_source_reference(token: str, key: SourceKey) -> str:
    try:
        return key.fernet.decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise ImproperlyConfigured("This source reference was encrypted with another key.") from exc
