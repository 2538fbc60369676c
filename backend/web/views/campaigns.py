"""Campaign pages: the list, a campaign's summary (progress, results) and its transitions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from common.exceptions import Forbidden, ValidationFailed
from reviews import services

from .. import reads
from ..errors import web_errors
from ..forms import CancelForm
from ..labels import CAMPAIGN_ACTIONS

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
    return render(request, "web/campaign_list.html", {
        "campaigns": reads.campaign_rows(request.user), "details": reads.sees_campaign_details(request.user),
    })


@login_required
@require_safe
@web_errors("campaign")
def campaign_detail(request, pk: int):
    campaign = reads.campaign_for(request.user, pk)
    return render(request, "web/campaign_detail.html", reads.campaign_page(request.user, campaign) | {
        "cancel_form": CancelForm(),
    })


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
    kwargs = {}
    if name == "cancel":
        form = CancelForm(request.POST)
        if not form.is_valid():
            raise ValidationFailed("The reason is not valid.", extra={"reason": form.errors["reason"]})
        kwargs["reason"] = form.cleaned_data["reason"]
    service(actor=request.user, campaign=campaign, **kwargs)
    messages.success(request, _("Done: “%(action)s”.") % {"action": CAMPAIGN_ACTIONS[name]})
    return redirect("web:campaign", pk=campaign.pk)
