"""Writes of the reports app: publishing a frozen report, correcting it, editing a draft.

A published report never changes: its figures are computed once, serialised as canonical JSON
(sorted keys, no spaces, UTF-8) and hashed with SHA-256; a correction is a new version with a
reason, and the version it corrects is superseded in the same transaction. Every write is
audited in the hash-chained trail.
"""

import hashlib
import json

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from cases.identifiers import ensure_no_identifiers
from common.exceptions import TransitionNotAllowed, ValidationFailed, ensure
from common.fsm import apply_transition, save_transitioned
from reviews.models import Campaign

from . import pages, selectors
from .enums import Audience, ReportState
from .models import Report, ReportComment
from .permissions import can_comment_report, can_publish_report


def canonical_json(figures: dict) -> bytes:
    return json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def content_hash(figures: dict) -> str:
    return hashlib.sha256(canonical_json(figures)).hexdigest()


def report_figures(*, campaign: Campaign, audience: str) -> dict:
    """The figures a report freezes. Internal reports (committee and management) hold the
    dashboard's aggregates and charts without the AI-version subgroup, which is case-level
    knowledge; public reports hold the small-cell-suppressed summary only."""
    dashboard = selectors.campaign_dashboard(campaign, with_ai_version=False)
    if audience == Audience.PUBLIC:
        return {"audience": audience, "public": selectors.public_summary(dashboard)}
    context = pages.campaign_context(dashboard)
    return {"audience": audience, "dashboard": dashboard, "charts": context["charts"]}


def _check_campaign(campaign: Campaign) -> None:
    if campaign.state not in selectors.FIGURE_STATES:
        raise TransitionNotAllowed(
            f"Cannot publish a report of this campaign: it is {campaign.state}.",
            extra={"campaign_state": campaign.state, "transition": "publish"},
        )


def _create_and_publish(*, actor, campaign: Campaign, audience: str, title: str, version: int, reason: str = "",
                        supersedes: Report | None = None) -> Report:
    figures = json.loads(canonical_json(report_figures(campaign=campaign, audience=audience)))
    report = Report(campaign=campaign, audience=audience, version=version, title=title, figures=figures,
                    author=actor, reason=reason, supersedes=supersedes)
    report.save()
    apply_transition(report, "publish", at=timezone.now(), content_hash=content_hash(figures))
    save_transitioned(report, "published_at", "content_hash", "updated_at")
    return report


def _locked_campaign_for_report(actor, campaign: Campaign, audience: str, transition: str):
    """The campaign row locked, after the rules shared by drafting and publishing: a known
    audience (400), the actor may publish (403), the campaign has figures (409), no published
    report for that audience yet (409: correct it instead). Returns the campaign, the audience's
    draft if any, and the next version number."""
    if audience not in Audience.values:
        raise ValidationFailed("Unknown audience.", extra={"audience": [audience]})
    campaign = Campaign.objects.select_for_update().select_related("ai_system").get(pk=campaign.pk)
    ensure(can_publish_report(actor, campaign))
    _check_campaign(campaign)
    existing = Report.objects.filter(campaign=campaign, audience=audience)
    if existing.filter(state=ReportState.PUBLISHED).exists():
        raise TransitionNotAllowed(
            "A report is already published for this audience: publish a correction instead.",
            extra={"state": ReportState.PUBLISHED, "transition": transition},
        )
    draft = existing.filter(state=ReportState.DRAFT).select_for_update().first()
    version = (existing.aggregate(v=Max("version"))["v"] or 0) + 1
    return campaign, draft, version


def _default_title(campaign: Campaign) -> str:
    return _("Concordance report: %(name)s") % {"name": campaign.name}


def report_draft_create(*, actor, campaign: Campaign, audience: str, title: str = "") -> Report:
    """Prepare the ``audience`` report as a draft the committee reads and comments on before it
    is published: it holds the campaign's figures as of now (shown with the draft), no hash, and
    the next version number. Same rules as publishing (400, 403, 409), and 409 when a draft of
    that audience already exists. Locks the campaign row. Audit event ``report.draft``."""
    with transaction.atomic():
        campaign, draft, version = _locked_campaign_for_report(actor, campaign, audience, "draft")
        if draft is not None:
            raise TransitionNotAllowed("A draft of this report already exists: comment on it or publish it.",
                                       extra={"state": ReportState.DRAFT, "transition": "draft"})
        figures = json.loads(canonical_json(report_figures(campaign=campaign, audience=audience)))
        report = Report.objects.create(campaign=campaign, audience=audience, version=version, author=actor,
                                       title=title or _default_title(campaign), figures=figures)
        audit_record(actor=actor, action="report.draft", target=report,
                     data={"campaign": campaign.pk, "audience": audience, "version": version})
    return report


def report_publish(*, actor, campaign: Campaign, audience: str, title: str = "") -> Report:
    """Freeze the campaign's figures now as version 1 (or the next version after a withdrawn
    draft line) of the ``audience`` report; a draft of that audience, if any, is the one
    published (its figures recomputed now, its comments kept). 403 unless the actor may publish
    campaign figures and reads none of them blind; 409 while the campaign's review is running or
    when a published report already exists for that audience (correct it instead). Locks the
    campaign row so that two publications cannot race for the same version."""
    with transaction.atomic():
        campaign, draft, version = _locked_campaign_for_report(actor, campaign, audience, "publish")
        if draft is None:
            report = _create_and_publish(actor=actor, campaign=campaign, audience=audience, version=version,
                                         title=title or _default_title(campaign))
        else:
            report, version = draft, draft.version
            report.figures = json.loads(canonical_json(report_figures(campaign=campaign, audience=audience)))
            apply_transition(report, "publish", at=timezone.now(), content_hash=content_hash(report.figures))
            save_transitioned(report, "figures", "published_at", "content_hash", "updated_at")
        audit_record(actor=actor, action="report.publish", target=report,
                     data={"campaign": campaign.pk, "audience": audience, "version": version,
                           "content_hash": report.content_hash})
    return report


def report_correct(*, actor, report: Report, reason: str) -> Report:
    """Publish a corrected version: figures recomputed now, ``version + 1``, the ``reason``
    stated (400 when blank); the corrected version is superseded, never edited. 409 unless
    ``report`` is the published version; locks it (a concurrent correction gets 409)."""
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = Report.objects.select_for_update().select_related("campaign__ai_system").get(pk=report.pk)
        ensure(can_publish_report(actor, locked.campaign))
        if not reason:
            raise ValidationFailed("A correction needs a reason.", extra={"reason": ["This field is required."]})
        apply_transition(locked, "supersede")
        save_transitioned(locked, "updated_at")
        new = _create_and_publish(actor=actor, campaign=locked.campaign, audience=locked.audience,
                                  title=locked.title, version=locked.version + 1, reason=reason, supersedes=locked)
        audit_record(actor=actor, action="report.correct", target=new,
                     data={"supersedes": locked.pk, "version": new.version, "reason": reason,
                           "content_hash": new.content_hash})
    return new


def report_update(*, actor, report: Report, title: str) -> Report:
    """Edit a draft's title. A published or superseded report is frozen: 409."""
    with transaction.atomic():
        locked = Report.objects.select_for_update().select_related("campaign").get(pk=report.pk)
        ensure(can_publish_report(actor, locked.campaign))
        if locked.state != ReportState.DRAFT:
            raise TransitionNotAllowed(
                f"Cannot edit this report: it is {locked.state}. Publish a correction instead.",
                extra={"state": locked.state, "transition": "edit"},
            )
        locked.title = title
        locked.save(update_fields=["title", "updated_at"])
        audit_record(actor=actor, action="report.update", target=locked, data={"title": title})
    return locked


REPORT_COMMENT_MAX = 4000


def report_comment_add(*, actor, report: Report, text: str) -> ReportComment:
    """A committee member's comment on a draft report (``can_comment_report``: 403; 404 upstream
    for whoever cannot read the report). 400 when blank, longer than 4,000 characters or carrying
    a direct identifier; 409 once the report is published. Locks the report row, so that a
    comment never lands on a report being published. Audit event ``report.comment`` (its id and
    length, not the text)."""
    ensure_no_identifiers(fields={"text": text})
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("Write the comment.", extra={"text": ["required"]})
    if len(text) > REPORT_COMMENT_MAX:
        raise ValidationFailed(f"A comment holds at most {REPORT_COMMENT_MAX} characters.",
                               extra={"text": [f"at most {REPORT_COMMENT_MAX} characters"]})
    with transaction.atomic():
        locked = Report.objects.select_for_update(of=("self",)).select_related("campaign").get(pk=report.pk)
        ensure(can_comment_report(actor, locked), "Only the committee's members comment on its reports.")
        if locked.state != ReportState.DRAFT:
            raise TransitionNotAllowed(f"Cannot comment on this report: it is {locked.state}.",
                                       extra={"state": locked.state, "transition": "comment"})
        comment = ReportComment.objects.create(report=locked, author=actor, text=text)
        audit_record(actor=actor, action="report.comment", target=locked,
                     data={"comment": comment.pk, "chars": len(text)})
    return comment


__all__ = ["canonical_json", "content_hash", "report_comment_add", "report_correct", "report_draft_create",
           "report_publish", "report_update"]
