from accounts.enums import CAMPAIGN_MANAGER_ROLES, COMMITTEE_OFFICER_ROLES, RESULTS_READER_ROLES


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def can_manage_committees(user) -> bool:
    return _active(user) and (user.role in CAMPAIGN_MANAGER_ROLES or user.role in COMMITTEE_OFFICER_ROLES)


def can_view_committees(user) -> bool:
    return _active(user) and user.role in RESULTS_READER_ROLES


def can_declare_conflict(user, member) -> bool:
    return _active(user) and (member.user_id == user.pk or can_manage_committees(user))
