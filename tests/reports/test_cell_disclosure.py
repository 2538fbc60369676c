"""One rule for every cell of cases on the AI-system pages (population monitoring, the evidence
pack's case figures): a cell of fewer than ten cases is suppressed for everyone, a cell holding a
case the reader still reads blind is withheld. And the evidence pack's audit record when the
verification fails on a checkpoint, with no event to blame."""

import datetime as dt

import pytest
from django.utils import translation

from audit.anchors import anchor_write
from audit.models import AuditEvent, ChainHead
from audit.services import audit_record, audit_verify
from reports import evidence, selectors
from reviews.enums import AssignmentKind
from reviews.models import Assignment
from tests.audit.support import sql, tampering
from tests.factories import CaseFactory
from tests.helpers import html
from tests.login import verified_client
from tests.workflows import build_world, campaign_in

pytestmark = pytest.mark.django_db

CASE_RECORDS = ("Cases with the patient informed of the use of AI", "Cases with the patient not informed",
                "Clinician override rate (final decision differs from the AI)")


@pytest.fixture
def lone_case():
    """One case, alone in its month and site, in a campaign in review where the chair holds one of
    its blind readings (given to the chair in place of a clinician)."""
    world = build_world(n_cases=0)
    case = CaseFactory(ai_system=world.ai_system, site="Isolé", exam_date=dt.date(2026, 3, 10), ai_label="fracture",
                       final_label="no_fracture", patient_informed=True)
    campaign = campaign_in(world, "in_review", sample_size=1)
    reading = Assignment.objects.filter(campaign_case__campaign=campaign, kind=AssignmentKind.CLINICIAN).first()
    Assignment.objects.filter(pk=reading.pk).update(reviewer=world.chair)
    return world, case


def test_cell_disclosure_rule():
    assert selectors.cell_disclosure(selectors.PUBLIC_MIN_CELL, 0) == {
        "small": False, "suppressed": False, "withheld": False, "shown": True}
    assert selectors.cell_disclosure(selectors.PUBLIC_MIN_CELL - 1, 0) == {
        "small": True, "suppressed": True, "withheld": False, "shown": False}
    assert selectors.cell_disclosure(50, 1) == {"small": False, "suppressed": False, "withheld": True, "shown": False}


def test_population_cell_read_blind_is_withheld_and_small_for_others(lone_case):
    world, _ = lone_case
    url = f"/reports/ai-systems/{world.ai_system.pk}/population/"
    chair = html(verified_client(world.chair).get(url))
    management = html(verified_client(world.management).get(url))
    assert ("<tbody><tr><td>mars 2026</td><td>Isolé</td><td>1</td><td colspan=\"2\" class=\"muted\">"
            "Non affiché tant que vous avez des relectures en aveugle dans cette cellule</td></tr></tbody>") in chair
    assert ("<tbody><tr><td>mars 2026</td><td>Isolé</td><td>1</td><td colspan=\"2\" class=\"muted\">"
            "Masqué : moins de 10 cas</td></tr></tbody>") in management
    assert selectors.population_table(world.ai_system, world.chair) == [{
        "month": "2026-03", "site": "Isolé", "n": 1, "small": True, "suppressed": True, "withheld": True,
        "ai_positive": None, "ai_positive_rate": None, "n_decided": None, "overridden": None,
        "override_rate": None}]


def test_evidence_pack_case_figures_withheld_from_a_blind_reader(lone_case):
    world, _ = lone_case
    with translation.override("en"):
        chair = evidence.evidence_pack(world.ai_system, user=world.chair)
        management = evidence.evidence_pack(world.ai_system, user=world.management)
    for pack, expected in ((chair, "Withheld while you have blind readings in this cell"),
                           (management, "Suppressed: fewer than 10 cases")):
        values = [(r.label, r.value) for d in pack["duties"] for r in d.records if r.label in CASE_RECORDS]
        assert values == [(CASE_RECORDS[0], expected), (CASE_RECORDS[1], expected),
                          (CASE_RECORDS[2], expected), (CASE_RECORDS[0], expected)]
    page = html(verified_client(world.chair).get(
        f"/reports/ai-systems/{world.ai_system.pk}/evidence.csv"))
    assert "1 / 1" not in page and "0 / 1" not in page


def test_evidence_pack_case_figures_shown_from_ten_cases_to_a_reader_not_blind(db):
    world = build_world(n_cases=0)
    for i in range(10):
        CaseFactory(ai_system=world.ai_system, ai_label="fracture", final_label="fracture" if i else "no_fracture",
                    patient_informed=True)
    with translation.override("en"):
        pack = evidence.evidence_pack(world.ai_system, user=world.chair)
    values = {r.label: r.value for d in pack["duties"] for r in d.records if r.label in CASE_RECORDS}
    assert values == {CASE_RECORDS[0]: "10 / 10 (100,0 %)", CASE_RECORDS[1]: 0,
                      CASE_RECORDS[2]: "1 / 10 (10,0 %)"}


def test_evidence_pack_audit_failure_on_a_checkpoint_gives_the_reason(db, settings, tmp_path):
    """Events cut from the end of the trail after a checkpoint: the verification fails with no
    event to blame (``first_broken_id`` is None), and the pack gives the verifier's reason."""
    settings.AUDIT_ANCHOR_PATH = str(tmp_path)
    settings.AUDIT_ANCHOR_EVERY = 0
    settings.AUDIT_ANCHOR_MINUTES = 0
    world = build_world(n_cases=0)
    pks = [audit_record(actor=None, action="test.event", object_type="x", object_id=str(i), data={"i": i}).pk
           for i in range(6)]
    anchor_write()
    lane = AuditEvent.objects.get(pk=pks[5]).lane
    with tampering():
        sql("DELETE FROM {table} WHERE id IN (%s, %s)", [pks[4], pks[5]])
        ChainHead.objects.filter(id=lane).update(count=4, last_hash=AuditEvent.objects.get(pk=pks[3]).hash)
    report = audit_verify()
    assert (report.ok, report.first_broken_id) == (False, None)
    with translation.override("en"):
        pack = evidence.evidence_pack(world.ai_system, user=world.quality)
    (record,) = [r for d in pack["duties"] for r in d.records if r.label == "Audit trail verification"]
    assert (pack["audit_ok"], record.value, record.reference) == (
        False, "BROKEN", f"verification failed: {report.reason}")
    assert report.reason.startswith("lane ")
