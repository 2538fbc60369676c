"""The committee page's composition forms: add a member, end a term, declare and withdraw a
structured conflict of interest, set the quorum rule.

Every change is one POST through one service of ``committees.services`` (the quorum rule:
``sittings.services.committee_set_quorum``), which checks the role (403) and the state (409) again
under its row lock and writes the audit event. Each view first answers what the service would
refuse for the role or the state, so that a stale page gets the refusal page rather than form
errors; a form error re-renders the committee page (400) with the error on its field. Only
``can_manage_committee`` callers see the forms; anyone who may not see the committee gets a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import user_choice_list_for_user
from cases.selectors import ai_system_list_for_user
from committees import permissions as cperms
from committees import selectors as cselectors
from committees import services
from common.exceptions import Forbidden, TransitionNotAllowed, ValidationFailed
from sittings import permissions as sittings_perms
from sittings.selectors import committee_has_open_session, session_list_for_committee
from sittings.services import committee_set_quorum

from .. import reads
from ..forms_committees import ConflictForm, EndTermForm, MemberAddForm, QuorumForm, apply_service_errors
from .committee_common import committee_errors, refusal_page

COMMITTEE_TABS = ("sessions", "members", "history", "manage")


def committee_page(request, committee, *, bound: dict | None = None, status: int = 200):
    """The committee page, one tab at a time (``?tab=``, no JavaScript needed): its sessions,
    current members (term running or to come), the membership history (terms ended) and, for the
    committee's managers, the composition forms (the tab a form error re-renders). A fixed number
    of queries whatever the number of members."""
    members = list(cselectors.member_list_for_committee(committee))
    today = timezone.localdate()
    current = [m for m in members if not services.term_has_ended(m, today=today)]
    ended = [m for m in members if services.term_has_ended(m, today=today)]
    can_manage = cperms.can_manage_committee(request.user, committee.pk)
    tabs = COMMITTEE_TABS if can_manage else COMMITTEE_TABS[:-1]
    tab = request.GET.get("tab", "sessions")
    if bound:
        tab = "members" if any(isinstance(k, tuple) for k in bound) else "manage"
    context = {
        "tabs": tabs, "tab": tab if tab in tabs else "sessions",
        "committee": committee, "members": current, "ended": ended,
        "sessions": list(session_list_for_committee(committee)),
        "can_plan": sittings_perms.can_plan_sessions(request.user, committee.pk),
        "can_manage": can_manage,
    }
    if can_manage:
        bound = bound or {}
        context["member_form"] = bound.get("member") or MemberAddForm(
            prefix="member", users=user_choice_list_for_user(request.user), initial={"term_start": today})
        context["conflict_form"] = bound.get("conflict") or ConflictForm(prefix="conflict", members=current,
                                                                         ai_systems=ai_system_list_for_user(request.user))
        context["quorum_form"] = bound.get("quorum") or QuorumForm(prefix="quorum", initial={
            "clinicians": committee.quorum_clinicians, "patient_reps": committee.quorum_patient_reps})
        for m in current:
            m.end_form = bound.get(("end", m.pk)) or EndTermForm(prefix=f"end-{m.pk}", initial={"term_end": today})
    return render(request, "committees/committee_detail.html", context, status=status)


def _managed_committee(request, pk: int):
    committee = reads.committee_for(request.user, pk)  # 404 for whoever may not see it
    if not cperms.can_manage_committee(request.user, committee.pk):
        raise Forbidden(_("Only the quality team and the committee's officers can change its composition."))
    return committee


def _done(request, committee, message: str):
    messages.success(request, message)
    return redirect("web:committee", pk=committee.pk)


@login_required
@require_POST
@committee_errors()
def member_add(request, pk: int):
    committee = _managed_committee(request, pk)
    form = MemberAddForm(request.POST, prefix="member", users=user_choice_list_for_user(request.user))
    if form.is_valid():
        try:
            member = services.member_add(actor=request.user, committee=committee, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            return _done(request, committee, _("%(name)s now holds the seat “%(seat)s”.") % {
                "name": member.user.display_name, "seat": member.get_role_display()})
    return committee_page(request, committee, bound={"member": form}, status=400)


@login_required
@require_POST
@committee_errors()
def member_end_term(request, pk: int, member_pk: int):
    committee = _managed_committee(request, pk)
    member = cselectors.member_get_for_committee(committee.pk, member_pk)
    if member is None:
        raise Http404
    if services.term_has_ended(member):
        return refusal_page(request, TransitionNotAllowed("term ended"), code="term_ended")
    form = EndTermForm(request.POST, prefix=f"end-{member.pk}")
    if form.is_valid():
        try:
            services.member_end_term(actor=request.user, member=member, term_end=form.cleaned_data["term_end"])
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        except TransitionNotAllowed as exc:
            return refusal_page(request, exc, code="term_ended")
        else:
            return _done(request, committee, _("The term of office of %(name)s ends on %(date)s.") % {
                "name": member.user.display_name, "date": form.cleaned_data["term_end"].strftime("%d/%m/%Y")})
    return committee_page(request, committee, bound={("end", member.pk): form}, status=400)


@login_required
@require_POST
@committee_errors()
def conflict_declare(request, pk: int):
    committee = _managed_committee(request, pk)
    today = timezone.localdate()
    members = [m for m in cselectors.member_list_for_committee(committee, with_conflicts=False)
               if not services.term_has_ended(m, today=today)]
    form = ConflictForm(request.POST, prefix="conflict", members=members,
                        ai_systems=ai_system_list_for_user(request.user))
    if form.is_valid():
        member = next(m for m in members if m.pk == form.cleaned_data["member"])
        try:
            services.conflict_declare(actor=request.user, member=member, **form.service_kwargs())
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            return _done(request, committee, _("The conflict of interest of %(name)s is recorded; assignment "
                                               "applies it from the next draw on.") % {
                "name": member.user.display_name})
    return committee_page(request, committee, bound={"conflict": form}, status=400)


@login_required
@require_POST
@committee_errors()
def conflict_withdraw(request, pk: int, conflict_pk: int):
    committee = _managed_committee(request, pk)
    conflict = cselectors.conflict_get_for_committee(committee, conflict_pk)
    if conflict is None:
        raise Http404
    if conflict.withdrawn_at is not None:
        return refusal_page(request, TransitionNotAllowed("already withdrawn"), code="conflict_withdrawn")
    try:
        services.conflict_withdraw(actor=request.user, conflict=conflict)
    except TransitionNotAllowed as exc:
        return refusal_page(request, exc, code="conflict_withdrawn")
    return _done(request, committee, _("The conflict of interest of %(name)s is withdrawn; it stays on record.")
                 % {"name": conflict.member.user.display_name})


@login_required
@require_POST
@committee_errors()
def committee_quorum(request, pk: int):
    committee = _managed_committee(request, pk)
    if committee_has_open_session(committee):
        return refusal_page(request, TransitionNotAllowed("session open"), code="session_sitting")
    form = QuorumForm(request.POST, prefix="quorum")
    if form.is_valid():
        try:
            committee_set_quorum(actor=request.user, committee=committee, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        except TransitionNotAllowed as exc:
            return refusal_page(request, exc, code="session_sitting")
        else:
            return _done(request, committee, _("The quorum rule is saved."))
    return committee_page(request, committee, bound={"quorum": form}, status=400)
