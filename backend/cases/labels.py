"""Display names of the AI systems' output labels, shared by the web pages and the reports.

Msgids are English; the French texts live in ``backend/locale/fr/LC_MESSAGES/django.po``.
"""

from django.utils.translation import gettext_lazy as _

# Output labels of the AI systems we know. Any other label is shown as stored: an AI system's
# taxonomy is data, and a raw label is better than a wrong translation.
KNOWN_LABELS = {
    "fracture": _("Fracture"),
    "no_fracture": _("No fracture"),
    "reduced_ef": _("Reduced LVEF"),
    "normal_ef": _("Normal LVEF"),
    "positive": _("Positive"),
    "negative": _("Negative"),
}


def label_display(label: str | None) -> str:
    if not label:
        return ""
    return str(KNOWN_LABELS.get(label, label))
