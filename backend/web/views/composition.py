"""The committee page's composition forms: add a member, end a term, declare and withdraw a
structured conflict of interest, set the quorum rule.

Every change is one POST through one service of ``committees.services`` (the quorum rule:
``sittings.services.committee_set_quorum``), which checks the role (403) and the state (409) again
under its row lock and writes the audit event. Each view first answers what the service would
refuse for the role or the state, so that a stale page gets the refusal page rather than form
errors; a form error re-renders the committee page (400) with the error on its field. Only
``can_manage_committee`` callers see the forms; anyone who may not see the committee gets a 404."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.models import AISystem
from committees import permissions as cperms
from committees import services
from committees.models import DeclaredConflict, Member
from common.exceptions import Forbidden, TransitionNotAllowed, ValidationFailed
from sittings import permissions as sittings_perms
from sittings.enums import SessionState
from sittings.services import committee_set_quorum

from .. import reads
from ..forms_committees import ConflictForm, EndTermForm, MemberAddForm, QuorumForm, apply_service_errors
from .committee_common import committee_errors, refusal_page


def _active_users():
    return get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name", "username")


def _ai_systems():
    return AISystem.objects.order_by("name")


def committee_page(request, committee, *, bound: dict | None = None, status: int = 200):
    """The committee page: current members (term running or to come), the membership history
    (terms ended), the sessions and, for the committee's managers, the composition forms. A fixed
    number of queries whatever the number of members."""
    members = list(Member.objects.filter(committee=committee).select_related("user")
                   .prefetch_related("conflicts__ai_system").order_by("role", "user__last_name", "term_start"))
    today = timezone.localdate()
    current = [m for m in members if not services.term_has_ended(m, today=today)]
    ended = [m for m in members if services.term_has_ended(m, today=today)]
    can_manage = cperms.can_manage_committee(request.user, committee.pk)
    context = {
        "committee": committee, "members": current, "ended": ended,
        "sessions": list(committee.sessions.order_by("-scheduled_at", "-id")),
        "can_plan": sittings_perms.can_view_sessions(request.user, committee.pk),
        "can_manage": can_manage,
    }
    if can_manage:
        bound = bound or {}
        context["member_form"] = bound.get("member") or MemberAddForm(prefix="member", users=_active_users(),
                                                                      initial={"term_start": today})
        context["conflict_form"] = bound.get("conflict") or ConflictForm(prefix="conflict", members=current,
                                                                         ai_systems=_ai_systems())
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
    form = MemberAddForm(request.POST, prefix="member", users=_active_users())
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
    member = get_object_or_404(Member.objects.select_related("user"), pk=member_pk, committee=committee)
    if services.term_has_ended(member):
        return refusal_page(request, TransitionNotAllowed("term ended"),
                            message=_("This term of office has already ended: it stays in the membership "
                                      "history."))
    form = EndTermForm(request.POST, prefix=f"end-{member.pk}")
    if form.is_valid():
        try:
            services.member_end_term(actor=request.user, member=member, term_end=form.cleaned_data["term_end"])
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        except TransitionNotAllowed as exc:
            return refusal_page(request, exc, message=_("This term of office has already ended: it stays in the "
                                                        "membership history."))
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
    members = [m for m in Member.objects.filter(committee=committee).select_related("user")
               if not services.term_has_ended(m, today=today)]
    form = ConflictForm(request.POST, prefix="conflict", members=members, ai_systems=_ai_systems())
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
    conflict = get_object_or_404(DeclaredConflict.objects.select_related("member__user"), pk=conflict_pk,
                                 member__committee=committee)
    message = _("This conflict of interest has already been withdrawn.")
    if conflict.withdrawn_at is not None:
        return refusal_page(request, TransitionNotAllowed("already withdrawn"), message=message)
    try:
        services.conflict_withdraw(actor=request.user, conflict=conflict)
    except TransitionNotAllowed as exc:
        return refusal_page(request, exc, message=message)
    return _done(request, committee, _("The conflict of interest of %(name)s is withdrawn; it stays on record.")
                 % {"name": conflict.member.user.display_name})


@login_required
@require_POST
@committee_errors()
def committee_quorum(request, pk: int):
    committee = _managed_committee(request, pk)
    message = _("The quorum rule cannot change while a session sits: close the session first.")
    if committee.sessions.filter(state=SessionState.OPEN).exists():
        return refusal_page(request, TransitionNotAllowed("session open"), message=message)
    form = QuorumForm(request.POST, prefix="quorum")
    if form.is_valid():
        try:
            committee_set_quorum(actor=request.user, committee=committee, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        except TransitionNotAllowed as exc:
            return refusal_page(request, exc, message=message)
        else:
            return _done(request, committee, _("The quorum rule is saved."))
    return committee_page(request, committee, bound={"quorum": form}, status=400)
