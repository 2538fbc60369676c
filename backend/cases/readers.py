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
from typing import Any, BinaryIO

from common.exceptions import ValidationFailed

from .enums import ImportFormat

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


def guess_format(filename: str) -> str:
    name = filename.lower()
    if name.endswith((".jsonl", ".ndjson")):
        return ImportFormat.JSONL
    if name.endswith((".fhir.json", ".bundle.json")) or "fhir" in name:
        return ImportFormat.FHIR
    if name.endswith(".json"):
        return ImportFormat.JSON
    return ImportFormat.CSV


def read_records(stream: BinaryIO, info: SourceInfo, fmt: str) -> tuple[list[str] | None, Iterator]:
    """The header when the format has one (CSV), and an iterator of (line, record)."""
    text = io.TextIOWrapper(stream, encoding=info.encoding, newline="")
    if fmt == ImportFormat.CSV:
        return _csv(text)
    if fmt == ImportFormat.JSONL:
        return None, _jsonl(text)
    data = _load_json(text)
    if fmt == ImportFormat.FHIR:
        from .fhir import bundle_records

        return None, iter(list(bundle_records(data)))  # validated before anything is written
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValidationFailed("The JSON file must be a list of objects, one per case.")
    return sorted({k for r in data for k in r}), iter([(i + 1, r) for i, r in enumerate(data)])


def _load_json(text) -> Any:
    try:
        return json.loads(text.read())
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"The JSON file is not valid: {exc.msg} at line {exc.lineno}.") from exc


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


def _jsonl(text) -> Iterator:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"The JSON Lines file is not valid: {exc.msg} at line {number}.") from exc
        if not isinstance(record, dict):
            raise ValidationFailed(f"The JSON Lines file must hold one object per line (line {number}).")
        yield number, record
