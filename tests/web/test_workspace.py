# ruff: noqa: F811  (the ``review`` fixture is imported from test_pages)
"""The review workspace added for issue #4: verdict drafts, overdue marking and the quality
team's progress board with its reassign action."""

import datetime as dt
import re

import pytest

from accounts.enums import Role
from audit.models import AuditEvent
from common.exceptions import Forbidden
from reviews import services
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment, AssignmentDraft, Campaign, Verdict
from tests.factories import UserFactory
from tests.login import verified_client
from tests.web.test_pages import (  # noqa: F401  (fixture)
    CLINICIAN_VERDICT,
    PATIENT_REP_VERDICT,
    assert_blind,
    chair_locks_verdict,
    html,
    login,
    review,
    state_of,
)
from tests.workflows import build_world, campaign_in

pytestmark = pytest.mark.django_db

DRAFT = {"label": "fracture", "confidence": "2", "rationale": "DRAFT-SENTINEL hésitation"}


def _opened(review, who="clinician"):
    a = review.a if who == "clinician" else review.rep_a
    user = review.clinician if who == "clinician" else review.rep
    client = login(user)
    client.post(f"/reviews/{a.pk}/open/")
    return client, a


# --- Drafts ------------------------------------------------------------------------------------

def test_clinician_saves_a_draft_and_finds_it_restored(review):
    client, a = _opened(review)
    n_audit = AuditEvent.objects.count()
    r = client.post(f"/reviews/{a.pk}/draft/", DRAFT)
    assert r.status_code == 302 and r["Location"] == f"/reviews/{a.pk}/"
    assert state_of(a) == AssignmentState.OPENED
    assert not Verdict.objects.filter(assignment=a).exists()
    assert AssignmentDraft.objects.get(assignment=a).data == DRAFT
    assert AuditEvent.objects.count() == n_audit  # a draft is not audited (see the service)

    r = client.get(f"/reviews/{a.pk}/")
    body = html(r)
    assert "Votre brouillon enregistré est restauré." in body
    assert 'value="fracture" required id="id_label_0" checked' in body or (
        'value="fracture"' in body and "checked" in body)
    assert "DRAFT-SENTINEL hésitation</textarea>" in body
    assert_blind(r)


def test_a_draft_ignores_unknown_fields_and_can_be_incomplete(review):
    client, a = _opened(review)
    client.post(f"/reviews/{a.pk}/draft/", {"rationale": "x" * 6000, "confirm": "on", "ai_score": "1"})
    assert AssignmentDraft.objects.get(assignment=a).data == {"rationale": "x" * 5000}


def test_the_draft_is_discarded_when_the_verdict_is_locked(review):
    client, a = _opened(review)
    client.post(f"/reviews/{a.pk}/draft/", DRAFT)
    r = client.post(f"/reviews/{a.pk}/submit/", CLINICIAN_VERDICT)
    assert r.status_code == 302
    assert not AssignmentDraft.objects.filter(assignment=a).exists()
    assert Verdict.objects.get(assignment=a).label == "no_fracture"


def test_the_draft_is_discarded_when_the_case_is_declined(review):
    client, a = _opened(review)
    client.post(f"/reviews/{a.pk}/draft/", DRAFT)
    client.post(f"/reviews/{a.pk}/decline/", {"reason": "Conflit d'intérêts"})
    assert not AssignmentDraft.objects.filter(assignment=a).exists()


def test_patient_representative_draft_is_restored(review):
    client, a = _opened(review, "rep")
    data = {k: v for k, v in PATIENT_REP_VERDICT.items() if k not in ("confirm", "rights_respected")}
    client.post(f"/reviews/{a.pk}/draft/", data)
    body = html(client.get(f"/reviews/{a.pk}/"))
    assert "Notice absente.</textarea>" in body
    client.post(f"/reviews/{a.pk}/submit/", PATIENT_REP_VERDICT)
    assert not AssignmentDraft.objects.filter(assignment=a).exists()


def test_a_draft_is_never_visible_to_anyone_else(review):
    client, a = _opened(review)
    client.post(f"/reviews/{a.pk}/draft/", DRAFT)
    for user in (review.world.quality, review.world.chair, review.rep):
        r = login(user).get(f"/reviews/{a.pk}/")
        assert "DRAFT-SENTINEL" not in html(r)
    r = login(review.world.quality).get(f"/campaigns/{review.campaign.pk}/board/")
    assert "DRAFT-SENTINEL" not in html(r)


def test_draft_of_another_reviewer_is_a_404_and_quality_gets_a_403(review):
    _opened(review)
    r = login(review.rep).post(f"/reviews/{review.a.pk}/draft/", DRAFT)
    assert r.status_code == 404
    r = login(review.world.quality).post(f"/reviews/{review.a.pk}/draft/", DRAFT)
    assert r.status_code == 403
    assert not AssignmentDraft.objects.exists()


def test_draft_before_opening_or_after_locking_is_a_409(review):
    client = login(review.clinician)
    r = client.post(f"/reviews/{review.a.pk}/draft/", DRAFT)
    assert r.status_code == 409
    client.post(f"/reviews/{review.a.pk}/open/")
    client.post(f"/reviews/{review.a.pk}/submit/", CLINICIAN_VERDICT)
    r = client.post(f"/reviews/{review.a.pk}/draft/", DRAFT)
    assert r.status_code == 409
    assert not AssignmentDraft.objects.exists()


def test_draft_service_refuses_another_user(review):
    services.assignment_open(actor=review.clinician, assignment=review.a)
    with pytest.raises(Forbidden):
        services.assignment_save_draft(actor=review.rep, assignment=review.a, data=DRAFT)
    assert not AssignmentDraft.objects.exists()


# --- Overdue ------------------------------------------------------------------------------------

def test_queue_marks_overdue_reviews(review):
    Assignment.objects.filter(pk=review.a.pk).update(due_date=dt.date.today() - dt.timedelta(days=1))
    body = html(login(review.clinician).get("/reviews/"))
    assert "En retard" in body
    Assignment.objects.filter(pk=review.a.pk).update(due_date=dt.date.today() + dt.timedelta(days=3))
    body = html(login(review.clinician).get("/reviews/"))
    assert "En retard" not in body


# --- Progress board and reassignment ------------------------------------------------------------

def test_board_for_quality_shows_counts_per_reviewer_and_nothing_sealed(review):
    chair_locks_verdict(review)
    Assignment.objects.filter(pk=review.a.pk).update(due_date=dt.date.today() - dt.timedelta(days=1))
    r = login(review.world.quality).get(f"/campaigns/{review.campaign.pk}/board/")
    assert r.status_code == 200
    body = html(r)
    assert "Tableau de suivi" in body
    rows = {row["reviewer__username"]: row for row in r.context["board"]["reviewers"]}
    assert rows["chair"]["locked"] == 1 and rows["clin0"]["overdue"] == 1
    assert "En retard" in body
    assert "Pas de fracture" not in body and "no_fracture" not in body
    assert_blind(r)


@pytest.mark.parametrize("role", ["clinician", "rep", "management", "dpo"])
def test_board_is_refused_to_everyone_but_the_quality_team(review, role):
    user = {"clinician": review.clinician, "rep": review.rep}.get(role) or getattr(review.world, role)
    r = login(user).get(f"/campaigns/{review.campaign.pk}/board/")
    # 403 for those who see the campaign page (its readers, management); 404 for the DPO, who does not.
    assert r.status_code == (404 if role == "dpo" else 403)
    assert "Tableau de suivi" not in html(r)


def test_board_of_an_unknown_campaign_is_a_404(review):
    assert login(review.world.quality).get("/campaigns/99999/board/").status_code == 404


def test_campaign_page_links_the_board_for_quality_only(review):
    assert "/board/" in html(login(review.world.quality).get(f"/campaigns/{review.campaign.pk}/"))
    assert "/board/" not in html(login(review.world.chair).get(f"/campaigns/{review.campaign.pk}/"))


# session, user, campaign, blind-review check, the campaign's revision (assignments per state),
# the cache; on a miss also the board's own reads (per-reviewer counts, pending, closed) and the
# cache write (savepoint, entry count, existing key, insert, release), and the committee's readers
# offered as the target of a reassignment
BOARD_QUERIES_HIT = 6
BOARD_QUERIES_MISS = 15


@pytest.mark.parametrize("n", [1, 3])
def test_board_query_count_is_constant(django_assert_num_queries, n):
    world = build_world(n_cases=3, n_clinicians=3, n_patient_reps=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=n)
    client = login(world.quality)
    with django_assert_num_queries(BOARD_QUERIES_MISS):
        first = client.get(f"/campaigns/{campaign.pk}/board/")
    with django_assert_num_queries(BOARD_QUERIES_HIT):
        second = client.get(f"/campaigns/{campaign.pk}/board/")
    assert first.status_code == second.status_code == 200
    unmasked = [re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html(r)) for r in (first, second)]
    assert unmasked[0] == unmasked[1]  # CSRF tokens are masked afresh for every response
    n_pending = Assignment.objects.filter(campaign_case__campaign=campaign).count()
    assert html(second).count('name="assignments"') == n_pending


def test_cached_board_is_fresh_after_each_transition_and_carries_each_session_token(db):
    """The board is cached per revision of the campaign: every transition shows at once; two
    quality members share the entry, each with their own session's CSRF token in its forms."""
    world = build_world(n_cases=1, n_clinicians=3, n_patient_reps=1)
    other_quality = UserFactory(role=Role.QUALITY, username="quality2")
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=1)
    a = Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician").order_by("pk").first()
    url = f"/campaigns/{campaign.pk}/board/"
    first, second = login(world.quality), login(other_quality)

    def pending_states(client) -> str:
        body = html(client.get(url))
        return re.findall(rf'n° {a.pk}</a></th>\s*<td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>', body)

    assert pending_states(first) == pending_states(second) == ["Attribuée"]
    services.assignment_open(actor=a.reviewer, assignment=a)
    assert pending_states(second) == ["Ouverte"]
    services.assignment_submit(actor=a.reviewer, assignment=a, data={"label": "fracture"})
    assert pending_states(first) == []

    strict = verified_client(other_quality)
    strict.handler.enforce_csrf_checks = True  # once logged in: the reassign form must carry a valid token
    body = html(strict.get(url))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    pending = Assignment.objects.filter(campaign_case__campaign=campaign, state=AssignmentState.ASSIGNED).first()
    r = strict.post(f"/campaigns/{campaign.pk}/assignments/{pending.pk}/reassign/",
                    {"reason": "Absent", "csrfmiddlewaretoken": token})
    assert r.status_code == 302
    assert state_of(pending) == AssignmentState.WITHDRAWN


def test_quality_reassigns_a_pending_review_from_the_board(db):
    world = build_world(n_cases=1, n_clinicians=3, n_patient_reps=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=1)
    a = Assignment.objects.filter(campaign_case__campaign=campaign, kind="clinician").first()
    client = login(world.quality)
    r = client.post(f"/campaigns/{campaign.pk}/assignments/{a.pk}/reassign/", {"reason": "Absent"})
    assert r.status_code == 302 and r["Location"] == f"/campaigns/{campaign.pk}/board/"
    assert state_of(a) == AssignmentState.WITHDRAWN
    assert Assignment.objects.get(replaces=a).reviewer_id != a.reviewer_id
    body = html(client.get(f"/campaigns/{campaign.pk}/board/"))
    assert "Absent" in body


def test_reassign_without_reason_is_a_400_and_by_a_reviewer_a_403(review):
    r = login(review.world.quality).post(
        f"/campaigns/{review.campaign.pk}/assignments/{review.a.pk}/reassign/", {"reason": ""})
    assert r.status_code == 400
    r = login(review.clinician).post(
        f"/campaigns/{review.campaign.pk}/assignments/{review.a.pk}/reassign/", {"reason": "x"})
    assert r.status_code == 403
    assert state_of(review.a) == AssignmentState.ASSIGNED


def test_reassign_with_no_eligible_reviewer_is_a_409_and_changes_nothing(review):
    r = login(review.world.quality).post(
        f"/campaigns/{review.campaign.pk}/assignments/{review.a.pk}/reassign/", {"reason": "Absent"})
    assert r.status_code == 409
    assert state_of(review.a) == AssignmentState.ASSIGNED


def test_reassign_of_an_assignment_of_another_campaign_is_a_404(review):
    r = login(review.world.quality).post(
        f"/campaigns/{review.campaign.pk}/assignments/99999/reassign/", {"reason": "Absent"})
    assert r.status_code == 404


# --- Campaign wizard ----------------------------------------------------------------------------

def _wizard_data(world, **over):
    data = {
        "name": "Campagne wizard", "ai_system": world.ai_system.pk, "committee": world.committee.pk,
        "period_start": "2026-01-01", "period_end": "2026-06-30", "sites": "",
        "design_type": "stratified", "strata_by": ["ai_label"], "allocation": "proportional",
        "target": "agreement", "expected": "0.9", "half_width": "0.05", "prevalence": "",
        "sample_size": "", "clinicians_per_case": "2", "patient_reps_per_case": "1",
        "required_specialty": "", "exclude_own_service": "on", "review_deadline": "2026-12-31",
        "reminder_days": "7, 1",
    }
    return data | over


@pytest.fixture
def world(db):
    return build_world(n_cases=6, n_clinicians=3, n_patient_reps=1)


def test_wizard_get_for_quality_and_403_for_others(world):
    r = login(world.quality).get("/campaigns/new/")
    assert r.status_code == 200
    assert "Nouvelle campagne" in html(r)
    for user in (world.chair, world.clinicians[0], world.management):
        assert login(user).get("/campaigns/new/").status_code == 403
    assert "/campaigns/new/" in html(login(world.quality).get("/campaigns/"))
    assert "/campaigns/new/" not in html(login(world.chair).get("/campaigns/"))


def test_wizard_preview_shows_population_planner_and_strata_without_creating(world):
    r = login(world.quality).post("/campaigns/new/", _wizard_data(world, action="preview"))
    assert r.status_code == 200
    plan = r.context["plan"]
    assert plan["population_size"] == 6
    assert plan["required"] <= 6 < plan["required_without_fpc"]
    assert {s["stratum"] for s in plan["strata"]} == {"ai_label=fracture", "ai_label=no_fracture"}
    assert sum(s["population"] for s in plan["strata"]) == 6
    assert "Échantillon par strate" in html(r)
    assert not Campaign.objects.exists()


def test_wizard_creates_a_draft_campaign_with_the_planner_size(world):
    r = login(world.quality).post("/campaigns/new/", _wizard_data(world, action="create"))
    campaign = Campaign.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.state == "draft"
    assert campaign.design == {"type": "stratified", "strata_by": ["ai_label"], "allocation": "proportional"} \
        or campaign.design["strata_by"] == ["ai_label"]
    assert campaign.sample_size == 6 and campaign.reminder_days == [7, 1]
    assert AuditEvent.objects.filter(action="campaign.create").count() == 1


def test_wizard_with_a_given_sample_size_and_simple_design(world):
    login(world.quality).post("/campaigns/new/", _wizard_data(
        world, action="create", design_type="simple_random", strata_by=[], sample_size="3"))
    campaign = Campaign.objects.get()
    assert campaign.sample_size == 3 and campaign.design == {"type": "simple_random"}


@pytest.mark.parametrize("over, field", [
    ({"design_type": "stratified", "strata_by": []}, "strata_by"),
    ({"target": "sensitivity", "prevalence": ""}, "prevalence"),
    ({"period_end": "2025-01-01"}, "period_end"),
    ({"reminder_days": "sept"}, "reminder_days"),
])
def test_wizard_errors_are_a_400_and_create_nothing(world, over, field):
    r = login(world.quality).post("/campaigns/new/", _wizard_data(world, action="create", **over))
    assert r.status_code == 400
    assert field in r.context["form"].errors
    assert not Campaign.objects.exists()


def test_wizard_post_by_a_reviewer_is_a_403_and_creates_nothing(world):
    r = login(world.clinicians[0]).post("/campaigns/new/", _wizard_data(world, action="create"))
    assert r.status_code == 403
    assert not Campaign.objects.exists()


def test_wizard_sensitivity_target_uses_buderer(world):
    r = login(world.quality).post("/campaigns/new/", _wizard_data(
        world, action="preview", target="sensitivity", prevalence="0.2"))
    assert r.status_code == 200
    assert r.context["plan"]["diseased_needed"]
