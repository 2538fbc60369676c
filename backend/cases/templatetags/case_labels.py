"""``{{ value|label_display }}``: an AI output label as a person reads it ("Pas de fracture",
not ``no_fracture``), for templates rendered outside a view that prepares it (the minutes)."""

from django import template

from cases.labels import label_display as _label_display

register = template.Library()


@register.filter
def label_display(value) -> str:
    return _label_display(value)
