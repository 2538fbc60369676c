"""Committee pages: composition, sessions (séances) with their agenda, attendance, quorum,
decisions, corrective actions created from a decision, and the minutes (draft preview, signature
with confirmation, frozen fragment, HTML and PDF downloads).

Every state change is one POST through one service of ``sittings.services``. Each view first
checks what the service would refuse for the state (409) or the role (403), so that a stale page
is never answered with form errors; the service checks both again under its row lock."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.selectors import user_choice_list_for_user
from cases.labels import label_display
from committees.selectors import member_get_for_committee
from common.exceptions import Forbidden, TransitionNotAllowed, ValidationFailed
from common.fsm import available_transitions, ensure_can_proceed
from common.pdf import pdf_response
from reviews.enums import CampaignCaseState
from sittings import permissions as sperms
from sittings import selectors, services
from sittings.enums import AgendaItemState, AttendanceStatus, CaseReason, SessionState, VoteChoice
from sittings.minutes import minutes_for_reader, render_minutes
from sittings.models import AgendaItem, Session
from sittings.quorum import session_quorum
from sittings.services import ensure_session_in

from .. import reads
from ..forms_committees import (
    ActionForm,
    AttendanceForm,
    CommentForm,
    DecisionForm,
    OtherBusinessForm,
    ReasonForm,
    SessionForm,
    SignForm,
    VoteForm,
    apply_service_errors,
)
from .committee_common import ACTIONS, committee_errors, refusal_page
from .composition import committee_page

REASONS = {**{r.value: r.label for r in CaseReason}, "overdue": gettext_lazy("The action is overdue")}
SESSION_SERVICES = {"start": services.session_start, "close": services.session_close,
                    "cancel": services.session_cancel}


# --- Committees ----------------------------------------------------------------------------------

@login_required
@require_safe
@committee_errors()
def committee_list(request):
    """The committees the caller sits on (any seat) or works for, with their sessions: the
    "Séances" entry."""
    committees = list(reads.sitting_committees_for(request.user))
    if not committees:
        raise Http404
    for committee in committees:
        committee.can_plan = sperms.can_plan_sessions(request.user, committee.pk)
    sessions = list(selectors.session_summary_list_for_user(request.user))
    return render(request, "committees/committee_list.html", {"committees": committees, "sessions": sessions})


@login_required
@require_safe
@committee_errors()
def committee_detail(request, pk: int):
    """Composition (members with seat, specialty, site, service, term, declared conflicts), the
    membership history (ended terms stay visible), the committee's sessions and, for its managers,
    the composition forms (``web.views.composition``)."""
    return committee_page(request, reads.sitting_committee_for(request.user, pk))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@committee_errors("session")
def session_new(request, pk: int):
    """Plan a session: members whose term covers its date are invited and the agenda is built
    from what awaits the committee (``services.session_create``)."""
    committee = reads.committee_for(request.user, pk)
    if request.method != "POST":
        return render(request, "committees/session_new.html", {"committee": committee, "form": SessionForm()})
    form = SessionForm(request.POST)
    if form.is_valid():
        try:
            session = services.session_create(actor=request.user, committee=committee, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            n = selectors.session_item_count(session)
            messages.success(request, _("The session is planned; its agenda holds %(n)d item(s).") % {"n": n})
            return redirect("web:session", pk=session.pk)
    return render(request, "committees/session_new.html", {"committee": committee, "form": form}, status=400)


# --- A session -------------------------------------------------------------------------------------

def _item_row(item: AgendaItem, *, visible: bool) -> dict:
    row = {"id": item.pk, "position": item.position, "kind": item.kind, "kind_label": item.get_kind_display(),
           "state": item.state, "state_label": item.get_state_display(), "visible": visible}
    if not visible:
        return row
    row |= {"title": item.title, "reasons": [REASONS.get(r, r) for r in item.reasons or []],
            "campaign_case": item.campaign_case, "action": item.action, "vigilance_report": item.vigilance_report}
    cc = item.campaign_case
    row["labels"] = (cc.campaign.ai_system.labels if cc is not None
                     and cc.state == CampaignCaseState.NEEDS_ADJUDICATION else None)
    decision = getattr(item, "decision", None) if item.state == AgendaItemState.DECIDED else None
    if decision is not None:
        row["decision"] = decision
        row["reference_label_display"] = label_display(decision.reference_label)
        row["actions"] = list(decision.actions.all())
    return row


SESSION_TABS = ("agenda", "attendance", "minutes")
CONFIRMED_TRANSITIONS = frozenset({"close", "cancel"})
"""Irreversible sitting actions: asked to confirm on a page of their own before they run."""


def _session_tab(request) -> str:
    tab = request.GET.get("tab") or request.POST.get("tab") or "agenda"
    return tab if tab in SESSION_TABS else "agenda"


def _session_context(request, session: Session, *, forms_for: dict | None = None, tab: str | None = None) -> dict:
    """The session page: agenda (withheld case items for a blind reader), attendance, quorum,
    the members' votes and comments, the transitions the caller may fire, the forms, and the
    minutes (frozen once signed; a passage on a case the caller reads blind is withheld). The
    page is split into tabs (``?tab=``), each rendered on its own, without JavaScript."""
    user = request.user
    forms_for = forms_for or {}
    tab = tab or _session_tab(request)
    blind = reads.blind_case_ids(user)
    items = selectors.session_agenda(session)
    rows = [_item_row(i, visible=i.campaign_case_id not in blind) for i in items]
    is_open = session.state == SessionState.OPEN
    active = session.state in (SessionState.PLANNED, SessionState.OPEN)
    can_run = sperms.can_run_session(user, session)
    attendances = selectors.session_attendance_list(session)
    quorum = session_quorum(session)
    present = [a for a in attendances if a.status == AttendanceStatus.PRESENT]
    i_am_present = any(a.member.user_id == user.pk for a in present)
    is_chair = sperms.can_record_decision(user, session)
    can_decide = is_chair and is_open
    can_act = sperms.can_manage_actions(user, session.committee_id) and session.state != SessionState.SIGNED
    can_comment = sperms.can_comment(user, session) and session.state in (
        SessionState.PLANNED, SessionState.OPEN, SessionState.CLOSED)
    votes = selectors.session_votes_by_item(session)
    comments, minutes_comments = selectors.session_comments(session)
    owners = user_choice_list_for_user(user) if can_act else None
    present_members = selectors.present_member_list(session) if can_decide else None
    for row in rows:
        if not row["visible"]:
            continue
        key = row["id"]
        pending = row["state"] == AgendaItemState.PENDING
        row["votes"] = votes.get(key, [])
        row["my_vote"] = next((v for v in row["votes"] if v.member.user_id == user.pk), None)
        row["tally"] = {c: sum(1 for v in row["votes"] if v.choice == c) for c in VoteChoice.values}
        row["comments"] = comments.get(key, [])
        if can_comment:
            row["comment_form"] = forms_for.get(("comment", key)) or CommentForm(prefix=f"comment{key}")
        if is_open and pending and i_am_present and sperms.can_vote(user, session):
            row["vote_form"] = forms_for.get(("vote", key)) or VoteForm(
                prefix=f"vote{key}", initial={"choice": row["my_vote"].choice} if row["my_vote"] else None)
        if can_decide and pending and present_members is not None:
            row["proxy_vote_form"] = forms_for.get(("proxy", key)) or VoteForm(
                prefix=f"proxy{key}", members=present_members)
            if quorum.is_met and row["votes"]:
                row["decision_form"] = forms_for.get(("decide", key)) or DecisionForm(
                    labels=row["labels"], prefix=f"item{key}")
            else:
                row["decision_blocked"] = "quorum" if not quorum.is_met else "votes"
        if can_act and row.get("decision") is not None:
            row["action_form"] = forms_for.get(("action", key)) or ActionForm(owners=owners, prefix=f"action{key}")
        row["can_defer"] = can_run and active and pending
    all_visible = all(r["visible"] for r in rows)
    minutes = None
    if tab == "minutes":
        html = session.minutes_html if session.state == SessionState.SIGNED else render_minutes(session)
        minutes = minutes_for_reader(html, blind, {i.campaign_case_id for i in items if i.campaign_case_id})
    transitions = [{"name": n, "label": ACTIONS[n]}
                   for n in available_transitions(session, user, sperms.SESSION_TRANSITIONS) if n != "sign"]
    return {
        "session": session, "committee": session.committee, "items": rows, "attendances": attendances,
        "quorum": quorum, "transitions": transitions, "tab": tab, "tabs": SESSION_TABS,
        "can_run": can_run and active, "can_record_attendance": can_run and is_open,
        "can_sign": session.state == SessionState.CLOSED and sperms.can_sign_minutes(user, session)
        and all_visible,
        "is_signed": session.state == SessionState.SIGNED, "minutes": minutes, "all_visible": all_visible,
        "attendance_choices": AttendanceForm.base_fields["status"].choices,
        "other_form": forms_for.get("other") or OtherBusinessForm(),
        "cancel_form": forms_for.get("cancel") or ReasonForm(),
        "has_hidden": not all_visible, "i_am_present": i_am_present,
        "minutes_comments": minutes_comments,
        "minutes_comment_form": (forms_for.get("minutes_comment") or CommentForm(prefix="minutes"))
        if can_comment else None,
    }


@login_required
@require_safe
@committee_errors("session")
def session_detail(request, pk: int):
    """The session page, one tab at a time: agenda (votes, comments, decisions), attendance and
    quorum, minutes. Every member in office of the committee reads it."""
    session = reads.session_for(request.user, pk)
    return render(request, "committees/session_detail.html", _session_context(request, session))


def _session_to_run(request, pk: int, action: str | None = None, *states) -> Session:
    """The session (404 if not visible), 403 unless the caller runs it, then 409 unless it is in
    one of ``states``: checked before any form, so that a wrong state never reads as form errors."""
    session = reads.session_for(request.user, pk)
    if not sperms.can_run_session(request.user, session):
        raise Forbidden("You cannot run this session.")
    if action is not None:
        ensure_session_in(session, action, *states)
    return session


@login_required
@require_POST
@committee_errors("session")
def session_transition(request, pk: int, name: str):
    service = SESSION_SERVICES.get(name)
    if service is None:
        raise Http404
    session = _session_to_run(request, pk)
    ensure_can_proceed(session, name)
    kwargs = {}
    if name == "cancel":
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return render(request, "committees/session_detail.html",
                          _session_context(request, session, forms_for={"cancel": form}), status=400)
        kwargs["reason"] = form.cleaned_data["reason"]
    if name in CONFIRMED_TRANSITIONS and request.POST.get("confirm") != "yes":
        pending = sum(1 for i in selectors.session_agenda(session) if i.state == AgendaItemState.PENDING)
        return render(request, "committees/session_confirm.html", {
            "session": session, "committee": session.committee, "name": name, "label": ACTIONS[name],
            "reason": kwargs.get("reason", ""), "pending": pending})
    service(actor=request.user, session=session, **kwargs)
    messages.success(request, _("Done: “%(action)s”.") % {"action": ACTIONS[name]})
    return redirect("web:session", pk=session.pk)


@login_required
@require_POST
@committee_errors("session", "record attendance")
def session_attendance(request, pk: int):
    session = _session_to_run(request, pk, "record attendance", SessionState.OPEN)
    form = AttendanceForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed("Invalid attendance.", extra=dict(form.errors))
    member = member_get_for_committee(session.committee_id, form.cleaned_data["member"])
    if member is None:
        raise ValidationFailed("Not a member of this committee.", extra={"member": ["unknown"]})
    services.attendance_record(actor=request.user, session=session, member=member,
                               status=form.cleaned_data["status"])
    messages.success(request, _("Attendance recorded: %(name)s.") % {"name": member.user.display_name})
    return redirect("web:session", pk=session.pk)


@login_required
@require_POST
@committee_errors("session", "change the agenda")
def session_refresh(request, pk: int):
    session = _session_to_run(request, pk, "change the agenda", SessionState.PLANNED, SessionState.OPEN)
    added = services.session_refresh_agenda(actor=request.user, session=session)
    messages.success(request, _("Agenda refreshed: %(n)d item(s) added.") % {"n": added})
    return redirect("web:session", pk=session.pk)


@login_required
@require_POST
@committee_errors("session", "change the agenda")
def session_add_item(request, pk: int):
    session = _session_to_run(request, pk, "change the agenda", SessionState.PLANNED, SessionState.OPEN)
    form = OtherBusinessForm(request.POST)
    if not form.is_valid():
        return render(request, "committees/session_detail.html",
                      _session_context(request, session, forms_for={"other": form}), status=400)
    services.session_add_item(actor=request.user, session=session, title=form.cleaned_data["title"])
    messages.success(request, _("The item is added to the agenda."))
    return redirect("web:session", pk=session.pk)


@login_required
@require_POST
@committee_errors("item", "decide")
def item_decide(request, pk: int, item_pk: int):
    """The chair records the decision on one item, only while the session sits with its quorum."""
    session = reads.session_for(request.user, pk)
    item = reads.item_for(request.user, session, item_pk)
    if not sperms.can_record_decision(request.user, session):
        raise Forbidden("Only the committee chair records decisions.")
    ensure_session_in(session, "record a decision", SessionState.OPEN)
    ensure_can_proceed(item, "decide")
    quorum = session_quorum(session)
    if not quorum.is_met:
        return _no_quorum(request, quorum)
    cc = item.campaign_case
    labels = cc.campaign.ai_system.labels if cc and cc.state == CampaignCaseState.NEEDS_ADJUDICATION else None
    form = DecisionForm(request.POST, labels=labels, prefix=f"item{item.pk}")
    if form.is_valid():
        try:
            services.decision_record(actor=request.user, item=item, **form.service_kwargs())
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        except TransitionNotAllowed as exc:
            if exc.code == "quorum_not_met":
                return _no_quorum(request, session_quorum(session))
            raise
        else:
            messages.success(request, _("The decision is recorded."))
            return redirect(reverse("web:session", args=[session.pk]) + f"#item-{item.pk}")
    return render(request, "committees/session_detail.html",
                  _session_context(request, session, forms_for={("decide", item.pk): form}), status=400)


def _no_quorum(request, quorum):
    exc = TransitionNotAllowed("No quorum.", code="quorum_not_met")
    return refusal_page(request, exc, subject="item", action="decide", code="quorum_counts",
                        c=quorum.clinicians_present, cn=quorum.clinicians_needed,
                        p=quorum.patient_reps_present, pn=quorum.patient_reps_needed)


@login_required
@require_POST
@committee_errors("item", "defer")
def item_defer(request, pk: int, item_pk: int):
    session = _session_to_run(request, pk, "defer an item", SessionState.PLANNED, SessionState.OPEN)
    item = reads.item_for(request.user, session, item_pk)
    services.item_defer(actor=request.user, item=item)
    messages.success(request, _("The item is deferred to a later session."))
    return redirect("web:session", pk=session.pk)


@login_required
@require_POST
@committee_errors("session", "create_action")
def item_action_create(request, pk: int, item_pk: int):
    """A corrective action from a decided item, until the minutes are signed."""
    session = reads.session_for(request.user, pk)
    item = reads.item_for(request.user, session, item_pk)
    if not sperms.can_manage_actions(request.user, session.committee_id):
        raise Forbidden("You cannot create actions.")
    if session.state == SessionState.SIGNED:
        raise TransitionNotAllowed("The minutes are signed.",
                                   extra={"session_state": session.state, "action": "create_action"})
    decision = getattr(item, "decision", None) if item.state == AgendaItemState.DECIDED else None
    if decision is None:
        raise TransitionNotAllowed("The item is not decided.", extra={"state": item.state, "transition": "decide"})
    owners = user_choice_list_for_user(request.user)
    form = ActionForm(request.POST, owners=owners, prefix=f"action{item.pk}")
    if form.is_valid():
        try:
            services.action_create(actor=request.user, committee=session.committee, decision=decision,
                                   **form.cleaned_data)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The corrective action is created."))
            return redirect("web:session", pk=session.pk)
    return render(request, "committees/session_detail.html",
                  _session_context(request, session, forms_for={("action", item.pk): form}), status=400)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@committee_errors("session", "sign")
def session_sign(request, pk: int):
    """The chair signs the minutes after a confirmation: they are then frozen with their hash."""
    session = reads.session_for(request.user, pk)
    if not sperms.can_sign_minutes(request.user, session):
        raise Forbidden("Only the committee chair signs the minutes.")
    ensure_can_proceed(session, "sign")
    if reads.blind_case_ids(request.user) & selectors.session_case_ids(session):
        raise Forbidden("You still read a case of this agenda blind.")
    form = SignForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.session_sign(actor=request.user, session=session)
        messages.success(request, _("The minutes are signed and frozen."))
        return redirect("web:session", pk=session.pk)
    return render(request, "committees/session_sign.html", {
        "session": session, "form": form, "minutes": render_minutes(session),
    }, status=400 if request.method == "POST" else 200)


# --- Minutes downloads ---------------------------------------------------------------------------

def _minutes_document(request, pk: int) -> tuple[Session, str]:
    session = reads.session_for(request.user, pk)
    if reads.blind_case_ids(request.user) & selectors.session_case_ids(session):
        raise Http404
    fragment = session.minutes_html if session.state == SessionState.SIGNED else render_minutes(session)
    body = render_to_string("committees/minutes_document.html", {
        "session": session, "fragment": fragment, "is_signed": session.state == SessionState.SIGNED})
    return session, body


@login_required
@require_safe
@committee_errors("session")
def minutes_html(request, pk: int):
    """The minutes as one self-contained file: the frozen fragment once signed, never re-rendered."""
    session, body = _minutes_document(request, pk)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="proces-verbal-{session.pk}.html"'
    return response


@login_required
@require_safe
@committee_errors("session")
def minutes_pdf(request, pk: int):
    """The same document printed by WeasyPrint; nothing is fetched."""
    session, body = _minutes_document(request, pk)
    return pdf_response(body, filename=f"proces-verbal-{session.pk}.pdf")

