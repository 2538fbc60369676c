"""Committee pages: committees, sessions and their items, actions, vigilance, re-identification, the
committee's view of a case."""


from django.http import Http404

from committees.selectors import (
    committee_business_get_for_user,
    committee_business_list_for_user,
    committee_sittings_get_for_user,
    committee_sittings_list_for_user,
)
from reidentification.selectors import reidentification_get_for_user
from reviews import permissions as perms
from reviews.models import Campaign
from sittings import selectors as sitting_selectors
from sittings.permissions import can_view_sessions
from vigilance.selectors import vigilance_get_for_user, vigilance_worklist_for_user

from .campaigns import can_see_board

# --- Committees: sessions, actions, vigilance, re-identification --------------------------------
# Case-level committee work is for the quality team and the officers sitting on the committee;
# anyone else gets 404. A case item is withheld (no reasons, no decision, no link) from someone
# who still reads that case blind (``sittings.permissions.can_view_item``): the set of such
# cases is read once per page (``blind_case_ids``), never once per item.

def _or_404(obj):
    if obj is None:
        raise Http404
    return obj


def blind_case_ids(user) -> frozenset[int]:
    """Campaign cases the caller still reads blind: one query."""
    return sitting_selectors.blind_case_ids_of(user)


def committees_for(user):
    """Committees whose sessions the caller may see (``committees.selectors.visible_committee_ids``),
    by name."""
    return committee_business_list_for_user(user)


def committee_for(user, pk: int):
    return _or_404(committee_business_get_for_user(user, pk))


def sitting_committees_for(user):
    """Committees whose sessions the caller reads (the quality team: every one; a member in office,
    whatever the seat: theirs), by name."""
    return committee_sittings_list_for_user(user)


def sitting_committee_for(user, pk: int):
    return _or_404(committee_sittings_get_for_user(user, pk))


def session_for(user, pk: int):
    return _or_404(sitting_selectors.session_get_for_user(user, pk))


def item_for(user, session, item_pk: int):
    """An agenda item of ``session`` the caller may see (404 for a case they read blind)."""
    return _or_404(sitting_selectors.agenda_item_get_for_user(user, session, item_pk))


def action_for(user, pk: int):
    return _or_404(sitting_selectors.action_get_for_user(user, pk))


def vigilance_for(user, pk: int):
    return _or_404(vigilance_get_for_user(user, pk))


def vigilance_list_for(user):
    """Reports of the committees the caller handles, minus those of a case they read blind, in the
    order of the page (``vigilance.selectors.vigilance_worklist_for_user``)."""
    return vigilance_worklist_for_user(user)


def vigilance_clock(report, now=None) -> dict:
    clock = report.clock(now)
    days_left = clock["days_left"]
    return clock | {
        "days_left_whole": None if days_left is None else int(days_left) if days_left >= 0 else None,
        "days_late": None if days_left is None or days_left >= 0 else int(-days_left) + 1,
    }


def reid_for(user, pk: int):
    return _or_404(reidentification_get_for_user(user, pk))


def case_context_for(user, campaign_pk: int, cc_pk: int):
    """A case of a campaign as the committee discusses it (AI output, readers' labels), for the
    quality team and the committee's officers, never for someone still reading it blind."""
    return _or_404(sitting_selectors.committee_case_get_for_user(user, campaign_pk, cc_pk))


def adjudication_rows(user, campaign: Campaign) -> list[dict]:
    """Cases of ``campaign`` whose readers disagree, for whoever already sees the campaign's board
    or results and its committee's sessions (never someone reading in it blind; 404 otherwise),
    with whether the caller may ask for a third reading of each."""
    if not (can_see_board(user, campaign) or (perms.can_view_campaign_results(user, campaign)
                                               and can_view_sessions(user, campaign.committee_id))):
        raise Http404
    rows = []
    ccs = sitting_selectors.adjudication_case_list(campaign)
    pending = sitting_selectors.third_reading_pending_ids(ccs)
    for cc in ccs:
        cc.campaign = campaign
        rows.append({"id": cc.pk, "case_id": cc.case_id, "third_reading_pending": cc.pk in pending,
                     "can_request": perms.can_request_third_reading(user, cc)})
    return rows
