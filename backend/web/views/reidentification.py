"""Re-identification: the chair's justified request, the data-protection officer's decision,
and the one-time reveal of the source reference to each of those two people.

The plain value only ever travels in the body of the answer to the reveal POST (``no-store``):
never in a URL, a message, the session or a log. Anyone other than the committee's chair and
the data-protection officer gets 404 on every page here."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from committees.permissions import committee_ids_of
from common.exceptions import Forbidden, TransitionNotAllowed, ValidationFailed
from common.fsm import ensure_can_proceed
from reidentification import permissions as rperms
from reidentification import services
from reidentification.enums import RequestState
from reidentification.selectors import reidentification_list_for_user, requestable_case_list_for_user

from .. import reads
from ..forms_committees import DecideRequestForm, ReidentificationForm, apply_service_errors
from .committee_common import committee_errors, refusal_page


def _ensure_party(user) -> None:
    if not rperms.can_view_reidentification(user) or not (rperms.is_dpo(user) or committee_ids_of(user)):
        raise Http404


@login_required
@require_safe
@committee_errors("reidentification")
def reid_list(request):
    _ensure_party(request.user)
    rows = list(reidentification_list_for_user(request.user))
    return render(request, "committees/reid_list.html", {
        "pending": [r for r in rows if r.state == RequestState.REQUESTED],
        "others": [r for r in rows if r.state != RequestState.REQUESTED],
        "can_request": rperms.can_request_reidentification(request.user),
    })


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@committee_errors("reidentification")
def reid_new(request):
    if not rperms.can_request_reidentification(request.user) or not committee_ids_of(request.user):
        raise Http404
    choices = requestable_case_list_for_user(request.user)
    if request.method != "POST":
        initial = {}
        wanted = request.GET.get("campaign_case", "")
        if wanted.isdigit():
            initial["campaign_case"] = int(wanted)
        return render(request, "committees/reid_new.html", {
            "form": ReidentificationForm(campaign_cases=choices, initial=initial)})
    form = ReidentificationForm(request.POST, campaign_cases=choices)
    if form.is_valid():
        try:
            req = services.reidentification_request(actor=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The request is sent to the data-protection officer."))
            return redirect("web:reid", pk=req.pk)
    return render(request, "committees/reid_new.html", {"form": form}, status=400)


def _detail(request, req, *, form=None, status=200):
    user = request.user
    mine = None
    if rperms.can_reveal(user, req):
        mine = req.requester_revealed_at if user.pk == req.requested_by_id else req.officer_revealed_at
    return render(request, "committees/reid_detail.html", {
        "req": req, "form": form or DecideRequestForm(),
        "can_decide": req.state == RequestState.REQUESTED and rperms.can_decide(user, req),
        "can_withdraw": req.state == RequestState.REQUESTED and rperms.can_withdraw(user, req),
        "can_reveal": req.state == RequestState.APPROVED and rperms.can_reveal(user, req) and mine is None,
        "revealed_at": mine,
    }, status=status)


@login_required
@require_safe
@committee_errors("reidentification")
def reid_detail(request, pk: int):
    return _detail(request, reads.reid_for(request.user, pk))


@login_required
@require_POST
@committee_errors("reidentification")
def reid_decide(request, pk: int, name: str):
    if name not in ("approve", "refuse"):
        raise Http404
    req = reads.reid_for(request.user, pk)
    if not rperms.can_decide(request.user, req):
        raise Forbidden("Only the data-protection officer decides.")
    ensure_can_proceed(req, name)
    form = DecideRequestForm(request.POST)
    if form.is_valid():
        service = services.reidentification_approve if name == "approve" else services.reidentification_refuse
        try:
            service(actor=request.user, request=req, comment=form.cleaned_data["comment"])
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The request is approved.") if name == "approve"
                             else _("The request is refused."))
            return redirect("web:reid", pk=req.pk)
    return _detail(request, req, form=form, status=400)


@login_required
@require_POST
@committee_errors("reidentification", "withdraw")
def reid_withdraw(request, pk: int):
    req = reads.reid_for(request.user, pk)
    services.reidentification_withdraw(actor=request.user, request=req)
    messages.success(request, _("The request is withdrawn."))
    return redirect("web:reid", pk=req.pk)


@never_cache
@login_required
@require_POST
@committee_errors("reidentification", "reveal")
def reid_reveal(request, pk: int):
    """Show the source reference once: the value is in this answer's body only (no-store)."""
    req = reads.reid_for(request.user, pk)
    try:
        value = services.reidentification_reveal(actor=request.user, request=req)
    except TransitionNotAllowed as exc:
        if exc.code == "already_revealed":
            response = refusal_page(request, exc, subject="reidentification", action="reveal")
            response["Cache-Control"] = "no-store"
            return response
        raise
    response = render(request, "committees/reid_revealed.html", {"req": req, "value": value})
    response["Cache-Control"] = "no-store, max-age=0"
    response["Pragma"] = "no-cache"
    return response
