"""Reads of AI systems, import batches and profiles, and cases outside campaigns, already scoped to
the caller.

AI systems are reference data read by whoever reads results (``permissions.can_view_ai_systems``);
imports and case-level data outside campaigns are for the quality team and administrators
(``permissions.can_import_cases``, ``permissions.can_view_cases``). A caller outside those roles
gets an empty queryset or ``None``, never an error: the views decide between 403 and 404.
"""

from django.db.models import QuerySet

from .models import AISystem, Case, ImportBatch, ImportProfile
from .permissions import can_import_cases, can_review_blinding_flags, can_view_ai_systems, can_view_cases
from .services import flagged_case_list


def ai_system_list_for_user(user, *, active_only: bool = False) -> QuerySet[AISystem]:
    """The AI systems by name (only those still in use with ``active_only``)."""
    if not can_view_ai_systems(user):
        return AISystem.objects.none()
    qs = AISystem.objects.order_by("name")
    return qs.filter(is_active=True) if active_only else qs


def ai_system_get_for_user(user, pk: int) -> AISystem | None:
    return ai_system_list_for_user(user).filter(pk=pk).first()


def import_profile_list_for_user(user) -> QuerySet[ImportProfile]:
    """Saved import profiles with their AI system (named in the choice), by name."""
    if not can_import_cases(user):
        return ImportProfile.objects.none()
    return ImportProfile.objects.select_related("ai_system").order_by("name")


def import_batch_list_for_user(user) -> QuerySet[ImportBatch]:
    """Import batches, newest first, with their AI system and author; the error and warning lists
    (large) are left unread."""
    if not can_import_cases(user):
        return ImportBatch.objects.none()
    return (ImportBatch.objects.select_related("ai_system", "created_by").defer("errors", "warnings")
            .order_by("-created_at", "-id"))


def import_batch_get_for_user(user, pk: int) -> ImportBatch | None:
    """One batch in full (with its error and warning lists and its profile)."""
    if not can_import_cases(user):
        return None
    return ImportBatch.objects.select_related("ai_system", "created_by", "profile").filter(pk=pk).first()


def case_get_for_user(user, pk: int) -> Case | None:
    """A case with its AI system, for the quality team (case-level data outside campaigns)."""
    if not can_view_cases(user):
        return None
    return Case.objects.select_related("ai_system").filter(pk=pk).first()


def flagged_case_list_for_user(user) -> QuerySet[Case]:
    """Cases held out of sampling for naming the AI or its output, oldest first, with their AI
    system and import batch (without the batch's error lists); the quality team only."""
    if not can_review_blinding_flags(user):
        return Case.objects.none()
    return flagged_case_list().select_related("import_batch").defer("import_batch__errors", "import_batch__warnings")


def flagged_case_count_for_user(user) -> int:
    """How many cases wait for the quality team's review (one query; 0 for anyone else)."""
    if not can_review_blinding_flags(user):
        return 0
    return Case.objects.exclude(blinding_flags=[]).count()
