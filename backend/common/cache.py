"""Computed pages and figures kept in Django's cache under a key derived from their inputs.

The rule that keeps them exact: each entry is stored with a *revision* of everything the value is
computed from, read from the database in the same request (e.g.
``reviews.selectors.campaign_revision``: the campaign's state and the count of its cases and
assignments per state, which every committed transition changes), and is used only by a reader
who reads the same revision. A change therefore never has to invalidate anything: the next reader
sees another revision, computes afresh and overwrites the entry.
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


def cached(parts: tuple, compute: Callable[[], T], *, revision) -> T:
    """The value computed for ``revision`` of its inputs, kept under ``parts`` (what it is: page,
    object, audience, language), or ``compute()`` stored there with its revision. One entry per
    ``parts``, overwritten when the revision moves on, so that a page whose data changes all the
    time never fills the table. Two readers missing at once both compute the same value."""
    key = cache_key(*parts)
    entry = cache.get(key, _MISSING)
    if entry is not _MISSING and entry[0] == revision:
        return entry[1]
    value = compute()
    cache.set(key, (revision, value))
    return value
