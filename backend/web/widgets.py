"""Form widgets shared by the web forms.

A browser's ``<input type="date">`` accepts only an ISO value (``yyyy-mm-dd``): Django's plain
``DateInput`` renders the value in the active language's format (``31/12/2026`` in French),
which the browser rejects, so a pre-filled date came back empty. These widgets always render
ISO; the fields still accept the localized formats a person may type where there is no picker.
"""

from django import forms

ISO_DATE = "%Y-%m-%d"
ISO_DATETIME = "%Y-%m-%dT%H:%M"


class IsoDateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_DATE)


class IsoDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_DATETIME)
