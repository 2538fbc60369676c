"""The uploads storages: files in the database, written and read in chunks with flat memory, and
the S3 backend against a real S3-compatible server on loopback (moto's server, started here)."""

import io
import socket
import tracemalloc

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer

from accounts.enums import Role
from cases.enums import ImportStatus
from cases.models import Case, ImportBatch
from cases.services import import_enqueue
from common.models import StoredFile, StoredFileChunk
from common.storage import DatabaseStorage, uploads_storage
from common.storage_settings import storage_from_env
from tests.factories import AISystemFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "accession_number;patient_id;exam_date;site;report_text;ai_label"
ROWS = f"{HEADER}\nS1;P1;01/03/2026;Nord;Pas de trait.;fracture\nS2;P2;02/03/2026;Sud;Trait net.;no_fracture\n"


class Generated(File):
    """``size`` bytes produced on the fly, never all in memory."""

    def __init__(self, size: int):
        super().__init__(None, name="generated")
        self.size_ = size

    @property
    def size(self):
        return self.size_

    def chunks(self, chunk_size=None):
        block = bytes(range(256)) * 4096  # 1 MiB, every byte value
        left = self.size_
        while left:
            yield block[:min(left, 333_333)]  # deliberately not the storage's chunk size
            left -= min(left, 333_333)


# --- The database storage ------------------------------------------------------------------------


def test_database_storage_round_trip_with_seeks_and_reads_across_chunks():
    storage = DatabaseStorage(chunk_size=7)
    data = bytes(range(50))
    name = storage.save("imports/a.upload", ContentFile(data))
    assert (name, storage.exists(name), storage.size(name)) == ("imports/a.upload", True, 50)
    assert list(StoredFileChunk.objects.order_by("index").values_list("index", flat=True)) == list(range(8))
    with storage.open(name) as f:
        assert f.read(10) == data[:10]
        assert f.read(20) == data[10:30]
        f.seek(48)
        assert f.read() == data[48:]
        f.seek(0)
        assert f.read() == data
        f.seek(3)
        assert b"".join(f.chunks(5)) == data  # chunks() starts over from the beginning


def test_database_storage_names_lists_and_deletes():
    storage = DatabaseStorage()
    first = storage.save("imports/x.upload", ContentFile(b"one"))
    second = storage.save("imports/x.upload", ContentFile(b"two"))
    storage.save("other/y.upload", ContentFile(b"three"))
    assert first == "imports/x.upload" and second != first and second.startswith("imports/x_")
    assert storage.listdir("imports") == ([], sorted([first.split("/")[1], second.split("/")[1]]))
    assert storage.listdir("") == (["imports", "other"], [])
    assert storage.get_modified_time(first) == StoredFile.objects.get(name=first).created_at
    storage.delete(first)
    storage.delete(first)  # deleting what is gone is no error
    with storage.open(second) as f:
        assert f.read() == b"two"
    assert (storage.exists(first), StoredFile.objects.count(), StoredFileChunk.objects.count()) == (False, 2, 2)
    with pytest.raises(FileNotFoundError):
        storage.open(first)
    with pytest.raises(ValueError, match="opened for reading only"):
        storage.open(second, "wb")


def test_database_storage_half_written_file_leaves_nothing():
    class Broken(File):
        def chunks(self, chunk_size=None):
            yield b"x" * 10
            raise OSError("connection reset by peer")

    storage = DatabaseStorage(chunk_size=4)
    with pytest.raises(OSError, match="connection reset"):
        storage.save("imports/broken.upload", Broken(io.BytesIO(), name="broken"))
    assert (StoredFile.objects.count(), StoredFileChunk.objects.count()) == (0, 0)


def test_database_storage_reads_one_chunk_per_query(django_assert_num_queries):
    storage = DatabaseStorage(chunk_size=1024)
    name = storage.save("imports/q.upload", ContentFile(b"z" * 4000))
    with django_assert_num_queries(1 + 4):  # the file row, then its 4 chunks
        with storage.open(name) as f:
            assert len(f.read()) == 4000


def peaks(size: int) -> tuple[int, int]:
    """Python's peak memory while ``size`` bytes are written, then while they are read back."""
    storage = DatabaseStorage()
    tracemalloc.start()
    try:
        name = storage.save("imports/big.upload", Generated(size))
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = 0
        with storage.open(name) as f:
            while block := f.read(256 * 1024):
                total += len(block)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (total, storage.size(name), StoredFileChunk.objects.filter(file__name=name).count()) == (
        size, size, -(-size // (1024 * 1024)))
    storage.delete(name)
    return write_peak, read_peak


def test_database_storage_memory_stays_flat_whatever_the_size():
    """8 MiB and 32 MiB written and read back in 1 MiB chunks: the peak does not grow with the
    file (the database driver's own buffers make it a few chunks, not the file)."""
    MiB = 1024 * 1024
    small, large = peaks(8 * MiB), peaks(32 * MiB)
    assert large[0] < small[0] + 2 * MiB and large[1] < small[1] + 2 * MiB, (small, large)
    assert max(*small, *large) < 16 * MiB, (small, large)


# --- Configuration ---------------------------------------------------------------------------------


@pytest.mark.unit
def test_storage_from_env_defaults_to_the_database():
    assert storage_from_env({}) == {"BACKEND": "common.storage.DatabaseStorage"}
    assert storage_from_env({"CGH_STORAGE": " Database "}) == {"BACKEND": "common.storage.DatabaseStorage"}


@pytest.mark.unit
def test_storage_from_env_s3():
    assert storage_from_env({"CGH_STORAGE": "s3", "CGH_S3_BUCKET": "cgh-uploads", "CGH_S3_PREFIX": "/college/",
                             "CGH_S3_ENDPOINT_URL": "https://s3.chu.example", "CGH_S3_REGION": "eu-west-3",
                             "CGH_S3_ACCESS_KEY_ID": "AK", "CGH_S3_SECRET_ACCESS_KEY": "SK",
                             "CGH_S3_ADDRESSING_STYLE": "path"}) == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "cgh-uploads", "location": "college", "file_overwrite": False, "default_acl": None,
                    "querystring_auth": False, "max_memory_size": 1024 * 1024,
                    "endpoint_url": "https://s3.chu.example", "region_name": "eu-west-3", "access_key": "AK",
                    "secret_key": "SK", "addressing_style": "path"}}


@pytest.mark.unit
@pytest.mark.parametrize(("environ", "message"), [
    ({"CGH_STORAGE": "disk"}, "CGH_STORAGE must be 'database' or 's3', not 'disk'."),
    ({"CGH_STORAGE": "s3"}, "CGH_STORAGE=s3 needs CGH_S3_BUCKET, the bucket that holds the uploads."),
])
def test_storage_from_env_refuses_what_it_cannot_use(environ, message):
    with pytest.raises(ImproperlyConfigured) as raised:
        storage_from_env(environ)
    assert str(raised.value) == message


# --- S3 against a real S3-compatible server on loopback --------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3-compatible HTTP server, in a thread of this process, on a free loopback port."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_uploads(s3_server, settings, tmp_path):
    """STORAGES["uploads"] on a fresh bucket of the server; yields the boto3 client to look in it."""
    bucket = f"cgh-{tmp_path.name.lower().replace('_', '-')}"[:63]
    env = {"CGH_STORAGE": "s3", "CGH_S3_BUCKET": bucket, "CGH_S3_ENDPOINT_URL": s3_server, "CGH_S3_REGION": "us-east-1",
           "CGH_S3_ACCESS_KEY_ID": "testing", "CGH_S3_SECRET_ACCESS_KEY": "testing", "CGH_S3_PREFIX": "college",
           "CGH_S3_ADDRESSING_STYLE": "path"}
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "uploads": storage_from_env(env)}
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploading")  # where a read spills over 1 MiB
    (tmp_path / "uploading").mkdir()
    yield client, bucket


def keys(client, bucket) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_s3_storage_round_trip_on_a_real_server(s3_uploads):
    client, bucket = s3_uploads
    storage = uploads_storage()
    data = bytes(range(256)) * 10_000  # 2.5 MB: more than the 1 MiB kept in memory
    name = storage.save("imports/a.upload", ContentFile(data))
    assert keys(client, bucket) == ["college/imports/a.upload"]
    assert client.get_object(Bucket=bucket, Key="college/imports/a.upload")["Body"].read() == data
    assert storage.listdir("imports") == ([], ["a.upload"])
    with storage.open(name) as f:
        assert f.read() == data
    storage.delete(name)
    assert keys(client, bucket) == []


def test_s3_queued_import_reads_the_upload_from_the_bucket_and_deletes_it(s3_uploads,
                                                                          django_capture_on_commit_callbacks):
    client, bucket = s3_uploads
    user, ai = UserFactory(role=Role.QUALITY), AISystemFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = import_enqueue(actor=user, ai_system=ai, upload=SimpleUploadedFile("export.csv", ROWS.encode()))
    (key,) = keys(client, bucket)
    assert key == f"college/{batch.stored_file}"
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == ROWS.encode()
    assert StoredFile.objects.count() == 0  # nothing went to the database storage
    for callback in callbacks:
        callback()  # the task (ImmediateBackend)
    batch = ImportBatch.objects.get(pk=batch.pk)
    assert (batch.status, batch.rows_created, batch.stored_file) == (ImportStatus.COMPLETED, 2, "")
    assert Case.objects.filter(import_batch=batch).count() == 2
    assert keys(client, bucket) == []
