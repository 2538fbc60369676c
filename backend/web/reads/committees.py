"""Committee pages: committees, sessions and their items, actions, vigilance, re-identification, the
committee's view of a case."""


from django.http import Http404

from committees.models import Committee
from committees.selectors import visible_committee_ids
from reidentification.models import ReidentificationRequest
from reidentification.permissions import can_view_request
from reviews import permissions as perms
from reviews.enums import (
    BLIND_STATES,
    AssignmentState,
    CampaignCaseState,
)
from reviews.models import Assignment, Campaign, CampaignCase
from sittings.models import Action, AgendaItem, Session
from sittings.permissions import can_view_action, can_view_item, can_view_sessions
from vigilance.models import VigilanceReport
from vigilance.permissions import can_view_report
from vigilance.selectors import vigilance_list_for_user

from .campaigns import can_see_board

# --- Committees: sessions, actions, vigilance, re-identification --------------------------------
# Case-level committee work is for the quality team and the officers sitting on the committee;
# anyone else gets 404. A case item is withheld (no reasons, no decision, no link) from someone
# who still reads that case blind (``sittings.permissions.can_view_item``): the set of such
# cases is read once per page (``blind_case_ids``), never once per item.

def blind_case_ids(user) -> frozenset[int]:
    """Campaign cases the caller still reads blind: one query."""
    if not user.is_authenticated:
        return frozenset()
    return frozenset(Assignment.objects.filter(reviewer=user, state__in=BLIND_STATES)
                     .values_list("campaign_case_id", flat=True))


def committees_for(user):
    """Committees whose sessions the caller may see (``committees.selectors.visible_committee_ids``)."""
    ids = visible_committee_ids(user)
    return Committee.objects.all() if ids is None else Committee.objects.filter(pk__in=ids)


def committee_for(user, pk: int):
    committee = Committee.objects.filter(pk=pk).first()
    if committee is None or not can_view_sessions(user, committee.pk):
        raise Http404
    return committee


def session_for(user, pk: int, *, for_update: bool = False):
    session = Session.objects.select_related("committee", "signed_by").filter(pk=pk).first()
    if session is None or not can_view_sessions(user, session.committee_id):
        raise Http404
    return session


def item_for(user, session, item_pk: int):
    """An agenda item of ``session`` the caller may see (404 for a case they read blind)."""
    item = AgendaItem.objects.select_related("campaign_case__campaign__ai_system").filter(
        pk=item_pk, session=session).first()
    if item is None or not can_view_item(user, item):
        raise Http404
    return item


def action_for(user, pk: int):
    action = Action.objects.select_related("committee", "owner", "decision__item__session").filter(pk=pk).first()
    if action is None or not can_view_action(user, action):
        raise Http404
    return action


def vigilance_for(user, pk: int):
    report = VigilanceReport.objects.select_related("committee", "ai_system", "campaign_case", "declared_by").filter(
        pk=pk).first()
    if report is None or not can_view_report(user, report):
        raise Http404
    return report


def vigilance_list_for(user):
    """Reports of the committees the caller handles, minus those of a case they read blind
    (``vigilance.selectors.vigilance_list_for_user``), in the order of the page. The art. 73 clock
    is computed per row from the row itself: no query per report."""
    return vigilance_list_for_user(user).order_by("state", "aware_at", "id")


def vigilance_clock(report, now=None) -> dict:
    clock = report.clock(now)
    days_left = clock["days_left"]
    return clock | {
        "days_left_whole": None if days_left is None else int(days_left) if days_left >= 0 else None,
        "days_late": None if days_left is None or days_left >= 0 else int(-days_left) + 1,
    }


def reid_for(user, pk: int):
    request = (ReidentificationRequest.objects.select_related(
        "campaign_case__campaign__committee", "campaign_case__case", "requested_by", "decided_by")
        .filter(pk=pk).first())
    if request is None or not can_view_request(user, request):
        raise Http404
    return request


def case_context_for(user, campaign_pk: int, cc_pk: int):
    """A case of a campaign as the committee discusses it (AI output, readers' labels), for the
    quality team and the committee's officers, never for someone still reading it blind."""
    cc = (CampaignCase.objects.select_related("campaign__ai_system", "campaign__committee", "case")
          .filter(pk=cc_pk, campaign_id=campaign_pk).first())
    if cc is None or not can_view_sessions(user, cc.campaign.committee_id) or perms.has_blind_review_of(user, cc):
        raise Http404
    return cc


def adjudication_rows(user, campaign: Campaign) -> list[dict]:
    """Cases of ``campaign`` whose readers disagree, for whoever already sees the campaign's board
    or results and its committee's sessions (never someone reading in it blind; 404 otherwise),
    with whether the caller may ask for a third reading of each."""
    if not (can_see_board(user, campaign) or (perms.can_view_campaign_results(user, campaign)
                                               and can_view_sessions(user, campaign.committee_id))):
        raise Http404
    rows = []
    ccs = list(campaign.campaign_cases.filter(state=CampaignCaseState.NEEDS_ADJUDICATION).order_by("pk"))
    pending = set(Assignment.objects.filter(campaign_case__in=ccs, is_third_reading=True,
                                            state__in=[AssignmentState.ASSIGNED, AssignmentState.OPENED])
                  .values_list("campaign_case_id", flat=True))
    for cc in ccs:
        cc.campaign = campaign
        rows.append({"id": cc.pk, "case_id": cc.case_id, "third_reading_pending": cc.pk in pending,
                     "can_request": perms.can_request_third_reading(user, cc)})
    return rows
