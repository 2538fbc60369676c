"""The re-identification workflow (DESIGN §3): request by the chair with a justification,
decision by the data-protection officer, one-time reveal to each of them. Every step is audited;
the plain source reference is never stored, logged or audited."""

from django.db import IntegrityError, transaction

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from cases.source_reference import current_source_key, decrypt_source_reference
from common.exceptions import DomainError, TransitionNotAllowed, ValidationFailed, ensure
from common.fsm import apply_transition, save_transitioned

from . import permissions as perms
from .models import ReidentificationRequest

MIN_JUSTIFICATION = 20


class KeyUnavailable(DomainError):
    status_code = 503
    code = "key_unavailable"


def reidentification_request(*, actor, campaign_case, justification: str) -> ReidentificationRequest:
    """The chair asks to re-identify a case's patient. One open request per case."""
    ensure_no_identifiers(fields={"justification": justification})
    ensure(perms.can_request(actor, campaign_case), "Only the chair of the case's committee can request "
                                                     "re-identification.")
    justification = justification.strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise ValidationFailed("Explain why the patient may need to be recalled.",
                               extra={"justification": [f"at least {MIN_JUSTIFICATION} characters"]})
    if not campaign_case.case.source_reference:
        raise ValidationFailed("No source reference was kept for this case: it cannot be re-identified here.",
                               extra={"campaign_case": ["no source reference"]})
    try:
        with transaction.atomic():
            request = ReidentificationRequest.objects.create(
                campaign_case=campaign_case, requested_by=actor, justification=justification)
            audit_record(actor=actor, action="reidentification.request", target=request,
                         data={"campaign_case": campaign_case.pk, "justification": justification})
    except IntegrityError as exc:
        raise TransitionNotAllowed("A re-identification request is already open for this case.",
                                   extra={"campaign_case": campaign_case.pk}) from exc
    return request


def _locked(request: ReidentificationRequest) -> ReidentificationRequest:
    return (ReidentificationRequest.objects.select_for_update(of=("self",))
            .select_related("campaign_case__campaign", "campaign_case__case").get(pk=request.pk))


def _decide(actor, request, name: str, comment: str) -> ReidentificationRequest:
    with transaction.atomic():
        request = _locked(request)
        ensure(perms.can_decide(actor, request), "Only the data-protection officer decides.")
        apply_transition(request, name, by=actor, comment=comment.strip())
        save_transitioned(request, "decided_by", "decided_at", "decision_comment", "updated_at")
        audit_record(actor=actor, action=f"reidentification.{name}", target=request,
                     data={"comment": comment.strip()})
    return request


def reidentification_approve(*, actor, request: ReidentificationRequest, comment: str = "") -> ReidentificationRequest:
    ensure_no_identifiers(fields={"comment": comment})
    return _decide(actor, request, "approve", comment)


def reidentification_refuse(*, actor, request: ReidentificationRequest, comment: str) -> ReidentificationRequest:
    ensure_no_identifiers(fields={"comment": comment})
    if not comment.strip():
        raise ValidationFailed("Give the reason for refusing.", extra={"comment": ["required"]})
    return _decide(actor, request, "refuse", comment)


def reidentification_withdraw(*, actor, request: ReidentificationRequest) -> ReidentificationRequest:
    with transaction.atomic():
        request = _locked(request)
        ensure(perms.can_withdraw(actor, request), "Only the requesting chair can withdraw the request.")
        apply_transition(request, "withdraw")
        save_transitioned(request, "updated_at")
        audit_record(actor=actor, action="reidentification.withdraw", target=request)
    return request


def reidentification_reveal(*, actor, request: ReidentificationRequest) -> str:
    """Decrypt the source reference for the requesting chair or the deciding officer, once each;
    when both have seen it the request is completed. Returns the plain value, which the caller
    shows and never stores."""
    with transaction.atomic():
        request = _locked(request)
        ensure(perms.can_reveal(actor, request), "Only the requesting chair and the approving data-protection "
                                                 "officer may see the source reference.")
        to_requester = actor.pk == request.requested_by_id
        already = request.requester_revealed_at if to_requester else request.officer_revealed_at
        if already is not None:
            raise TransitionNotAllowed("The source reference has already been shown to you once.",
                                       code="already_revealed", extra={"revealed_at": already.isoformat()})
        apply_transition(request, "reveal", to_requester=to_requester)
        case = request.campaign_case.case
        key = current_source_key()
        if key is None or key.key_id != case.source_reference_key_id:
            raise KeyUnavailable("The key that encrypted this source reference is not available on this server; "
                                 "ask the administrator to install it (key id "
                                 f"{case.source_reference_key_id!r}).", extra={"key_id": case.source_reference_key_id})
        value = decrypt_source_reference(case.source_reference, key)
        fields = ["requester_revealed_at" if to_requester else "officer_revealed_at", "updated_at"]
        if request.requester_revealed_at and request.officer_revealed_at:
            apply_transition(request, "complete")
        save_transitioned(request, *fields)
        audit_record(actor=actor, action="reidentification.reveal", target=request,
                     data={"to": "requester" if to_requester else "data_protection_officer"})
    return value
