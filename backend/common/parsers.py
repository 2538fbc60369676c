"""The API's request parsers: bounded, and refusing NUL characters.

DRF's own parsers read a JSON body whole, whatever its size (Django's DATA_UPLOAD_MAX_MEMORY_SIZE
guards ``request.body``, which DRF does not use), and let ``RecursionError`` escape from a deeply
nested document: a 500 for anyone, even anonymous on ``POST /api/auth/token/``. These parsers
answer each of those with a 4xx in the project error shape:

- a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes: 413 ``request_too_large``;
- JSON nested deeper than ``API_JSON_MAX_DEPTH`` (objects and arrays): 400 ``invalid``;
- a NUL character (``\\u0000``) in any key or string value, JSON or form: 400 ``invalid``, naming
  the field (PostgreSQL cannot store NUL in text, and no legitimate input carries one).
"""

import json

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError, ValidationError

DEFAULT_MAX_DEPTH = 20


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def max_body_bytes() -> int:
    return int(getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or 2_621_440)


def max_depth() -> int:
    return int(getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def _label(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "body"


def check_json_value(data, *, depth_limit: int | None = None) -> None:
    """Raise ``ValidationError`` when ``data`` (parsed JSON) nests deeper than the limit or holds a
    NUL character in a key or a string. Iterative: the check itself cannot overflow the stack."""
    limit = max_depth() if depth_limit is None else depth_limit
    stack = [(data, (), 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list) and depth > limit:
            raise ValidationError({_label(path): [f"Nested more than {limit} levels deep."]})
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise ValidationError({_label(path): ["Null characters are not allowed."]})
                stack.append((item, (*path, key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, (*path, i), depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str) and "\x00" in value:
            raise ValidationError({_label(path): ["Null characters are not allowed."]})


def read_bounded(stream) -> bytes:
    """The body, read up to the limit: one byte more means too large, whatever Content-Length says."""
    if stream is None:
        return b""
    limit = max_body_bytes()
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
    return body


class BoundedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        body = read_bounded(stream)
        try:
            data = json.loads(body.decode(encoding), parse_constant=_refuse_constant)
        except RecursionError:
            raise ValidationError({"body": [f"Nested more than {max_depth()} levels deep."]}) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        check_json_value(data)
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _check_querydict(data) -> None:
    for key, values in data.lists():
        if "\x00" in key or any(isinstance(v, str) and "\x00" in v for v in values):
            raise ValidationError({key.replace("\x00", "") or "body": ["Null characters are not allowed."]})


class NulRefusingFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_querydict(data)
        return data


class NulRefusingMultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _check_querydict(result.data)
        for key, files in result.files.lists():
            if any("\x00" in (f.name or "") for f in files):
                raise ValidationError({key: ["Null characters are not allowed."]})
        return result
