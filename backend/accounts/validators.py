"""Password validator refusing a password that contains the account's own names.

Django's ``UserAttributeSimilarityValidator`` compares whole strings with a similarity ratio,
so "Dupont2024!secure" passes for Mrs Dupont. This one refuses any password that *contains* the
username, first name, last name or e-mail local part (each of at least 3 letters, and each
word of a compound name), ignoring case and accents.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MIN_PART = 3


def fold(text: str) -> str:
    """Lower case without accents: "Hélène" and "HELENE" fold to the same "helene"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def personal_parts(user) -> list[str]:
    values = [getattr(user, "username", ""), getattr(user, "first_name", ""), getattr(user, "last_name", "")]
    email = getattr(user, "email", "") or ""
    values.append(email.split("@", 1)[0])
    parts: set[str] = set()
    for value in values:
        folded = fold(value)
        if len(folded) >= MIN_PART:
            parts.add(folded)
        parts.update(word for word in re.split(r"[^0-9a-z]+", folded) if len(word) >= MIN_PART)
    return sorted(parts, key=lambda p: (-len(p), p))


class PersonalInformationValidator:
    def validate(self, password, user=None):
        if user is None:
            return
        folded = fold(password)
        squeezed = re.sub(r"[^0-9a-z]+", "", folded)
        for part in personal_parts(user):
            compact = re.sub(r"[^0-9a-z]+", "", part)
            if part in folded or (len(compact) >= MIN_PART and compact in squeezed):
                raise ValidationError(
                    _("The password must not contain your name, username or e-mail address."),
                    code="password_contains_personal_information")

    def get_help_text(self):
        return _("Your password must not contain your name, username or e-mail address.")
