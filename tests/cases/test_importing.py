"""Importing cases (DESIGN §3 "Import batch"): encodings, separators, decimal comma, dates, JSON;
idempotence and corrections; sampled cases frozen; direct identifiers refused whole; bad rows
reported with (line, field, reason) while good rows go in; a batch is all or nothing; and the
same through ``POST /api/import-batches/``, for the quality team only."""

import datetime as dt
import json
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.enums import Role
from audit.models import AuditEvent
from cases.importing.service import import_cases
from cases.models import Case, ImportBatch
from cases.pseudonymization import pseudonymize
from cases.rows import RowError
from common.exceptions import Forbidden, ValidationFailed
from reviews.enums import CampaignState
from tests.workflows import campaign_in

pytestmark = pytest.mark.django_db

HEADER = (
    "accession_number;patient_id;exam_date;site;service;sex;age;clinical_context;ai_label;ai_score;final_label"
).split(";")
ROWS = [
    line.split(";")
    for line in (
        "ACC-1;PAT-1;01/03/2026;Nord;Urgences;F;34;Chute à vélo, poignet déformé.;fracture;0,91;fracture",
        "ACC-2;PAT-2;2026-03-02;Nord;Urgences;M;71;Douleur après chute, âgé.;no_fracture;0,08;no_fracture",
        "ACC-3;PAT-3;03/03/2026;Sud;Pédiatrie;F;9;Enfant, chute de trampoline.;fracture;0,55;no_fracture",
    )
]


def csv_bytes(rows=ROWS, header=HEADER, *, sep=";", encoding="utf-8", bom=False) -> bytes:
    def cell(v: str) -> str:
        return f'"{v}"' if sep in v or '"' in v else v

    text = "\r\n".join(sep.join(cell(v) for v in r) for r in [header, *rows]) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def case_of(accession: str) -> Case:
    return Case.objects.get(source_key=pseudonymize(accession, namespace="case"))


def counts() -> tuple[int, int, int]:
    return Case.objects.count(), ImportBatch.objects.count(), AuditEvent.objects.count()


def run(world, raw: bytes, *, fmt="csv", filename="cases.csv"):
    return import_cases(actor=world.quality, ai_system=world.ai_system, raw=raw, filename=filename, fmt=fmt)


EXPECTED = {
    "ACC-1": {
        "exam_date": dt.date(2026, 3, 1),
        "site": "Nord",
        "service": "Urgences",
        "sex": "F",
        "age_band": "18-39",
        "clinical_context": "Chute à vélo, poignet déformé.",
        "ai_label": "fracture",
        "ai_score": 0.91,
        "final_label": "fracture",
    },
    "ACC-2": {
        "exam_date": dt.date(2026, 3, 2),
        "site": "Nord",
        "service": "Urgences",
        "sex": "M",
        "age_band": "60-79",
        "clinical_context": "Douleur après chute, âgé.",
        "ai_label": "no_fracture",
        "ai_score": 0.08,
        "final_label": "no_fracture",
    },
    "ACC-3": {
        "exam_date": dt.date(2026, 3, 3),
        "site": "Sud",
        "service": "Pédiatrie",
        "sex": "F",
        "age_band": "0-17",
        "clinical_context": "Enfant, chute de trampoline.",
        "ai_label": "fracture",
        "ai_score": 0.55,
        "final_label": "no_fracture",
    },
}


def assert_imported_as_expected(result, n_before: int = 0) -> None:
    assert (result.created, result.updated, result.unchanged, result.errors) == (3, 0, 0, [])
    assert Case.objects.count() == n_before + 3
    for accession, fields in EXPECTED.items():
        case = case_of(accession)
        assert {f: getattr(case, f) for f in fields} == fields, accession
        assert case.patient_pseudonym == pseudonymize(accession.replace("ACC", "PAT"), namespace="patient")
        assert case.import_batch == result.batch


# --- Formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "raw"),
    [
        ("utf8-semicolon", csv_bytes()),
        ("utf8-bom-semicolon", csv_bytes(bom=True)),
        ("cp1252-semicolon", csv_bytes(encoding="cp1252")),
        ("utf8-comma-quoted-decimal-comma", csv_bytes(sep=",")),
        ("cp1252-comma", csv_bytes(sep=",", encoding="cp1252")),
        ("utf8-bom-comma", csv_bytes(sep=",", bom=True)),
    ],
)
def test_importing_csv_encodings_separators_decimal_comma_and_dates(world, label, raw):
    n = Case.objects.count()
    result = run(world, raw)
    assert_imported_as_expected(result, n)
    assert (result.batch.format, result.batch.status, result.batch.rows_total) == ("csv", "completed", 3)


def test_importing_cp1252_really_differs_from_utf8(world):
    """The Windows-1252 file is not valid UTF-8: the accents come through only by the fallback."""
    raw = csv_bytes(encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    run(world, raw)
    assert case_of("ACC-2").clinical_context == "Douleur après chute, âgé."


def test_importing_json(world):
    records = [dict(zip(HEADER, r, strict=True)) for r in ROWS]
    records[0]["ai_score"] = 0.91  # numbers may come as numbers too
    records[1]["age"] = 71
    n = Case.objects.count()
    result = run(world, json.dumps(records, ensure_ascii=False).encode(), fmt="json", filename="cases.json")
    assert_imported_as_expected(result, n)
    assert result.batch.format == "json"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b"{not json",
            "The JSON file is not valid: Expecting property name enclosed in double quotes at line 1.",
        ),
        (b'{"accession_number": "A"}', "The JSON file must be a list of objects, one per case."),
        (b'[["A", "B"]]', "The JSON file must be a list of objects, one per case."),
    ],
)
def test_importing_invalid_json_is_refused_whole(world, raw, message):
    before = counts()
    with pytest.raises(ValidationFailed) as excinfo:
        run(world, raw, fmt="json")
    assert excinfo.value.detail == message
    assert counts() == before


# --- Idempotence, corrections, frozen cases ----------------------------------------------------


def test_importing_the_same_file_twice_adds_nothing(world):
    run(world, csv_bytes())
    before = Case.objects.count()
    again = run(world, csv_bytes(sep=",", bom=True))  # the same rows, written differently
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 3, [])
    assert Case.objects.count() == before
    batch = again.batch
    assert (
        batch.rows_total,
        batch.rows_created,
        batch.rows_updated,
        batch.rows_unchanged,
        batch.rows_rejected,
    ) == (3, 0, 0, 3, 0)
    assert AuditEvent.objects.filter(action="import.completed").order_by("-pk").first().data == {
        "file_sha256": batch.file_sha256,
        "rows": 3,
        "created": 0,
        "updated": 0,
        "unchanged": 3,
        "rejected": 0,
        "redacted": 0,
        "format": "csv",
        "dry_run": False,
    }


def test_importing_a_corrected_file_updates_the_rows_and_says_so(world):
    first = run(world, csv_bytes())
    corrected = [list(r) for r in ROWS]
    corrected[2][10] = "fracture"  # the final decision of ACC-3 was mistyped
    corrected[0][7] = "Chute à vélo."
    result = run(world, csv_bytes(corrected))
    assert (result.created, result.updated, result.unchanged, result.errors) == (0, 2, 1, [])
    assert (result.batch.rows_updated, result.batch.rows_unchanged) == (2, 1)
    assert case_of("ACC-3").final_label == "fracture"
    assert case_of("ACC-1").clinical_context == "Chute à vélo."
    assert case_of("ACC-3").import_batch == first.batch  # the case keeps the batch that created it


def test_importing_a_row_changed_after_its_case_was_sampled_is_rejected(world):
    run(world, csv_bytes())
    campaign = campaign_in(world, CampaignState.SAMPLED, sample_size=100)
    assert case_of("ACC-3").campaign_cases.get().campaign == campaign
    later = ["ACC-4;PAT-4;20/07/2026;Nord;Urgences;F;50;Hors période.;fracture;0,7;".split(";")]
    run(world, csv_bytes(later))  # after the campaign's period: not sampled
    changed = [list(r) for r in ROWS] + [list(later[0])]
    changed[2][8] = "no_fracture"  # the AI output of a sampled case
    changed[3][7] = "Hors période, corrigé."  # a case that is in no campaign
    result = run(world, csv_bytes(changed))
    assert result.errors == [RowError(4, "ai_label", "the case is already in a campaign: it cannot change")]
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert case_of("ACC-3").ai_label == "fracture"
    assert case_of("ACC-4").clinical_context == "Hors période, corrigé."
    assert (result.batch.rows_rejected, result.batch.errors) == (
        1,
        [{"line": 4, "field": "ai_label", "reason": "the case is already in a campaign: it cannot change"}],
    )


# --- Refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra_columns", "named"),
    [
        (["nom", "date_naissance"], "date_naissance, nom"),
        (["NIR"], "nir"),
        (["Email", "telephone", "adresse"], "adresse, email, telephone"),
        ([" prénom "], "prénom"),
    ],
)
def test_importing_a_file_with_direct_identifiers_is_refused_whole(world, extra_columns, named):
    rows = [r + ["x"] * len(extra_columns) for r in ROWS]
    before = counts()
    with pytest.raises(ValidationFailed) as excinfo:
        run(world, csv_bytes(rows, HEADER + extra_columns))
    assert excinfo.value.detail == (
        f"The file carries direct identifiers ({named}): remove these columns and import again."
    )
    assert excinfo.value.extra == {"columns": named.split(", ")}
    assert counts() == before


def test_importing_json_with_direct_identifiers_is_refused_whole(world):
    records = [dict(zip(HEADER, r, strict=True)) | {"patient_name": "Jeanne Martin"} for r in ROWS]
    before = counts()
    with pytest.raises(ValidationFailed, match=r"direct identifiers \(patient_name\)"):
        run(world, json.dumps(records).encode(), fmt="json")
    assert counts() == before


def test_importing_a_file_without_required_columns_is_refused_whole(world):
    before = counts()
    with pytest.raises(ValidationFailed) as excinfo:
        run(world, csv_bytes([r[1:] for r in ROWS], HEADER[1:]))
    assert (excinfo.value.detail, excinfo.value.extra) == (
        "Required columns are missing: accession_number.",
        {"columns": ["accession_number"]},
    )
    assert counts() == before


def test_importing_bad_rows_are_reported_and_good_rows_imported(world):
    rows = [
        ROWS[0],  # line 2: good
        *(
            line.split(";")
            for line in (
                "ACC-5;PAT-5;31/02/2026;Nord;;F;40;;fracture;;",  # 3: no such date
                "ACC-6;;05/03/2026;Nord;;F;40;;fracture;;",  # 4: no patient
                "ACC-7;PAT-7;05/03/2026;Nord;;F;40;;maybe;;",  # 5: unknown label
                "ACC-8;PAT-8;05/03/2026;Nord;;Q;abc;;fracture;haut;",  # 6: three errors
            )
        ),
        ROWS[1],  # 7: good
        "ACC-1;PAT-1;01/03/2026;Nord;;F;34;;fracture;;".split(";"),  # 8: ACC-1 again
        "ACC-9;PAT-9;06/03/2026;;;F;140;;;;peut-être".split(";"),  # 9: four errors
    ]
    before = Case.objects.count()
    result = run(world, csv_bytes(rows))
    assert result.errors == [
        RowError(3, "exam_date", "expected a date as dd/mm/yyyy or yyyy-mm-dd"),
        RowError(4, "patient_id", "required value is missing"),
        RowError(5, "ai_label", "not one of the AI system's labels (fracture, no_fracture)"),
        RowError(6, "ai_score", "expected a number (decimal comma or point)"),
        RowError(6, "age", "expected an age in whole years"),
        RowError(6, "sex", "expected F, M or X"),
        RowError(8, "accession_number", "the same accession number appears twice"),
        RowError(9, "site", "required value is missing"),
        RowError(9, "age", "age out of range"),
        RowError(9, "ai_label", "the AI output is missing"),
        RowError(9, "final_label", "not one of the AI system's labels (fracture, no_fracture)"),
    ]
    assert (result.created, Case.objects.count() - before) == (2, 2)
    assert {c.source_key for c in Case.objects.filter(import_batch=result.batch)} == {
        pseudonymize("ACC-1", namespace="case"),
        pseudonymize("ACC-2", namespace="case"),
    }
    batch = result.batch
    assert (batch.status, batch.rows_total, batch.rows_created, batch.rows_rejected) == ("completed", 8, 2, 6)
    assert batch.errors == [e.__dict__ for e in result.errors]


def test_importing_a_file_where_every_row_is_bad_is_recorded_as_rejected(world):
    rows = [["ACC-5", "PAT-5", "31/02/2026", "Nord", "", "F", "40", "", "fracture", "", ""]]
    before = Case.objects.count()
    result = run(world, csv_bytes(rows))
    assert (result.created, Case.objects.count(), result.batch.status, result.batch.rows_rejected) == (
        0,
        before,
        "rejected",
        1,
    )


# --- Duplicates across chunks, the Bloom filter, the pool -----------------------------------------

TWICE = "the same accession number appears twice"


def rows_of(*specs):
    """(accession, clinical context) → a good row."""
    return [f"{acc};PAT-{acc};01/03/2026;Nord;Urgences;F;34;{text};fracture;0,5;fracture".split(";")
            for acc, text in specs]


@pytest.fixture
def tiny_chunks(monkeypatch):
    monkeypatch.setattr("cases.importing.service.CHUNK", 2)


def test_importing_duplicates_in_later_chunks_are_reported_and_the_first_row_wins(world, tiny_chunks):
    rows = rows_of(("ACC-1", "Premier."), ("ACC-2", "x"), ("ACC-3", "x"), ("ACC-1", "Second."), ("ACC-3", "y"),
                   ("ACC-3", "z"), ("ACC-4", "x"))
    result = run(world, csv_bytes(rows))
    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    assert result.errors == [RowError(5, "accession_number", TWICE), RowError(6, "accession_number", TWICE),
                             RowError(7, "accession_number", TWICE)]
    assert (case_of("ACC-1").clinical_context, case_of("ACC-3").clinical_context) == ("Premier.", "x")
    assert result.batch.rows_rejected == 3


def test_importing_into_a_system_with_cases_sorts_new_existing_and_duplicate_rows(world, tiny_chunks):
    run(world, csv_bytes(rows_of(("ACC-1", "Avant."), ("ACC-2", "Avant."))))
    rows = rows_of(("ACC-1", "Corrigé."), ("ACC-9", "Nouveau."), ("ACC-2", "Avant."), ("ACC-9", "Encore."),
                   ("ACC-1", "Encore."), ("ACC-8", "Nouveau."))
    result = run(world, csv_bytes(rows))
    assert (result.created, result.updated, result.unchanged) == (2, 1, 1)
    assert result.errors == [RowError(5, "accession_number", TWICE), RowError(6, "accession_number", TWICE)]
    assert [case_of(a).clinical_context for a in ("ACC-1", "ACC-2", "ACC-9", "ACC-8")] == [
        "Corrigé.", "Avant.", "Nouveau.", "Nouveau."]
    assert case_of("ACC-9").import_batch == result.batch


def test_importing_with_a_saturated_bloom_filter_gives_the_same_result(world, tiny_chunks, monkeypatch):
    monkeypatch.setattr("cases.importing.writer.Writer.BLOOM_BITS", 3)  # 8 bits: nearly every key is a candidate
    rows = rows_of(*((f"ACC-{i}", "x") for i in range(12)), ("ACC-3", "y"), ("ACC-11", "y"))
    result = run(world, csv_bytes(rows))
    assert (result.created, result.errors) == (
        12, [RowError(14, "accession_number", TWICE), RowError(15, "accession_number", TWICE)])
    assert Case.objects.filter(import_batch=result.batch).count() == 12


def test_importing_a_dry_run_reports_what_the_import_then_does(world, tiny_chunks):
    run(world, csv_bytes(rows_of(("ACC-1", "Avant."), ("ACC-2", "Avant."))))
    rows = rows_of(("ACC-1", "Corrigé."), ("ACC-3", "x"), ("ACC-3", "y"), ("ACC-2", "Avant."))
    before = Case.objects.count()
    dry = import_cases(actor=world.quality, ai_system=world.ai_system, raw=csv_bytes(rows), filename="c.csv",
                       dry_run=True)
    assert Case.objects.count() == before
    assert case_of("ACC-1").clinical_context == "Avant."
    real = run(world, csv_bytes(rows))
    assert (dry.created, dry.updated, dry.unchanged, dry.errors) == (
        real.created, real.updated, real.unchanged, real.errors) == (1, 1, 1, [RowError(4, "accession_number",
                                                                                         TWICE)])
    assert (dry.batch.status, real.batch.status) == ("validated", "completed")


def test_importing_through_the_process_pool_gives_the_same_cases(world, tiny_chunks):
    rows = rows_of(*((f"ACC-{i}", f"Texte {i}.") for i in range(9)), ("ACC-4", "y"))
    rows.insert(3, "ACC-X;PAT-X;31/02/2026;Nord;;F;40;;fracture;;".split(";"))
    pooled = import_cases(actor=world.quality, ai_system=world.ai_system, raw=csv_bytes(rows), filename="c.csv",
                          workers=2)
    assert (pooled.created, pooled.errors) == (9, [
        RowError(5, "exam_date", "expected a date as dd/mm/yyyy or yyyy-mm-dd"),
        RowError(12, "accession_number", TWICE)])
    cases = Case.objects.filter(import_batch=pooled.batch).order_by("pk")
    assert [c.clinical_context for c in cases] == [f"Texte {i}." for i in range(9)]  # in file order


# --- All or nothing ----------------------------------------------------------------------------


def test_importing_is_atomic_when_the_update_fails_after_the_inserts(world):
    run(world, csv_bytes(ROWS[:2]))
    corrected = [list(ROWS[0]), list(ROWS[1]), list(ROWS[2])]
    corrected[0][7] = "Corrigé."  # an update, after ACC-3's insert
    before = counts()
    with (
        mock.patch("cases.importing.writer.Writer.apply_updates", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError, match="disk full"),
    ):
        run(world, csv_bytes(corrected))
    assert counts() == before
    assert not Case.objects.filter(source_key=pseudonymize("ACC-3", namespace="case")).exists()
    assert case_of("ACC-1").clinical_context == ROWS[0][7]


def test_importing_is_atomic_when_the_audit_event_fails(world):
    before = counts()
    with (
        mock.patch("cases.importing.service.audit_record", side_effect=RuntimeError("audit down")),
        pytest.raises(RuntimeError, match="audit down"),
    ):
        run(world, csv_bytes())
    assert counts() == before


# --- Through the API ---------------------------------------------------------------------------


def upload(world, raw: bytes, name: str = "cases.csv", **extra):
    return {
        "ai_system": world.ai_system.pk,
        "file": SimpleUploadedFile(name, raw, content_type="text/csv"),
        **extra,
    }


def test_importing_through_the_api(world, api):
    response = api(world.quality).post(
        "/api/import-batches/", upload(world, csv_bytes(bom=True)), format="multipart"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    batch = ImportBatch.objects.get()
    assert body == {
        "id": batch.pk,
        "ai_system": world.ai_system.pk,
        "filename": "cases.csv",
        "file_sha256": batch.file_sha256,
        "format": "csv",
        "status": "completed",
        "key_id": "test1",
        "rows_total": 3,
        "rows_created": 3,
        "rows_updated": 0,
        "rows_unchanged": 0,
        "rows_rejected": 0,
        "errors": [],
        "created_at": body["created_at"],
    }
    records = [dict(zip(HEADER, r, strict=True)) for r in ROWS]
    again = api(world.quality).post(
        "/api/import-batches/",
        upload(world, json.dumps(records).encode(), name="cases.JSON"),
        format="multipart",
    )
    assert (again.status_code, again.json()["format"], again.json()["rows_unchanged"]) == (201, "json", 3)


def test_importing_through_the_api_refuses_identifiers_with_the_error_shape(world, api):
    before = counts()
    raw = csv_bytes([r + ["Martin"] for r in ROWS], HEADER + ["nom"])
    response = api(world.quality).post("/api/import-batches/", upload(world, raw), format="multipart")
    assert (response.status_code, response.json()) == (
        400,
        {
            "code": "invalid",
            "detail": "The file carries direct identifiers (nom): remove these columns and import again.",
            "extra": {"columns": ["nom"]},
        },
    )
    assert counts() == before


@pytest.mark.parametrize(
    "role", [Role.CLINICIAN, Role.PATIENT_REP, Role.CHAIR, Role.SECRETARY, Role.MANAGEMENT, Role.DPO, None]
)
def test_importing_through_the_api_is_for_the_quality_team_only(world, api, role):
    user = {
        Role.CLINICIAN: world.clinicians[0],
        Role.PATIENT_REP: world.patient_reps[0],
        Role.CHAIR: world.chair,
        Role.SECRETARY: world.secretary,
        Role.MANAGEMENT: world.management,
        Role.DPO: world.dpo,
    }.get(role)
    before = counts()
    response = api(user).post("/api/import-batches/", upload(world, csv_bytes()), format="multipart")
    if user is None:
        assert response.status_code == 403
        assert response.json()["code"] == "not_authenticated"
    else:
        assert (response.status_code, response.json()) == (
            403,
            {"code": "permission_denied", "detail": "Only the quality team can import cases.", "extra": {}},
        )
    assert counts() == before
    listing = api(user).get("/api/import-batches/")
    assert listing.status_code == 403


def test_importing_service_refuses_other_roles(world):
    before = counts()
    with pytest.raises(Forbidden):
        import_cases(actor=world.chair, ai_system=world.ai_system, raw=csv_bytes(), filename="x.csv")
    assert counts() == before


# --- Inputs that must be refused cleanly, never a server error ---------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e400"])
def test_importing_a_non_finite_score_is_a_bad_row(world, api, value):
    rows = [list(ROWS[0]), list(ROWS[1])]
    rows[1][9] = value
    result = run(world, csv_bytes(rows))
    assert result.errors == [RowError(3, "ai_score", "expected a finite number")]
    assert result.created == 1
    assert api(world.quality).get("/api/cases/").status_code == 200


def test_importing_a_file_that_is_not_text_is_refused_cleanly(world, api):
    raw = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\x81\x8d\x90\x9d"  # an .xlsx sent by mistake
    before = counts()
    response = api(world.quality).post(
        "/api/import-batches/", upload(world, raw, name="cases.xlsx"), format="multipart"
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert "UTF-8" in response.json()["detail"]
    assert counts() == before


def test_importing_a_malformed_csv_is_refused_cleanly(world, api):
    raw = csv_bytes() + b"ACC-9;PAT-9;01/03/2026;Nord;;F;40;" + b"x" * 200_000 + b";fracture;;\r\n"
    before = counts()
    response = api(world.quality).post("/api/import-batches/", upload(world, raw), format="multipart")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert response.json()["detail"].startswith("The CSV file cannot be read")
    assert counts() == before


def test_importing_a_malformed_csv_through_the_process_pool_is_refused_cleanly(world):
    raw = csv_bytes() + b"ACC-9;PAT-9;01/03/2026;Nord;;F;40;" + b"x" * 200_000 + b";fracture;;\r\n"
    before = counts()
    with pytest.raises(ValidationFailed, match=r"The CSV file cannot be read: .* \(line 5\)"):
        import_cases(actor=world.quality, ai_system=world.ai_system, raw=raw, filename="c.csv", workers=2)
    assert counts() == before
