"""Parallel row preparation: a file's records cut into chunks, and each chunk turned into a
``cases.rows.Prepared`` chunk, in file order, in this process or in a pool of worker processes
(parsing, HMAC, encryption and text scanning are CPU work). No database access here.
"""

import gc
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from ..rows import Prepared, RowContext, init_worker, prepare_chunk
from .rules import ColumnMapping

POOL_THRESHOLD = 50_000  # rows: below, a process pool costs more than it saves


def worker_count(expected_rows: int | None) -> int:
    """Processes preparing rows when the caller does not say: two (at most the machine's cores)
    for a file of ``POOL_THRESHOLD`` rows or more, else none but this one."""
    return min(2, os.cpu_count() or 1) if (expected_rows or 0) >= POOL_THRESHOLD else 1


def record_chunks(records: Iterator, size: int, mapping: ColumnMapping, is_csv: bool = False) -> Iterator[list]:
    """Lists of ``size`` (line, record) pairs; records other than CSV value lists are checked for
    identifier columns and given canonical keys on the way."""
    chunk: list = []
    for line, record in records:
        if not is_csv:
            mapping.check_columns(record.keys())
            record = mapping.canonical_record(record)
        chunk.append((line, record))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def prepared_chunks(chunks: Iterator, ctx: RowContext, workers: int) -> Iterator[Prepared]:
    """Prepared chunks in file order. With workers > 1, at most 2 × workers chunks are in flight, so
    memory stays bounded whatever the file size. The workers are forked with ``ctx`` (complete
    before the first chunk is submitted)."""
    if workers <= 1:
        for chunk in chunks:
            yield prepare_chunk(chunk, ctx)
        return
    # Objects alive at the fork move to the permanent generation: the workers' garbage collector
    # then never writes to them (reference counts aside), so their pages stay shared with this
    # process instead of being copied into each worker.
    gc.freeze()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=init_worker, initargs=(ctx,))
    try:
        pending = []
        for chunk in chunks:
            pending.append(pool.submit(prepare_chunk, chunk))
            if len(pending) >= 2 * workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
