"""Reads of user accounts, already scoped to the caller.

The people a committee manager may pick (as a member, as the owner of a corrective action) are the
active accounts; nobody else lists accounts.
"""

from django.db.models import QuerySet

from .enums import CAMPAIGN_MANAGER_ROLES, COMMITTEE_OFFICER_ROLES
from .models import User


def user_choice_list_for_user(user) -> QuerySet[User]:
    """Active accounts by name, for the quality team, administrators and committee officers."""
    if not (user and user.is_authenticated and user.is_active
            and (user.role in CAMPAIGN_MANAGER_ROLES or user.role in COMMITTEE_OFFICER_ROLES)):
        return User.objects.none()
    return User.objects.filter(is_active=True).order_by("last_name", "first_name", "username")
