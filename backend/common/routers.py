"""The API router: ``{id}`` in every route is the ``id`` converter (``common.converters``), so an
address whose id is not a database id (a float, a sign, a number past 2**63 - 1) is a 404 before
any view or query runs.

No format-suffix routes (``/api/campaigns/1.json``): the API speaks JSON only, and those routes
passed a ``format`` keyword that most actions do not take (a 500 on every suffixed address). A
suffixed address is now simply unknown, a 404."""

from rest_framework.routers import DefaultRouter


class Router(DefaultRouter):
    include_format_suffixes = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, use_regex_path=False, **kwargs)
        self._default_value_pattern = "id"
