"""Vigilance reports, services and API: the draft opened when a reviewer flags a possible adverse
event (one per case), the art. 73 clocks, completing, declaring, closing, every transition's
allowed path / wrong role / wrong state, and the CSV export."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from reviews import services as review_services
from reviews.enums import AssignmentKind
from tests.helpers import snapshot
from tests.sittings.flows import flag_adverse_event, last_event_id, new_actions, user_of
from tests.workflows import campaign_in
from vigilance import services
from vigilance.enums import Seriousness, VigilanceState
from vigilance.models import VigilanceReport

pytestmark = pytest.mark.django_db

COMPLETE = {"description": "Fracture du scaphoïde manquée par l'IA, suivie par le clinicien.",
            "seriousness": Seriousness.SERIOUS_HARM,
            "patient_consequences": "Retard de prise en charge de trois semaines."}


def aware_since(days: int = 3) -> dt.datetime:
    return (timezone.now() - dt.timedelta(days=days)).replace(microsecond=0)


def report_in(world, state: str, *, seriousness: str = Seriousness.SERIOUS_HARM) -> VigilanceReport:
    """A report opened by a reviewer's flag, brought to ``state``: draft (incomplete), complete
    (a draft ready to declare), declared, closed."""
    cc = flag_adverse_event(world)
    report = VigilanceReport.objects.get(campaign_case=cc)
    if state == "draft":
        return report
    report = services.vigilance_update(actor=world.secretary, report=report, **{**COMPLETE,
                                                                                "seriousness": seriousness})
    if state == "complete":
        return report
    report = services.vigilance_declare(actor=world.secretary, report=report, reference="ANSM-2026-0042")
    if state == "declared":
        return report
    return services.vigilance_close(actor=world.secretary, report=report, note="Suivi terminé.")


# --- Services ------------------------------------------------------------------------------------

def test_vigilance_draft_opened_when_a_reviewer_flags_a_possible_adverse_event(world):
    cc = flag_adverse_event(world)

    report = VigilanceReport.objects.get()

    assert (report.campaign_case_id, report.state, report.committee_id, report.ai_system_id) == (
        cc.pk, VigilanceState.DRAFT, world.committee.pk, world.ai_system.pk)
    assert (report.event_date, report.ai_version, report.seriousness) == (
        cc.case.exam_date, cc.case.ai_version, Seriousness.TO_ASSESS)
    assert report.created_by_id == cc.assignments.get(classification__possible_adverse_event=True).reviewer_id


def test_vigilance_one_report_per_case_when_a_second_reader_flags_it(world):
    cc = flag_adverse_event(world)
    second = cc.assignments.filter(kind=AssignmentKind.CLINICIAN, state="assigned").first()
    review_services.assignment_submit(actor=second.reviewer, assignment=second, data={"label": "fracture"})
    review_services.assignment_unblind(actor=second.reviewer, assignment=second)

    review_services.assignment_classify(actor=second.reviewer, assignment=second, discrepancy="clear_significant",
                                        would_have_changed=True, possible_adverse_event=True)

    assert VigilanceReport.objects.filter(campaign_case=cc).count() == 1


def test_vigilance_no_report_without_the_flag(world):
    campaign = campaign_in(world, "in_review")
    a = campaign.campaign_cases.first().assignments.filter(kind=AssignmentKind.CLINICIAN).first()
    review_services.assignment_submit(actor=a.reviewer, assignment=a, data={"label": "fracture"})
    review_services.assignment_unblind(actor=a.reviewer, assignment=a)
    review_services.assignment_classify(actor=a.reviewer, assignment=a, discrepancy="understandable",
                                        would_have_changed=False)

    assert not VigilanceReport.objects.exists()


@pytest.mark.parametrize(("seriousness", "days"), [
    (Seriousness.SERIOUS_HARM, 15), (Seriousness.FUNDAMENTAL_RIGHTS, 15), (Seriousness.TO_ASSESS, 15),
    (Seriousness.DEATH, 10), (Seriousness.WIDESPREAD_INFRINGEMENT, 2), (Seriousness.NOT_SERIOUS, None),
])
def test_vigilance_clock_from_awareness(world, api, seriousness, days):
    report = report_in(world, "draft")
    aware = aware_since(1)
    services.vigilance_update(actor=world.secretary, report=report, seriousness=seriousness, aware_at=aware)
    report.refresh_from_db()
    now = aware + dt.timedelta(days=1)

    clock = report.clock(now=now)
    body = api(world.secretary).get(f"/api/vigilance-reports/{report.pk}/").json()

    if days is None:
        assert clock == {"deadline": None, "days_left": None, "is_late": False, "declared_in_time": None}
        assert body["clock"]["deadline"] is None and body["needs_declaration"] is False
    else:
        deadline = aware + dt.timedelta(days=days)
        assert clock == {"deadline": deadline, "days_left": days - 1, "is_late": False, "declared_in_time": None}
        assert report.clock(now=deadline + dt.timedelta(hours=12))["is_late"] is True
        assert dt.datetime.fromisoformat(body["clock"]["deadline"]) == deadline


def test_vigilance_declared_in_time_and_late(world):
    report = report_in(world, "complete")
    services.vigilance_update(actor=world.secretary, report=report, aware_at=aware_since(20))
    declared = services.vigilance_declare(actor=world.secretary, report=report, reference="ANSM-1")

    assert declared.clock()["declared_in_time"] is False  # 20 days after awareness, 15 allowed


def test_vigilance_declare_refused_until_complete_naming_missing_fields(world, api):
    report = report_in(world, "draft")
    before = snapshot()

    r = api(world.secretary).post(f"/api/vigilance-reports/{report.pk}/declare/", {"reference": "X"},
                                  format="json")

    assert r.status_code == 409
    assert r.json() == {
        "code": "transition_not_allowed",
        "detail": "This report cannot be declared yet: complete description, patient_consequences, seriousness.",
        "extra": {"missing": ["description", "patient_consequences", "seriousness"], "state": "draft"},
    }
    assert snapshot() == before
    api(world.secretary).post(f"/api/vigilance-reports/{report.pk}/update/",
                              {"description": "Erreur.", "seriousness": "death"}, format="json")
    r = api(world.secretary).post(f"/api/vigilance-reports/{report.pk}/declare/", {}, format="json")
    assert (r.status_code, r.json()["extra"]["missing"]) == (409, ["patient_consequences"])


def test_vigilance_update_refused_once_declared(world, api):
    report = report_in(world, "declared")
    before = snapshot()

    r = api(world.secretary).post(f"/api/vigilance-reports/{report.pk}/update/", {"description": "Autre."},
                                  format="json")

    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")
    assert snapshot() == before


def test_vigilance_update_rejects_unknown_fields_and_bad_values(world, api):
    report = report_in(world, "draft")
    url = f"/api/vigilance-reports/{report.pk}/update/"

    assert api(world.secretary).post(url, {"state": "declared"}, format="json").status_code == 400
    assert api(world.secretary).post(url, {"seriousness": "mild"}, format="json").status_code == 400
    future = (timezone.now() + dt.timedelta(days=2)).isoformat()
    assert api(world.secretary).post(url, {"aware_at": future}, format="json").status_code == 400
    assert VigilanceReport.objects.get(pk=report.pk).seriousness == Seriousness.TO_ASSESS


# --- Transitions through the API -----------------------------------------------------------------

ALLOWED = [  # action, source, who, payload, resulting state, audit action
    ("update", "draft", "secretary", COMPLETE, "draft", "vigilance.update"),
    ("update", "draft", "quality", {"actions_taken": "Éditeur prévenu."}, "draft", "vigilance.update"),
    ("declare", "complete", "secretary", {"reference": "ANSM-2026-0042"}, "declared", "vigilance.declare"),
    ("declare", "complete", "chair", {}, "declared", "vigilance.declare"),
    ("close", "declared", "quality", {"note": "Suivi terminé."}, "closed", "vigilance.close"),
]


@pytest.mark.parametrize(("name", "source", "who", "payload", "target", "event"), ALLOWED)
def test_vigilance_transition_allowed_path(world, api, name, source, who, payload, target, event):
    report = report_in(world, source)
    since = last_event_id()

    r = api(user_of(world, who)).post(f"/api/vigilance-reports/{report.pk}/{name}/", payload, format="json")

    assert r.status_code == 200, r.json()
    assert r.json()["state"] == target == VigilanceReport.objects.get(pk=report.pk).state
    assert new_actions(since) == [event]


def test_vigilance_close_a_draft_judged_not_serious(world, api):
    report = report_in(world, "draft")
    api(world.secretary).post(f"/api/vigilance-reports/{report.pk}/update/", {"seriousness": "not_serious"},
                              format="json")
    assert api(world.secretary).get(f"/api/vigilance-reports/{report.pk}/").json()["available_transitions"] == [
        "close"]

    r = api(world.secretary).post(f"/api/vigilance-reports/{report.pk}/close/", {"note": "Pas un incident grave."},
                                  format="json")

    assert (r.status_code, r.json()["state"], r.json()["declared_at"]) == (200, "closed", None)


@pytest.mark.parametrize("name", ["update", "declare", "close"])
@pytest.mark.parametrize("who", ["clin0", "rep0", "management", "dpo"])
def test_vigilance_transition_wrong_role_404_changes_nothing(world, api, name, who):
    """Only the quality team and the committee's officers see reports: anyone else gets 404."""
    report = report_in(world, "complete" if name != "close" else "declared")
    before = snapshot()

    r = api(user_of(world, who)).post(f"/api/vigilance-reports/{report.pk}/{name}/",
                                      {"note": "x", "description": "x"}, format="json")

    assert r.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(("name", "state"), [
    ("update", "declared"), ("update", "closed"), ("declare", "draft"), ("declare", "declared"),
    ("declare", "closed"), ("close", "complete"), ("close", "closed"),
])
def test_vigilance_transition_wrong_state_409_changes_nothing(world, api, name, state):
    report = report_in(world, state)
    before = snapshot()

    r = api(world.secretary).post(f"/api/vigilance-reports/{report.pk}/{name}/",
                                  {"note": "x", "description": "x"}, format="json")

    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed"), r.json()
    assert snapshot() == before


def test_vigilance_hidden_from_a_chair_who_reads_the_case_blind(world, api):
    cc = flag_adverse_event(world, spare_chair=True)
    report = VigilanceReport.objects.get(campaign_case=cc)

    assert api(world.chair).get(f"/api/vigilance-reports/{report.pk}/").status_code == 404
    assert api(world.chair).get("/api/vigilance-reports/").json()["results"] == []
    export = api(world.chair).get("/api/vigilance-reports/export.csv").content.decode("utf-8-sig")
    assert len(export.strip().splitlines()) == 1  # the header only
    assert api(world.secretary).get(f"/api/vigilance-reports/{report.pk}/").status_code == 200


# --- Creation and export ---------------------------------------------------------------------------

def test_vigilance_create_by_hand(world, api):
    payload = {"committee": world.committee.pk, "ai_system": world.ai_system.pk, "event_date": "2026-03-02",
               "description": "Dérive des scores observée."}

    r = api(world.quality).post("/api/vigilance-reports/", payload, format="json")

    assert r.status_code == 201, r.json()
    assert (r.json()["state"], r.json()["campaign_case"], r.json()["seriousness"]) == ("draft", None, "to_assess")
    assert api(world.clinicians[0]).post("/api/vigilance-reports/", payload, format="json").status_code == 403
    assert VigilanceReport.objects.count() == 1


def test_vigilance_csv_export_lists_every_declaration_field(world, api):
    report = report_in(world, "declared")

    r = api(world.quality).get("/api/vigilance-reports/export.csv")

    assert r.status_code == 200
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    report.refresh_from_db()
    assert rows == [{
        "id": str(report.pk), "state": "declared", "committee": world.committee.name,
        "ai_system": world.ai_system.name, "ai_vendor": world.ai_system.vendor, "ai_version": report.ai_version,
        "campaign_case": str(report.campaign_case_id), "event_date": report.event_date.isoformat(),
        "aware_at": report.aware_at.isoformat(), "seriousness": "serious_harm",
        "description": COMPLETE["description"], "patient_consequences": COMPLETE["patient_consequences"],
        "actions_taken": "", "deadline": (report.aware_at + dt.timedelta(days=15)).isoformat(),
        "declared_at": report.declared_at.isoformat(), "declared_by": "secretary",
        "declaration_reference": "ANSM-2026-0042", "declared_in_time": "yes", "closed_at": "", "closure_note": "",
    }]
    assert api(world.clinicians[0]).get("/api/vigilance-reports/export.csv").content.decode(
        "utf-8-sig").strip() == ";".join(rows[0])
