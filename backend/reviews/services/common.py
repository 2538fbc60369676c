"""Helpers shared by the review services."""

from collections import Counter

from common.exceptions import TransitionNotAllowed

from ..eligibility import reader_pools
from ..enums import (
    ACTIVE_STATES,
    AssignmentKind,
    CampaignState,
)
from ..models import (
    Assignment,
    Campaign,
    EvidenceExposure,
)

READER_NOUNS = {AssignmentKind.CLINICIAN: "clinician reviewers", AssignmentKind.PATIENT_REP: "patient representatives"}


def locked_row(model, pk: int):
    """The row of ``model`` locked for update (only that table's row, not its joins); callers are
    inside a transaction."""
    return model.objects.select_for_update(of=("self",)).get(pk=pk)


def ensure_campaign_in(obj, name: str, campaign: Campaign, states=(CampaignState.IN_REVIEW,)) -> None:
    """Review work happens while the campaign runs: never in a cancelled (or finished) campaign,
    where it would write verdicts, reassignments or references nobody will use (409)."""
    if campaign.state not in states:
        raise TransitionNotAllowed(
            f"Cannot {name} this {obj._meta.verbose_name_raw}: its campaign is {campaign.state}.",
            extra={"campaign_state": campaign.state, "transition": name},
        )


def one_more_reader(campaign_case, kind: str, rng, *, only: int | None = None) -> int | None:
    """One more eligible reader of ``kind`` for the case under the campaign's rules, never one who
    already had it (in any state) nor one who saw its unblinded evidence (``EvidenceExposure``),
    the least loaded in the campaign first (``only``: that reader or none). Used for reassignment
    and third readings."""
    campaign = campaign_case.campaign
    pool = reader_pools(campaign, rng=rng)[kind]
    loads = Counter(Assignment.objects.filter(campaign_case__campaign=campaign, state__in=ACTIVE_STATES)
                    .values_list("reviewer_id", flat=True))
    for reader in pool.readers:
        reader.load = loads.get(reader.user_id, 0)
    case = campaign_case.case
    chosen = pool.pick(case_id=case.pk, service=case.service, site=case.site, signer=case.clinician_pseudonym, k=1,
                       exclude=set(campaign_case.assignments.values_list("reviewer_id", flat=True))
                       | set(EvidenceExposure.objects.filter(case=case).values_list("user_id", flat=True)),
                       only=only,
                       signer_key_id=case.key_id)
    return chosen[0] if chosen else None
