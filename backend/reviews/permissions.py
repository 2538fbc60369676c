"""Who may do what to campaigns, cases in campaigns and assignments.

Plain predicates reused by services (403), selectors (visibility) and views (which buttons to
show). The blinding rule lives here too: a user with a blind review pending on a case (or in a
campaign, for campaign-wide figures) may not see anything that derives from sealed data. Who sits
on a committee and who chairs it is decided in ``committees.permissions``.
"""

from django.db.models import Exists, OuterRef

from accounts.enums import CAMPAIGN_MANAGER_ROLES, COMMITTEE_OFFICER_ROLES, RESULTS_READER_ROLES, REVIEWER_ROLES
from committees.permissions import committee_ids_of, is_chair_of, is_member_of, sits_on

from .enums import BLIND_STATES, AssignmentKind
from .models import Assignment, Campaign, CampaignCase


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_campaign_manager(user) -> bool:
    return _active(user) and user.role in CAMPAIGN_MANAGER_ROLES


def reads_campaign_blind(user, campaign: Campaign, *, blind_campaign_ids: frozenset[int] | None = None) -> bool:
    """The one rule for campaign-wide data: the caller (whatever their role) still has a blind
    reading pending somewhere in ``campaign``, so they get the reduced view of it everywhere (API
    detail and list, sub-resources, web pages): no design, protocol, strata, sizes, seed or
    population, no case-level rows, no progress or results. ``blind_campaign_ids`` (from
    ``blind_campaign_ids_of``) answers a list without one query per row."""
    if not _active(user):
        return False
    if blind_campaign_ids is not None:
        return campaign.pk in blind_campaign_ids
    # Asked several times per request (page sections, API gates): answered once per campaign
    # object and caller. The object lives for one request; a transition reloads it.
    cached = getattr(campaign, "_cgh_reads_blind", None)
    if cached is not None and cached[0] == user.pk:
        return cached[1]
    value = Assignment.objects.filter(reviewer=user, campaign_case__campaign=campaign, state__in=BLIND_STATES).exists()
    campaign._cgh_reads_blind = (user.pk, value)
    return value


def blind_campaign_ids_of(user) -> frozenset[int]:
    """Every campaign in which the caller still has a blind reading pending (one query)."""
    if not _active(user):
        return frozenset()
    return frozenset(
        Assignment.objects.filter(reviewer=user, state__in=BLIND_STATES)
        .values_list("campaign_case__campaign_id", flat=True).distinct()
    )


def reads_blind_in_campaign(user, campaign_ref: str = "campaign") -> Exists:
    """Subquery twin of ``reads_campaign_blind`` for querysets: the caller still reads blind some
    case of the campaign at ``campaign_ref`` (an ``OuterRef`` path)."""
    return Exists(Assignment.objects.filter(campaign_case__campaign=OuterRef(campaign_ref), reviewer=user,
                                            state__in=BLIND_STATES))


def reads_blind(user, campaign_case_ref: str = "pk") -> Exists:
    """Subquery for querysets: the caller still reads blind the campaign case at
    ``campaign_case_ref`` (an ``OuterRef`` path), so that a list excludes or withholds such rows in
    the same query, whatever its length."""
    return Exists(Assignment.objects.filter(campaign_case=OuterRef(campaign_case_ref), reviewer=user,
                                            state__in=BLIND_STATES))


def has_blind_review_of(user, campaign_case: CampaignCase) -> bool:
    return Assignment.objects.filter(reviewer=user, campaign_case=campaign_case, state__in=BLIND_STATES).exists()


def can_create_campaign(user) -> bool:
    return is_campaign_manager(user)


def can_review_cases(user) -> bool:
    """The roles that may be given blind reviews (``REVIEWER_ROLES``), hence have a review queue;
    which cases is the eligibility rule of ``reviews.eligibility``."""
    return _active(user) and user.role in REVIEWER_ROLES


def can_manage_campaign(user, campaign: Campaign) -> bool:
    return is_campaign_manager(user)


def can_publish_campaign(user, campaign: Campaign) -> bool:
    return is_campaign_manager(user) or is_chair_of(user, campaign.committee_id)


def reads_campaign_figures(user) -> bool:
    """The roles that read campaign figures at all (the quality team, administrators, management
    and committee officers); which campaigns is :func:`can_view_campaign_results`."""
    return _active(user) and user.role in RESULTS_READER_ROLES


def reads_member_figures(user) -> bool:
    """The caller holds a seat in office on some committee (any seat), so reads the figures of
    that committee's campaigns (:func:`can_view_campaign_results`)."""
    return _active(user) and bool(committee_ids_of(user))


def can_view_campaign_results(user, campaign: Campaign, *,
                              blind_campaign_ids: frozenset[int] | None = None) -> bool:
    """The one rule for a campaign's figures (API results, campaign page, dashboard, reports,
    the list of dashboards): a role that reads campaign figures (:func:`reads_campaign_figures`),
    a committee officer only for a committee they sit on; any member in office of the campaign's
    committee, whatever the seat (``committees.permissions.is_member_of``: patient
    representatives and clinician experts); and never anyone with a blind review still pending
    in the campaign, whatever their role: the figures mix every verdict of it.
    ``blind_campaign_ids`` as in :func:`reads_campaign_blind`."""
    by_role = reads_campaign_figures(user) and not (user.role in COMMITTEE_OFFICER_ROLES
                                                    and not sits_on(user, campaign.committee_id))
    if not (by_role or is_member_of(user, campaign.committee_id)):
        return False
    return not reads_campaign_blind(user, campaign, blind_campaign_ids=blind_campaign_ids)


def can_view_campaign_design(user, campaign: Campaign, *, blind_campaign_ids: frozenset[int] | None = None) -> bool:
    """The campaign's full representation (sampling design, frozen protocol, strata and their
    sizes or weights, seed, population size and hash): the roles that read campaign figures
    (the quality team among them), unless they read the campaign blind. Everyone else gets the
    reviewer's reduced view."""
    return reads_campaign_figures(user) and not reads_campaign_blind(
        user, campaign, blind_campaign_ids=blind_campaign_ids)


def can_operate_campaign(user, campaign: Campaign) -> bool:
    """The quality team's operator views of a campaign (progress board, reassignment, case-state
    counts), never while they read the campaign blind (a quality member may also sit on the
    committee)."""
    return can_manage_campaign(user, campaign) and not reads_campaign_blind(user, campaign)


def can_view_campaign_progress(user, campaign: Campaign) -> bool:
    """Counts of case and assignment states: case states say whether readers agreed, so they are
    results-like; the quality team or the results readers, never while reading the campaign blind."""
    return can_operate_campaign(user, campaign) or can_view_campaign_results(user, campaign)


def can_adjudicate(user, campaign_case: CampaignCase) -> bool:
    return is_chair_of(user, campaign_case.campaign.committee_id) and not has_blind_review_of(user, campaign_case)


def can_request_third_reading(user, campaign_case: CampaignCase) -> bool:
    return is_campaign_manager(user) or can_adjudicate(user, campaign_case)


def is_assignee(user, assignment: Assignment) -> bool:
    return _active(user) and assignment.reviewer_id == user.pk


def can_classify(user, assignment: Assignment) -> bool:
    """The assigned clinician reviewer: a patient representative never classifies a clinical
    discrepancy (the service refuses it with 409, ``classification_clinicians_only``), so the
    transition is not offered to them."""
    return is_assignee(user, assignment) and assignment.kind == AssignmentKind.CLINICIAN


def can_expire_assignment(user, assignment: Assignment) -> bool:
    return is_campaign_manager(user)


def can_reassign_assignment(user, assignment: Assignment) -> bool:
    return is_campaign_manager(user)


def can_view_deviations(user, campaign: Campaign) -> bool:
    """Deviations may name strata built on the AI output: case-level knowledge, so the quality
    team and the committee's officers with no blind review pending in the campaign (never
    management, who read campaign figures only)."""
    if is_campaign_manager(user):
        return can_operate_campaign(user, campaign)
    return _active(user) and user.role in COMMITTEE_OFFICER_ROLES and can_view_campaign_results(user, campaign)


CAMPAIGN_TRANSITIONS = {
    "schedule": can_manage_campaign,
    "draw_sample": can_manage_campaign,
    "start_review": can_manage_campaign,
    "close_review": can_manage_campaign,
    "start_analysis": can_manage_campaign,
    "publish": can_publish_campaign,
    "archive": can_manage_campaign,
    "cancel": can_manage_campaign,
}

ASSIGNMENT_TRANSITIONS = {
    "open": is_assignee,
    "submit": is_assignee,
    "unblind": is_assignee,
    "classify": can_classify,
    "decline": is_assignee,
    "expire": can_expire_assignment,
    "reassign": can_reassign_assignment,
}
"""Assignment actions, as ``available_transitions`` lists them, with who may fire each."""
ASSIGNMENT_ACTION_FIRES = {"reassign": "withdraw"}
"""Assignment actions named apart from the transition they fire: ``reassign`` withdraws the
review (state ``withdrawn``) and gives the case to another reader."""
