"""Blinding for the members in office (patient representative and clinician seats), who now read
their committee's sessions, agenda, decisions, votes, comments, minutes and dashboards: for a case
a member still reads blind, every read withholds what derives from sealed data. The values that
could leak (another reader's rationale, the AI score, the decision, a vote's dissent, a comment,
the item's reasons) are planted, then looked for in every API endpoint and page the member reads;
a member who does not read the case blind sees them (so that the test can fail)."""

import pytest

from cases.models import Case
from reviews import services as review_services
from reviews.enums import BLIND_STATES, AssignmentKind
from reviews.models import Assignment, CampaignCase
from sittings import services
from sittings.enums import AgendaItemKind
from sittings.models import AgendaItem
from tests.factories import CommitteeFactory, MemberFactory, UserFactory
from tests.helpers import html
from tests.login import login
from tests.sittings.flows import plan
from tests.workflows import campaign_in, disagreeing_campaign, present_quorum

pytestmark = pytest.mark.django_db

SENTINELS = {
    "rationale": "OTHER-READER-RATIONALE-7Q",
    "summary": "DISCUSSION-SUMMARY-7Q",
    "decision": "DECISION-TEXT-7Q",
    "dissent": "VOTE-DISSENT-7Q",
    "comment": "ITEM-COMMENT-7Q",
}
AI_SCORE = 0.8137  # planted on the case: "0.8137" or "0,8137"


def _blind_case(world, member) -> CampaignCase:
    """A case ``member`` still reads blind, which the chair does not read, and which another
    clinician has read (rationale planted) and flagged as a possible adverse event."""
    campaign = campaign_in(world, "in_review", sample_size=6)
    for cc in CampaignCase.objects.filter(campaign=campaign).order_by("pk"):
        mine = cc.assignments.filter(reviewer=member, state__in=BLIND_STATES).exists()
        others = cc.assignments.filter(kind=AssignmentKind.CLINICIAN).exclude(reviewer__in=[member, world.chair])
        if mine and not cc.assignments.filter(reviewer=world.chair).exists() and others.exists():
            reader = others.order_by("pk").first()
            review_services.assignment_submit(actor=reader.reviewer, assignment=reader, data={
                "label": "no_fracture", "confidence": 2, "rationale": SENTINELS["rationale"]})
            review_services.assignment_unblind(actor=reader.reviewer, assignment=reader)
            review_services.assignment_classify(actor=reader.reviewer, assignment=reader,
                                                discrepancy="clear_significant", would_have_changed=True,
                                                possible_adverse_event=True)
            Case.objects.filter(pk=cc.case_id).update(ai_score=AI_SCORE)
            return cc
    raise AssertionError("the sample holds no case read blind by this member and not by the chair")


def _sitting_on(world, cc, member):
    """A session whose agenda holds ``cc``: others vote (one dissent), comment, the chair decides,
    the session is closed and signed."""
    session = plan(world)
    AgendaItem.objects.filter(session=session).delete()
    item = AgendaItem.objects.create(session=session, position=1, kind=AgendaItemKind.CASE, campaign_case=cc,
                                     title=f"#{cc.case_id} — {cc.campaign.name}", reasons=["possible_adverse_event"])
    services.session_start(actor=world.secretary, session=session)
    AgendaItem.objects.filter(session=session).exclude(pk=item.pk).delete()
    present_quorum(session, world.secretary)
    voters = [u for u in (world.chair, *world.clinicians, *world.patient_reps)
              if u != member and not Assignment.objects.filter(reviewer=u, campaign_case=cc,
                                                               state__in=BLIND_STATES).exists()]
    services.vote_cast(actor=voters[0], item=item, choice="against", dissent=SENTINELS["dissent"])
    for voter in voters[1:]:
        services.vote_cast(actor=voter, item=item, choice="for")
    services.comment_add(actor=world.chair, session=session, item=item, text=SENTINELS["comment"])
    services.decision_record(actor=world.chair, item=item, summary=SENTINELS["summary"],
                             text=SENTINELS["decision"])
    return session, item


def _leaks(text: str, cc) -> set[str]:
    found = {k for k, v in SENTINELS.items() if v in text}
    if str(AI_SCORE) in text or str(AI_SCORE).replace(".", ",") in text:
        found.add("ai_score")
    if f'data-case="{cc.pk}"' in text:
        found.add("minutes passage")
    if "événement indésirable" in text or "possible_adverse_event" in text:
        found.add("reasons")
    return found


def _reads(world, session, item, cc):
    """Every API endpoint and page a member reads about the committee's work."""
    s, c, campaign = session.pk, world.committee.pk, cc.campaign_id
    api_urls = ["/api/sessions/", f"/api/sessions/{s}/", f"/api/agenda-items/{item.pk}/",
                f"/api/sessions/{s}/minutes/", f"/api/sessions/{s}/comments/", f"/api/campaigns/{campaign}/results/"]
    pages = ["/committees/", f"/committees/{c}/", f"/committees/{c}/?tab=members", f"/sessions/{s}/",
             f"/sessions/{s}/?tab=attendance", f"/sessions/{s}/?tab=minutes", f"/sessions/{s}/minutes.html",
             f"/sessions/{s}/minutes.pdf", f"/campaigns/{campaign}/cases/{cc.pk}/", "/reports/",
             f"/reports/campaigns/{campaign}/", f"/campaigns/{campaign}/"]
    return api_urls, pages


def _walk(world, api, user, session, item, cc) -> tuple[dict[str, set[str]], dict[str, int]]:
    api_urls, pages = _reads(world, session, item, cc)
    leaks, statuses = {}, {}
    for url in api_urls:
        r = api(user).get(url)
        statuses[url] = r.status_code
        leaks[url] = _leaks(r.content.decode(), cc)
    client = login(user)
    for url in pages:
        r = client.get(url)
        statuses[url] = r.status_code
        leaks[url] = _leaks(html(r) if r.get("Content-Type", "").startswith("text/") else "", cc)
    return leaks, statuses


@pytest.mark.parametrize("kind", ["patient_rep", "clinician"])
@pytest.mark.parametrize("state", ["closed", "signed"])
def test_a_member_reading_a_case_blind_sees_nothing_of_it_anywhere(world, api, kind, state):
    member = world.patient_reps[0] if kind == "patient_rep" else world.clinicians[0]
    cc = _blind_case(world, member)
    session, item = _sitting_on(world, cc, member)
    services.session_close(actor=world.secretary, session=session)
    if state == "signed":
        services.session_sign(actor=world.chair, session=session)

    leaks, statuses = _walk(world, api, member, session, item, cc)

    assert {url: found for url, found in leaks.items() if found} == {}
    s = session.pk
    assert statuses[f"/sessions/{s}/"] == statuses[f"/sessions/{s}/?tab=minutes"] == 200  # they read the session
    assert statuses[f"/api/sessions/{s}/minutes/"] == 200
    assert statuses[f"/campaigns/{cc.campaign_id}/cases/{cc.pk}/"] == 404
    assert statuses[f"/sessions/{s}/minutes.html"] == statuses[f"/sessions/{s}/minutes.pdf"] == 404
    assert statuses[f"/api/campaigns/{cc.campaign_id}/results/"] == 403
    assert statuses[f"/reports/campaigns/{cc.campaign_id}/"] == 403
    assert "Un cas que vous relisez encore en aveugle a été examiné ici" in html(
        login(member).get(f"/sessions/{s}/?tab=minutes"))
    body = api(member).get(f"/api/agenda-items/{item.pk}/").json()
    assert body == {"id": item.pk, "session": s, "position": 1, "kind": "case", "is_withheld": True}
    # and they cannot act on it either
    assert api(member).post(f"/api/agenda-items/{item.pk}/comments/", {"text": "x"}, format="json").status_code == 403

    # The secretary (who reads nothing blind) sees every planted value: the walk can fail.
    seen, _ = _walk(world, api, world.secretary, session, item, cc)
    assert set().union(*seen.values()) >= {"summary", "decision", "dissent", "comment", "rationale", "ai_score"}


def test_a_member_blind_on_a_case_cannot_vote_on_it_while_the_session_sits(world, api):
    member = world.patient_reps[0]
    cc = _blind_case(world, member)
    session = plan(world)
    item = AgendaItem.objects.get(session=session, campaign_case=cc)  # the flag put it on the agenda
    services.session_start(actor=world.secretary, session=session)
    present_quorum(session, world.secretary)
    r = api(member).post(f"/api/agenda-items/{item.pk}/vote/", {"choice": "for"}, format="json")
    assert r.status_code == 403
    r = login(member).post(f"/sessions/{session.pk}/items/{item.pk}/vote/", {f"vote{item.pk}-choice": "for"})
    assert r.status_code == 404
    assert not item.votes.exists()


def test_members_read_only_their_own_committee(world, api):
    other = CommitteeFactory()
    rep = UserFactory(role="patient_rep")
    MemberFactory(committee=other, user=rep, role="patient_rep")
    session = plan(world)
    assert api(rep).get(f"/api/sessions/{session.pk}/").status_code == 404
    assert api(rep).get("/api/sessions/").json()["results"] == []
    client = login(rep)
    assert client.get(f"/sessions/{session.pk}/").status_code == 404
    assert client.get(f"/committees/{world.committee.pk}/").status_code == 404
    assert client.get(f"/committees/{other.pk}/").status_code == 200
    campaign = campaign_in(world, "in_review")
    assert client.get(f"/reports/campaigns/{campaign.pk}/").status_code == 404


@pytest.mark.parametrize("kind", ["patient_rep", "clinician"])
def test_a_member_reads_the_dashboard_of_a_campaign_they_no_longer_read_blind(world, api, kind):
    member = world.patient_reps[0] if kind == "patient_rep" else world.clinicians[0]
    campaign = disagreeing_campaign(world)  # every reading submitted
    client = login(member)
    assert f"/reports/campaigns/{campaign.pk}/" in html(client.get("/reports/"))
    assert client.get(f"/reports/campaigns/{campaign.pk}/").status_code == 200
    assert api(member).get(f"/api/campaigns/{campaign.pk}/results/").status_code == 200
    outsider = UserFactory(role=kind)  # the same role without a seat reads no figures
    assert api(outsider).get(f"/api/campaigns/{campaign.pk}/results/").status_code == 404
