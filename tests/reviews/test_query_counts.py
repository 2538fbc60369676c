"""Every list endpoint answers with a fixed number of queries, whatever the number of items: the
same exact count with 1 and with 3 items (selectors decide the joins, serializers never load
lazily)."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.enums import Role
from cases.importing.service import import_cases
from committees.enums import MemberRole
from reidentification.services import reidentification_request
from reviews import services
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment, CampaignCase
from sittings import services as sittings_services
from tests.factories import AISystemFactory, CaseFactory, CommitteeFactory, MemberFactory, UserFactory
from tests.reviews.test_fast_answers import bring_to
from tests.sittings.flows import action_in, give_source_reference
from tests.workflows import build_world, campaign_in, disagreeing_campaign, submit_all
from vigilance.services import vigilance_create

User = get_user_model()
ITEMS = pytest.mark.parametrize("n", [1, 3])


def client_for(user) -> APIClient:
    """The user loaded afresh, as a request would: no per-object permission cache survives."""
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def get_counted(django_assert_num_queries, user, url: str, queries: int) -> list:
    client = client_for(user)
    with django_assert_num_queries(queries):
        r = client.get(url)
    assert r.status_code == 200, r.json()
    return r.json()["results"]


def reviewed_campaign(world, n: int):
    """A campaign of ``n`` cases read by the chair and clin0 (and one patient representative),
    every verdict locked, the readers split on every case, the first case adjudicated."""
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=n)
    submit_all(campaign, lambda a: "fracture" if a.reviewer_id == world.chair.pk else "no_fracture")
    campaign = services.campaign_close_review(actor=world.quality, campaign=campaign)
    first = CampaignCase.objects.filter(campaign=campaign).order_by("pk").first()
    services.adjudication_record(actor=world.chair, campaign_case=first, label="fracture",
                                 reasoning="Séance.")
    return campaign


@pytest.fixture
def campaigns(db, request):
    """``n`` in-review campaigns of two cases each; the first one fully read."""
    n = request.param
    world = build_world(n_cases=2 * n, n_clinicians=1, n_patient_reps=1)
    made = [campaign_in(world, CampaignState.IN_REVIEW, sample_size=2) for _ in range(n)]
    submit_all(made[0])
    return world, made


@pytest.mark.parametrize(("campaigns", "who", "queries"), [
    (n, who, queries) for n in (1, 3)
    # + one query for the campaigns the caller reads blind (each row's serializer follows it)
    for who, queries in [("quality", 3), ("admin", 3), ("management", 3), ("chair", 4), ("secretary", 4),
                         ("reviewer", 3)]
], indirect=["campaigns"])
def test_campaign_list_query_count(campaigns, django_assert_num_queries, who, queries):
    world, made = campaigns
    user = world.clinicians[0] if who == "reviewer" else getattr(world, who)

    rows = get_counted(django_assert_num_queries, user, "/api/campaigns/", queries)

    assert sorted(row["id"] for row in rows) == sorted(c.pk for c in made)
    if who != "reviewer":
        # The chair still reads the unread campaigns blind: those rows are the reduced view.
        blind = {c.pk for c in made[1:]} if who == "chair" else set()
        assert sorted(row["id"] for row in rows if "n_cases" not in row) == sorted(blind)
        assert {row["n_cases"] for row in rows if row["id"] not in blind} == {2}


@ITEMS
def test_assignment_list_query_count_as_reviewer(db, django_assert_num_queries, n):
    world = build_world(n_cases=n, n_clinicians=1, n_patient_reps=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=n)
    mine = list(Assignment.objects.filter(campaign_case__campaign=campaign, reviewer=world.clinicians[0]))
    services.assignment_submit(actor=world.clinicians[0], assignment=mine[0], data={"label": "fracture"})
    if n > 1:
        services.assignment_open(actor=world.clinicians[0], assignment=mine[-1])

    rows = get_counted(django_assert_num_queries, world.clinicians[0], "/api/assignments/", 2)

    assert len(rows) == n
    assert [row["verdict"]["label"] for row in rows if row["verdict"]] == ["fracture"]


@ITEMS
def test_assignment_list_query_count_as_quality(db, django_assert_num_queries, n):
    world = build_world(n_cases=n, n_clinicians=1, n_patient_reps=1)
    campaign = reviewed_campaign(world, n)

    rows = get_counted(django_assert_num_queries, world.quality, "/api/assignments/", 2)

    assert len(rows) == 3 * n
    assert {row["campaign_case"] for row in rows} == set(
        CampaignCase.objects.filter(campaign=campaign).values_list("pk", flat=True))


@pytest.mark.parametrize(("n", "who", "queries"), [
    # + one blind check of the caller in the campaign (the case-level rows carry the design)
    (n, who, q) for n in (1, 3) for who, q in [("quality", 5), ("chair", 6), ("secretary", 6)]
])
def test_campaign_case_list_query_count(db, django_assert_num_queries, n, who, queries):
    world = build_world(n_cases=n, n_clinicians=1, n_patient_reps=1)
    campaign = reviewed_campaign(world, n)

    rows = get_counted(django_assert_num_queries, getattr(world, who), f"/api/campaigns/{campaign.pk}/cases/",
                       queries)

    assert len(rows) == n
    assert [len(row["readers"]) for row in rows] == [3] * n
    assert [row["adjudication"]["label"] for row in rows if row["adjudication"]] == ["fracture"]


@ITEMS
def test_ai_system_list_query_count(db, django_assert_num_queries, n):
    quality = UserFactory(role=Role.QUALITY)
    AISystemFactory.create_batch(n)

    rows = get_counted(django_assert_num_queries, quality, "/api/ai-systems/", 2)

    assert len(rows) == n


@ITEMS
def test_case_list_query_count(db, django_assert_num_queries, n):
    quality = UserFactory(role=Role.QUALITY)
    ai = AISystemFactory()
    CaseFactory.create_batch(n, ai_system=ai)

    rows = get_counted(django_assert_num_queries, quality, "/api/cases/", 2)

    assert len(rows) == n


@ITEMS
def test_import_batch_list_query_count(db, django_assert_num_queries, n):
    quality = UserFactory(role=Role.QUALITY)
    ai = AISystemFactory()
    for i in range(n):
        raw = f"accession_number;patient_id;exam_date;site;ai_label\nACC{i};IPP{i};01/03/2026;Nord;fracture\n"
        import_cases(actor=quality, ai_system=ai, raw=raw.encode(), filename=f"lot{i}.csv")

    rows = get_counted(django_assert_num_queries, quality, "/api/import-batches/", 2)

    assert [row["rows_created"] for row in rows] == [1] * n


@ITEMS
def test_committee_list_query_count(db, django_assert_num_queries, n):
    quality = UserFactory(role=Role.QUALITY)
    systems = AISystemFactory.create_batch(2)
    for _ in range(n):
        committee = CommitteeFactory(ai_systems=systems)
        MemberFactory(committee=committee, role=MemberRole.CHAIR)
        MemberFactory.create_batch(2, committee=committee)

    # count, committees, AI systems, members with users, their declared conflicts (prefetched)
    rows = get_counted(django_assert_num_queries, quality, "/api/committees/", 5)

    assert [(len(row["members"]), len(row["ai_systems"])) for row in rows] == [(3, 2)] * n


# --- Sessions, actions, vigilance, re-identification ----------------------------------------------


def _sessions_world(n: int):
    world = build_world()
    disagreeing_campaign(world, sample_size=2)
    for i in range(n):  # the first takes the disputed cases; each gets one item of other business
        session = sittings_services.session_create(
            actor=world.secretary, committee=world.committee, title=f"Séance {i}",
            scheduled_at=timezone.now() + dt.timedelta(days=i + 1), place="Salle")
        sittings_services.session_add_item(actor=world.secretary, session=session, title="Divers")
    return world


@pytest.mark.parametrize(("n", "who", "queries"), [
    (n, who, q) for n in (1, 3) for who, q in [("quality", 5), ("secretary", 6), ("chair", 6)]
])
def test_session_list_query_count(db, django_assert_num_queries, n, who, queries):
    world = _sessions_world(n)

    # count, sessions with committee and users, attendances with members and users, agenda items
    # with their decisions and the caller's blind flag, the members' votes (+ the caller's
    # committees for an officer)
    rows = get_counted(django_assert_num_queries, getattr(world, who), "/api/sessions/", queries)

    assert len(rows) == n
    assert [len(row["attendances"]) for row in rows] == [world.committee.members.count()] * n


@pytest.mark.parametrize(("n", "who", "queries"), [
    (n, who, q) for n in (1, 3) for who, q in [("quality", 2), ("secretary", 3), ("owner", 2)]
])
def test_action_list_query_count(db, django_assert_num_queries, n, who, queries):
    world = build_world(n_cases=1)
    for _ in range(n):
        action_in(world, "open")
    user = world.clinicians[0] if who == "owner" else getattr(world, who)

    rows = get_counted(django_assert_num_queries, user, "/api/actions/", queries)

    assert len(rows) == n


@pytest.mark.parametrize(("n", "who", "queries"), [
    (n, who, q) for n in (1, 3) for who, q in [("quality", 2), ("secretary", 3)]
])
def test_vigilance_list_query_count(db, django_assert_num_queries, n, who, queries):
    world = build_world(n_cases=1)
    for i in range(n):
        vigilance_create(actor=world.quality, committee=world.committee, ai_system=world.ai_system,
                         event_date=dt.date(2026, 3, 1 + i), description=f"Événement {i}")

    rows = get_counted(django_assert_num_queries, getattr(world, who), "/api/vigilance-reports/", queries)

    assert len(rows) == n


@pytest.mark.parametrize(("n", "who", "queries"), [
    (n, who, q) for n in (1, 3) for who, q in [("dpo", 2), ("chair", 3)]
])
def test_reidentification_list_query_count(db, django_assert_num_queries, n, who, queries):
    world = build_world()
    campaign = disagreeing_campaign(world, sample_size=n)
    for cc in campaign.campaign_cases.select_related("campaign", "case").order_by("pk"):
        give_source_reference(cc)
        cc.case.refresh_from_db()
        reidentification_request(actor=world.chair, campaign_case=cc,
                                 justification="Le patient doit être rappelé : fracture manquée.")

    rows = get_counted(django_assert_num_queries, getattr(world, who), "/api/reidentification-requests/",
                       queries)

    assert len(rows) == n


# --- The reviewer's loop: each step answers in a fixed number of queries --------------------------

LOOP = {
    # action: (state before, payload, queries). A transition: the transaction's savepoint (1); the
    # row found in the caller's scope and locked, with everything its answer shows, in one query
    # (1); its own writes; the audit event, with no savepoint of its own (lane, insert, chain head:
    # 3); the release (1); and no second read for the answer.
    "open": (AssignmentState.ASSIGNED, None, 7),  # + the update
    "draft": (AssignmentState.OPENED, {"label": "fracture", "rationale": "En cours."}, 9),  # + upsert, no audit
    "draft_read": (AssignmentState.OPENED, None, 2),  # the assignment as the caller sees it, the draft
    # + the case row locked, the verdict, the draft deleted, the update, the active readers' states
    "submit_first": (AssignmentState.OPENED, {"label": "fracture", "confidence": 3}, 11),
    # + the clinicians' labels, the case settled and its audit event, the committee's next agenda
    "submit_last": (AssignmentState.OPENED, {"label": "fracture", "confidence": 3}, 17),
    "unblind": (AssignmentState.SUBMITTED, None, 8),  # + the update, the other readers' verdicts
    "classify": (AssignmentState.UNBLINDED, {"discrepancy": "understandable", "would_have_changed": False}, 9),
}


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("step", list(LOOP))
def test_reviewer_loop_query_count(db, django_assert_num_queries, n, step):
    state, payload, queries = LOOP[step]
    world = build_world(n_cases=n, n_clinicians=2, n_patient_reps=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=n)
    me = world.clinicians[0]
    mine = list(Assignment.objects.filter(campaign_case__campaign=campaign, reviewer=me).order_by("pk"))
    a = mine[0]
    if step == "submit_last":  # the other readers locked first: the case settles in this request
        others = Assignment.objects.filter(campaign_case=a.campaign_case).exclude(pk=a.pk)
        for other in others:
            bring_to(world, other, AssignmentState.SUBMITTED)
    for other in mine[1:]:  # the rest of the queue is further on: the counts do not follow it
        bring_to(world, other, AssignmentState.UNBLINDED)
    bring_to(world, a, state)
    client = client_for(me)
    action = step.split("_")[0]
    url = f"/api/assignments/{a.pk}/{action}/"

    with django_assert_num_queries(queries):
        if step == "draft_read":
            r = client.get(url)
        elif step == "draft":
            r = client.put(url, payload, format="json")
        else:
            r = client.post(url, payload or {}, format="json")

    assert r.status_code == 200, r.json()
