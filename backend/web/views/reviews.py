"""The reviewer's pages: the queue and one case, from blind reading to classification.

Opening a case is a POST ("Start the review"), not a side effect of the first GET: a GET must
be safe (link prefetchers, a colleague's shared link, a browser's tab restore would otherwise
start the clock and write ``assignment.open`` to the audit trail on the reviewer's behalf), and
``opened_at`` should record a decision of the reviewer. Until then the page shows nothing of the
case, so the recorded opening is also the first time the case material was shown. "Go to the next
case" (a POST too, after a lock or a classification) is such a decision: it opens the next case.

One page per case: the forms post with htmx and the workspace part of the page is swapped in place
(the lock reveals the AI output without a page load); without JavaScript the same forms post and
redirect. Irreversible actions are confirmed in a dialog (``web/static_src/web/workspace.js``), and
the server still requires the form's confirmation box.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from common.exceptions import DomainError, Forbidden, TransitionNotAllowed, ValidationFailed
from common.fsm import ensure_can_proceed
from reviews import permissions as perms
from reviews import services
from reviews.enums import AssignmentKind, AssignmentState
from reviews.models import Assignment

from .. import reads
from ..errors import error_text, web_errors
from ..forms import ClassificationForm, DeclineForm, verdict_form_class


@login_required
@require_safe
def queue(request):
    return render(request, "web/queue.html", {"groups": reads.reviewer_queue(request.user)})


def _render_assignment(request, a: Assignment, *, verdict_form=None, decline_form=None,
                       classification_form=None, status: int = 200, **extra):
    """The case page, or, for an htmx request, the workspace part alone (swapped in place)."""
    if perms.is_campaign_manager(request.user) and not perms.is_assignee(request.user, a):
        return render(request, "web/assignment_staff.html", reads.assignment_staff_page(a), status=status)
    ctx = reads.assignment_page(a) | extra
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
        ctx["classification_form"] = classification_form or ClassificationForm(
            concur_allowed=ctx["concur_allowed"])
    if step == "locked" and not ctx["assignment"]["is_clinician"] or step == "unblinded" and ctx["classification"]:
        ctx["next_id"] = reads.next_assignment_id(request.user, after=a)
    if _is_htmx(request):
        return render(request, "web/_workspace.html", ctx | {"partial": True}, status=status)
    return render(request, "web/assignment.html", ctx, status=status)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _to(request, url: str):
    """Where the browser goes next: a redirect, or for htmx a full navigation (``HX-Redirect``)."""
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _after_change(request, a: Assignment, message: str):
    """The page after a change of ``a``: its workspace swapped in place for htmx (the message in
    the part itself), else the redirect to the case page with the message."""
    if _is_htmx(request):
        return _render_assignment(request, reads.assignment_for(request.user, a.pk))
    messages.success(request, message)
    return redirect("web:assignment", pk=a.pk)


def _go_next(request, a: Assignment):
    """"Next case": the reviewer's next case in their queue (``reads.next_assignment``), opened
    when it is still only assigned: asking for the next case is the reviewer's decision to start
    it, recorded as the opening (``assignment.open``). Back to the queue when nothing is left."""
    nxt = reads.next_assignment(request.user, after=a)
    if nxt is None:
        messages.success(request, _("You have no other case to review for now."))
        return _to(request, reverse("web:queue"))
    if nxt.state == AssignmentState.ASSIGNED:
        try:
            services.assignment_open(actor=request.user, assignment=nxt)
        except DomainError:  # changed meanwhile: the case page tells what is possible
            pass
    return _to(request, reverse("web:assignment", kwargs={"pk": nxt.pk}))


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
    """Lock the verdict. A clinician's form asks in the same step to see the AI output
    (``reveal``: the unblinding, its own audited change, right after the lock); a patient
    representative's "lock and next" (``next``) goes on to their next case."""
    a = _for_action(request, pk, "submit")
    form = verdict_form_class(a.kind)(request.POST, labels=a.campaign_case.campaign.ai_system.labels)
    if not form.is_valid():
        return _render_assignment(request, a, verdict_form=form, status=400)
    a = services.assignment_submit(actor=request.user, assignment=a, data=form.service_data())
    if a.kind == AssignmentKind.CLINICIAN and request.POST.get("reveal"):
        a = services.assignment_unblind(actor=request.user, assignment=a)
    if request.POST.get("next"):
        messages.success(request, _("Your verdict is locked."))
        return _go_next(request, a)
    return _after_change(request, a, _("Your verdict is locked."))


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
    if _is_htmx(request):
        return _render_assignment(request, a, draft_saved=True)
    messages.success(request, _("Your draft is saved. It is not locked and only you can see it."))
    return redirect("web:assignment", pk=a.pk)


@login_required
@require_POST
@web_errors("assignment", "unblind")
def assignment_unblind(request, pk: int):
    a = _for_action(request, pk, "unblind")
    if a.kind != AssignmentKind.CLINICIAN:  # nothing to unblind for: their review ends with the lock
        raise TransitionNotAllowed("A patient representative's review ends with their locked form.",
                                   code=services.CLINICIANS_ONLY_CODE)
    services.assignment_unblind(actor=request.user, assignment=a)
    if _is_htmx(request):
        return _render_assignment(request, reads.assignment_for(request.user, a.pk))
    return redirect("web:assignment", pk=a.pk)


@login_required
@require_POST
@web_errors("assignment", "classify")
def assignment_classify(request, pk: int):
    """Record the classification; "record and next" (``next``) goes on to the next case. A patient
    representative is refused before any form (409, ``classification_clinicians_only``)."""
    a = _for_action(request, pk, "classify")
    if a.kind != AssignmentKind.CLINICIAN:
        raise TransitionNotAllowed("Only a clinician reviewer classifies a clinical discrepancy.",
                                   code=services.CLINICIANS_ONLY_CODE, extra={"kind": a.kind})
    form = ClassificationForm(request.POST, concur_allowed=a.verdict.label == a.campaign_case.case.ai_label)
    if not form.is_valid():
        return _render_assignment(request, a, classification_form=form, status=400)
    try:
        services.assignment_classify(actor=request.user, assignment=a, **form.service_kwargs())
    except ValidationFailed as exc:
        if exc.code != services.CONCUR_CONTRADICTS_CODE:
            raise
        form.add_error("discrepancy", error_text(exc.code).message)
        return _render_assignment(request, a, classification_form=form, status=400)
    if request.POST.get("next"):
        messages.success(request, _("Your classification is recorded."))
        return _go_next(request, a)
    return _after_change(request, a, _("Your classification is recorded."))


@login_required
@require_POST
@web_errors("assignment", "next")
def assignment_next(request, pk: int):
    """"Go to the next case" from a case whose review is done."""
    return _go_next(request, reads.assignment_for(request.user, pk))


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
