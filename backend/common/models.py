from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class LockedRecord(models.Model):
    """A row that can be written once and never changed or deleted."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"A {self._meta.verbose_name_raw} is locked once written.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"A {self._meta.verbose_name_raw} is locked once written.")


class StoredFile(models.Model):
    """A file kept in the database by ``common.storage.DatabaseStorage``: its name, size and chunk
    size; the contents are the ``StoredFileChunk`` rows, so that a file of any size is written and
    read one chunk at a time. Used for uploads waiting for the task worker when no object storage
    is configured: every process that reaches the database reaches the file."""

    name = models.CharField(max_length=255, unique=True)
    size = models.BigIntegerField(default=0)
    chunk_size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "stored file"

    def __str__(self) -> str:
        return self.name


class StoredFileChunk(models.Model):
    """One chunk of a stored file's contents, numbered from 0; every chunk but the last is
    ``chunk_size`` bytes long."""

    file = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="+")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        verbose_name = "stored file chunk"
        constraints = [models.UniqueConstraint(fields=["file", "index"], name="stored_file_chunk_unique")]

    def __str__(self) -> str:
        return f"{self.file_id}#{self.index}"
