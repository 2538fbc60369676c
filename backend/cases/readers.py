"""Reading import files as a stream of (line number, record) pairs.

CSV (UTF-8 with or without BOM, else Windows-1252; ``;`` or ``,``), JSON (a list of objects),
JSON Lines (one object per line) and FHIR R4 Bundles. CSV and JSON Lines are streamed from a file
or bytes, so that memory stays flat whatever the file size; JSON and FHIR documents are parsed
whole (use JSON Lines or CSV for large exports). A first pass over the bytes gives the SHA-256,
the number of lines (for the ETA) and the encoding, without holding the file in memory.
"""

import codecs
import csv
import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple

from django.conf import settings

from common.exceptions import ValidationFailed

from .enums import ImportFormat
from .fhir import bundle_records

CHUNK = 1 << 20


@dataclass
class SourceInfo:
    sha256: str
    size: int
    lines: int
    encoding: str


@contextmanager
def open_binary(*, raw: bytes | None = None, path: str | None = None):
    if raw is not None:
        yield io.BytesIO(raw)
    else:
        with open(path, "rb") as f:
            yield f


def inspect(stream: BinaryIO) -> SourceInfo:
    digest, size, lines = hashlib.sha256(), 0, 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        lines += chunk.count(b"\n")
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    encoding = "utf-8-sig" if utf8 else "cp1252"
    if not utf8:
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("cp1252")()
        try:
            while chunk := stream.read(CHUNK):
                decoder.decode(chunk)
        except UnicodeDecodeError as exc:  # not text at all (a spreadsheet, a PDF): the user's error
            raise ValidationFailed(
                "The file is neither UTF-8 nor Windows-1252 text: export it as CSV or JSON and import again."
            ) from exc
    stream.seek(0)
    return SourceInfo(digest.hexdigest(), size, lines, encoding)


def read_records(stream: BinaryIO, info: SourceInfo, fmt: str) -> tuple[list[str] | None, Iterator]:
    """The header when the format has one (CSV), and an iterator of (line, record)."""
    text = io.TextIOWrapper(stream, encoding=info.encoding, newline="")
    if fmt == ImportFormat.CSV:
        return _csv(text)
    if fmt == ImportFormat.JSONL:
        return None, _jsonl(text)
    limit = max_document_bytes()
    if info.size > limit:
        kind = "FHIR Bundle" if fmt == ImportFormat.FHIR else "JSON document"
        raise ValidationFailed(
            f"A {kind} is read whole: this one is larger than {limit // (1024 * 1024)} MB. Export the cases "
            "as CSV or JSON Lines (read as a stream), or split the file.", extra={"size": info.size, "limit": limit})
    data = _load_json(text)
    if fmt == ImportFormat.FHIR:
        return None, iter(list(bundle_records(data)))  # validated before anything is written
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValidationFailed("The JSON file must be a list of objects, one per case.")
    return sorted({k for r in data for k in r}), iter([(i + 1, r) for i, r in enumerate(data)])


def read_rows(raw: bytes, fmt: str) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Header and (line, record) pairs of a small file, all in memory (benchmarks)."""
    stream = io.BytesIO(raw)
    info = inspect(stream)
    header, records = read_records(stream, info, fmt)
    rows = list(records)
    if header is not None and rows and isinstance(rows[0][1], list):
        rows = [(line, dict(zip(header, values, strict=False))) for line, values in rows]
    return header or sorted({k for _, r in rows for k in r}), rows


def max_document_bytes() -> int:
    return int(getattr(settings, "MAX_DOCUMENT_BYTES", 20 * 1024 * 1024))


def _load_json(text) -> Any:
    try:
        return json.loads(text.read())
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"The JSON file is not valid: {exc.msg} at line {exc.lineno}.") from exc
    except RecursionError:
        raise ValidationFailed("The JSON file is nested too deeply to be a list of cases.") from None


def _csv(text) -> tuple[list[str], Iterator]:
    first = text.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter), [])]
    reader = csv.reader(text, delimiter=delimiter)

    def rows():
        try:
            for values in reader:
                if not values:
                    continue
                yield reader.line_num + 1, values
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            raise ValidationFailed(f"The CSV file cannot be read: {exc} (line {reader.line_num + 1}).") from exc

    return header, rows()


class CsvBlock(NamedTuple):
    """Whole CSV records, unparsed: ``text`` starts at physical line ``first_line`` of the file."""

    first_line: int
    text: str
    delimiter: str


def read_csv_blocks(stream: BinaryIO, info: SourceInfo, size: int) -> tuple[list[str], Iterator[CsvBlock]]:
    """The header, and the rest of a CSV file in blocks of ``size`` records, cut only between
    records: parsing a block (``parse_csv_block``, in a pool worker) gives exactly the records,
    line numbers and errors that ``read_records`` gives, while this process only splits lines."""
    text = io.TextIOWrapper(stream, encoding=info.encoding, newline="")
    first = text.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter), [])]

    def blocks():
        lines: list[str] = []
        start, records, inside = 2, 0, False
        for line in text:
            lines.append(line)
            if inside or '"' in line:
                inside = _ends_inside_quotes(line, inside, delimiter)
            if not inside:
                records += 1
                if records >= size:
                    yield CsvBlock(start, "".join(lines), delimiter)
                    start += len(lines)
                    lines, records = [], 0
        if lines:
            yield CsvBlock(start, "".join(lines), delimiter)

    return header, blocks()


def _ends_inside_quotes(line: str, inside: bool, delimiter: str) -> bool:
    """Whether the csv module, reading ``line`` (inside a quoted field at its start or not), ends it
    inside a quoted field, so that the record goes on to the next line. The states of the csv
    module's reader for the default dialect (``"`` quotes, doubled inside a quoted field; a quote
    elsewhere in a field is a plain character)."""
    pos, n = 0, len(line)
    while True:
        if inside:
            quote = line.find('"', pos)
            if quote < 0:
                return True
            if quote + 1 < n and line[quote + 1] == '"':  # a doubled quote: still inside
                pos = quote + 2
                continue
            inside = False
            pos = quote + 1  # after the closing quote, the field runs to the next delimiter
        elif pos < n and line[pos] == '"':  # a field that opens with a quote
            inside = True
            pos += 1
            continue
        delimiter_at = line.find(delimiter, pos)
        if delimiter_at < 0:
            return False
        pos = delimiter_at + 1


def parse_csv_block(block: CsvBlock) -> list[tuple[int, list[str]]]:
    """(line, values) for the records of a block, as ``read_records`` numbers them."""
    reader = csv.reader(io.StringIO(block.text, newline=""), delimiter=block.delimiter)
    offset = block.first_line - 1
    try:
        return [(offset + reader.line_num, values) for values in reader if values]
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise ValidationFailed(f"The CSV file cannot be read: {exc} (line {offset + reader.line_num}).") from exc


def _jsonl(text) -> Iterator:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"The JSON Lines file is not valid: {exc.msg} at line {number}.") from exc
        except RecursionError:
            raise ValidationFailed(f"The JSON Lines file is nested too deeply at line {number}.") from None
        if not isinstance(record, dict):
            raise ValidationFailed(f"The JSON Lines file must hold one object per line (line {number}).")
        yield number, record
