"""File storage that every application server and task worker reaches, whatever machine and
working directory they run in: the database (``DatabaseStorage``, the default, no configuration)
or S3-compatible object storage (django-storages' ``S3Storage``, ``CGH_STORAGE=s3``).

``common.storage_settings.storage_from_env`` builds the ``STORAGES["uploads"]`` entry from the
environment; ``uploads_storage`` is that storage. Uploads waiting for the task worker go
there (``cases.importing.batches``), never to a local directory that another process cannot see.

``DatabaseStorage`` keeps each file as one ``StoredFile`` row and its contents as numbered
``StoredFileChunk`` rows: a file is written and read one chunk at a time, so memory stays flat
whatever its size, and a file is written in one transaction (a killed process leaves no half
file). Files are never served over HTTP (no ``url``).
"""

import io
import os
import uuid

from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils.deconstruct import deconstructible

from .models import StoredFile, StoredFileChunk
from .storage_settings import DEFAULT_CHUNK_SIZE, UPLOADS


def uploads_storage() -> Storage:
    return storages[UPLOADS]


def unique_name(prefix: str, suffix: str = "") -> str:
    """A new random name under ``prefix`` (no caller-given part: nothing about the upload, such as
    its file name, shows in the storage's listing or logs)."""
    return f"{prefix.rstrip('/')}/{uuid.uuid4().hex}{suffix}"


@deconstructible(path="common.storage.DatabaseStorage")
class DatabaseStorage(Storage):
    """Files in the database, in chunks of ``chunk_size`` bytes (default 1 MiB)."""

    def __init__(self, chunk_size: int = DEFAULT_CHUNK_SIZE):
        if chunk_size <= 0:
            raise ImproperlyConfigured("DatabaseStorage: chunk_size must be a positive number of bytes.")
        self.chunk_size = chunk_size

    # -- writing

    def _save(self, name: str, content) -> str:
        """Write ``content`` chunk by chunk in one transaction; ``get_available_name`` made
        ``name`` free (a concurrent writer of the same name fails on the unique name)."""
        with transaction.atomic():
            stored = StoredFile.objects.create(name=name, chunk_size=self.chunk_size)
            size = 0
            for index, chunk in enumerate(_fixed_chunks(content, self.chunk_size)):
                StoredFileChunk.objects.create(file=stored, index=index, data=chunk)
                size += len(chunk)
            StoredFile.objects.filter(pk=stored.pk).update(size=size)
        return name

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        name = name.replace("\\", "/")
        if max_length is not None and len(name) > max_length:
            raise ValueError(f"The file name {name!r} is longer than {max_length} characters.")
        if not self.exists(name):
            return name
        root, ext = os.path.splitext(name)
        return f"{root}_{uuid.uuid4().hex[:8]}{ext}"

    # -- reading

    def _open(self, name: str, mode: str = "rb") -> File:
        if any(flag in mode for flag in "wa+"):
            raise ValueError("DatabaseStorage files are written with save(), and opened for reading only.")
        stored = StoredFile.objects.filter(name=name).values("pk", "size", "chunk_size").first()
        if stored is None:
            raise FileNotFoundError(f"No stored file named {name!r}.")
        raw = _ChunkReader(stored["pk"], stored["size"], stored["chunk_size"])
        return File(io.BufferedReader(raw, buffer_size=stored["chunk_size"]), name=name)

    def exists(self, name: str) -> bool:
        return StoredFile.objects.filter(name=name).exists()

    def size(self, name: str) -> int:
        size = StoredFile.objects.filter(name=name).values_list("size", flat=True).first()
        if size is None:
            raise FileNotFoundError(f"No stored file named {name!r}.")
        return size

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        """Directories and files directly under ``path`` ("/" separates directories)."""
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        dirs, files = set(), []
        for name in StoredFile.objects.filter(name__startswith=prefix).order_by("name").values_list("name", flat=True):
            head, sep, _ = name[len(prefix):].partition("/")
            if sep:
                dirs.add(head)
            else:
                files.append(head)
        return sorted(dirs), files

    def get_created_time(self, name: str):
        created = StoredFile.objects.filter(name=name).values_list("created_at", flat=True).first()
        if created is None:
            raise FileNotFoundError(f"No stored file named {name!r}.")
        return created

    get_modified_time = get_created_time  # a stored file is never rewritten

    def url(self, name):
        raise NotImplementedError("Files in the database are not served over HTTP.")

    # -- deleting

    def delete(self, name: str) -> None:
        """Delete the file and its chunks (one statement each, no chunk loaded); no error when it
        does not exist."""
        with transaction.atomic():
            pk = StoredFile.objects.filter(name=name).values_list("pk", flat=True).first()
            if pk is not None:
                StoredFileChunk.objects.filter(file_id=pk)._raw_delete(StoredFileChunk.objects.db)
                StoredFile.objects.filter(pk=pk)._raw_delete(StoredFile.objects.db)


def _fixed_chunks(content, size: int):
    """``content``'s bytes in pieces of exactly ``size`` bytes (the last one shorter), whatever
    sizes its own ``chunks()`` yields, so that a position maps to one chunk number."""
    pending = bytearray()
    for piece in content.chunks(size):
        if isinstance(piece, str):
            piece = piece.encode()
        pending += piece
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


class _ChunkReader(io.RawIOBase):
    """A seekable, read-only raw stream over a stored file's chunks: one chunk in memory at a
    time, each fetched by its number when a read reaches it."""

    def __init__(self, file_id: int, size: int, chunk_size: int):
        super().__init__()
        self.file_id, self.size_, self.chunk_size = file_id, size, chunk_size
        self.pos = 0
        self.index: int | None = None
        self.data = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size_}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.pos = base + offset
        return self.pos

    def readinto(self, buffer) -> int:
        if self.pos >= self.size_:
            return 0
        index, offset = divmod(self.pos, self.chunk_size)
        if index != self.index:
            data = StoredFileChunk.objects.filter(file_id=self.file_id, index=index).values_list(
                "data", flat=True).first()
            if data is None:
                raise OSError(f"Stored file {self.file_id} lacks its chunk {index}.")
            self.index, self.data = index, bytes(data)
        n = min(len(buffer), len(self.data) - offset)
        buffer[:n] = self.data[offset:offset + n]
        self.pos += n
        return n
