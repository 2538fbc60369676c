"""Vigilance reports: opened when a reviewer flags a possible adverse event (or by the committee's
officers), completed while a draft, declared to the health-product vigilance authority, closed.
Lock order: campaign case, then report; the audit chain head last."""

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from common.fsm import apply_transition, save_transitioned

from . import permissions as perms
from .enums import Seriousness, VigilanceState
from .models import VigilanceReport

EDITABLE_FIELDS = ("ai_version", "event_date", "aware_at", "description", "seriousness", "patient_consequences",
                   "actions_taken")


def vigilance_open_for_case(*, actor, campaign_case, aware_at: datetime | None = None) -> VigilanceReport:
    """The draft report of a case flagged as a possible adverse event, opened once per case: a
    second flag on the same case finds the existing report. Caller holds the campaign case's lock
    (which serialises two reviewers flagging at once). Side effect of the reviewer's own
    classification, so no permission is checked here."""
    existing = VigilanceReport.objects.filter(campaign_case=campaign_case).first()
    if existing is not None:
        return existing
    case = campaign_case.case
    report = VigilanceReport.objects.create(
        committee_id=campaign_case.campaign.committee_id, ai_system_id=case.ai_system_id,
        ai_version=case.ai_version, campaign_case=campaign_case, event_date=case.exam_date,
        aware_at=aware_at or timezone.now(), created_by=actor)
    audit_record(actor=actor, action="vigilance.open", target=report,
                 data={"campaign_case": campaign_case.pk, "source": "classification"})
    return report


def vigilance_create(*, actor, committee, ai_system, event_date: date, description: str, campaign_case=None,
                     ai_version: str = "", aware_at: datetime | None = None) -> VigilanceReport:
    """A report opened by hand by the committee's officers or the quality team."""
    ensure_no_identifiers(fields={"description": description, "ai_version": ai_version})
    ensure(perms.can_manage_vigilance(actor, committee.pk), "Only the committee's officers or the quality team "
                                                             "can open vigilance reports.")
    errors = {}
    if not committee.ai_systems.filter(pk=ai_system.pk).exists():
        errors["ai_system"] = ["not overseen by this committee"]
    if event_date > timezone.localdate():
        errors["event_date"] = ["in the future"]
    if not description.strip():
        errors["description"] = ["required"]
    if campaign_case is not None and campaign_case.campaign.committee_id != committee.pk:
        errors["campaign_case"] = ["a case of another committee"]
    if errors:
        raise ValidationFailed("The report is incomplete: " + ", ".join(sorted(errors)) + ".", extra=errors)
    try:
        with transaction.atomic():
            report = VigilanceReport.objects.create(
                committee=committee, ai_system=ai_system, ai_version=ai_version.strip(), campaign_case=campaign_case,
                event_date=event_date, aware_at=aware_at or timezone.now(), description=description.strip(),
                created_by=actor)
            audit_record(actor=actor, action="vigilance.open", target=report,
                         data={"campaign_case": campaign_case.pk if campaign_case else None, "source": "manual"})
    except IntegrityError as exc:
        raise ValidationFailed("This case already has a vigilance report.",
                               extra={"campaign_case": ["already reported"]}) from exc
    return report


def ensure_draft(report: VigilanceReport, action: str) -> None:
    """409 unless the report is a draft: a declared or closed report is what was sent."""
    if report.state != VigilanceState.DRAFT:
        raise TransitionNotAllowed(f"Cannot {action} this vigilance report: it is {report.state}.",
                                   extra={"state": report.state, "transition": action})


def _locked(report: VigilanceReport) -> VigilanceReport:
    return VigilanceReport.objects.select_for_update(of=("self",)).select_related("campaign_case").get(pk=report.pk)


def vigilance_update(*, actor, report: VigilanceReport, **changes) -> VigilanceReport:
    """Complete a draft. A declared or closed report is what was sent: it never changes (409)."""
    ensure_no_identifiers(fields={k: v for k, v in changes.items() if isinstance(v, str)})
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed("These fields cannot be changed.", extra={f: ["not editable"] for f in sorted(unknown)})
    if "seriousness" in changes and changes["seriousness"] not in Seriousness.values:
        raise ValidationFailed("Unknown seriousness.", extra={"seriousness": [f"One of {Seriousness.values}"]})
    if "event_date" in changes and changes["event_date"] > timezone.localdate():
        raise ValidationFailed("The event cannot be in the future.", extra={"event_date": ["in the future"]})
    if "aware_at" in changes and changes["aware_at"] > timezone.now():
        raise ValidationFailed("The college cannot become aware in the future.", extra={"aware_at": ["in the future"]})
    with transaction.atomic():
        report = _locked(report)
        ensure(perms.can_handle_report(actor, report))
        ensure_draft(report, "change")
        for name, value in changes.items():
            setattr(report, name, value.strip() if isinstance(value, str) else value)
        report.save(update_fields=[*changes, "updated_at"])
        audit_record(actor=actor, action="vigilance.update", target=report, data={"fields": sorted(changes)})
    return report


def vigilance_declare(*, actor, report: VigilanceReport, reference: str = "") -> VigilanceReport:
    """Record the declaration to the authority. Refused (409) until the report says what happened,
    how serious it is and what it meant for the patient."""
    ensure_no_identifiers(fields={"reference": reference})
    with transaction.atomic():
        report = _locked(report)
        ensure(perms.can_handle_report(actor, report))
        if report.state == VigilanceState.DRAFT and not report.is_declarable():
            missing = [f for f in ("description", "patient_consequences") if not getattr(report, f).strip()]
            if report.seriousness in (Seriousness.TO_ASSESS, Seriousness.NOT_SERIOUS):
                missing.append("seriousness")
            raise TransitionNotAllowed("This report cannot be declared yet: complete " + ", ".join(missing) + ".",
                                       extra={"missing": missing, "state": report.state})
        apply_transition(report, "declare", by=actor, reference=reference.strip())
        save_transitioned(report, "declared_at", "declared_by", "declaration_reference", "updated_at")
        clock = report.clock()
        audit_record(actor=actor, action="vigilance.declare", target=report, data={
            "reference": report.declaration_reference, "in_time": clock["declared_in_time"]})
    return report


def vigilance_close(*, actor, report: VigilanceReport, note: str) -> VigilanceReport:
    """Close a declared report, or a draft judged not to be a serious incident, with a note."""
    ensure_no_identifiers(fields={"note": note})
    if not note.strip():
        raise ValidationFailed("Say why the report is closed.", extra={"note": ["required"]})
    with transaction.atomic():
        report = _locked(report)
        ensure(perms.can_handle_report(actor, report))
        name = "close_without_declaration" if report.state == VigilanceState.DRAFT else "close"
        apply_transition(report, name, note.strip())
        save_transitioned(report, "closed_at", "closure_note", "updated_at")
        audit_record(actor=actor, action="vigilance.close", target=report,
                     data={"declared": bool(report.declared_at)})
    return report
