"""Import issue #3: JSON Lines and FHIR samples, saved profiles (mapping, identifier columns, birth
date → age band, month precision), identifiers in free text rejected or redacted, blinding lint,
dry run, encrypted source reference, the error report as CSV, the command, the opt-out register,
and an import killed with SIGKILL leaving nothing."""

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from audit.models import AuditEvent
from cases.importing.service import import_cases
from cases.models import Case, ImportBatch, OptOut
from cases.pseudonymization import pseudonymize
from cases.rows import RowError
from cases.services import import_profile_create, optout_register
from cases.source_reference import current_source_key, decrypt_source_reference
from common.exceptions import ValidationFailed
from reviews.enums import CampaignState
from tests.workflows import campaign_in

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "import_samples"
ROOT = Path(__file__).resolve().parents[2]


def run(world, name, **kwargs):
    return import_cases(actor=world.quality, ai_system=world.ai_system, path=str(SAMPLES / name), filename=name,
                        **kwargs)


def case_of(accession):
    return Case.objects.get(source_key=pseudonymize(accession, namespace="case"))


@pytest.mark.parametrize(("name", "n"), [("cases.csv", 3), ("cases_cp1252.csv", 3), ("cases.jsonl", 2),
                                         ("cases.json", 1), ("cases.fhir.json", 1)])
def test_import_pipeline_every_sample_file_imports(world, name, n):
    result = run(world, name)
    assert (result.created, result.errors, result.batch.status) == (n, [], "completed")


def test_import_pipeline_fhir_bundle_maps_report_patient_device_and_observation(world):
    result = run(world, "cases.fhir.json")
    case = case_of("ACC-0301")
    assert result.batch.format == "fhir"
    assert (case.exam_date, case.site, case.service, case.sex, case.age_band) == (
        dt.date(2026, 3, 7), "Nord", "Urgences", "F", "60-79")  # born 20/05/1961, 64 at the exam
    assert (case.ai_label, case.ai_score, case.ai_version, case.final_label) == ("fracture", 0.91, "2.1", "fracture")
    assert case.patient_pseudonym == pseudonymize("IPP-4001", namespace="patient")
    assert case.clinician_pseudonym == pseudonymize("RPPS-4101", namespace="clinician")
    assert case.clinical_context == "Chute de sa hauteur, douleur du poignet."


def test_import_pipeline_invalid_fhir_is_refused_whole(world):
    with pytest.raises(ValidationFailed, match="not valid R4"):
        import_cases(actor=world.quality, ai_system=world.ai_system, filename="x.fhir.json", fmt="fhir",
                     raw=b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
                         b'{"resourceType": "DiagnosticReport", "status": "final"}}]}')
    assert ImportBatch.objects.count() == 0


def profile(world, **kwargs):
    spec = json.loads((SAMPLES / "profile_example.json").read_text()) | kwargs
    return import_profile_create(actor=world.quality, ai_system=world.ai_system, **spec)


def test_import_pipeline_profile_maps_columns_redacts_names_and_phones_and_keeps_month(world):
    result = run(world, "profile_example.csv", profile=profile(world))
    assert (result.created, result.errors, result.redacted) == (2, [], 1)
    case = case_of("E-501")
    assert case.report_text == "Patient [NOM] vu aux urgences, rappeler au [TÉLÉPHONE]."
    assert (case.exam_date, case.age_band, case.site, case.service) == (dt.date(2026, 3, 1), "60-79", "Nord",
                                                                        "Urgences")
    assert result.batch.warnings == [{"line": 2, "field": "report_text", "kind": "redacted",
                                      "reason": "redacted: the patient's name, a phone number"}]
    stored = " ".join(str(v) for v in Case.objects.values_list("report_text", "clinical_context"))
    stored += str(list(ImportBatch.objects.values_list("errors", "warnings")))
    for identifier in ("Durand", "Paul", "Petit", "Anne", "06 12 34 56 78", "12/07/1950", "1950-07-12"):
        assert identifier not in stored


def test_import_pipeline_profile_with_reject_policy_rejects_the_row_and_says_why(world):
    result = run(world, "profile_example.csv", profile=profile(world, identifier_policy="reject"))
    assert result.created == 1
    assert result.errors == [RowError(2, "report_text", "the text carries the patient's name, a phone number: "
                                                        "the row is rejected")]


def test_import_pipeline_blinding_lint_flags_text_naming_the_ai(world):
    raw = ("accession_number;patient_id;exam_date;site;report_text;ai_label\n"
           f"A1;P1;01/03/2026;Nord;Analyse {world.ai_system.name} : fracture.;fracture\n").encode()
    result = import_cases(actor=world.quality, ai_system=world.ai_system, raw=raw, filename="x.csv")
    # The mention spans the label written after the name: what the quality team must see.
    assert case_of("A1").blinding_flags == [{"field": "report_text", "mention": f"{world.ai_system.name} : fracture"}]
    assert [w["kind"] for w in result.batch.warnings] == ["blinding"]


def test_import_pipeline_dry_run_reports_and_writes_no_case(world):
    before = Case.objects.count()
    result = run(world, "cases.csv", dry_run=True)
    assert (result.created, Case.objects.count(), result.batch.status, result.batch.is_dry_run) == (
        3, before, "validated", True)
    assert AuditEvent.objects.filter(action="import.validated").count() == 1


def test_import_pipeline_source_reference_is_encrypted_with_its_own_key(world):
    key = Fernet.generate_key().decode()
    with override_settings(SOURCE_KEY=key, SOURCE_KEY_ID="s7"):
        run(world, "cases.csv")
        case = case_of("ACC-0001")
        assert case.source_reference_key_id == "s7"
        assert "ACC-0001" not in case.source_reference
        assert decrypt_source_reference(case.source_reference, current_source_key()) == "ACC-0001"


def test_import_pipeline_errors_csv_through_the_api(world, api):
    raw = b"accession_number;patient_id;exam_date;site;ai_label\nA1;P1;31/02/2026;Nord;fracture\n"
    result = import_cases(actor=world.quality, ai_system=world.ai_system, raw=raw, filename="x.csv")
    response = api(world.quality).get(f"/api/import-batches/{result.batch.pk}/errors-csv/")
    assert response.status_code == 200
    assert response.content.decode() == (
        "line;field;reason;kind\r\n2;exam_date;expected a date as dd/mm/yyyy or yyyy-mm-dd;rejected\r\n")


def test_import_pipeline_api_profiles_and_dry_run(world, api):
    client = api(world.quality)
    created = client.post("/api/import-batches/profiles/", {"name": "P", "ai_system": world.ai_system.pk,
                                                            "columns": {"ai_label": "Résultat IA"}}, format="json")
    assert created.status_code == 201, created.json()
    assert client.get("/api/import-batches/profiles/").json()[0]["columns"] == {"ai_label": "Résultat IA"}

    raw = (SAMPLES / "cases.jsonl").read_bytes()
    response = client.post("/api/import-batches/", {"ai_system": world.ai_system.pk, "dry_run": "true",
                                                    "file": SimpleUploadedFile("c.jsonl", raw)}, format="multipart")
    assert (response.status_code, response.json()["status"], response.json()["format"]) == (201, "validated",
                                                                                            "jsonl")


def test_import_pipeline_command_prints_the_report(world, capsys):
    call_command("import_cases", str(SAMPLES / "cases.csv"), "--ai-system", world.ai_system.name,
                 "--user", "quality")
    out = capsys.readouterr()
    assert "3 rows, 3 created, 0 updated, 0 unchanged, 0 rejected" in out.out
    assert "rows/s" in out.err


def test_import_pipeline_opt_out_flags_cases_and_excludes_them_from_sampling(world, api, tmp_path):
    run(world, "cases.csv")
    result = optout_register(actor=world.dpo, patient_ids=["ipp-1001 "])
    assert (result.added, result.already, result.cases_flagged) == (1, 0, 1)
    assert case_of("ACC-0001").is_opted_out
    assert not OptOut.objects.filter(patient_pseudonym="IPP-1001").exists()
    response = api(world.quality).post("/api/cases/opt-outs/", {"patient_ids": ["IPP-1001", "IPP-1002"]},
                                       format="json")
    assert (response.status_code, response.json()) == (200, {"added": 1, "already": 1, "cases_flagged": 1})
    ids = tmp_path / "optouts.txt"
    ids.write_text("IPP-1003\n")
    call_command("optout", str(ids), "--user", "dpo")
    assert Case.objects.filter(is_opted_out=True).count() == 3
    campaign = campaign_in(world, CampaignState.SAMPLED, sample_size=100)
    sampled = set(campaign.campaign_cases.values_list("case__source_key", flat=True))
    assert not sampled & {pseudonymize(a, namespace="case") for a in ("ACC-0001", "ACC-0002", "ACC-0003")}
    assert api(world.clinicians[0]).post("/api/cases/opt-outs/", {"patient_ids": ["X"]},
                                         format="json").status_code == 403


def test_import_pipeline_a_later_import_of_an_opted_out_patient_is_flagged(world):
    optout_register(actor=world.quality, patient_ids=["IPP-2001"])
    run(world, "cases.jsonl")
    assert case_of("ACC-0101").is_opted_out and not case_of("ACC-0102").is_opted_out


WORKER = """
import os, sys
sys.path[:0] = ["backend", "."]
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
import django
django.setup()
from django.core.management import call_command
from accounts.models import User
from cases.models import AISystem
from cases.importing.service import import_cases
if os.environ["CGH_DB_ENGINE"] == "sqlite":  # a scratch file database of its own
    call_command("migrate", verbosity=0)
User.objects.get_or_create(username="killed-quality", defaults={"role": "quality"})
AISystem.objects.get_or_create(pk=int(sys.argv[1]), defaults=dict(
    name="Killed AI", vendor="V", version="1", intended_use="x", output_type="binary",
    labels=["fracture", "no_fracture"], positive_label="fracture"))
def progress(done, expected):
    print("progress", done, flush=True)
import_cases(actor=User.objects.get(username="killed-quality"), ai_system=AISystem.objects.get(pk=int(sys.argv[1])),
             path=sys.argv[2], filename="big.csv", progress=progress, workers=1)
print("finished", flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_import_pipeline_killed_mid_import_leaves_nothing(tmp_path):
    """SIGKILL a worker process in the middle of a 200,000-row import: nothing of it remains."""
    big = tmp_path / "big.csv"
    with big.open("w") as f:
        f.write("accession_number;patient_id;exam_date;site;ai_label\n")
        for i in range(200_000):
            f.write(f"K{i};P{i};01/03/2026;Nord;fracture\n")
    ai_id = 990001
    if connection.vendor == "postgresql":  # the test database itself (this test commits for real)
        env = os.environ | {"CGH_DB_ENGINE": "postgres", "CGH_DB_NAME": connection.settings_dict["NAME"]}

        def counts():
            return Case.objects.count(), ImportBatch.objects.count(), AuditEvent.objects.count()
    else:

        db = tmp_path / "killed.sqlite3"
        env = os.environ | {"CGH_DB_ENGINE": "sqlite", "CGH_SQLITE_PATH": str(db)}

        def counts():
            if not db.exists():
                return None
            with sqlite3.connect(db) as conn:
                return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # noqa: S608
                             for t in ("cases_case", "cases_importbatch", "audit_auditevent"))
    before = counts() if connection.vendor == "postgresql" else (0, 0, 0)
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(ai_id), str(big)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)
    seen = 0
    deadline = time.monotonic() + 60
    while seen < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line.startswith("progress")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert seen == 2, "the worker did not start importing"
    assert proc.returncode == -signal.SIGKILL
    assert counts() == before
