"""Computed pages and figures kept in Django's cache under a key derived from their inputs.

The rule that keeps them exact: the key holds a *revision* of everything the value is computed
from, read from the database in the same request (e.g. ``reviews.selectors.campaign_revision``:
the campaign's state and the count of its cases and assignments per state, which every committed
transition changes). A change therefore never has to invalidate anything: the next reader
computes a new key, misses, and computes afresh; the old entry ages out (``CACHES`` TIMEOUT).
Permission checks stay in the caller, before the cache is asked, and a value that depends on
the audience carries the audience in its key, so no entry is ever shared between audiences that
would see different things.
"""

import hashlib
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")

GENERATION = "1"
"""Bumped when the shape of a cached value changes, so that a new release never reads an entry
written by the previous one."""

_MISSING = object()


def cache_key(*parts) -> str:
    """A short key for ``parts`` (their ``repr``: ints, strings, dates and tuples of them)."""
    return "cgh:" + hashlib.sha256(repr((GENERATION, *parts)).encode()).hexdigest()


def cached(parts: tuple, compute: Callable[[], T]) -> T:
    """The value cached under ``parts`` (which must include the revision of its inputs), or
    ``compute()`` stored there. Two readers missing at once both compute: same value."""
    key = cache_key(*parts)
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value)
    return value
