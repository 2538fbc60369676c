"""The upload size bound (``CGH_MAX_UPLOAD_MB``).

A request announcing a larger body is refused before it is read (``common.middleware``); this
upload handler, first in ``FILE_UPLOAD_HANDLERS``, counts what actually arrives, so that a body
sent without a Content-Length (chunked) or with a false one is cut off at the same bound. Files
above ``FILE_UPLOAD_MAX_MEMORY_SIZE`` are streamed to a temporary file on disk by the next
handler, never held in memory.
"""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


def max_upload_bytes() -> int:
    return int(getattr(settings, "MAX_UPLOAD_BYTES", 200 * 1024 * 1024))


class UploadTooLarge(RequestDataTooBig):
    """Answered 413 by the API's exception handler (Django answers a bare 400 elsewhere)."""

    def __init__(self, limit: int):
        super().__init__(f"The upload is larger than the limit of {limit // (1024 * 1024)} MB.")
        self.limit = limit


class MaxSizeUploadHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0
        if getattr(settings, "FILE_UPLOAD_TEMP_DIR", None):
            Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
        if content_length and content_length > max_upload_bytes():
            raise UploadTooLarge(max_upload_bytes())

    def receive_data_chunk(self, raw_data, start):
        self.received = getattr(self, "received", 0) + len(raw_data)
        if self.received > max_upload_bytes():
            raise UploadTooLarge(max_upload_bytes())
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler builds the file
