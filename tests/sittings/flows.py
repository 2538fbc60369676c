"""Reach session, action, vigilance and re-identification states through the real services, and
snapshot what a refused request must leave untouched. Shared by the API tests of those apps."""

import datetime as dt

from django.utils import timezone

from audit.models import AuditEvent
from cases.models import Case
from cases.source_reference import current_source_key, encrypt_source_reference
from reviews import services as review_services
from reviews.enums import AssignmentKind
from reviews.models import CampaignCase
from sittings import services
from sittings.models import Action, Session
from tests.workflows import campaign_in, disagreeing_campaign, present_quorum

SOURCE_REFERENCE = "ACC-PLAIN-7731-XQ"


def plan(world, *, actor=None, days: int = 1, title: str = "Séance de mars") -> Session:
    return services.session_create(actor=actor or world.secretary, committee=world.committee, title=title,
                                   scheduled_at=timezone.now() + dt.timedelta(days=days), place="Salle 2")


def session_in(world, state: str, *, with_cases: bool = True) -> Session:
    """A session of ``world`` in ``state`` (planned, open with quorum, closed, signed, cancelled);
    with ``with_cases``, its agenda holds the cases of a campaign whose readers disagree."""
    if with_cases:
        disagreeing_campaign(world, sample_size=2)
    session = plan(world)
    if state == "cancelled":
        return services.session_cancel(actor=world.secretary, session=session, reason="Report.")
    if state == "planned":
        return session
    services.session_start(actor=world.secretary, session=session)
    present_quorum(session, world.secretary)
    if state == "open":
        return Session.objects.get(pk=session.pk)
    services.session_close(actor=world.secretary, session=session)
    if state == "closed":
        return Session.objects.get(pk=session.pk)
    assert state == "signed", state
    return services.session_sign(actor=world.chair, session=session)


def action_in(world, state: str, *, owner=None) -> Action:
    """An action of ``world``'s committee owned by ``owner`` (clin0 by default) in ``state``."""
    action = services.action_create(actor=world.secretary, committee=world.committee, kind="train_users",
                                    title="Former les urgentistes", owner=owner or world.clinicians[0],
                                    due_date=timezone.localdate() + dt.timedelta(days=30))
    if state in ("in_progress", "done"):
        action = services.action_start(actor=world.secretary, action=action)
    if state == "done":
        action = services.action_complete(actor=world.secretary, action=action, outcome="Formation faite.")
    if state == "cancelled":
        action = services.action_cancel(actor=world.secretary, action=action, reason="Sans objet.")
    assert action.state == state
    return action


def flag_adverse_event(world, *, sample_size: int = 4, spare_chair: bool = False) -> CampaignCase:
    """A campaign in review where a clinician flags a possible adverse event on one case while
    classifying. With ``spare_chair``, the case is one the chair also reads and has not submitted
    (the chair still reads it blind); otherwise one the chair does not read."""
    campaign = campaign_in(world, "in_review", sample_size=sample_size)
    ccs = CampaignCase.objects.filter(campaign=campaign).order_by("pk")
    if spare_chair:
        cc = next(c for c in ccs if c.assignments.filter(reviewer=world.chair).exists()
                  and c.assignments.filter(kind=AssignmentKind.CLINICIAN).exclude(reviewer=world.chair).exists())
    else:  # a case the chair does not read: every officer may handle what follows
        cc = next(c for c in ccs if not c.assignments.filter(reviewer=world.chair).exists())
    reader = cc.assignments.filter(kind=AssignmentKind.CLINICIAN).exclude(reviewer=world.chair).order_by("pk").first()
    review_services.assignment_submit(actor=reader.reviewer, assignment=reader,
                                      data={"label": "no_fracture", "confidence": 3, "rationale": "Rien."})
    review_services.assignment_unblind(actor=reader.reviewer, assignment=reader)
    review_services.assignment_classify(actor=reader.reviewer, assignment=reader, discrepancy="clear_significant",
                                        would_have_changed=True, possible_adverse_event=True)
    return CampaignCase.objects.select_related("campaign", "case").get(pk=cc.pk)


def give_source_reference(campaign_case: CampaignCase, value: str = SOURCE_REFERENCE) -> None:
    key = current_source_key()
    Case.objects.filter(pk=campaign_case.case_id).update(
        source_reference=encrypt_source_reference(value, key), source_reference_key_id=key.key_id)


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def new_actions(since: int) -> list[str]:
    return list(AuditEvent.objects.filter(pk__gt=since).order_by("pk").values_list("action", flat=True))


def user_of(world, who: str):
    if who.startswith("clin"):
        return world.clinicians[int(who[4:])]
    if who.startswith("rep"):
        return world.patient_reps[int(who[3:])]
    return getattr(world, who)


__all__ = ["present_quorum"]
