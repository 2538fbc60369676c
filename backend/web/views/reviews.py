"""The reviewer's pages: the queue and one case, from blind reading to classification.

Opening a case is a POST ("Start the review"), not a side effect of the first GET: a GET must
be safe (link prefetchers, a colleague's shared link, a browser's tab restore would otherwise
start the clock and write ``assignment.open`` to the audit trail on the reviewer's behalf), and
``opened_at`` should record a decision of the reviewer. Until then the page shows nothing of the
case, so the recorded opening is also the first time the case material was shown.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from common.exceptions import Forbidden
from common.fsm import ensure_can_proceed
from reviews import permissions as perms
from reviews import services
from reviews.models import Assignment

from .. import reads
from ..errors import web_errors
from ..forms import ClassificationForm, DeclineForm, verdict_form_class


@login_required
@require_safe
def queue(request):
    return render(request, "web/queue.html", {"groups": reads.reviewer_queue(request.user)})


def _render_assignment(request, a: Assignment, *, verdict_form=None, decline_form=None,
                       classification_form=None, status: int = 200):
    if perms.is_campaign_manager(request.user) and not perms.is_assignee(request.user, a):
        return render(request, "web/assignment_staff.html", reads.assignment_staff_page(a), status=status)
    ctx = reads.assignment_page(a)
    step = ctx["step"]
    if step == "verdict":
        labels = a.campaign_case.campaign.ai_system.labels
        if verdict_form is None:
            draft = services.assignment_draft_data(a)
            verdict_form = verdict_form_class(a.kind)(labels=labels, initial=draft)
            ctx["has_draft"] = bool(draft)
        ctx["verdict_form"] = verdict_form
    if step in ("start", "verdict"):
        ctx["decline_form"] = decline_form or DeclineForm()
    if step == "unblinded" and ctx["classification"] is None:
        ctx["classification_form"] = classification_form or ClassificationForm()
    return render(request, "web/assignment.html", ctx, status=status)


@login_required
@require_safe
@web_errors("assignment")
def assignment_detail(request, pk: int):
    return _render_assignment(request, reads.assignment_for(request.user, pk))


def _for_action(request, pk: int, name: str) -> Assignment:
    """The visible assignment (404), if the caller is its reviewer (403) and its state allows
    ``name`` (409): the services' order, checked before the form so that a wrong user or state
    is never answered with form errors. The service checks both again under its row lock."""
    a = reads.assignment_for(request.user, pk)
    if not perms.is_assignee(request.user, a):
        raise Forbidden("Only the assigned reviewer can do this.")
    ensure_can_proceed(a, name)
    return a


@login_required
@require_POST
@web_errors("assignment", "open")
def assignment_open(request, pk: int):
    a = _for_action(request, pk, "open")
    services.assignment_open(actor=request.user, assignment=a)
    return redirect("web:assignment", pk=a.pk)


@login_required
@require_POST
@web_errors("assignment", "submit")
def assignment_submit(request, pk: int):
    a = _for_action(request, pk, "submit")
    form = verdict_form_class(a.kind)(request.POST, labels=a.campaign_case.campaign.ai_system.labels)
    if not form.is_valid():
        return _render_assignment(request, a, verdict_form=form, status=400)
    services.assignment_submit(actor=request.user, assignment=a, data=form.service_data())
    messages.success(request, _("Your verdict is locked."))
    return redirect("web:assignment", pk=a.pk)


@login_required
@require_POST
@web_errors("assignment", "save_draft")
def assignment_save_draft(request, pk: int):
    """Save the verdict form as a draft, not locked: the same form as "Lock my verdict" (a second
    submit button with ``formaction``), so no JavaScript is needed and nothing is validated."""
    a = reads.assignment_for(request.user, pk)
    if not perms.is_assignee(request.user, a):
        raise Forbidden("Only the assigned reviewer can do this.")
    services.assignment_save_draft(actor=request.user, assignment=a, data=request.POST.dict())
    messages.success(request, _("Your draft is saved. It is not locked and only you can see it."))
    return redirect("web:assignment", pk=a.pk)


@login_required
@require_POST
@web_errors("assignment", "unblind")
def assignment_unblind(request, pk: int):
    a = _for_action(request, pk, "unblind")
    services.assignment_unblind(actor=request.user, assignment=a)
    return redirect("web:assignment", pk=a.pk)


@login_required
@require_POST
@web_errors("assignment", "classify")
def assignment_classify(request, pk: int):
    a = _for_action(request, pk, "classify")
    form = ClassificationForm(request.POST)
    if not form.is_valid():
        return _render_assignment(request, a, classification_form=form, status=400)
    services.assignment_classify(actor=request.user, assignment=a, **form.service_kwargs())
    messages.success(request, _("Your classification is recorded."))
    return redirect("web:assignment", pk=a.pk)


@login_required
@require_POST
@web_errors("assignment", "decline")
def assignment_decline(request, pk: int):
    a = _for_action(request, pk, "decline")
    form = DeclineForm(request.POST)
    if not form.is_valid():
        return _render_assignment(request, a, decline_form=form, status=400)
    services.assignment_decline(actor=request.user, assignment=a, reason=form.cleaned_data["reason"])
    messages.success(request, _("You declined this case; it will be given to another reviewer."))
    return redirect("web:queue")
