"""Serializer fields shared by the API's input serializers."""

from rest_framework import serializers

from .converters import ID_MAX


class IdField(serializers.IntegerField):
    """The id of a row given in a request body: a whole number that a database id column can hold
    (1 to 2**63 - 1). A larger number is a 400 naming the field, never a query that overflows."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)
