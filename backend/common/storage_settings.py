"""The uploads storage chosen from the environment, for ``config.settings`` (no model imported
here: settings load before the apps). See ``common.storage`` for the storages themselves."""

import os

from django.core.exceptions import ImproperlyConfigured

DEFAULT_CHUNK_SIZE = 1024 * 1024
UPLOADS = "uploads"
"""The ``STORAGES`` alias of the uploads waiting for the task worker."""


def storage_from_env(environ: dict[str, str] | os._Environ = os.environ) -> dict:
    """The ``STORAGES`` entry for uploads: ``CGH_STORAGE=database`` (the default) or ``s3``, with
    ``CGH_S3_BUCKET`` (required), ``CGH_S3_ENDPOINT_URL`` (for an S3-compatible server: MinIO,
    Ceph, a hospital's object store), ``CGH_S3_REGION``, ``CGH_S3_ACCESS_KEY_ID`` and
    ``CGH_S3_SECRET_ACCESS_KEY`` (else boto3's usual sources: instance role, ~/.aws),
    ``CGH_S3_PREFIX`` (a key prefix, default none) and ``CGH_S3_ADDRESSING_STYLE`` (``path`` for
    most S3-compatible servers, ``virtual``, or unset for boto3's choice). S3 needs the optional
    ``s3`` extra (boto3). A read keeps at most 1 MiB in memory, the rest spills to a temporary
    file of the reading process."""
    kind = (environ.get("CGH_STORAGE") or "database").strip().lower()
    if kind == "database":
        return {"BACKEND": "common.storage.DatabaseStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"CGH_STORAGE must be 'database' or 's3', not {kind!r}.")
    bucket = (environ.get("CGH_S3_BUCKET") or "").strip()
    if not bucket:
        raise ImproperlyConfigured("CGH_STORAGE=s3 needs CGH_S3_BUCKET, the bucket that holds the uploads.")
    options = {
        "bucket_name": bucket,
        "location": (environ.get("CGH_S3_PREFIX") or "").strip("/"),
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": False,
        "max_memory_size": DEFAULT_CHUNK_SIZE,
    }
    for option, name in (("endpoint_url", "CGH_S3_ENDPOINT_URL"), ("region_name", "CGH_S3_REGION"),
                         ("access_key", "CGH_S3_ACCESS_KEY_ID"), ("secret_key", "CGH_S3_SECRET_ACCESS_KEY"),
                         ("addressing_style", "CGH_S3_ADDRESSING_STYLE")):
        if environ.get(name):
            options[option] = environ[name]
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
