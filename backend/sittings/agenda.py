"""What awaits the committee: the subjects that go on the next agenda by themselves.

- cases of the committee's campaigns whose clinician readers disagree (to adjudicate), whose
  reference differs from the AI output, or on which a reviewer flagged a possible adverse event;
- open corrective actions, overdue first (followed up at every session until done);
- vigilance reports not yet closed.

A subject already waiting on a planned or open session, or (for a case) already decided, is not
proposed again; an item deferred at a closed session comes back.
"""

from django.db.models import Exists, F, OuterRef, Q

from committees.models import Committee
from reviews.enums import CampaignCaseState, CampaignState
from reviews.models import CampaignCase, Classification
from vigilance.enums import VigilanceState
from vigilance.models import VigilanceReport

from .enums import OPEN_ACTION_STATES, AgendaItemState, CaseReason, SessionState
from .models import Action, AgendaItem, Session

ACTIVE_SESSION_STATES = (SessionState.PLANNED, SessionState.OPEN)
RESOLVED_CASE_STATES = (CampaignCaseState.CONCORDANT, CampaignCaseState.ADJUDICATED, CampaignCaseState.CLOSED)
REASON_ORDER = (CaseReason.POSSIBLE_ADVERSE_EVENT, CaseReason.READERS_DISAGREE, CaseReason.REFERENCE_DIFFERS_FROM_AI)


def _waiting(field: str, session: Session | None) -> Exists:
    """The subject is on an agenda already: pending on an active session, or on this session."""
    items = AgendaItem.objects.filter(**{field: OuterRef("pk")})
    on_agenda = Q(state=AgendaItemState.PENDING, session__state__in=ACTIVE_SESSION_STATES)
    if session is not None:
        on_agenda |= Q(session=session)
    if field == "campaign_case":
        on_agenda |= Q(state=AgendaItemState.DECIDED)
    return Exists(items.filter(on_agenda))


def pending_cases(committee: Committee, session: Session | None = None) -> list[tuple[CampaignCase, list[str]]]:
    """Cases the committee must discuss, each with its reasons, the most pressing first."""
    flagged = Exists(Classification.objects.filter(assignment__campaign_case=OuterRef("pk"),
                                                   possible_adverse_event=True))
    differs = Q(state__in=RESOLVED_CASE_STATES) & ~Q(reference_label="") & ~Q(reference_label=F("case__ai_label"))
    rows = (
        CampaignCase.objects.filter(campaign__committee=committee)
        .exclude(campaign__state=CampaignState.CANCELLED)
        .annotate(flagged=flagged, waiting=_waiting("campaign_case", session))
        .filter(Q(state=CampaignCaseState.NEEDS_ADJUDICATION) | Q(flagged=True) | differs, waiting=False)
        .select_related("case", "campaign")
        .order_by("campaign_id", "id")
    )
    out = []
    for cc in rows:
        reasons = []
        if cc.flagged:
            reasons.append(CaseReason.POSSIBLE_ADVERSE_EVENT)
        if cc.state == CampaignCaseState.NEEDS_ADJUDICATION:
            reasons.append(CaseReason.READERS_DISAGREE)
        elif cc.reference_label and cc.reference_label != cc.case.ai_label:
            reasons.append(CaseReason.REFERENCE_DIFFERS_FROM_AI)
        if reasons:
            out.append((cc, [str(r) for r in reasons]))
    out.sort(key=lambda pair: min(REASON_ORDER.index(r) for r in pair[1]))
    return out


def pending_actions(committee: Committee, session: Session | None = None) -> list[Action]:
    return list(
        Action.objects.filter(committee=committee, state__in=OPEN_ACTION_STATES)
        .annotate(waiting=_waiting("action", session)).filter(waiting=False)
        .select_related("owner").order_by("due_date", "id")
    )


def pending_vigilance(committee: Committee, session: Session | None = None) -> list[VigilanceReport]:
    return list(
        VigilanceReport.objects.filter(committee=committee).exclude(state=VigilanceState.CLOSED)
        .annotate(waiting=_waiting("vigilance_report", session)).filter(waiting=False)
        .select_related("ai_system").order_by("aware_at", "id")
    )
