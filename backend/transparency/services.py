"""Writes of the public texts: drafting, revising, submitting, approving or rejecting, publishing.

Every step checks who may take it (403), then the state (409, nothing changed), runs in one
transaction on the locked row and appends one ``public_text.<step>`` event to the audit trail.
Text typed by a person (FALC lines, a rejection reason, the register entry's free text) is scanned
for direct identifiers before anything is written (400 ``direct_identifier``).
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import override

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from cases.models import AISystem
from cases.services import PUBLIC_PROFILE_FIELDS, PUBLIC_PROFILE_TEXTS
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from common.fsm import apply_transition, ensure_can_proceed, save_transitioned
from reports.enums import Audience, ReportState
from reports.models import Report

from . import falc
from .enums import OPEN_STATES, TextKind, TextState
from .models import PublicText
from .permissions import can_decide_text, can_manage_public_texts

REGISTER_REQUIRED = ("public_purpose", "vendor", "human_oversight", "how_to_object", "public_contact")
"""What a register entry must say before it is submitted."""
REASON_MAX = 2000


def _audit(actor, step: str, text: PublicText, **data) -> None:
    audit_record(actor=actor, action=f"public_text.{step}", target=text,
                 data={"kind": text.kind, "version": text.version, "ai_system": text.ai_system_id,
                       "report": text.report_id, "state": text.state, **data})


def register_snapshot(ai_system: AISystem) -> dict:
    return {name: getattr(ai_system, name) for name in PUBLIC_PROFILE_FIELDS} | {"name": ai_system.name}


def _check_content(text: PublicText) -> None:
    """400 when the text would not be publishable as it stands: a register entry missing a
    required field, FALC lines breaking the rules; and ``direct_identifier`` for either."""
    if text.kind == TextKind.REGISTER:
        missing = {name: ["This field is required before the entry is submitted."]
                   for name in REGISTER_REQUIRED if not (text.content.get(name) or "").strip()}
        if missing:
            raise ValidationFailed("The register entry is incomplete.", extra=missing)
        ensure_no_identifiers(fields={name: text.content.get(name, "") for name in PUBLIC_PROFILE_TEXTS})
    else:
        lines = text.content.get("lines") or []
        errors = [f"Line {i}: {e}" for i, line in enumerate(lines, start=1) for e in falc.line_errors(line["text"])]
        if not lines:
            errors.append("Write at least one line.")
        if errors:
            raise ValidationFailed("The easy-to-read text breaks the FALC rules.", extra={"lines": errors})
        ensure_no_identifiers(fields={"lines": "\n".join(line["text"] for line in lines)})


def _open_text_exists(**subject) -> bool:
    return PublicText.objects.filter(state__in=OPEN_STATES, **subject).exists()


def _next_version(**subject) -> int:
    return (PublicText.objects.filter(**subject).aggregate(v=Max("version"))["v"] or 0) + 1


def register_text_draft(*, actor, ai_system: AISystem) -> PublicText:
    """A new register entry for ``ai_system``, taken from its public profile as it stands (edited
    through ``cases.services.ai_system_update_public_profile``). 403 unless the actor manages
    public texts; 409 while another entry of the system is still open (draft, submitted, approved
    or rejected). Locks the AI system's row."""
    ensure(can_manage_public_texts(actor), "Only the quality team writes public texts.")
    with transaction.atomic():
        locked = AISystem.objects.select_for_update().get(pk=ai_system.pk)
        subject = {"kind": TextKind.REGISTER, "ai_system": locked}
        if _open_text_exists(**subject):
            raise TransitionNotAllowed("A register entry of this AI system is already on its way: finish it first.",
                                       extra={"state": "open", "transition": "draft"})
        text = PublicText.objects.create(version=_next_version(**subject), content=register_snapshot(locked),
                                         author=actor, **subject)
        _audit(actor, "draft", text)
    return text


def falc_text_draft(*, actor, report: Report) -> PublicText:
    """The easy-to-read text of a published public report, built from its frozen public summary
    (:func:`transparency.falc.build_lines`, in the site's language). 403 unless the actor manages
    public texts; 400 for an internal report; 409 unless the report is published, or while another
    text of the report is open. Locks the report's row."""
    ensure(can_manage_public_texts(actor), "Only the quality team writes public texts.")
    with transaction.atomic():
        locked = Report.objects.select_for_update().select_related("campaign__ai_system").get(pk=report.pk)
        if locked.audience != Audience.PUBLIC:
            raise ValidationFailed("Only a public report has an easy-to-read version.",
                                   extra={"report": ["This report is not public."]})
        if locked.state != ReportState.PUBLISHED:
            raise TransitionNotAllowed(f"Cannot write the easy-to-read version of this report: it is {locked.state}.",
                                       extra={"state": locked.state, "transition": "draft"})
        subject = {"kind": TextKind.FALC, "report": locked}
        if _open_text_exists(**subject):
            raise TransitionNotAllowed("An easy-to-read text of this report is already on its way: finish it first.",
                                       extra={"state": "open", "transition": "draft"})
        with override(settings.LANGUAGE_CODE):
            lines = falc.build_lines(locked.figures.get("public"), ai_system_name=locked.campaign.ai_system.name)
        text = PublicText.objects.create(version=_next_version(**subject), content={"lines": lines}, author=actor,
                                         ai_system=locked.campaign.ai_system, **subject)
        _audit(actor, "draft", text)
    return text


def _locked(text: PublicText) -> PublicText:
    return PublicText.objects.select_for_update(of=("self",)).select_related("ai_system", "report").get(pk=text.pk)


def public_text_revise(*, actor, text: PublicText, lines: str | None = None) -> PublicText:
    """Rewrite a draft or a rejected text (it becomes a draft again). A register entry is taken
    again from the AI system's public profile; a FALC text gets ``lines`` (one sentence per line,
    :func:`transparency.falc.parse_lines`: 400 naming each faulty line; ``direct_identifier``).
    403 unless the actor manages public texts; 409 once submitted, approved or published."""
    ensure(can_manage_public_texts(actor), "Only the quality team writes public texts.")
    with transaction.atomic():
        locked = _locked(text)
        ensure_can_proceed(locked, "revise", action="edit")
        if locked.kind == TextKind.FALC:
            parsed = falc.parse_lines(lines or "")
            ensure_no_identifiers(fields={"lines": "\n".join(line["text"] for line in parsed)})
            content = {"lines": parsed}
        else:
            content = register_snapshot(locked.ai_system)
        apply_transition(locked, "revise", action="edit")
        locked.content = content
        save_transitioned(locked, "content", "rejection_reason", "updated_at")
        _audit(actor, "revise", locked)
    return locked


def public_text_submit(*, actor, text: PublicText) -> PublicText:
    """Send a draft to the patient representatives. 403 unless the actor manages public texts;
    409 unless it is a draft; 400 when it is not publishable as it stands."""
    ensure(can_manage_public_texts(actor), "Only the quality team submits public texts.")
    with transaction.atomic():
        locked = _locked(text)
        ensure_can_proceed(locked, "submit")
        _check_content(locked)
        apply_transition(locked, "submit", at=timezone.now())
        save_transitioned(locked, "submitted_at", "updated_at")
        _audit(actor, "submit", locked)
    return locked


def public_text_approve(*, actor, text: PublicText) -> PublicText:
    """A patient representative in office on a committee responsible for the AI system approves
    the submitted text. 403 for anyone else; 409 unless submitted."""
    with transaction.atomic():
        locked = _locked(text)
        ensure(can_decide_text(actor, locked), "Only a patient representative of the committee approves this text.")
        apply_transition(locked, "approve", by=actor, at=timezone.now())
        save_transitioned(locked, "decided_by", "decided_at", "updated_at")
        _audit(actor, "approve", locked)
    return locked


def public_text_reject(*, actor, text: PublicText, reason: str) -> PublicText:
    """As :func:`public_text_approve`, refusing the text with a ``reason`` (400 when blank or too
    long; ``direct_identifier`` when it carries one). The quality team revises and submits again."""
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = _locked(text)
        ensure(can_decide_text(actor, locked), "Only a patient representative of the committee rejects this text.")
        ensure_can_proceed(locked, "reject")
        if not reason:
            raise ValidationFailed("A rejection needs a reason.", extra={"reason": ["This field is required."]})
        if len(reason) > REASON_MAX:
            raise ValidationFailed("The reason is too long.", extra={"reason": [f"At most {REASON_MAX} characters."]})
        ensure_no_identifiers(fields={"reason": reason})
        apply_transition(locked, "reject", by=actor, at=timezone.now(), reason=reason)
        save_transitioned(locked, "decided_by", "decided_at", "rejection_reason", "updated_at")
        _audit(actor, "reject", locked, reason=reason)
    return locked


def public_text_publish(*, actor, text: PublicText) -> PublicText:
    """Publish an approved text: it replaces the text published before it for the same subject
    (superseded, in the same transaction). 403 unless the actor manages public texts; 409 unless
    approved, or when the report of a FALC text is no longer the published version."""
    ensure(can_manage_public_texts(actor), "Only the quality team publishes public texts.")
    with transaction.atomic():
        locked = _locked(text)
        ensure_can_proceed(locked, "publish")
        if locked.kind == TextKind.FALC and locked.report.state != ReportState.PUBLISHED:
            raise TransitionNotAllowed("The report of this text was corrected: write the text of the new version.",
                                       extra={"state": locked.report.state, "transition": "publish"})
        subject = ({"kind": TextKind.REGISTER, "ai_system_id": locked.ai_system_id} if locked.kind == TextKind.REGISTER
                   else {"kind": TextKind.FALC, "report_id": locked.report_id})
        previous = PublicText.objects.select_for_update().filter(state=TextState.PUBLISHED, **subject).first()
        if previous is not None:
            apply_transition(previous, "supersede")
            save_transitioned(previous, "updated_at")
            _audit(actor, "supersede", previous, superseded_by=locked.pk)
        apply_transition(locked, "publish", at=timezone.now())
        save_transitioned(locked, "published_at", "updated_at")
        _audit(actor, "publish", locked, supersedes=previous.pk if previous else None)
    return locked
