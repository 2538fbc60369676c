"""The synthetic demo: its generator (pure, deterministic, with the structure the equity views
must find and no identifier-like text) and ``manage.py load_demo`` (through the real services,
idempotent)."""

import io
import math
import re

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.enums import Role
from audit.models import AuditEvent
from audit.services import audit_verify
from cases.importing.rules import FORBIDDEN
from cases.models import AISystem, Case
from committees.enums import MemberRole
from committees.models import Member
from fixtures import demo, demo_people, demo_text
from reidentification.enums import RequestState
from reidentification.models import ReidentificationRequest
from reports.models import Report
from reviews.enums import BLIND_STATES, AdjudicationMethod, CampaignState
from reviews.models import Assignment, Campaign, Classification, Verdict
from sittings.enums import OPEN_ACTION_STATES, ActionState, AgendaItemState, SessionState
from sittings.models import Action, AgendaItem, Decision, Session
from sittings.quorum import session_quorum
from vigilance.enums import Seriousness, VigilanceState
from vigilance.models import VigilanceReport

PHONE = re.compile(r"(?:\+33|\b0)\s*[1-9](?:[\s.-]*\d{2}){4}\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
NIR_LIKE = re.compile(r"(?<!\d)\d(?:\s?\d){12,14}(?!\d)")
TEXT_FIELDS = ("clinical_context", "report_text", "image_url")


@pytest.fixture(scope="module")
def data():
    return demo.generate()


def _sensitivity(cases, label):
    positives = [c for c in cases if c.truth == label]
    hits = sum(c.row["ai_label"] == label for c in positives)
    return hits, len(positives)


@pytest.mark.unit
def test_generator_same_seed_same_rows(data):
    again = demo.generate()
    other = demo.generate(seed=demo.DEFAULT_SEED + 1)

    assert [c.row for c in again.cases] == [c.row for c in data.cases]
    assert [c.truth for c in again.cases] == [c.truth for c in data.cases]
    assert demo.to_csv(again.wrist) == demo.to_csv(data.wrist)
    assert [c.row for c in other.cases] != [c.row for c in data.cases]


@pytest.mark.unit
def test_generator_has_at_least_5000_cases_over_2026(data):
    assert len(data.wrist) == 3500
    assert len(data.ecg) == 2000
    assert len(data.cases) >= 5000
    assert {c.row["exam_date"][:7] for c in data.cases} == {f"2026-{m:02d}" for m in range(1, 13)}
    assert {c.row["site"] for c in data.cases} == {s.name for s in demo.SITES}
    assert len({c.row["accession_number"] for c in data.cases}) == len(data.cases)
    assert set(demo.IMPORT_COLUMNS) == set(data.wrist[0].row)
    assert not {c.lower() for c in demo.IMPORT_COLUMNS} & FORBIDDEN


@pytest.mark.unit
def test_generator_fracture_ai_misses_more_at_80_plus(data):
    old_hits, old_n = _sensitivity([c for c in data.wrist if c.age_band == "80+"], "fracture")
    young_hits, young_n = _sensitivity([c for c in data.wrist if c.age_band != "80+"], "fracture")
    old, young = old_hits / old_n, young_hits / young_n
    pooled = (old_hits + young_hits) / (old_n + young_n)
    z = (young - old) / math.sqrt(pooled * (1 - pooled) * (1 / old_n + 1 / young_n))

    assert abs(young - 0.95) < 0.03
    assert abs(old - 0.75) < 0.06
    assert z > 5


@pytest.mark.unit
def test_generator_clinician_overrides_more_often_when_ai_is_wrong(data):
    wrong = [c for c in data.cases if c.row["ai_label"] != c.truth]
    right = [c for c in data.cases if c.row["ai_label"] == c.truth]
    override = lambda cases: np.mean([c.row["final_label"] != c.row["ai_label"] for c in cases])  # noqa: E731

    assert 0.25 < override(wrong) < 0.55
    assert override(right) < 0.08


@pytest.mark.unit
def test_generator_ecg_score_matches_label_and_differs_by_site(data):
    def score(c):
        return float(c.row["ai_score"].replace(",", "."))

    assert all((score(c) >= 0.5) == (c.row["ai_label"] == "reduced_ef") for c in data.ecg)
    specificity = {}
    for site in demo.SITES:
        negatives = [c for c in data.ecg if c.row["site"] == site.name and c.truth == "normal_ef"]
        specificity[site.code] = np.mean([c.row["ai_label"] == "normal_ef" for c in negatives])
    assert specificity["VAL"] - specificity["BRE"] > 0.08


@pytest.mark.unit
def test_generator_text_has_no_identifier_like_pattern(data):
    phrases = [p for name in dir(demo_text) if name.isupper() for p in _flatten(getattr(demo_text, name))]
    texts = [c.row[f] for c in data.cases for f in TEXT_FIELDS] + phrases

    for pattern in (PHONE, EMAIL, NIR_LIKE):
        hits = [t for t in texts if pattern.search(t)]
        assert hits == [], (pattern.pattern, hits[:3])
    assert all(c.row["image_url"].startswith(f"{demo.DEFAULT_VIEWER_URL}?study=") for c in data.cases)
    assert len({c.row["image_url"] for c in data.cases}) == len(data.cases)


@pytest.mark.unit
def test_generator_report_text_never_names_the_ai_or_its_output(data):
    banned = re.compile(
        r"\bIA\b|intelligence artificielle|algorithm|logiciel|outil|score|fracture|no_fracture|reduced_ef|"
        r"normal_ef|FEVG|éjection|conclusion|" + "|".join(
            re.escape(w) for w in (demo.WRIST_AI["name"], demo.ECG_AI["name"], "OstéoVue", "CardioScore")),
        re.IGNORECASE,
    )
    hits = [c.row["report_text"] for c in data.cases if banned.search(c.row["report_text"])]

    assert hits == []
    assert len({c.row["report_text"] for c in data.cases}) > 1000  # varied, not a handful of templates


@pytest.mark.unit
def test_simulated_clinicians_agree_with_truth_about_92_percent():
    rng = np.random.default_rng(7)
    labels = ["fracture", "no_fracture"]
    answers = [demo_people.clinician_verdict(rng, truth="fracture", labels=labels)["label"]
               for _ in range(4000)]

    assert abs(answers.count("fracture") / 4000 - 0.92) < 0.015


def _flatten(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _flatten(v)
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _flatten(v)


def _snapshot():
    return {
        "users": get_user_model().objects.count(),
        "ai_systems": AISystem.objects.count(),
        "cases": Case.objects.count(),
        "members": Member.objects.count(),
        "campaigns": sorted(Campaign.objects.values_list("name", "state")),
        "assignments": sorted(Assignment.objects.values_list("id", "state")),
        "verdicts": Verdict.objects.count(),
        "classifications": Classification.objects.count(),
        "audit": AuditEvent.objects.count(),
        "sessions": sorted(Session.objects.values_list("title", "state", "minutes_sha256")),
        "items": AgendaItem.objects.count(),
        "decisions": Decision.objects.count(),
        "actions": sorted(Action.objects.values_list("title", "state", "due_date")),
        "vigilance": sorted(VigilanceReport.objects.values_list("id", "state")),
        "reidentification": sorted(ReidentificationRequest.objects.values_list("id", "state")),
        "reports": sorted(Report.objects.values_list("audience", "version", "content_hash")),
    }


def _assert_committee_year():
    """The held session, its decisions and actions, vigilance, re-identification, the next session."""
    held = Session.objects.get(state=SessionState.SIGNED)
    assert len(held.minutes_sha256) == 64 and held.signed_by.username == "presidente"
    assert session_quorum(held).is_met
    assert held.created_by.username == "secretaire"
    decisions = list(Decision.objects.filter(item__session=held).select_related("adjudication", "item__campaign_case"))
    assert len(decisions) >= 2
    assert any(d.votes_against > 0 and d.dissent for d in decisions)
    assert any((d.adjudication and d.adjudication.method == AdjudicationMethod.CONSENSUS)
               or (d.item.campaign_case and "reference_differs_from_ai" in d.item.reasons) for d in decisions)
    assert all(d.recorded_by.username == "presidente" for d in decisions)
    actions = list(Action.objects.all())
    assert any(a.state in OPEN_ACTION_STATES and a.is_overdue for a in actions)
    assert any(a.state == ActionState.DONE for a in actions)
    assert any(a.state in OPEN_ACTION_STATES and not a.is_overdue for a in actions)
    declared = VigilanceReport.objects.filter(state=VigilanceState.DECLARED)
    drafts = [r for r in VigilanceReport.objects.filter(state=VigilanceState.DRAFT) if r.clock()["deadline"]]
    assert declared.exists() or drafts
    for report in declared:
        assert report.description and report.patient_consequences and report.seriousness != Seriousness.TO_ASSESS
        assert report.clock()["declared_in_time"] is True
    assert ReidentificationRequest.objects.filter(state=RequestState.REQUESTED).count() == 1
    planned = Session.objects.get(state=SessionState.PLANNED)
    assert planned.scheduled_at > held.scheduled_at
    assert planned.items.filter(state=AgendaItemState.PENDING).exists()
    assert AuditEvent.objects.filter(action="session.create", object_id=str(planned.pk)).exists()
    assert set(Report.objects.values_list("audience", flat=True)) == {"internal", "public"}
    # The story is dated over past weeks, in chain order.
    stamps = list(AuditEvent.objects.order_by("id").values_list("created_at", flat=True))
    assert stamps == sorted(stamps)


@pytest.mark.django_db
def test_load_demo_creates_the_whole_demo_and_is_idempotent():
    out = io.StringIO()

    call_command("load_demo", "--cases", "600", stdout=out)

    User = get_user_model()
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert all(u.check_password(demo_people.PASSWORD) for u in User.objects.all())
    assert User.objects.filter(role=Role.CLINICIAN).exclude(clinician_pseudonym="").count() >= 2
    assert set(Member.objects.values_list("role", flat=True)) == set(MemberRole.values)
    assert Case.objects.count() == 600
    campaigns = dict(Campaign.objects.values_list("name", "state"))
    assert sorted(campaigns.values()) == [CampaignState.IN_REVIEW, CampaignState.PUBLISHED]
    ongoing = Campaign.objects.get(state=CampaignState.IN_REVIEW)
    first_clinician = next(a.username for a in demo_people.DEMO_ACCOUNTS if a.role == Role.CLINICIAN)
    assert Assignment.objects.filter(campaign_case__campaign=ongoing, reviewer__username=first_clinician,
                                     state__in=BLIND_STATES).count() >= 1
    assert Assignment.objects.filter(campaign_case__campaign=ongoing, state="submitted").exists()
    assert audit_verify().ok
    _assert_committee_year()
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text
    assert all(a.username in text for a in demo_people.DEMO_ACCOUNTS)
    assert demo_people.PASSWORD in text

    before = _snapshot()
    again = io.StringIO()
    call_command("load_demo", "--cases", "600", stdout=again)

    assert _snapshot() == before
    assert "already loaded" in again.getvalue()
    assert demo_people.PASSWORD in again.getvalue()
