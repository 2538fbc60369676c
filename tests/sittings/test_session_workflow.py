"""Sessions through the real services: agenda built from what awaits the committee, quorum,
decisions (adjudication by the session), actions, minutes frozen at signature."""

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from common.exceptions import Forbidden, TransitionNotAllowed, ValidationFailed
from reviews.enums import CampaignCaseState
from reviews.models import CampaignCase
from sittings import services
from sittings.enums import AgendaItemKind, AgendaItemState, SessionState
from sittings.models import AgendaItem, Session
from tests.workflows import disagreeing_campaign, present_quorum

pytestmark = pytest.mark.django_db


def _plan(world, **kwargs) -> Session:
    return services.session_create(actor=world.secretary, committee=world.committee, title="Séance de mars",
                                   scheduled_at=timezone.now() + dt.timedelta(days=1), place="Salle 2", **kwargs)


def test_session_create_builds_agenda_from_disagreeing_cases_and_invites_members(world):
    campaign = disagreeing_campaign(world)
    session = _plan(world)
    items = list(session.items.order_by("position"))
    assert [i.kind for i in items] == [AgendaItemKind.CASE] * campaign.campaign_cases.count()
    assert {i.campaign_case_id for i in items} == set(campaign.campaign_cases.values_list("id", flat=True))
    assert all(i.reasons == ["readers_disagree"] for i in items)
    assert session.attendances.count() == world.committee.members.count()
    # The same cases are not proposed twice while they wait on this session.
    assert services.session_refresh_agenda(actor=world.secretary, session=session) == 0


def test_decision_refused_without_quorum_and_recorded_with_it(world):
    disagreeing_campaign(world)
    session = _plan(world)
    services.session_start(actor=world.secretary, session=session)
    item = session.items.first()
    chair_seat = world.committee.members.get(user=world.chair)
    services.attendance_record(actor=world.secretary, session=session, member=chair_seat, status="present")
    with pytest.raises(TransitionNotAllowed) as exc:
        services.decision_record(actor=world.chair, item=item, summary="Discussion.", text="Fracture retenue.",
                                 votes_for=1, reference_label="fracture")
    assert exc.value.code == "quorum_not_met"
    item.refresh_from_db()
    assert item.state == AgendaItemState.PENDING
    present_quorum(session, world.secretary)
    decision = services.decision_record(actor=world.chair, item=item, summary="Discussion.", text="Fracture retenue.",
                                        votes_for=5, votes_against=1, dissent="Trait douteux.",
                                        reference_label="fracture")
    cc = CampaignCase.objects.get(pk=item.campaign_case_id)
    assert (cc.state, cc.reference_label) == (CampaignCaseState.ADJUDICATED, "fracture")
    assert decision.adjudication.method == "majority_vote"  # 5 for, 1 against: not a consensus


def test_decision_needs_majority_dissent_and_chair(world):
    disagreeing_campaign(world)
    session = _plan(world)
    services.session_start(actor=world.secretary, session=session)
    present_quorum(session, world.secretary)
    item = session.items.first()
    with pytest.raises(Forbidden):
        services.decision_record(actor=world.secretary, item=item, summary="s", text="t", votes_for=3,
                                 reference_label="fracture")
    with pytest.raises(ValidationFailed) as exc:
        services.decision_record(actor=world.chair, item=item, summary="s", text="t", votes_for=3, votes_against=1,
                                 reference_label="fracture")
    assert "dissent" in exc.value.extra
    with pytest.raises(ValidationFailed) as exc:
        services.decision_record(actor=world.chair, item=item, summary="s", text="t", votes_for=30,
                                 reference_label="fracture")
    assert "votes_for" in exc.value.extra
    with pytest.raises(ValidationFailed) as exc:
        services.decision_record(actor=world.chair, item=item, summary="s", text="t", votes_for=3)
    assert "reference_label" in exc.value.extra


def test_signed_minutes_are_frozen(world):
    disagreeing_campaign(world)
    session = _plan(world)
    services.session_start(actor=world.secretary, session=session)
    present_quorum(session, world.secretary)
    item = session.items.first()
    decision = services.decision_record(actor=world.chair, item=item, summary="Discussion.", text="Retenu.",
                                        votes_for=4, reference_label="fracture")
    action = services.action_create(actor=world.chair, committee=world.committee, kind="train_users",
                                    title="Former les urgentistes", owner=world.quality,
                                    due_date=timezone.localdate() + dt.timedelta(days=30), decision=decision)
    services.session_close(actor=world.secretary, session=session)
    assert set(session.items.exclude(pk=item.pk).values_list("state", flat=True)) == {AgendaItemState.DEFERRED}
    with pytest.raises(Forbidden):
        services.session_sign(actor=world.secretary, session=session)
    signed = services.session_sign(actor=world.chair, session=session)
    assert signed.state == SessionState.SIGNED
    assert "Former les urgentistes" in signed.minutes_html
    assert "Procès-verbal" in signed.minutes_html or "Minutes" in signed.minutes_html
    digest = signed.minutes_sha256
    with pytest.raises(TransitionNotAllowed):
        services.action_create(actor=world.chair, committee=world.committee, kind="other", title="Trop tard",
                               owner=world.quality, due_date=timezone.localdate(), decision=decision)
    with pytest.raises(TransitionNotAllowed):
        services.session_sign(actor=world.chair, session=signed)
    signed.refresh_from_db()
    assert signed.minutes_sha256 == digest
    assert AuditEvent.objects.filter(action="session.sign", object_id=str(session.pk)).count() == 1
    # The open action and the deferred cases come back on the next agenda.
    nxt = _plan(world)
    kinds = list(nxt.items.values_list("kind", "action_id"))
    assert (AgendaItemKind.ACTION, action.pk) in kinds
    assert AgendaItem.objects.filter(session=nxt, kind=AgendaItemKind.CASE).count() == session.items.filter(
        state=AgendaItemState.DEFERRED).count()
