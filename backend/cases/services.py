"""Writes for AI systems."""

from django.db import transaction

from audit.services import audit_record
from common.exceptions import ValidationFailed, ensure

from .enums import OutputType
from .models import AISystem
from .permissions import can_manage_ai_systems


def ai_system_create(*, actor, name: str, vendor: str, version: str, intended_use: str, output_type: str,
                     labels: list[str], positive_label: str = "", score_threshold: float | None = None,
                     ce_class: str = "", acceptance_thresholds: dict | None = None) -> AISystem:
    """Register an AI system. A binary or score output needs exactly two labels, positive first."""
    ensure(can_manage_ai_systems(actor), "Only the quality team can register AI systems.")
    errors = {}
    if len(labels) < 2 or len(set(labels)) != len(labels):
        errors["labels"] = ["Give at least two distinct labels."]
    if output_type in (OutputType.BINARY, OutputType.SCORE):
        if len(labels) != 2:
            errors["labels"] = ["A binary or score output has exactly two labels."]
        elif positive_label != labels[0]:
            errors["positive_label"] = ["The positive label must be the first label."]
    if output_type == OutputType.SCORE and score_threshold is None:
        errors["score_threshold"] = ["A score output needs its threshold."]
    if errors:
        raise ValidationFailed("The AI system is not valid.", extra=errors)
    with transaction.atomic():
        ai = AISystem.objects.create(
            name=name, vendor=vendor, version=version, intended_use=intended_use, output_type=output_type,
            labels=labels, positive_label=positive_label, score_threshold=score_threshold, ce_class=ce_class,
            acceptance_thresholds=acceptance_thresholds or {},
        )
        audit_record(actor=actor, action="ai_system.create", target=ai, data={"name": name, "version": version})
    return ai
