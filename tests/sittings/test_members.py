"""The members' part in a sitting: votes per present member (their own, or recorded by the chair
on their behalf), the minutes reporting the vote faithfully, comments, the roll call in one
request, and the convocations with their iCalendar attachment."""

import datetime as dt
import hashlib
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from audit.models import AuditEvent
from common.exceptions import TransitionNotAllowed
from reviews.enums import AdjudicationMethod
from reviews.models import Adjudication
from sittings import services
from sittings.convocations import session_uid
from sittings.enums import AttendanceStatus, SessionState
from sittings.models import Attendance, Comment, Decision, Session, Vote
from tests.helpers import snapshot
from tests.sittings.flows import plan, session_in
from tests.workflows import disagreeing_campaign

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
DECIDE = {"summary": "Discussion du cas.", "text": "Fracture retenue.", "reference_label": "fracture"}


def _item(session):
    return session.items.order_by("position").first()


def _vote(api, user, item, choice, dissent="", **extra):
    return api(user).post(f"/api/agenda-items/{item.pk}/vote/", {"choice": choice, "dissent": dissent, **extra},
                          format="json")


def test_minutes_after_a_3_to_1_vote_report_the_count_and_the_dissent_never_a_consensus(world, api):
    session = session_in(world, "open")
    item = _item(session)
    for voter in (world.chair, world.clinicians[0], world.patient_reps[0]):
        assert _vote(api, voter, item, "for").status_code == 200
    r = _vote(api, world.patient_reps[1], item, "against", "Le patient n'a pas été informé du recours à l'IA.")
    assert r.status_code == 200, r.json()

    r = api(world.chair).post(f"/api/agenda-items/{item.pk}/decide/", DECIDE, format="json")

    assert r.status_code == 200, r.json()
    decision = Decision.objects.get(item=item)
    assert (decision.votes_for, decision.votes_against, decision.votes_abstain) == (3, 1, 0)
    assert set(Vote.objects.filter(item=item).values_list("decision_id", flat=True)) == {decision.pk}
    assert [v["choice"] for v in r.json()["votes"]].count("for") == 3
    assert Adjudication.objects.get(campaign_case_id=item.campaign_case_id).method == AdjudicationMethod.MAJORITY_VOTE
    services.session_close(actor=world.secretary, session=session)
    signed = services.session_sign(actor=world.chair, session=session)
    passage = unescape(signed.minutes_html.split(f'data-case="{item.campaign_case_id}"')[1].split("</section>")[0])
    assert "Vote : 3 pour, 1 contre, 0 abstention(s)." in passage
    assert "Décision prise à la majorité, et non à l'unanimité." in passage
    assert "consensus" not in passage and "Label de référence retenu à la majorité" in passage
    assert f"{world.patient_reps[1].display_name} — Contre : « Le patient n'a pas été informé du recours à l'IA. »" \
        in passage
    assert signed.minutes_sha256 == hashlib.sha256(signed.minutes_html.encode()).hexdigest()


def test_a_unanimous_vote_is_reported_as_a_consensus(world, api):
    session = session_in(world, "open")
    item = _item(session)
    for voter in (world.chair, world.clinicians[0], world.clinicians[1], world.patient_reps[0]):
        assert _vote(api, voter, item, "for").status_code == 200
    assert api(world.chair).post(f"/api/agenda-items/{item.pk}/decide/", DECIDE, format="json").status_code == 200
    services.session_close(actor=world.secretary, session=session)
    signed = services.session_sign(actor=world.chair, session=session)
    passage = signed.minutes_html.split(f'data-case="{item.campaign_case_id}"')[1].split("</section>")[0]
    assert "Label de référence retenu par consensus : Fracture." in passage
    assert Adjudication.objects.get(campaign_case_id=item.campaign_case_id).method == AdjudicationMethod.CONSENSUS
    assert "Décision prise à l'unanimité." in passage


def test_vote_rules_present_members_only_dissent_required_change_before_decision(world, api):
    session = session_in(world, "open")
    item = _item(session)
    rep = world.patient_reps[0]
    seat = world.committee.members.get(user=rep)
    services.attendance_record_all(actor=world.secretary, session=session, statuses={seat.pk: "excused"})
    before = snapshot()
    r = _vote(api, rep, item, "for")
    assert (r.status_code, snapshot(), Vote.objects.count()) == (409, before, 0)  # not present
    r = _vote(api, world.clinicians[0], item, "against")
    assert (r.status_code, set(r.json()["extra"])) == (400, {"dissent"})
    assert _vote(api, world.clinicians[0], item, "against", "Doute.").status_code == 200
    assert _vote(api, world.clinicians[0], item, "abstain").status_code == 200  # changed before the decision
    assert Vote.objects.get(item=item, member__user=world.clinicians[0]).choice == "abstain"
    r = _vote(api, world.management, item, "for")
    assert r.status_code == 404  # not on the committee: the item does not exist for them


def test_the_chair_records_a_vote_on_a_members_behalf_audited_as_such(world, api):
    session = session_in(world, "open")
    item = _item(session)
    seat = world.committee.members.get(user=world.clinicians[1])
    r = _vote(api, world.chair, item, "for", member=seat.pk)
    assert r.status_code == 200, r.json()
    vote = Vote.objects.get(item=item, member=seat)
    assert (vote.on_behalf, vote.recorded_by_id) == (True, world.chair.pk)
    event = AuditEvent.objects.filter(action="session.vote").latest("pk")
    assert (event.data["on_behalf"], event.data["member"]) == (True, seat.pk)
    r = _vote(api, world.secretary, item, "for", member=seat.pk)
    assert r.status_code == 403  # only the chair records for someone else


def test_decision_counts_must_match_the_votes_and_quorum_is_still_enforced(world, api):
    session = session_in(world, "open")
    item = _item(session)
    assert _vote(api, world.chair, item, "for").status_code == 200
    r = api(world.chair).post(f"/api/agenda-items/{item.pk}/decide/", {**DECIDE, "votes_for": 5}, format="json")
    assert r.status_code == 400 and "votes_for" in r.json()["extra"]
    for attendance in Attendance.objects.filter(session=session).exclude(member__user=world.chair):
        attendance.status = AttendanceStatus.ABSENT
        attendance.save()
    before = snapshot()
    r = api(world.chair).post(f"/api/agenda-items/{item.pk}/decide/", DECIDE, format="json")
    assert (r.status_code, r.json()["code"], snapshot()) == (409, "quorum_not_met", before)


def test_an_old_decision_without_member_votes_stays_readable(world, api):
    session = session_in(world, "open")
    item = _item(session)
    services.decision_record(actor=world.chair, item=item, summary="s", text="t", votes_for=4, votes_against=1,
                             dissent="Réserve exprimée.", reference_label="fracture")
    body = api(world.clinicians[0]).get(f"/api/agenda-items/{item.pk}/").json()
    assert (body["decision"]["votes_for"], body["decision"]["dissent"], body["votes"]) == (4, "Réserve exprimée.", [])
    services.session_close(actor=world.secretary, session=session)
    signed = services.session_sign(actor=world.chair, session=session)
    assert "Opinion divergente : </strong> Réserve exprimée." in signed.minutes_html.replace(
        "Opinion divergente :</strong>", "Opinion divergente : </strong>")


def test_members_comment_on_items_and_draft_minutes_until_signed(world, api):
    session = session_in(world, "open")
    item = _item(session)
    rep = world.patient_reps[0]
    r = api(rep).post(f"/api/agenda-items/{item.pk}/comments/", {"text": "Le patient a-t-il été prévenu ?"},
                      format="json")
    assert r.status_code == 201, r.json()
    assert api(rep).post(f"/api/sessions/{session.pk}/comments/", {"text": "Ajouter le délai."},
                         format="json").status_code == 201
    r = api(rep).post(f"/api/sessions/{session.pk}/comments/", {"text": "Rappeler la famille au 06 71 42 83 19"},
                      format="json")
    assert (r.status_code, r.json()["code"]) == (400, "direct_identifier")
    listed = api(world.clinicians[0]).get(f"/api/sessions/{session.pk}/comments/").json()
    assert [c["text"] for c in listed] == ["Le patient a-t-il été prévenu ?", "Ajouter le délai."]
    assert AuditEvent.objects.filter(action="session.comment").count() == 2
    assert api(world.management).post(f"/api/sessions/{session.pk}/comments/", {"text": "x"},
                                      format="json").status_code == 404
    services.session_close(actor=world.secretary, session=session)
    services.session_sign(actor=world.chair, session=session)
    r = api(rep).post(f"/api/sessions/{session.pk}/comments/", {"text": "Trop tard."}, format="json")
    assert r.status_code == 409 and Comment.objects.count() == 2


def test_roll_call_records_every_member_in_one_request_all_or_nothing(world, api):
    session = session_in(world, "open")
    seats = list(world.committee.members.order_by("pk"))
    statuses = {str(m.pk): ("excused" if i % 2 else "present") for i, m in enumerate(seats)}
    before = snapshot()
    r = api(world.secretary).post(f"/api/sessions/{session.pk}/roll-call/",
                                  {"statuses": {**statuses, str(seats[0].pk): "asleep"}}, format="json")
    assert (r.status_code, snapshot()) == (400, before)
    r = api(world.secretary).post(f"/api/sessions/{session.pk}/roll-call/", {"statuses": statuses}, format="json")
    assert r.status_code == 200, r.json()
    got = dict(Attendance.objects.filter(session=session).values_list("member_id", "status"))
    assert got == {m.pk: statuses[str(m.pk)] for m in seats}
    assert api(world.patient_reps[0]).post(f"/api/sessions/{session.pk}/roll-call/", {"statuses": statuses},
                                           format="json").status_code == 403


def _calendars(outbox):
    out = []
    for message in outbox:
        (name, content, mimetype), = message.attachments
        assert name.endswith(".ics") and mimetype.startswith("text/calendar")
        out.append((message, Calendar.from_ical(content)))
    return out


def test_convocations_by_email_with_icalendar_request_update_and_cancel(world, django_capture_on_commit_callbacks):
    disagreeing_campaign(world, sample_size=2)
    when = timezone.make_aware(dt.datetime(2027, 3, 18, 14, 30), PARIS)
    with django_capture_on_commit_callbacks(execute=True):
        session = services.session_create(actor=world.secretary, committee=world.committee, title="Séance de mars",
                                          scheduled_at=when, place="Salle du conseil")
    invited = {a.member.user.email for a in session.attendances.select_related("member__user")}
    sent = _calendars(mail.outbox)
    assert {m.to[0] for m, _ in sent} == invited and all(len(m.to) == 1 for m, _ in sent)
    message, cal = sent[0]
    assert "Convocation" in message.subject and "#" not in message.body  # the case list stays on the platform
    event = cal.walk("VEVENT")[0]
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == session_uid(session)
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == when and event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(hours=2)
    assert "DTSTART;TZID=Europe/Paris:20270318T143000" in cal.to_ical().decode()
    assert cal.walk("VTIMEZONE")[0]["TZID"] == "Europe/Paris"
    assert str(event["LOCATION"]) == "Salle du conseil"

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.session_reschedule(actor=world.secretary, session=session, scheduled_at=when + dt.timedelta(days=7),
                                    place="Salle B")
    message, cal = _calendars(mail.outbox)[0]
    event = cal.walk("VEVENT")[0]
    assert (str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"])) == ("REQUEST", session_uid(session), 1)
    assert event.decoded("DTSTART") == when + dt.timedelta(days=7) and "modifiée" in message.subject

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.session_cancel(actor=world.secretary, session=session, reason="Report au mois suivant.")
    message, cal = _calendars(mail.outbox)[0]
    event = cal.walk("VEVENT")[0]
    assert (str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"])) == ("CANCEL", session_uid(session), 2)
    assert str(event["STATUS"]) == "CANCELLED" and "annulée" in message.subject
    assert len(mail.outbox) == len(invited)
    assert Session.objects.get(pk=session.pk).state == SessionState.CANCELLED


def test_reschedule_is_refused_once_the_session_sits(world, django_capture_on_commit_callbacks):
    session = session_in(world, "open")
    mail.outbox.clear()
    with pytest.raises(TransitionNotAllowed), django_capture_on_commit_callbacks(execute=True):
        services.session_reschedule(actor=world.secretary, session=session, scheduled_at=timezone.now(),
                                    place="Salle B")
    assert mail.outbox == []


def test_plan_a_session_for_members_is_403(world, api):
    payload = {"committee": world.committee.pk, "title": "Séance", "scheduled_at": "2027-04-02T14:00:00Z",
               "place": "Salle"}
    for member in (world.patient_reps[0], world.clinicians[0]):
        assert api(member).post("/api/sessions/", payload, format="json").status_code == 403
    assert plan(world).state == SessionState.PLANNED
