"""Campaign pages: the list, a campaign's summary (progress, results) and its transitions."""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from common.cache import cached
from common.exceptions import DomainError, Forbidden, TransitionNotAllowed, ValidationFailed
from common.fsm import ensure_can_proceed
from reviews import permissions as perms
from reviews import selectors, services
from reviews.enums import CampaignState
from reviews.models import Assignment

from .. import reads
from ..errors import error_page, error_sentence, web_errors
from ..forms import BulkReassignForm, CampaignWizardForm, CancelForm, DeviationForm, ReassignForm
from ..labels import CAMPAIGN_ACTIONS, state_display, stratum_display
from .committee_common import refusal_page

CAMPAIGN_SERVICES = {
    "schedule": services.campaign_schedule,
    "draw_sample": services.campaign_draw_sample,
    "start_review": services.campaign_start_review,
    "close_review": services.campaign_close_review,
    "start_analysis": services.campaign_start_analysis,
    "publish": services.campaign_publish,
    "archive": services.campaign_archive,
    "cancel": services.campaign_cancel,
}


@login_required
@require_safe
def campaign_list(request):
    rows = reads.campaign_rows(request.user)
    return render(request, "web/campaign_list.html", {
        "campaigns": rows, "details": any(row["details"] for row in rows),
        "can_create": perms.can_create_campaign(request.user),
    })


@login_required
@require_safe
@web_errors("campaign")
def campaign_detail(request, pk: int):
    return _campaign_page(request, reads.campaign_for(request.user, pk))


def _campaign_page(request, campaign, *, deviation_form: DeviationForm | None = None, status: int = 200):
    """The campaign page; ``deviation_form`` is the bound form of a refused deviation (400)."""
    deviations = reads.deviations_view(request.user, campaign)
    if deviations and deviations["can_record"]:
        deviations["form"] = deviation_form or DeviationForm()
    return render(request, "web/campaign_detail.html", reads.campaign_page(request.user, campaign) | {
        "cancel_form": CancelForm(), "board_link": reads.can_see_board(request.user, campaign),
        "deviations": deviations,
    }, status=status)


@login_required
@require_POST
@web_errors("campaign")
def deviation_record(request, pk: int):
    """Record a deviation from the frozen protocol through ``protocol_deviation_record``, which
    checks the role (403) and the state (409) again under the campaign's row lock and writes the
    audit event. The role and the state are answered first, so that a reviewer or a stale page
    gets the refusal page rather than form errors; a form error re-renders the campaign page
    (400) with the error on its field."""
    campaign = reads.campaign_for(request.user, pk)  # 404 for whoever may not see the campaign
    if not perms.can_manage_campaign(request.user, campaign):
        raise Forbidden("Only the quality team records protocol deviations.")
    try:
        if campaign.state not in services.DEVIATION_STATES:
            raise TransitionNotAllowed(f"Cannot record a protocol deviation: the campaign is {campaign.state}.",
                                       extra={"campaign_state": campaign.state})
        form = DeviationForm(request.POST)
        if form.is_valid():
            try:
                services.protocol_deviation_record(actor=request.user, campaign=campaign, **form.cleaned_data)
            except ValidationFailed as exc:
                for field, errors in (exc.extra or {}).items():
                    form.add_error(field if field in form.fields else None, "; ".join(map(str, errors)))
            else:
                messages.success(request, _("The protocol deviation is recorded."))
                return redirect(reverse("web:campaign", args=[campaign.pk]) + "#deviations")
    except TransitionNotAllowed as exc:
        state = (exc.extra or {}).get("campaign_state", campaign.state)
        return refusal_page(request, exc, code="deviation_not_open", state=state_display(CampaignState, state))
    return _campaign_page(request, campaign, deviation_form=form, status=400)


@login_required
@require_safe
@web_errors("campaign")
def campaign_progress(request, pk: int):
    """The progress block alone, refreshed in place by htmx on the campaign page."""
    campaign = reads.campaign_for(request.user, pk)
    if not reads.can_see_progress(request.user, campaign):
        raise Forbidden("You cannot follow this campaign's progress.")
    return render(request, "web/_campaign_progress.html", {"progress": reads.progress_view(campaign)})


@login_required
@require_POST
@web_errors("campaign")
def campaign_transition(request, pk: int, name: str):
    """Fire one campaign transition through its service, which checks the permission (403) and
    the state (409). Any transition name is accepted, not only the buttons shown, so that a
    stale page gets the same 409 as the API."""
    service = CAMPAIGN_SERVICES.get(name)
    if service is None:
        raise Http404
    campaign = reads.campaign_for(request.user, pk)
    if request.POST.get("confirm") != "on":
        # Every campaign transition is for good: it needs the ticked box. The role (403) and the
        # state (409) are answered first, then the missing confirmation (400); nothing changes.
        if not perms.CAMPAIGN_TRANSITIONS[name](request.user, campaign):
            raise Forbidden("Only the campaign's managers fire its transitions.")
        ensure_can_proceed(campaign, name)
        return error_page(request, ValidationFailed("The action was not confirmed."), code="not_confirmed")
    kwargs = {}
    if name == "cancel":
        form = CancelForm(request.POST)
        if not form.is_valid():
            raise ValidationFailed("The reason is not valid.", extra={"reason": form.errors["reason"]})
        kwargs["reason"] = form.cleaned_data["reason"]
    service(actor=request.user, campaign=campaign, **kwargs)
    messages.success(request, _("Done: “%(action)s”.") % {"action": CAMPAIGN_ACTIONS[name]})
    return redirect("web:campaign", pk=campaign.pk)


@login_required
@require_safe
@web_errors("campaign")
def campaign_board(request, pk: int):
    """The quality team's progress board: per reviewer counts, overdue, declined and expired
    reviews, and the reassign action. Never shown to anyone with a blind review pending."""
    campaign = reads.campaign_for(request.user, pk)
    if not reads.can_see_board(request.user, campaign):
        raise Forbidden("Only the quality team follows reviewers' progress.")
    summary = {"id": campaign.pk, "name": campaign.name, "review_deadline": campaign.review_deadline}
    today = timezone.localdate()

    def render_body() -> tuple[str, str]:
        # The reassign forms' CSRF token differs per session: the cached sections hold a random
        # placeholder (user content cannot forge it), replaced by this request's token below.
        placeholder = secrets.token_hex(16)
        html = render_to_string("web/_campaign_board_body.html", {
            "campaign": summary, "board": reads.board_view(campaign, today=today), "csrf_token": placeholder})
        return placeholder, html

    # One entry per campaign and language, valid for one revision of the campaign (every
    # transition of an assignment changes it) and one day (the overdue marks); only the quality
    # team reaches this line, and all of it sees the same board.
    placeholder, html = cached(
        ("campaign_board", campaign.pk, get_language()), render_body,
        revision=(today.isoformat(), selectors.campaign_revision(campaign, with_cases=False)))
    return render(request, "web/campaign_board.html", {
        "campaign": summary, "board_html": mark_safe(html.replace(placeholder, get_token(request))),
    })


@login_required
@require_POST
@web_errors("assignment", "reassign")
def assignment_reassign(request, pk: int, assignment_pk: int):
    campaign = reads.campaign_for(request.user, pk)
    if not reads.can_see_board(request.user, campaign):
        raise Forbidden("Only the quality team can reassign reviews.")
    try:
        a = Assignment.objects.get(pk=assignment_pk, campaign_case__campaign=campaign)
    except Assignment.DoesNotExist:
        raise Http404 from None
    form = ReassignForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed("The reason is not valid.", extra={"reason": form.errors["reason"]})
    services.assignment_reassign(actor=request.user, assignment=a, reason=form.cleaned_data["reason"])
    messages.success(request, _("The review is withdrawn and given to another reviewer."))
    return redirect("web:campaign_board", pk=campaign.pk)


@login_required
@require_POST
@web_errors("assignment", "reassign")
def board_reassign(request, pk: int):
    """Reassign the reviews ticked on the board, each through ``assignment_reassign`` (which
    checks, row by row, the state, the seat and the conflict-of-interest rules), to the chosen
    reader or to any eligible one. One row refused does not stop the others: the board then
    lists, for each review, what was done or why it was refused."""
    campaign = reads.campaign_for(request.user, pk)
    if not reads.can_see_board(request.user, campaign):
        raise Forbidden("Only the quality team can reassign reviews.")
    pending = {a.pk: a for a in selectors.board_pending_list(campaign)}
    reviewers = [r["id"] for r in reads.board_reviewer_choices(campaign)]
    form = BulkReassignForm(request.POST, assignment_ids=pending, reviewer_ids=reviewers)
    if not form.is_valid():
        raise ValidationFailed("The reassignment is not valid.",
                               extra={field: [str(e) for e in errors] for field, errors in form.errors.items()})
    data = form.cleaned_data
    done, refused = [], []
    for assignment_id in sorted(set(data["assignments"])):
        try:
            services.assignment_reassign(actor=request.user, assignment=pending[assignment_id],
                                         reason=data["reason"], reviewer_id=data["reviewer"])
        except DomainError as exc:
            refused.append((assignment_id, error_sentence(exc, subject="assignment", action="reassign")))
        else:
            done.append(assignment_id)
    if done:
        messages.success(request, ngettext(
            "%(n)d review reassigned: no. %(ids)s.", "%(n)d reviews reassigned: no. %(ids)s.", len(done),
        ) % {"n": len(done), "ids": ", ".join(map(str, done))})
    for assignment_id, sentence in refused:
        messages.error(request, _("Review no. %(n)s not reassigned: %(reason)s") % {
            "n": assignment_id, "reason": sentence})
    return redirect("web:campaign_board", pk=campaign.pk)


def _plan_view(plan: dict) -> dict:
    return {
        "population_size": plan["population_size"], "required": plan["required"],
        "required_without_fpc": plan["required_without_fpc"], "sample_size": plan["sample_size"],
        "diseased_needed": plan.get("diseased_needed"),
        "strata": [s | {"percent": s["inclusion_probability"] * 100} for s in plan["strata"] or []],
        "is_stratified": plan["design"]["type"] == "stratified",
    }


def _wizard_page(request, form: CampaignWizardForm, plan: dict | None = None, *, status: int = 200,
                 needs_sizes: bool = False):
    """The wizard page. The strata table pairs each stratum of the preview (population, sample,
    inclusion probability) with its size field (set allocation) or over-sampling weight field;
    after an error without a preview it still shows the fields typed, with their errors."""
    view = _plan_view(plan) if plan else None
    by_name = {s["stratum"]: s for s in (view or {}).get("strata", [])}
    allocation = form.cleaned_data.get("allocation") if hasattr(form, "cleaned_data") else None
    is_set = (allocation or form["allocation"].value()) == "set"
    # The field of the chosen allocation is shown, the other kept hidden (a switch keeps both).
    rows = [{"stratum": name, "stratum_label": stratum_display(name), "plan": by_name.get(name),
             "field": form[size if is_set else weight],
             "other": form[weight if is_set else size]} for name, size, weight in form.strata
            if form["design_type"].value() == "stratified"]
    context = {"form": form, "plan": view, "strata_rows": rows, "needs_sizes": needs_sizes,
               "set_allocation": is_set}
    return render(request, "web/campaign_wizard.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@web_errors("campaign")
def campaign_wizard(request):
    """The campaign wizard: one form, two buttons. "Preview" shows the population size, the
    planner's sample size (finite population correction; Buderer for a sensitivity target) and
    the sample's strata with their counts, where a set size or an over-sampling weight can be
    typed per stratum; "Create" creates the draft campaign, whose page then offers schedule,
    draw and start. Quality team only: strata may be built on the AI output."""
    if not perms.can_create_campaign(request.user):
        raise Forbidden("Only the quality team can create campaigns.")
    if request.method != "POST":
        return _wizard_page(request, CampaignWizardForm(user=request.user))
    form = CampaignWizardForm(request.POST, user=request.user)
    if not form.is_valid():
        return _wizard_page(request, form, status=400)
    creating = request.POST.get("action") == "create"
    try:
        plan = selectors.campaign_plan(**form.plan_kwargs())
    except ValueError as exc:
        form.add_error(None, str(exc))
        return _wizard_page(request, form, status=400)
    needs_sizes = form.needs_sizes()
    if plan["design"]["type"] == "stratified":
        # The fields follow the strata of this preview; what was typed for them is kept.
        form = CampaignWizardForm(request.POST, user=request.user, strata=[s["stratum"] for s in plan["strata"] or []])
        form.is_valid()
    if needs_sizes and creating:
        form.add_error("allocation", _("With a set allocation, give the sample size of at least one stratum "
                                       "in the strata table."))
        return _wizard_page(request, form, plan, status=400, needs_sizes=True)
    if not creating:
        return _wizard_page(request, form, plan, needs_sizes=needs_sizes)
    sample_size = form.cleaned_data["sample_size"] or plan["sample_size"]
    try:
        campaign = services.campaign_create(actor=request.user, **form.create_kwargs(sample_size))
    except ValidationFailed as exc:
        for field, errors in (exc.extra or {}).items():
            form.add_error(field if field in form.fields else None, "; ".join(map(str, errors)))
        return _wizard_page(request, form, plan, status=400)
    messages.success(request, _("The campaign is created as a draft. "
                                "Schedule it, draw the sample, then start the review."))
    return redirect("web:campaign", pk=campaign.pk)
