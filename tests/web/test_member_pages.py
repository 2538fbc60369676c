"""The committee pages as the members in office use them, through Django's test client: the
session page's tabs, the roll call in one form, the confirmation before closing or cancelling,
votes and comments with their errors on their fields, the committee page's tabs, and the case
page's evidence with a query count that does not grow with the readers."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews import services as review_services
from sittings import services
from sittings.enums import SessionState
from sittings.models import Attendance, Comment, Session
from tests.helpers import html
from tests.login import login
from tests.sittings.flows import flag_adverse_event, plan
from tests.workflows import disagreeing_campaign, present_quorum

pytestmark = pytest.mark.django_db


@pytest.fixture
def sitting(world):
    disagreeing_campaign(world)
    session = plan(world)
    services.session_start(actor=world.secretary, session=session)
    return session


def test_roll_call_records_every_row_from_one_form(world, sitting):
    client = login(world.secretary)
    body = html(client.get(f"/sessions/{sitting.pk}/?tab=attendance"))
    assert body.count('name="status-') == sitting.attendances.count()
    assert body.count('id="roll-call"') == 1
    seats = list(world.committee.members.order_by("pk"))
    data = {f"status-{m.pk}": "present" for m in seats} | {f"status-{seats[-1].pk}": "excused"}
    r = client.post(f"/sessions/{sitting.pk}/roll-call/", data)
    assert r.status_code == 302 and r["Location"].endswith("?tab=attendance")
    got = dict(Attendance.objects.filter(session=sitting).values_list("member_id", "status"))
    assert got == {m.pk: data[f"status-{m.pk}"] for m in seats}
    r = client.post(f"/sessions/{sitting.pk}/roll-call/", {f"status-{seats[0].pk}": "asleep"})
    assert r.status_code == 400 and Attendance.objects.get(session=sitting, member=seats[0]).status == "present"
    assert login(world.patient_reps[0]).post(f"/sessions/{sitting.pk}/roll-call/", data).status_code == 403
    assert 'name="status-' not in html(login(world.patient_reps[0]).get(f"/sessions/{sitting.pk}/?tab=attendance"))


def test_close_and_cancel_ask_for_a_confirmation_first(world, sitting):
    client = login(world.secretary)
    r = client.post(f"/sessions/{sitting.pk}/transitions/close/")
    assert r.status_code == 200 and "Clore la séance ?" in html(r)
    assert "seront reportés à une séance ultérieure" in html(r)
    assert Session.objects.get(pk=sitting.pk).state == SessionState.OPEN
    r = client.post(f"/sessions/{sitting.pk}/transitions/close/", {"confirm": "yes"})
    assert r.status_code == 302 and Session.objects.get(pk=sitting.pk).state == SessionState.CLOSED

    planned = plan(world, days=8, title="Séance d'avril")
    r = client.post(f"/sessions/{planned.pk}/transitions/cancel/", {"reason": "Report."})
    assert r.status_code == 200 and "Annuler la séance ?" in html(r)
    assert Session.objects.get(pk=planned.pk).state == SessionState.PLANNED
    r = client.post(f"/sessions/{planned.pk}/transitions/cancel/", {"reason": "Report.", "confirm": "yes"})
    assert r.status_code == 302 and Session.objects.get(pk=planned.pk).state == SessionState.CANCELLED


def test_buttons_are_offered_only_when_the_transition_can_succeed(world, sitting):
    member = login(world.patient_reps[0])
    body = html(member.get(f"/sessions/{sitting.pk}/"))
    assert "Clore la séance" not in body and "/transitions/" not in body and "Voter" not in body  # not present
    present_quorum(sitting, world.secretary)
    body = html(member.get(f"/sessions/{sitting.pk}/"))
    assert "Voter" in body and "/decide/" not in body
    chair = html(login(world.chair).get(f"/sessions/{sitting.pk}/"))
    assert "/decide/" not in chair and "une fois que les membres présents auront voté" in chair
    assert "Signer le procès-verbal" not in chair


def test_votes_and_comments_from_the_session_page(world, sitting):
    present_quorum(sitting, world.secretary)
    item = sitting.items.order_by("position").first()
    rep = login(world.patient_reps[0])
    r = rep.post(f"/sessions/{sitting.pk}/items/{item.pk}/comments/", {f"comment{item.pk}-text": ""})
    assert r.status_code == 400 and "has-errors" in html(r)
    r = rep.post(f"/sessions/{sitting.pk}/items/{item.pk}/comments/",
                 {f"comment{item.pk}-text": "Joindre la famille au 06 71 42 83 19"})
    assert r.status_code == 400 and "numéro de téléphone" in html(r) and not Comment.objects.exists()
    r = rep.post(f"/sessions/{sitting.pk}/items/{item.pk}/comments/",
                 {f"comment{item.pk}-text": "Le patient a-t-il été informé ?"})
    assert r.status_code == 302
    r = rep.post(f"/sessions/{sitting.pk}/comments/", {"minutes-text": "Préciser le délai de l'action."})
    assert r.status_code == 302 and r["Location"].endswith("?tab=minutes#minutes-comments")
    assert "Préciser le délai de l'action." in html(rep.get(f"/sessions/{sitting.pk}/?tab=minutes"))
    assert "Le patient a-t-il été informé ?" in html(login(world.clinicians[0]).get(f"/sessions/{sitting.pk}/"))
    seat = world.committee.members.get(user=world.clinicians[2])
    r = login(world.chair).post(f"/sessions/{sitting.pk}/items/{item.pk}/proxy-vote/",
                                {f"proxy{item.pk}-member": seat.pk, f"proxy{item.pk}-choice": "abstain"})
    assert r.status_code == 302
    body = html(rep.get(f"/sessions/{sitting.pk}/"))
    assert f"{world.clinicians[2].display_name} — Abstention" in body
    assert "consigné par le président pour le compte du membre" in body


def test_committee_page_tabs_for_a_member_and_for_a_manager(world, sitting):
    url = f"/committees/{world.committee.pk}/"
    member = html(login(world.patient_reps[0]).get(url))
    assert sitting.title in member and "?tab=manage" not in member and "Planifier une séance" not in member
    assert "Attribuer un siège" not in html(login(world.patient_reps[0]).get(url + "?tab=manage"))
    manager = html(login(world.secretary).get(url))
    assert "?tab=manage" in manager and "Planifier une séance" in manager
    assert "Attribuer un siège" in html(login(world.secretary).get(url + "?tab=manage"))
    assert login(world.patient_reps[0]).post(f"/committees/{world.committee.pk}/members/", {}).status_code == 404


@pytest.mark.parametrize("who", ["chair", "quality", "patient_rep", "clinician"])
def test_case_page_shows_the_evidence_to_the_adjudicator_and_the_members(world, who):
    cc = flag_adverse_event(world)  # a case the chair does not read; one clinician flagged it
    if who in ("patient_rep", "clinician"):  # a member who does not read this case
        pool = world.patient_reps if who == "patient_rep" else world.clinicians
        user = next(u for u in pool if not cc.assignments.filter(reviewer=u).exists())
    else:
        user = getattr(world, who)
    body = html(login(user).get(f"/campaigns/{cc.campaign_id}/cases/{cc.pk}/"))
    for text in ("Éléments du dossier", cc.case.clinical_context, "Rien.", "Événement indésirable possible",
                 "Classe d'écart", cc.case.image_url):
        assert text in body, text
    blind = next(a.reviewer for a in cc.assignments.filter(state__in=["assigned", "opened"]))
    assert login(blind).get(f"/campaigns/{cc.campaign_id}/cases/{cc.pk}/").status_code == 404


def test_case_page_query_count_does_not_grow_with_the_readers(world, django_assert_num_queries):
    campaign = disagreeing_campaign(world, sample_size=2)
    cc = campaign.campaign_cases.order_by("pk").first()
    client = login(world.quality)
    url = f"/campaigns/{campaign.pk}/cases/{cc.pk}/"
    client.get(url)
    readers = cc.assignments.count()
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    review_services.third_reading_request(actor=world.quality, campaign_case=cc)
    assert cc.assignments.count() == readers + 1
    with django_assert_num_queries(len(before)):
        assert client.get(url).status_code == 200
