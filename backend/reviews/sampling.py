"""Drawing a reproducible sample of a campaign's population, inside the database.

Rank. Every case has a ``source_key`` (an HMAC, so uniformly distributed and unrelated to the
case). Its first 8 hex digits are an integer ``k`` in [0, 2^32); for a seed the database ranks
each case by ``(k * a + b) mod P`` (``P`` the largest prime below 2^32, ``a`` and ``b`` derived
from the seed with SHA-256, ``a < 2^30`` so that the product never leaves 63 bits), ties broken
by ``source_key``. The first ``n`` by rank (in each stratum) are the sample. SQLite and
PostgreSQL evaluate the same integer arithmetic, so the same seed on the same population gives
the same sample on both, and ``reference_rank`` lets an auditor recompute it from the key list.
Nothing of the population is held in Python: the population hash streams the sorted keys, one
grouped count per stratum (stratified designs only) and one query for the candidates.

Candidates. Sorting the whole population by rank (or a window function partitioned by stratum)
costs a full sort of a million rows. Ranks are uniform over [0, P) (the key is an HMAC and the
rank an affine bijection of it), so a stratum's first ``n_h`` ranks lie, with overwhelming
probability, below a cut-off ``c_h`` chosen so that about ``1.1 n_h + 4.4 sqrt(n_h) + 18`` of its
``N_h`` cases fall under it. The database returns only the cases under their stratum's cut-off
(a single scan, no sort; about the sample's size whatever the population's), and Python takes
the first ``n_h`` of each stratum by ``(rank, source_key)``, which is ``reference_rank``'s order.
The result never depends on the cut-offs: a stratum with fewer than ``n_h`` candidates under its
cut-off is queried again with a four times larger one, up to ``P`` (every case of the stratum).

Population hash: SHA-256 over the population's source keys sorted bytewise, one per line. On
PostgreSQL a covering index holds the keys in that order, so the database reads them without a
sort; they stream to Python a key range at a time and the digest is updated as they come
(constant memory on both sides, see ``population_blocks``). A simple random draw ranks the keys
as they pass (``stream_simple_random``): one read of the population for the hash and the sample.

Strata may be built on the AI output: they are stored on ``CampaignCase.stratum`` and never
shown to reviewers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter

import numpy as np
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, CharField, Count, F, Func, QuerySet, Value, When
from django.db.models.functions import Concat

from cases.models import Case as CaseModel
from cases.models import OptOut

from . import planner
from .enums import CampaignState
from .models import Campaign, CampaignCase

PRIME = 4_294_967_291  # largest prime below 2**32
DIMENSIONS = ("ai_label", "score_band", "site", "override")
DESIGN_TYPES = ("simple_random", "stratified")
DEFAULT_SCORE_BANDS = (0.5, 0.8)


# --- Rank ---------------------------------------------------------------------------------------

def seed_coefficients(seed: int) -> tuple[int, int]:
    digest = hashlib.sha256(f"cgh-sampling:{int(seed)}".encode()).digest()
    a = 1 + int.from_bytes(digest[:8], "big") % (2**30 - 1)
    b = int.from_bytes(digest[8:16], "big") % PRIME
    return a, b


def reference_rank(source_key: str, seed: int) -> tuple[int, str]:
    """The rank the database computes for a case, in Python (for audits and tests)."""
    a, b = seed_coefficients(seed)
    return ((int(source_key[:8], 16) * a + b) % PRIME, source_key)


class KeyPrefixInt(Func):
    """``int(source_key[:8], 16)`` evaluated by the database."""

    output_field = BigIntegerField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(('x' || substr({sql}, 1, 8))::bit(32)::bigint)", params

    def as_sql(self, compiler, connection, **extra):  # SQLite, and any database with instr/substr
        sql, params = compiler.compile(self.source_expressions[0])
        terms = [f"((instr('0123456789abcdef', lower(substr({sql}, {i + 1}, 1))) - 1) * {16 ** (7 - i)})"
                 for i in range(8)]
        return "(" + " + ".join(terms) + ")", list(params) * 8


class SeededRank(Func):
    """``(k * a + b) mod P`` with ``k`` the key prefix: integer arithmetic both databases share."""

    output_field = BigIntegerField()

    def __init__(self, expression, seed: int):
        super().__init__(KeyPrefixInt(expression))
        self.a, self.b = seed_coefficients(seed)

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(({sql} * {self.a} + {self.b}) %% {PRIME})", params


class StratumCutoff(Func):
    """``CASE <stratum> WHEN 's1' THEN c1 ... ELSE -1 END``: the stratum expression is evaluated
    once per row (a searched ``CASE WHEN stratum = ...`` would evaluate it once per stratum)."""

    output_field = BigIntegerField()

    def __init__(self, expression, cutoffs: dict[str, int]):
        super().__init__(expression)
        self.cutoffs = cutoffs

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        whens = " ".join("WHEN %s THEN %s" for _ in self.cutoffs)
        args = [x for s, c in sorted(self.cutoffs.items()) for x in (s, c)]
        return f"(CASE {sql} {whens} ELSE -1 END)", [*params, *args]


# --- Design -------------------------------------------------------------------------------------


def _shaped(value, kind: type, name: str, described: str):
    """``value`` when it has the JSON shape ``kind`` (empty when absent), else a readable ValueError."""
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise ValueError(f"{name} must be {described}.")
    return value


def _number(value, kind: type, name: str):
    """A finite number of ``kind`` (booleans and strings are not numbers here), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or abs(value) > 1e9 or (kind is int and value != int(value)):
        raise ValueError(f"{name} must be a {'whole ' if kind is int else ''}number.")
    return kind(value)


@dataclass(frozen=True)
class Design:
    type: str = "simple_random"
    strata_by: tuple[str, ...] = ()
    allocation: str = "proportional"
    sizes: dict[str, int] = field(default_factory=dict)
    oversample: dict[str, float] = field(default_factory=dict)
    score_bands: tuple[float, ...] = DEFAULT_SCORE_BANDS

    @classmethod
    def from_dict(cls, data: dict | None) -> Design:
        """Validate a design as given by a caller; raises ``ValueError`` with a readable message."""
        if data is not None and not isinstance(data, dict):
            raise ValueError("The design is an object with type, strata_by, allocation, sizes, oversample.")
        data = dict(data or {})
        kind = data.pop("type", "simple_random")
        if not isinstance(kind, str) or kind not in DESIGN_TYPES:
            raise ValueError(f"Unknown design {str(kind)[:40]!r}: one of {', '.join(DESIGN_TYPES)}.")
        strata_by = _shaped(data.pop("strata_by", None), list, "strata_by", "a list of dimension names")
        if not all(isinstance(d, str) for d in strata_by):
            raise ValueError("strata_by must be a list of dimension names.")
        strata_by = tuple(strata_by)
        allocation = data.pop("allocation", "proportional")
        if not isinstance(allocation, str):
            raise ValueError(f"allocation must be one of {', '.join(planner.ALLOCATIONS)}.")
        sizes = {str(k): _number(v, int, f"sizes.{k}")
                 for k, v in _shaped(data.pop("sizes", None), dict, "sizes", "an object {stratum: size}").items()}
        oversample = {str(k): _number(v, float, f"oversample.{k}") for k, v in _shaped(
            data.pop("oversample", None), dict, "oversample", "an object {stratum: weight}").items()}
        bands = tuple(_number(x, float, "score_bands") for x in (
            _shaped(data.pop("score_bands", None), list, "score_bands", "a list of cut points")
            or DEFAULT_SCORE_BANDS))
        if data:
            raise ValueError(f"Unknown design fields: {', '.join(sorted(data))}.")
        if kind == "simple_random":
            if strata_by or sizes or oversample:
                raise ValueError("A simple random design has no strata.")
            return cls()
        if not strata_by or any(d not in DIMENSIONS for d in strata_by) or len(set(strata_by)) != len(strata_by):
            raise ValueError(f"Stratify by one or more of: {', '.join(DIMENSIONS)}.")
        if allocation not in planner.ALLOCATIONS:
            raise ValueError(f"Unknown allocation {allocation!r}: one of {', '.join(planner.ALLOCATIONS)}.")
        if allocation == "set" and (not sizes or any(v < 0 for v in sizes.values())):
            raise ValueError("A set allocation needs a non-negative size per stratum.")
        if any(v <= 0 for v in oversample.values()):
            raise ValueError("Over-sampling weights must be positive.")
        if list(bands) != sorted(set(bands)) or any(not 0 < x < 1 for x in bands):
            raise ValueError("Score bands are increasing cut points between 0 and 1.")
        return cls(kind, strata_by, allocation, sizes, oversample, bands)

    def as_dict(self) -> dict:
        if self.type == "simple_random":
            return {"type": "simple_random"}
        out = {"type": self.type, "strata_by": list(self.strata_by), "allocation": self.allocation}
        if self.sizes:
            out["sizes"] = dict(sorted(self.sizes.items()))
        if self.oversample:
            out["oversample"] = dict(sorted(self.oversample.items()))
        if "score_band" in self.strata_by:
            out["score_bands"] = list(self.score_bands)
        return out


def _band_labels(bands: tuple[float, ...]) -> list[tuple[float | None, str]]:
    edges = [0.0, *bands]
    labels = [(hi, f"{lo:g}-{hi:g}") for lo, hi in zip(edges, bands, strict=False)]
    return [*labels, (None, f">={bands[-1]:g}")]


def _dimension(name: str, design: Design):
    if name == "ai_label":
        return F("ai_label")
    if name == "site":
        return F("site")
    if name == "override":
        return Case(When(final_label="", then=Value("unknown")), When(final_label=F("ai_label"), then=Value("no")),
                    default=Value("yes"), output_field=CharField())
    whens = [When(ai_score__isnull=True, then=Value("none"))]
    whens += [When(ai_score__lt=hi, then=Value(label)) for hi, label in _band_labels(design.score_bands)[:-1]]
    return Case(*whens, default=Value(_band_labels(design.score_bands)[-1][1]), output_field=CharField())


def stratum_expression(design: Design):
    """``"ai_label=fracture|site=Nord"``: the stratum of each case, computed in SQL."""
    if design.type == "simple_random":
        return Value("", output_field=CharField())
    parts = []
    for i, name in enumerate(design.strata_by):
        parts += [Value(("|" if i else "") + f"{name}="), _dimension(name, design)]
    return Concat(*parts, output_field=CharField())


# --- Population ---------------------------------------------------------------------------------

def population_for(*, ai_system_id: int, period_start, period_end, sites: list[str] | None,
                   exclude_campaign_id: int | None = None) -> QuerySet[CaseModel]:
    """The AI system's cases in the period and scope, minus opted-out patients (flag or register),
    minus cases whose reviewer-visible text is flagged as naming the AI or its output (held out
    until the quality team redacts it or clears the flag: ``Case.blinding_flags`` empty, in SQL),
    and minus cases already drawn into another (non-cancelled) campaign of the same AI system.
    Every design, the stratum counts and the planner's population counts start from here."""
    qs = CaseModel.objects.filter(
        ai_system_id=ai_system_id, exam_date__gte=period_start, exam_date__lte=period_end, is_opted_out=False,
        blinding_flags=[],
    ).exclude(patient_pseudonym__in=OptOut.objects.values("patient_pseudonym"))
    if sites:
        qs = qs.filter(site__in=sites)
    already = CampaignCase.objects.filter(campaign__ai_system_id=ai_system_id).exclude(
        campaign__state=CampaignState.CANCELLED)
    if exclude_campaign_id is not None:
        already = already.exclude(campaign_id=exclude_campaign_id)
    return qs.exclude(pk__in=already.values("case_id"))


def campaign_population(campaign: Campaign) -> QuerySet[CaseModel]:
    return population_for(ai_system_id=campaign.ai_system_id, period_start=campaign.period_start,
                          period_end=campaign.period_end, sites=campaign.sites, exclude_campaign_id=campaign.pk)


HASH_CHUNK = 10_000  # SQLite: keys read and hashed together
HASH_GROUP_PREFIX = 3  # PostgreSQL: keys sent as one text per key range (4,096 ranges of hex keys)
# On PostgreSQL, the partial index cases.0006 builds (``case_population_key_order``) holds the keys in
# this order with the columns the population's filters read: an index-only scan, no sort. These
# settings hold for the stream's transaction only: a sort is the last resort (it stays possible when
# no index fits), the ranges are read one after the other (no parallel plan, which could reorder
# them) and the short per-range queries are not compiled (JIT costs seconds, saves nothing here).
STREAM_SETTINGS = ("SET LOCAL enable_sort = off", "SET LOCAL max_parallel_workers_per_gather = 0",
                   "SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'")


def _key_ranges(prefix: int) -> list[str]:
    """Lower bounds of contiguous key ranges: ``""`` then every hex string of ``prefix`` digits
    but the first. Range ``i`` is ``[bounds[i], bounds[i + 1])``, the last one unbounded above:
    together they cover every text, hex or not, so no key is ever left out."""
    return ["", *(f"{i:0{prefix}x}" for i in range(1, 16**prefix))]


def population_stream_statement(population: QuerySet[CaseModel]) -> tuple[str, list]:
    """The PostgreSQL statement of the population stream: one row per key range, in range order:
    (range number, the range's keys in "C" order joined by newlines, their count). Each range is
    one index range scan; the last range has no upper bound, hence the second branch."""
    sql, params = population.order_by().values_list("source_key").query.sql_with_params()
    bounds = _key_ranges(HASH_GROUP_PREFIX)
    keys = f'SELECT q.source_key COLLATE "C" AS k FROM ({sql}) q'
    statement = (
        "SELECT g.i, s.t, s.n FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS g(lo, hi, i) "
        f"CROSS JOIN LATERAL (SELECT string_agg(p.k, chr(10)) AS t, COUNT(*) AS n FROM ({keys} "
        'WHERE q.source_key COLLATE "C" >= g.lo AND q.source_key COLLATE "C" < g.hi ORDER BY 1) p) s '
        f"UNION ALL SELECT %s, string_agg(p.k, chr(10)), COUNT(*) FROM ({keys} "
        'WHERE q.source_key COLLATE "C" >= %s ORDER BY 1) p')
    return statement, [bounds[:-1], bounds[1:], *params, len(bounds), *params, bounds[-1]]


def population_blocks(population: QuerySet[CaseModel]) -> Iterator[tuple[bytes, int]]:
    """The population's source keys sorted bytewise, as blocks of whole lines (``key + "\n"``
    each, UTF-8) with their number of keys; the blocks concatenated are the population hash's
    input. Neither the database nor Python ever holds more than one block.

    PostgreSQL reads the keys of each key range (see ``population_stream_statement``) in order
    from the population index and joins them into one text: thousands of rows cross the
    network rather than millions. They come through libpq's single-row mode, and their range
    numbers are checked to increase (a misordered plan raises rather than giving another
    digest). SQLite reads ``HASH_CHUNK`` keys at a time in its default BINARY collation."""
    if connection.vendor == "postgresql":
        statement, params = population_stream_statement(population)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("; ".join(STREAM_SETTINGS))
            last = 0
            for number, text, count in cursor.cursor.stream(statement, params):
                if number <= last:
                    raise RuntimeError("The population's key ranges came out of order.")
                last = number
                if count:
                    yield (text + "\n").encode(), count
        return
    rows = population.order_by().values_list("source_key").order_by("source_key").iterator(chunk_size=HASH_CHUNK)
    while chunk := list(islice(rows, HASH_CHUNK)):
        yield ("\n".join(map(_first, chunk)) + "\n").encode(), len(chunk)


def population_fingerprint(population: QuerySet[CaseModel]) -> tuple[int, str]:
    """(size, SHA-256 of the source keys sorted bytewise, one per line: ``key + "\\n"`` each).

    A stream in key order (``population_blocks``), updating the digest as the keys come; neither
    the database nor Python ever holds the population. Bytewise is the "C" collation on
    PostgreSQL, SQLite's default BINARY collation and Python's order of ``str`` (code points:
    the order of their UTF-8 bytes), so the digest is the same on both databases and the same as
    the ``sha256(string_agg(...))`` PostgreSQL computed before (one text of the whole population:
    396 MiB at 1M cases, failing near 16.5M), which recorded the hashes of existing campaigns."""
    digest = hashlib.sha256()
    size = 0
    for block, count in population_blocks(population):
        digest.update(block)
        size += count
    return size, digest.hexdigest()


# --- Simple random draw within the hash's stream -------------------------------------------------
# A simple random sample is the first n keys of the whole population by (rank, key): every key
# already passes through Python for the hash, so the ranks are computed there, a block at a time
# (numpy, the same integer arithmetic as ``reference_rank``), keeping the n best so far. This
# saves a second full read of the population (the candidates' scan). A block whose keys are not
# all 64 characters with 8 hex digits first (never the case of HMAC keys) ends it: the draw then
# asks the database, as for stratified designs.

KEY_WIDTH = 64
ID_LOOKUP = 900  # keys per query when the sample's ids are read: under SQLite's bound-parameter limit


def _block_ranks(block: bytes, count: int, a: int, b: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(ranks, lines as a ``count`` x 65 byte array) of a block of ``count`` lines, or None when its
    keys are not all ``KEY_WIDTH`` characters starting with 8 hex digits."""
    width = KEY_WIDTH + 1
    if len(block) != count * width or block.count(b"\n") != count:
        return None
    lines = np.frombuffer(block, dtype=np.uint8).reshape(count, width)
    if not (lines[:, KEY_WIDTH] == 10).all():  # one newline per line, at its end: every key is 64 bytes
        return None
    try:  # 8 hex digits are 4 bytes; whitespace, which fromhex skips, would shorten them
        prefixes = bytes.fromhex(lines[:, :8].tobytes().decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    if len(prefixes) != 4 * count:
        return None
    k = np.frombuffer(prefixes, dtype=">u4").astype(np.uint64)  # int(key[:8], 16), below 2**32
    ranks = (k * np.uint64(a) + np.uint64(b)) % np.uint64(PRIME)  # a < 2**30: below 2**63
    return ranks, lines


def stream_simple_random(population: QuerySet[CaseModel], seed: int,
                         sample_size: int) -> tuple[int, str, list[str] | None]:
    """(size, population hash, the first ``sample_size`` keys by ``(rank, key)``) in one read of
    the population; the keys are None when a block could not be ranked here."""
    a, b = seed_coefficients(seed)
    digest = hashlib.sha256()
    size = 0
    best_ranks = np.empty(0, dtype=np.uint64)
    best_keys = np.empty(0, dtype=f"S{KEY_WIDTH}")
    rankable = sample_size > 0
    for block, count in population_blocks(population):
        digest.update(block)
        size += count
        if not rankable:
            continue
        ranked = _block_ranks(block, count, a, b)
        if ranked is None:
            rankable = False
            continue
        ranks, lines = ranked
        if len(best_ranks) >= sample_size:  # ties with the n-th kept: (rank, key) decides below
            keep = np.flatnonzero(ranks <= best_ranks[-1])
            ranks, lines = ranks[keep], lines[keep]
        if len(ranks):
            keys = np.ascontiguousarray(lines[:, :KEY_WIDTH]).view(f"S{KEY_WIDTH}").ravel()
            best_ranks = np.concatenate([best_ranks, ranks])
            best_keys = np.concatenate([best_keys, keys])
            order = np.lexsort((best_keys, best_ranks))[:sample_size]
            best_ranks, best_keys = best_ranks[order], best_keys[order]
    if not rankable:
        return size, digest.hexdigest(), None
    return size, digest.hexdigest(), [k.decode() for k in best_keys]


_first = itemgetter(0)


def stratum_counts(population: QuerySet[CaseModel], design: Design) -> dict[str, int]:
    if design.type == "simple_random":
        return {"": population.count()}
    # Grouped by each dimension's value rather than by the concatenated name (cheaper per row);
    # the name is put together here exactly as ``stratum_expression`` does it in SQL.
    dims = {f"d{i}": _dimension(name, design) for i, name in enumerate(design.strata_by)}
    rows = population.order_by().annotate(**dims).values(*dims).annotate(n=Count("id")).values_list(*dims, "n")
    counts: dict[str, int] = {}
    for *values, n in rows:
        key = "|".join(f"{name}={'' if v is None else v}" for name, v in zip(design.strata_by, values, strict=True))
        counts[key] = counts.get(key, 0) + n
    return dict(sorted(counts.items()))


def allocation_for(design: Design, sample_size: int, counts: dict[str, int]) -> dict[str, int]:
    if design.type == "simple_random":
        return {"": min(sample_size, counts.get("", 0))}
    return planner.allocate(sample_size, counts, method=design.allocation, sizes=design.sizes,
                            weights=design.oversample)


# --- Draw ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SampledUnit:
    case_id: int
    stratum: str
    inclusion_probability: float


@dataclass(frozen=True)
class Sample:
    units: list[SampledUnit]
    population_size: int
    population_hash: str
    strata: dict[str, tuple[int, int]]  # stratum -> (population, sample)

    @property
    def case_ids(self) -> list[int]:
        return [u.case_id for u in self.units]


def _cutoff(quota: int, stratum_size: int) -> int:
    """A rank below which about ``1.1 n + 4.4 sqrt(n) + 18`` of the stratum's ``N`` cases fall
    (4 standard deviations above ``n``): ``P`` when that is the whole stratum."""
    expected = 1.1 * quota + 4.4 * math.sqrt(quota) + 18
    if expected >= stratum_size:
        return PRIME
    return min(PRIME, math.ceil(PRIME * expected / stratum_size))


def _candidates(population: QuerySet[CaseModel], design: Design, rank, cutoffs: dict[str, int], *,
                every_stratum: bool):
    """(id, stratum, source_key, rank) of the cases whose rank is below their stratum's cut-off
    (``every_stratum``: ``cutoffs`` names every stratum of the population): one scan, no sort."""
    base = population.order_by().alias(r=rank)
    top = max(cutoffs.values())
    if top < PRIME:  # cheap test first, so that the stratum is computed for candidates only
        base = base.filter(r__lt=top)
    if design.type == "simple_random":
        return list(base.annotate(rank=F("r"), stratum_key=Value("", output_field=CharField()))
                    .values_list("id", "stratum_key", "source_key", "rank"))
    stratum = stratum_expression(design)
    if not every_stratum or any(c < PRIME for c in cutoffs.values()):
        base = base.alias(cut=StratumCutoff(stratum, cutoffs)).filter(r__lt=F("cut"))
    return list(base.annotate(rank=F("r"), stratum_key=stratum).values_list("id", "stratum_key", "source_key",
                                                                             "rank"))


def _first_by_rank(population: QuerySet[CaseModel], design: Design, seed: int, quotas: dict[str, int],
                   counts: dict[str, int]) -> list[tuple[int, str, str]]:
    """The first ``quotas[h]`` cases of each stratum by ``(rank, source_key)``; see the module's
    docstring on candidates. Strata short of candidates are asked again with a larger cut-off."""
    rank = SeededRank("source_key", seed)
    wanted = {s: q for s, q in quotas.items() if q}
    cutoffs = {s: _cutoff(q, counts[s]) for s, q in wanted.items()}
    chosen: list[tuple[int, str, str]] = []
    while cutoffs:
        by_stratum: dict[str, list[tuple[int, str, int]]] = {s: [] for s in cutoffs}
        every_stratum = set(cutoffs) == {s for s, n in counts.items() if n}
        for cid, s, key, r in _candidates(population, design, rank, cutoffs, every_stratum=every_stratum):
            by_stratum[s].append((r, key, cid))
        short = {}
        for s, rows in by_stratum.items():
            if len(rows) >= wanted[s] or cutoffs[s] >= PRIME:
                rows.sort()
                chosen += [(cid, s, key) for _, key, cid in rows[:wanted[s]]]
            else:
                short[s] = min(PRIME, cutoffs[s] * 4)
        cutoffs = short
    return chosen


def draw_sample(population: QuerySet[CaseModel], *, seed: int, sample_size: int, design: Design) -> Sample:
    """Draw ``sample_size`` cases of ``population`` under ``design`` with ``seed``; each unit
    carries its stratum and inclusion probability n_h / N_h. Pure function of (population, seed,
    design, size): no write. Queries, simple random: the population hash, which also ranks the
    keys (``stream_simple_random``), and the ids of the sample's keys. Stratified: the population
    hash, the stratum counts, one candidates query (rarely more, see ``_first_by_rank``)."""
    keys = None
    if design.type == "simple_random":
        size, digest, keys = stream_simple_random(population, seed, sample_size)
    else:
        size, digest = population_fingerprint(population)
    if not size:
        counts: dict[str, int] = {}
    elif design.type == "simple_random":
        counts = {"": size}
    else:
        counts = stratum_counts(population, design)
    quotas = allocation_for(design, sample_size, counts) if size else {}
    if keys is not None:
        ids: dict[str, int] = {}
        for i in range(0, len(keys), ID_LOOKUP):  # one query for a sample of up to ID_LOOKUP cases
            ids.update(population.order_by().filter(source_key__in=keys[i:i + ID_LOOKUP])
                       .values_list("source_key", "id"))
        rows = [(ids[k], "", k) for k in keys]
    else:
        rows = _first_by_rank(population, design, seed, quotas, counts)
    # Units in source-key order: the rows' ids (and so the assignment order) say nothing of the rank.
    units = [SampledUnit(cid, s, quotas[s] / counts[s]) for cid, s, _ in sorted(rows, key=lambda r: r[2])]
    return Sample(units=units, population_size=size, population_hash=digest,
                  strata={s: (counts[s], quotas.get(s, 0)) for s in counts})


def draw_campaign_sample(campaign: Campaign, *, seed: int) -> Sample:
    return draw_sample(campaign_population(campaign), seed=seed, sample_size=campaign.sample_size,
                       design=Design.from_dict(campaign.design))


def draw_simple_random_sample(campaign: Campaign, *, seed: int) -> Sample:
    """The campaign's population drawn without strata (kept for audits and tests)."""
    return draw_sample(campaign_population(campaign), seed=seed, sample_size=campaign.sample_size, design=Design())
