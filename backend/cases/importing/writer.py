"""The SQL writer of an import: prepared chunks written as they come, inside the batch
transaction held by the caller.

New cases go straight into the case table (PostgreSQL ``COPY``, SQLite ``executemany``), in file
order; records of existing cases go to a temporary staging table, where, once the whole file is
read, updates, unchanged records and frozen cases (already drawn into a campaign) are decided and
applied in SQL. A fresh import thus writes each row once, while the workers prepare the next
chunks.
"""

from typing import Any

from django.db import connection
from django.utils import timezone

from ..models import Case, OptOut
from ..rows import STAGED, UPDATABLE, Prepared, RowError

STAGE = "cgh_import_stage"
DUPLICATE = "the same accession number appears twice"


class Writer:
    """Writes prepared chunks for one batch of one AI system, then decides the staged records.

    A record whose pseudonymized accession number is new to the AI system is written straight into
    the case table. A record whose case already exists (a re-import, a corrected file) goes to the
    staging table, where ``finish`` compares it with its case. A record whose accession number came
    earlier in the file is a duplicate: the earlier record wins.

    Which keys exist is asked of the database per chunk, in the same transaction, so that the
    answer includes the cases this import has just written (``import_batch_id`` tells them apart).
    When the AI system had no case before the import, only the keys this import has already met
    can exist; a Bloom filter of those keys (a fixed 16 MiB, whatever the file size: a larger file
    only makes false positives more frequent) spares the question for every other key.

    Creating the writer creates the staging table; ``finish`` drops it.
    """

    LOOKUP = 900  # keys per query: under SQLite's bound-parameter limit
    BLOOM_BITS = 27  # 2**27 bits; three 27-bit slices of the key (an HMAC, uniformly spread)

    def __init__(self, cursor, *, ai_system_id: int, batch_id: int):
        self.cursor, self.ai_system_id, self.batch_id = cursor, ai_system_id, batch_id
        self.pg = connection.vendor == "postgresql"
        self.created = self.updated = self.unchanged = 0
        self.opted_out: list[str] = []  # keys of new cases whose patient opted out under a retired key
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        self.case_columns = ", ".join(("ai_system_id", "import_batch_id", "created_at", "updated_at",
                                       "is_opted_out", *STAGED))
        if self.pg:
            self.prefix = f"{ai_system_id}\t{batch_id}\t{now}\t{now}\tf\t"
        else:
            self.prefix = (ai_system_id, batch_id, now, now, False)
        self._create_stage()
        cursor.execute(f"SELECT 1 FROM {Case._meta.db_table} WHERE ai_system_id = %s LIMIT 1", [ai_system_id])
        self.bloom = None if cursor.fetchone() else bytearray(1 << (self.BLOOM_BITS - 3))

    def _create_stage(self) -> None:
        self.cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        types = {"exam_date": "date", "ai_score": "double precision", "patient_informed": "boolean"}
        cols = ", ".join(f"{c} {types.get(c, 'text')}" for c in STAGED)
        self.cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} (line integer NOT NULL, {cols}, case_id bigint, "
                            "first_diff text, frozen boolean)")

    def _candidates(self, keys: list[str]) -> list[str]:
        """The keys that may already exist: all of them, or those the Bloom filter may have met
        (then every key is added to the filter)."""
        bloom = self.bloom
        if bloom is None:
            return keys
        mask, shift = (1 << self.BLOOM_BITS) - 1, self.BLOOM_BITS
        maybe = []
        for key in keys:
            h = int(key[:21], 16)  # 84 bits
            met = True
            for i in (h & mask, (h >> shift) & mask, (h >> 2 * shift) & mask):
                bit, at = 1 << (i & 7), i >> 3
                if not bloom[at] & bit:
                    met = False
                    bloom[at] |= bit
            if met:
                maybe.append(key)
        return maybe

    def write(self, prepared: Prepared) -> list[RowError]:
        """Writes one chunk; returns the duplicates within the file, as row errors.

        After a key rotation (``prepared.retired`` not empty), a record whose case was imported
        under a retired key is found by its source key under that key, and staged with that
        key's pseudonyms and key id: it is compared with its case like with like, so that the
        same file adds and updates nothing, and a corrected record updates its case, which keeps
        its key id (``rekey_pseudonyms`` moves cases to the current key)."""
        self.opted_out += prepared.opted_out
        candidates = self._candidates(prepared.keys)
        if not candidates and self.bloom is not None:  # the usual chunk: every key is new, once
            self._insert(prepared.values)
            self.created += len(prepared.keys)
            return []
        lookup = candidates + [t[0] for _, triples in prepared.retired for t in triples]
        existing = self._existing(lookup) if lookup else {}
        values = prepared.values
        if isinstance(values, str):  # COPY text: one line per record, without the case columns
            cut = len(self.prefix)
            values = [row[cut:] for row in values.splitlines(keepends=True)]
        new, staged, duplicates, seen = [], [], [], set()
        for i, (line, key, row) in enumerate(zip(prepared.lines, prepared.keys, values, strict=True)):
            if key not in existing and prepared.retired:
                match = next(((key_id, triples[i]) for key_id, triples in prepared.retired
                              if triples[i][0] in existing), None)
                if match is not None:
                    staged.append((line, _under_key(row, *match)))
                    continue
            if key in existing:
                if existing[key] == self.batch_id:
                    duplicates.append(line)
                else:
                    staged.append((line, row))
            elif key in seen:
                duplicates.append(line)
            else:
                seen.add(key)
                new.append(row)
        if self.pg:
            self._insert("".join([self.prefix + row for row in new]))
        else:
            self._insert(new)
        self._stage(staged)
        self.created += len(new)
        return [RowError(line, "accession_number", DUPLICATE) for line in duplicates]

    def _existing(self, keys: list[str]) -> dict[str, int | None]:
        """Source key → import batch of the AI system's cases among ``keys``."""
        table = Case._meta.db_table
        found: dict[str, int | None] = {}
        if self.pg:
            self.cursor.execute(f"SELECT source_key, import_batch_id FROM {table} "
                                "WHERE ai_system_id = %s AND source_key = ANY(%s)", [self.ai_system_id, keys])
            found.update(self.cursor.fetchall())
            return found
        for i in range(0, len(keys), self.LOOKUP):
            part = keys[i:i + self.LOOKUP]
            self.cursor.execute(f"SELECT source_key, import_batch_id FROM {table} WHERE ai_system_id = %s "
                                f"AND source_key IN ({', '.join(['%s'] * len(part))})", [self.ai_system_id, *part])
            found.update(self.cursor.fetchall())
        return found

    def _insert(self, rows: list[tuple] | str) -> None:
        """Rows of new cases: tuples of STAGED values (SQLite), or COPY text with the case columns."""
        if not rows:
            return
        table = Case._meta.db_table
        if self.pg:
            with self.cursor.cursor.copy(f"COPY {table} ({self.case_columns}) FROM STDIN") as copy:
                copy.write(rows)
        else:
            marks = ", ".join(["%s"] * (5 + len(STAGED)))
            prefix = self.prefix
            self.cursor.executemany(f"INSERT INTO {table} ({self.case_columns}) VALUES ({marks})",
                                    [prefix + row for row in rows])

    def _stage(self, rows: list[tuple[int, Any]]) -> None:
        if not rows:
            return
        cols = ", ".join(("line", *STAGED))
        if self.pg:
            with self.cursor.cursor.copy(f"COPY {STAGE} ({cols}) FROM STDIN") as copy:
                copy.write("".join([f"{line}\t{row}" for line, row in rows]))
        else:
            marks = ", ".join(["%s"] * (len(STAGED) + 1))
            self.cursor.executemany(f"INSERT INTO {STAGE} ({cols}) VALUES ({marks})",
                                    [(line, *row) for line, row in rows])

    def finish(self, *, current_key_id: str) -> list[RowError]:
        """Once every chunk is written: decides the staged records (``decide``), updates the cases
        that changed (``apply_updates``), flags the new cases of opted-out patients, and drops the
        staging table. Returns the records refused at this step; ``created``, ``updated`` and
        ``unchanged`` then hold the counts."""
        errors = self.decide()
        self.apply_updates()
        self.flag_opted_out(current_key_id)
        self.cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        return errors

    def decide(self) -> list[RowError]:
        """In SQL, for the staged records (those whose case exists): duplicates within the file,
        first changed field, frozen cases (in a campaign: a change is refused). Sets ``updated``
        and ``unchanged``; returns the refused records."""
        cursor = self.cursor
        case_table = Case._meta.db_table
        campaign_case_table = Case._meta.get_field("campaign_cases").related_model._meta.db_table
        cursor.execute(f"SELECT 1 FROM {STAGE} LIMIT 1")
        if cursor.fetchone() is None:
            return []
        cursor.execute(f"CREATE INDEX {STAGE}_key ON {STAGE} (source_key, line)")
        if self.pg:
            cursor.execute(f"ANALYZE {STAGE}")
        errors: list[RowError] = []
        cursor.execute(f"SELECT s.line FROM {STAGE} s WHERE EXISTS (SELECT 1 FROM {STAGE} t "
                       "WHERE t.source_key = s.source_key AND t.line < s.line)")
        duplicates = [r[0] for r in cursor.fetchall()]
        errors += [RowError(line, "accession_number", DUPLICATE) for line in duplicates]
        if duplicates:
            cursor.execute(f"DELETE FROM {STAGE} WHERE line IN (SELECT s.line FROM {STAGE} s WHERE EXISTS ("
                           f"SELECT 1 FROM {STAGE} t WHERE t.source_key = s.source_key AND t.line < s.line))")
        distinct = "IS DISTINCT FROM"
        diff = " ".join(f"WHEN c.{f} {distinct} s.{f} THEN '{f}'" for f in UPDATABLE)
        cursor.execute(
            f"UPDATE {STAGE} SET case_id = m.id, first_diff = m.first_diff, frozen = m.frozen FROM ("
            f"SELECT s.line AS line, c.id AS id, CASE {diff} END AS first_diff, "
            f"EXISTS (SELECT 1 FROM {campaign_case_table} cc WHERE cc.case_id = c.id) AS frozen "
            f"FROM {STAGE} s JOIN {case_table} c ON c.ai_system_id = %s AND c.source_key = s.source_key) m "
            f"WHERE {STAGE}.line = m.line", [self.ai_system_id])
        cursor.execute(f"SELECT line, first_diff FROM {STAGE} WHERE first_diff IS NOT NULL AND frozen ORDER BY line")
        errors += [RowError(line, f, "the case is already in a campaign: it cannot change") for line, f in cursor]
        cursor.execute(
            f"SELECT SUM(CASE WHEN first_diff IS NULL THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN first_diff IS NOT NULL AND NOT frozen THEN 1 ELSE 0 END) FROM {STAGE}")
        self.unchanged, self.updated = (int(v or 0) for v in cursor.fetchone())
        return errors

    def apply_updates(self) -> None:
        """The staged records that changed a case not in any campaign update it."""
        case_table = Case._meta.db_table
        sets = [f"{f} = s.{f}" for f in UPDATABLE]
        sets.append("blinding_flags = s.blinding_flags::jsonb" if self.pg else "blinding_flags = s.blinding_flags")
        self.cursor.execute(
            f"UPDATE {case_table} SET {', '.join(sets)}, updated_at = %s FROM {STAGE} s "
            f"WHERE {case_table}.id = s.case_id AND s.first_diff IS NOT NULL AND NOT s.frozen", [timezone.now()])

    def flag_opted_out(self, current_key_id: str) -> None:
        """The new cases of patients on the opt-out register are flagged (and never sampled): in
        SQL for the opt-outs made with the current key (the new cases' key), and by source key for
        the records the workers found on the register under a retired key."""
        table = Case._meta.db_table
        optout_table = OptOut._meta.db_table
        for i in range(0, len(self.opted_out), self.LOOKUP):
            part = self.opted_out[i:i + self.LOOKUP]
            self.cursor.execute(
                f"UPDATE {table} SET is_opted_out = %s WHERE ai_system_id = %s AND import_batch_id = %s "
                f"AND source_key IN ({', '.join(['%s'] * len(part))})", [True, self.ai_system_id, self.batch_id, *part])
        self.cursor.execute(f"SELECT 1 FROM {optout_table} LIMIT 1")
        if self.cursor.fetchone() is None:
            return
        self.cursor.execute(
            f"UPDATE {table} SET is_opted_out = %s WHERE ai_system_id = %s AND import_batch_id = %s "
            f"AND patient_pseudonym IN (SELECT o.patient_pseudonym FROM {optout_table} o WHERE o.key_id = %s)",
            [True, self.ai_system_id, self.batch_id, current_key_id])


_SOURCE_AT, _PATIENT_AT, _KEY_ID_AT, _CLINICIAN_AT = (STAGED.index(f) for f in (
    "source_key", "patient_pseudonym", "key_id", "clinician_pseudonym"))


def _under_key(row: tuple | str, key_id: str, pseudonyms: tuple[str, str, str]) -> tuple | str:
    """A prepared record (a tuple in STAGED order, or a line of COPY text) with the pseudonyms and
    key id of a retired key in place of the current key's. Pseudonyms are hex and key ids plain
    characters: nothing to escape in COPY text."""
    out = row.split("\t") if isinstance(row, str) else list(row)
    out[_SOURCE_AT], out[_PATIENT_AT], out[_CLINICIAN_AT] = pseudonyms
    out[_KEY_ID_AT] = key_id
    return "\t".join(out) if isinstance(row, str) else tuple(out)
