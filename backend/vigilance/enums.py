from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _


class VigilanceState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    DECLARED = "declared", _("Declared")
    CLOSED = "closed", _("Closed")


class Seriousness(models.TextChoices):
    """Seriousness as the declaration needs it, and the legal clock it sets (EU AI Act art. 73)."""

    TO_ASSESS = "to_assess", _("To be assessed")
    DEATH = "death", _("Death of a person")
    SERIOUS_HARM = "serious_harm", _("Serious harm to a person's health")
    WIDESPREAD_INFRINGEMENT = "widespread_infringement", _(
        "Widespread infringement or serious disruption of critical infrastructure")
    FUNDAMENTAL_RIGHTS = "fundamental_rights", _("Infringement of fundamental rights")
    NOT_SERIOUS = "not_serious", _("Not a serious incident")


DECLARATION_DELAYS = {
    Seriousness.DEATH: timedelta(days=10),
    Seriousness.WIDESPREAD_INFRINGEMENT: timedelta(days=2),
}
"""Art. 73(2)–(4): at the latest 15 days after awareness, 10 days for a death, 2 days for a
widespread infringement (or a serious disruption of critical infrastructure)."""
DEFAULT_DECLARATION_DELAY = timedelta(days=15)
