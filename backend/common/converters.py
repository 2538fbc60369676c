"""URL converters for database ids.

Django's ``int`` converter accepts any run of digits, so ``/campaigns/99999999999999999999/`` used to
reach the database with a value no integer column can hold (SQLite raises ``OverflowError``, a 500).
``<id:pk>`` matches only what a ``BigAutoField`` can hold (1 to 2**63 - 1, plain ASCII digits, no
sign, no leading zero); anything else does not match the route, hence a 404 like any unknown
address. The DRF router (``common.routers.Router``) uses the same converter for ``{id}``.
"""

from django.urls import register_converter

ID_MAX = 2**63 - 1
"""The largest value of a signed 64-bit integer column (PostgreSQL bigint, SQLite INTEGER)."""


def parse_id(value) -> int | None:
    """The id that ``value`` (a string from a URL, a query string or a form) denotes, or None when it
    is not one: ASCII digits only (``"²"`` and ``"١"`` are digits to ``str.isdigit``, not to us),
    no sign, no leading zero, within 1..ID_MAX."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    if len(value) > 19 or (len(value) > 1 and value[0] == "0"):
        return None
    number = int(value)
    return number if 1 <= number <= ID_MAX else None


class IdConverter:
    regex = "[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(value)  # the route does not match: 404
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def register() -> None:
    register_converter(IdConverter, "id")
