"""Who saw a case's unblinded evidence (see ``models.EvidenceExposure``)."""

from accounts.enums import REVIEWER_ROLES

from ..models import EvidenceExposure


def evidence_seen(*, user, case_ids) -> None:
    """Record that ``user`` was shown the unblinded evidence of ``case_ids`` (one query, none
    for an account that never reads blind or an empty list). Idempotent: the first sight is kept.
    Not an audit event: a read, recorded only so that the reader is never drawn blind on the case
    afterwards."""
    ids = sorted(set(case_ids))
    if not ids or user.role not in REVIEWER_ROLES:
        return
    EvidenceExposure.objects.bulk_create([EvidenceExposure(case_id=pk, user=user) for pk in ids],
                                         ignore_conflicts=True)
