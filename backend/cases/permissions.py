from accounts.enums import CAMPAIGN_MANAGER_ROLES, RESULTS_READER_ROLES, Role


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def can_import_cases(user) -> bool:
    return _active(user) and user.role in CAMPAIGN_MANAGER_ROLES


def can_manage_ai_systems(user) -> bool:
    return _active(user) and user.role in CAMPAIGN_MANAGER_ROLES


def can_view_ai_systems(user) -> bool:
    return _active(user) and user.role in RESULTS_READER_ROLES


def can_view_cases(user) -> bool:
    """Case-level data outside campaigns: the quality team only (management sees aggregates)."""
    return _active(user) and user.role in CAMPAIGN_MANAGER_ROLES


def can_register_optouts(user) -> bool:
    """The opt-out register: the quality team and the data-protection officer."""
    return _active(user) and (user.role in CAMPAIGN_MANAGER_ROLES or user.role == Role.DPO)


def can_review_blinding_flags(user) -> bool:
    """Text flagged as naming the AI or its output (the flagged mention is shown, so AI output
    may be read): the quality team and the administrators, who never read blind."""
    return _active(user) and user.role in CAMPAIGN_MANAGER_ROLES
