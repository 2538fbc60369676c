"""Who may change accounts. Plain predicates, reused by the services, the admin and the commands."""

from .enums import PROTECTED_CREDENTIAL_ROLES, TWO_PERSON_ROLES, Role


def can_administer_accounts(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active
                and (user.role == Role.ADMIN or user.is_superuser))


def can_change_role(actor, target) -> bool:
    """Nobody changes their own role."""
    return can_administer_accounts(actor) and actor.pk != target.pk


def role_change_needs_second_person(old_role: str, new_role: str) -> bool:
    return old_role in TWO_PERSON_ROLES or new_role in TWO_PERSON_ROLES


def can_reset_credentials_directly(actor, target) -> bool:
    """An administrator resets the password or second factor of an ordinary account; never their
    own (they use their own flow), never a DPO's or a chair's (a second administrator approves)."""
    return (can_administer_accounts(actor) and actor.pk != target.pk
            and target.role not in PROTECTED_CREDENTIAL_ROLES)


def can_request_change(actor, target) -> bool:
    return can_administer_accounts(actor) and actor.pk != target.pk


def can_decide_change(actor, change) -> bool:
    """A second administrator: neither the one who asked nor the account concerned."""
    return (can_administer_accounts(actor) and actor.pk != change.requested_by_id
            and actor.pk != change.target_id)
