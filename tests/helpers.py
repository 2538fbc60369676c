"""Small helpers shared by the test modules: reading a page, finding a member's seat, and the
CSV files of import tests and the snapshot of everything a refused request must leave untouched.

Logging in lives in ``tests/login.py`` (``login``/``verified_client``), the browser's login in
``tests/browser/login.py``.
"""

from html import unescape

from accounts.models import SensitiveChangeRequest, User
from audit.models import AuditEvent
from committees.models import Member
from reidentification.models import ReidentificationRequest
from reviews.models import Adjudication, Assignment, Campaign, CampaignCase, Classification, Verdict
from sittings.models import Action, AgendaItem, Attendance, Decision, Session
from vigilance.models import VigilanceReport


def html(response) -> str:
    """The page as text, entities decoded (Django escapes apostrophes in variables)."""
    return unescape(response.content.decode())


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    """An import file as the hospital's export writes it: ``;``-separated, UTF-8, one header line
    (the keys of the first row, in their order), no quoting (values hold no ``;``)."""
    header = list(rows[0])
    lines = [";".join(header)] + [";".join(row[h] for h in header) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def seat(world, user) -> Member:
    """``user``'s current seat on the committee of ``world``."""
    return Member.objects.get(committee=world.committee, user=user, term_end__isnull=True)


def snapshot(*, accounts: bool = False) -> dict:
    """Everything a refused request must leave untouched: campaigns and their readings, sessions,
    actions, vigilance reports, re-identification requests and the audit trail. With
    ``accounts``, the users (role, flags, password hash) and the sensitive change requests
    instead: the account tests compare those alone, since a refused account change may write a
    security event to the audit trail."""
    if accounts:
        return {
            "users": list(User.objects.order_by("pk").values_list(
                "pk", "role", "is_active", "is_staff", "is_superuser", "password")),
            "change_requests": list(SensitiveChangeRequest.objects.order_by("pk").values_list("pk", "state")),
        }
    return {
        "campaigns": list(Campaign.objects.order_by("pk").values_list(
            "pk", "state", "seed", "population_hash", "scheduled_at", "published_at")),
        "campaign_cases": list(CampaignCase.objects.order_by("pk").values_list("pk", "state", "reference_label")),
        "assignments": list(Assignment.objects.order_by("pk").values_list(
            "pk", "state", "reviewer_id", "decline_reason", "opened_at", "submitted_at", "unblinded_at")),
        "verdicts": Verdict.objects.count(),
        "classifications": Classification.objects.count(),
        "adjudications": Adjudication.objects.count(),
        "sessions": list(Session.objects.order_by("pk").values_list(
            "pk", "state", "opened_at", "closed_at", "signed_at", "minutes_sha256", "cancel_reason")),
        "items": list(AgendaItem.objects.order_by("pk").values_list("pk", "state")),
        "attendances": list(Attendance.objects.order_by("pk").values_list("pk", "status")),
        "decisions": Decision.objects.count(),
        "actions": list(Action.objects.order_by("pk").values_list("pk", "state", "outcome", "cancel_reason")),
        "vigilance": list(VigilanceReport.objects.order_by("pk").values_list(
            "pk", "state", "description", "seriousness", "declaration_reference", "closure_note")),
        "reidentification": list(ReidentificationRequest.objects.order_by("pk").values_list(
            "pk", "state", "decided_by", "requester_revealed_at", "officer_revealed_at")),
        "audit_events": AuditEvent.objects.count(),
    }
