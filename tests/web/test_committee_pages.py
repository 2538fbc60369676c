"""Committee pages through Django's test client: who sees what (404 for anyone outside the
committee's work), the session workflow (quorum, decision, signature, frozen minutes), downloads,
form errors on their fields, and constant query counts of the list pages."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case
from cases.source_reference import current_source_key, encrypt_source_reference
from committees import services as committee_services
from reviews.enums import CampaignState
from reviews.models import Assignment
from sittings import services
from sittings.enums import AgendaItemKind, AgendaItemState, SessionState
from sittings.models import AgendaItem, Attendance, Session
from tests.helpers import html
from tests.login import login
from tests.workflows import campaign_in, disagreeing_campaign, present_quorum
from vigilance import services as vig

pytestmark = pytest.mark.django_db


def plan(world, **kwargs) -> Session:
    return services.session_create(actor=world.secretary, committee=world.committee, title="Séance de mars",
                                   scheduled_at=timezone.now() + dt.timedelta(days=1), place="Salle 2", **kwargs)


@pytest.fixture
def sitting(world):
    """A disagreeing campaign and an open session whose agenda holds its cases."""
    disagreeing_campaign(world)
    session = plan(world)
    services.session_start(actor=world.secretary, session=session)
    return session


def _pages(world, session) -> list[str]:
    return ["/committees/", f"/committees/{world.committee.pk}/", f"/committees/{world.committee.pk}/sessions/new/",
            f"/sessions/{session.pk}/", "/actions/", "/vigilance/", "/vigilance/export.csv",
            f"/sessions/{session.pk}/minutes.html"]


def test_committee_pages_render_for_the_officers_and_the_quality_team(world, sitting):
    for user in (world.quality, world.secretary, world.chair):
        client = login(user)
        for url in _pages(world, sitting):
            assert client.get(url).status_code == 200, (user.username, url)
    assert "Ordre du jour" in html(login(world.secretary).get(f"/sessions/{sitting.pk}/"))
    assert "Quorum" in html(login(world.secretary).get(f"/sessions/{sitting.pk}/?tab=attendance"))


MEMBER_READS = ("/committees/", "/committees/{c}/", "/sessions/{s}/", "/sessions/{s}/?tab=attendance",
                "/sessions/{s}/?tab=minutes", "/sessions/{s}/minutes.html")


def test_committee_pages_are_404_for_everyone_else(world, sitting):
    outsiders = [world.management, world.dpo]
    for user in outsiders:
        client = login(user)
        for url in _pages(world, sitting):
            assert client.get(url).status_code == 404, (user.username, url)
    # The members in office (clinician and patient-representative seats) read the committee's
    # sessions, and only them: the officers' pages stay 404.
    reads = {u.format(c=world.committee.pk, s=sitting.pk) for u in MEMBER_READS}
    for member in (world.clinicians[0], world.patient_reps[0]):
        client = login(member)
        for url in reads:
            assert client.get(url).status_code == 200, (member.username, url)
        for url in set(_pages(world, sitting)) - reads:
            assert client.get(url).status_code == 404, (member.username, url)
    for url in _pages(world, sitting):
        r = Client().get(url)
        assert r.status_code == 302 and r["Location"] == f"/login/?next={url}"


def test_composition_shows_seats_terms_conflicts_and_history(world):
    member = world.committee.members.get(user=world.clinicians[0])
    committee_services.conflict_declare(actor=world.quality, member=member, kind="vendor", value="AcmeVendor",
                                        description="Conseil")
    committee_services.member_end_term(actor=world.quality, member=member,
                                       term_end=timezone.localdate() - dt.timedelta(days=1))
    history = html(login(world.quality).get(f"/committees/{world.committee.pk}/?tab=history"))
    assert world.clinicians[0].display_name in history.split("Historique")[-1]
    assert "AcmeVendor" in history
    assert "Président" in html(login(world.quality).get(f"/committees/{world.committee.pk}/?tab=members"))


def test_plan_session_form_names_the_missing_fields(world):
    client = login(world.secretary)
    url = f"/committees/{world.committee.pk}/sessions/new/"
    r = client.post(url, {"title": "", "scheduled_at": "2026-12-01T14:00"})
    assert r.status_code == 400
    assert set(r.context["form"].errors) == {"title", "place"}
    assert not Session.objects.exists()
    r = client.post(url, {"title": "Séance", "scheduled_at": "2026-12-01T14:00",
                          "video_link": "https://visio.example.org/x"})
    assert r.status_code == 302
    assert Session.objects.get().video_link == "https://visio.example.org/x"


def test_decision_refused_without_quorum_then_recorded_from_the_members_votes(world, sitting):
    item = sitting.items.order_by("position").first()
    chair = login(world.chair)
    url = f"/sessions/{sitting.pk}/items/{item.pk}/decide/"
    data = {f"item{item.pk}-{k}": v for k, v in {
        "summary": "Discussion.", "text": "Fracture retenue.", "reference_label": "fracture"}.items()}
    r = chair.post(url, data)
    assert r.status_code == 409
    assert "Pas de quorum" in html(r) or "No quorum" in html(r)
    assert AgendaItem.objects.get(pk=item.pk).state == AgendaItemState.PENDING
    present_quorum(sitting, world.secretary)
    page = html(chair.get(f"/sessions/{sitting.pk}/"))
    assert f'action="{url}"' not in page  # no vote yet: the decision button is not offered
    r = chair.post(url, data)
    assert r.status_code == 400 and AgendaItem.objects.get(pk=item.pk).state == AgendaItemState.PENDING
    vote = f"/sessions/{sitting.pk}/items/{item.pk}/vote/"
    r = login(world.clinicians[2]).post(vote, {f"vote{item.pk}-choice": "against"})  # no dissent given
    assert r.status_code == 400
    before_dissent = html(r).split(f'for="id_vote{item.pk}-dissent"')[0].rsplit('<div class="field', 1)[1]
    assert "has-errors" in before_dissent
    for voter in (world.chair, world.clinicians[0], world.clinicians[1]):
        assert login(voter).post(vote, {f"vote{item.pk}-choice": "for"}).status_code == 302
    assert login(world.clinicians[2]).post(vote, {f"vote{item.pk}-choice": "against",
                                                  f"vote{item.pk}-dissent": "Trait douteux."}).status_code == 302
    assert f'action="{url}"' in html(chair.get(f"/sessions/{sitting.pk}/"))
    assert chair.post(url, data).status_code == 302
    decision = AgendaItem.objects.get(pk=item.pk).decision
    assert (decision.votes_for, decision.votes_against, decision.votes_abstain) == (3, 1, 0)
    assert decision.votes.count() == 4
    # The secretary runs the session but does not decide.
    other = sitting.items.order_by("position")[1]
    r = login(world.secretary).post(f"/sessions/{sitting.pk}/items/{other.pk}/decide/", data)
    assert r.status_code == 403


def _sign(world, session) -> Session:
    present_quorum(session, world.secretary)
    item = session.items.order_by("position").first()
    decision = services.decision_record(actor=world.chair, item=item, summary="Discussion.", text="Retenu.",
                                        votes_for=4, reference_label="fracture")
    services.action_create(actor=world.chair, committee=world.committee, kind="train_users", title="Former",
                           owner=world.quality, due_date=timezone.localdate() + dt.timedelta(days=30),
                           decision=decision)
    services.session_close(actor=world.secretary, session=session)
    r = login(world.chair).post(f"/sessions/{session.pk}/sign/", {})
    assert r.status_code == 400 and "confirm" in r.context["form"].errors
    r = login(world.chair).post(f"/sessions/{session.pk}/sign/", {"confirm": "on"})
    assert r.status_code == 302
    return Session.objects.get(pk=session.pk)


def test_signed_minutes_are_frozen_and_nothing_changes(world, sitting):
    signed = _sign(world, sitting)
    assert signed.state == SessionState.SIGNED
    client = login(world.chair)
    body = html(client.get(f"/sessions/{signed.pk}/?tab=minutes"))
    assert signed.minutes_sha256 in body
    assert "Enregistrer la décision" not in body
    assert 'name="status-' not in html(login(world.secretary).get(f"/sessions/{signed.pk}/?tab=attendance"))
    item = signed.items.order_by("position").first()
    member = world.committee.members.first()
    assert client.post(f"/sessions/{signed.pk}/items/{item.pk}/decide/", {}).status_code == 409
    assert login(world.secretary).post(f"/sessions/{signed.pk}/attendance/",
                                       {"member": member.pk, "status": "absent"}).status_code == 409
    assert client.post(f"/sessions/{signed.pk}/items/{item.pk}/actions/", {}).status_code == 409
    assert Attendance.objects.get(session=signed, member=member).status == "present"
    again = Session.objects.get(pk=signed.pk)
    assert (again.minutes_html, again.minutes_sha256) == (signed.minutes_html, signed.minutes_sha256)
    download = client.get(f"/sessions/{signed.pk}/minutes.html")
    assert download.status_code == 200 and signed.minutes_html in download.content.decode()
    assert "attachment" in download["Content-Disposition"]
    pdf = client.get(f"/sessions/{signed.pk}/minutes.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_case_item_is_withheld_from_a_chair_still_reading_it_blind(world):
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    blind = Assignment.objects.filter(reviewer=world.chair, campaign_case__campaign=campaign).first()
    assert blind is not None
    session = plan(world)
    item = AgendaItem.objects.create(session=session, position=99, kind=AgendaItemKind.CASE,
                                     campaign_case=blind.campaign_case, title="CASE-TITLE-SENTINEL",
                                     reasons=["possible_adverse_event"])
    link = f"/campaigns/{campaign.pk}/cases/{blind.campaign_case_id}/"
    body = html(login(world.chair).get(f"/sessions/{session.pk}/"))
    assert link not in body and "événement indésirable" not in body and "masqué" in body
    assert login(world.chair).get(f"/sessions/{session.pk}/minutes.html").status_code == 404
    assert login(world.chair).get(f"/campaigns/{campaign.pk}/cases/{blind.campaign_case_id}/").status_code == 404
    assert link in html(login(world.secretary).get(f"/sessions/{session.pk}/"))
    assert item.pk


def test_corrective_action_lifecycle_through_the_pages(world):
    action = services.action_create(actor=world.secretary, committee=world.committee, kind="other", title="Audit",
                                    owner=world.clinicians[0], due_date=timezone.localdate())
    owner = login(world.clinicians[0])
    assert "Audit" in html(owner.get("/actions/mine/"))
    assert owner.get(f"/actions/{action.pk}/").status_code == 200
    assert login(world.clinicians[1]).get(f"/actions/{action.pk}/").status_code == 404
    r = owner.post(f"/actions/{action.pk}/transitions/complete/", {"outcome": ""})
    assert r.status_code == 400 and "outcome" in r.context["outcome_form"].errors
    assert owner.post(f"/actions/{action.pk}/transitions/start/").status_code == 302
    assert owner.post(f"/actions/{action.pk}/transitions/cancel/", {"reason": "x"}).status_code == 403
    assert owner.post(f"/actions/{action.pk}/transitions/complete/", {"outcome": "Fait."}).status_code == 302
    assert owner.post(f"/actions/{action.pk}/transitions/start/").status_code == 409
    action.refresh_from_db()
    assert (action.state, action.outcome) == ("done", "Fait.")


def test_vigilance_report_pages_clock_edit_declare_pdf_and_csv(world):
    report = vig.vigilance_create(actor=world.secretary, committee=world.committee, ai_system=world.ai_system,
                                  event_date=timezone.localdate(), description="Fracture manquée.")
    client = login(world.secretary)
    body = html(client.get("/vigilance/"))
    assert f"/vigilance/{report.pk}/" in body
    r = client.post(f"/vigilance/{report.pk}/declare/", {"reference": ""})
    assert r.status_code == 409  # seriousness still to be assessed
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    form = {"ai_version": "2.1", "event_date": future, "aware_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "seriousness": "death", "description": "Fracture manquée.", "patient_consequences": "Décès.",
            "actions_taken": ""}
    r = client.post(f"/vigilance/{report.pk}/edit/", form)
    assert r.status_code == 400 and "event_date" in r.context["form"].errors
    form["event_date"] = timezone.localdate().isoformat()
    assert client.post(f"/vigilance/{report.pk}/edit/", form).status_code == 302
    body = html(client.get(f"/vigilance/{report.pk}/"))
    assert "jours restants" in body or "jour restant" in body
    assert client.post(f"/vigilance/{report.pk}/declare/", {"reference": "ANSM-42"}).status_code == 302
    assert client.get(f"/vigilance/{report.pk}/edit/").status_code == 409
    pdf = client.get(f"/vigilance/{report.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    csv = client.get("/vigilance/export.csv").content.decode("utf-8-sig").splitlines()
    assert csv[0].startswith("id;committee;") and "ANSM-42" in csv[1] and ";declared;" in csv[1]
    assert login(world.management).get(f"/vigilance/{report.pk}/").status_code == 404


def _with_source_reference(world, campaign):
    key = current_source_key()
    cc = campaign.campaign_cases.order_by("pk").first()
    Case.objects.filter(pk=cc.case_id).update(source_reference=encrypt_source_reference("ACC-REVEAL-0042", key),
                                              source_reference_key_id=key.key_id)
    return cc


def test_reidentification_request_decision_and_reveal_once(world):
    campaign = disagreeing_campaign(world)
    cc = _with_source_reference(world, campaign)
    chair, dpo = login(world.chair), login(world.dpo)
    r = chair.post("/reidentification/new/", {"campaign_case": cc.pk, "justification": "court"})
    assert r.status_code == 400 and "justification" in r.context["form"].errors
    r = chair.post("/reidentification/new/", {"campaign_case": cc.pk,
                                                "justification": "L'IA a manqué une fracture ; rappel du patient."})
    assert r.status_code == 302
    pk = int(r["Location"].rstrip("/").split("/")[-1])
    assert "ACC-REVEAL-0042" not in r["Location"]
    for outsider in (world.secretary, world.quality, world.admin, world.management, world.clinicians[0]):
        client = login(outsider)
        assert client.get(f"/reidentification/{pk}/").status_code == 404
        assert client.get("/reidentification/").status_code == 404
        assert client.post(f"/reidentification/{pk}/reveal/").status_code == 404
    assert chair.post(f"/reidentification/{pk}/reveal/").status_code == 409  # not approved yet
    r = dpo.post(f"/reidentification/{pk}/decide/refuse/", {"comment": "", "confirm": "on"})
    assert r.status_code == 400 and "comment" in r.context["form"].errors
    r = dpo.post(f"/reidentification/{pk}/decide/approve/", {"comment": "Justifié."})  # not confirmed
    assert r.status_code == 400 and "confirm" in r.context["form"].errors
    assert chair.post(f"/reidentification/{pk}/reveal/").status_code == 409  # still not approved
    assert dpo.post(f"/reidentification/{pk}/decide/approve/",
                    {"comment": "Justifié.", "confirm": "on"}).status_code == 302
    r = chair.post(f"/reidentification/{pk}/reveal/")
    assert r.status_code == 200 and "ACC-REVEAL-0042" in html(r)
    assert "no-store" in r["Cache-Control"]
    assert "ACC-REVEAL-0042" not in html(chair.get(f"/reidentification/{pk}/"))
    r = chair.post(f"/reidentification/{pk}/reveal/")
    assert r.status_code == 409 and "ACC-REVEAL-0042" not in html(r)
    r = dpo.post(f"/reidentification/{pk}/reveal/")
    assert r.status_code == 200 and "ACC-REVEAL-0042" in html(r)
    assert dpo.post(f"/reidentification/{pk}/reveal/").status_code == 409
    assert "ACC-REVEAL-0042" not in html(dpo.get("/reidentification/"))


def test_third_reading_is_asked_from_the_adjudication_page(world):
    campaign = disagreeing_campaign(world)
    cc = campaign.campaign_cases.order_by("pk").first()
    quality = login(world.quality)
    body = html(quality.get(f"/campaigns/{campaign.pk}/adjudication/"))
    assert f"/campaigns/{campaign.pk}/cases/{cc.pk}/third-reading/" in body
    r = quality.post(f"/campaigns/{campaign.pk}/cases/{cc.pk}/third-reading/")
    assert r.status_code == 302
    assert Assignment.objects.filter(campaign_case=cc, is_third_reading=True).count() == 1
    assert quality.post(f"/campaigns/{campaign.pk}/cases/{cc.pk}/third-reading/").status_code == 409
    assert login(world.management).get(f"/campaigns/{campaign.pk}/adjudication/").status_code == 404
    assert login(world.clinicians[0]).post(
        f"/campaigns/{campaign.pk}/cases/{cc.pk}/third-reading/").status_code == 403


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_pages_query_counts_do_not_grow_with_items(world):
    def add(n):
        for i in range(n):
            services.action_create(actor=world.secretary, committee=world.committee, kind="other", title=f"A{i}",
                                   owner=world.quality, due_date=timezone.localdate())
            vig.vigilance_create(actor=world.secretary, committee=world.committee, ai_system=world.ai_system,
                                 event_date=timezone.localdate(), description=f"Événement {i}")
            plan(world)

    client = login(world.quality)
    urls = ["/actions/", "/actions/mine/", "/vigilance/", "/vigilance/export.csv", "/committees/",
            f"/committees/{world.committee.pk}/", "/reidentification/"]
    client_dpo = login(world.dpo)
    add(1)
    one = {u: _count(client_dpo if "reid" in u else client, u) for u in urls}
    add(2)
    three = {u: _count(client_dpo if "reid" in u else client, u) for u in urls}
    assert one == three
