"""Direct identifiers at import (DESIGN §10): every stored text column is scanned (site, service,
clinical context, report, image link, AI version) with the row's own patient id and accession
number; ``reject`` rejects the row naming line, field and kind, ``redact`` replaces the identifier
by its tag; and no error report (batch errors, errors CSV, API, the command's output) ever quotes the
rejected value or the text around it."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from cases.importing.service import import_cases
from cases.models import Case, ImportBatch
from cases.rows import RowError
from cases.services import import_profile_create

pytestmark = pytest.mark.django_db

HEADER = "accession_number;patient_id;exam_date;site;service;clinical_context;report_text;image_url;ai_label;ai_version"
CLEAN = "ACC-0001;IPP-1001;01/03/2026;Nord;Urgences;Chute à vélo.;Radiographie du poignet.;;fracture;2.1"
NIR = "1 85 05 78 006 084 91"
# (field, value planted in that field, kind in the reason, the value that must never be quoted)
PLANTED = [
    ("site", f"Nord {NIR}", "a NIR (social security number)", NIR),
    ("service", "Urgences, tél. 06 12 34 56 78", "a phone number", "06 12 34 56 78"),
    ("clinical_context", "Chute, écrire à paul.durand [at] orange [dot] fr", "an e-mail address", "paul.durand"),
    ("report_text", "Patient né le 3 mars 1954, radiographie.", "a birth date", "3 mars 1954"),
    ("report_text", "Compte rendu du dossier ipp 1002.", "the patient's identifier", "ipp 1002"),
    ("image_url", "https://pacs.chu.example/viewer?study=ACC-0002", "the accession number", "ACC-0002"),
    ("ai_version", "2.1 poste 06.12.34.56.78", "a phone number", "06.12.34.56.78"),
    ("clinical_context", "Vit au 12 bis, rue Victor Hugo, 59000 Lille.", "a postal address", "Victor Hugo"),
]
COLUMNS = HEADER.split(";")


def file_with(field: str, value: str) -> bytes:
    row = "ACC-0002;IPP-1002;02/03/2026;Sud;Pédiatrie;Enfant.;Pas de trait.;;no_fracture;2.1".split(";")
    row[COLUMNS.index(field)] = value
    return (HEADER + "\n" + CLEAN + "\n" + ";".join(row) + "\n").encode()


def run(world, raw: bytes, **kwargs):
    return import_cases(actor=world.quality, ai_system=world.ai_system, raw=raw, filename="cases.csv", **kwargs)


def reported(batch: ImportBatch) -> str:
    batch.refresh_from_db()
    return json.dumps([batch.errors, batch.warnings, batch.failure], ensure_ascii=False)


@pytest.mark.parametrize(("field", "value", "kind", "secret"), PLANTED)
def test_identifiers_import_rejects_the_row_naming_line_field_and_kind(world, api, field, value, kind, secret):
    result = run(world, file_with(field, value))
    assert result.created == 1
    assert result.errors == [RowError(3, field, f"the text carries {kind}: the row is rejected")]
    assert list(Case.objects.filter(import_batch=result.batch).values_list("site", flat=True)) == ["Nord"]
    assert secret not in reported(result.batch)
    csv = api(world.quality).get(f"/api/import-batches/{result.batch.pk}/errors-csv/").content.decode()
    assert csv == f"line;field;reason;kind\r\n3;{field};the text carries {kind}: the row is rejected;rejected\r\n"
    detail = api(world.quality).get(f"/api/import-batches/{result.batch.pk}/").content.decode()
    assert secret not in detail and secret not in csv


def test_identifiers_import_through_the_api_and_the_command_never_quote_the_value(world, api, tmp_path, capsys):
    raw = file_with("service", f"Urgences {NIR}")
    response = api(world.quality).post("/api/import-batches/", {
        "ai_system": world.ai_system.pk, "file": SimpleUploadedFile("c.csv", raw)}, format="multipart")
    assert response.status_code == 201
    assert NIR not in response.content.decode()
    assert response.json()["rows_rejected"] == 1
    path = tmp_path / "c.csv"
    path.write_bytes(raw)
    errors = tmp_path / "errors.csv"
    call_command("import_cases", str(path), "--ai-system", world.ai_system.name, "--user", "quality",
                 "--errors-csv", str(errors))
    out = capsys.readouterr()
    assert "  line 3: service: the text carries a NIR (social security number): the row is rejected" in out.out
    assert NIR not in out.out + out.err + errors.read_text()


def test_identifiers_import_bad_values_are_never_quoted(world):
    row = "ACC-0003;IPP-1003;3 mars 1954;Sud;Pédiatrie;Enfant.;Pas de trait.;;0612345678;2.1"
    result = run(world, (HEADER + "\n" + row + "\n").encode())
    assert result.errors == [
        RowError(2, "exam_date", "expected a date as dd/mm/yyyy or yyyy-mm-dd"),
        RowError(2, "ai_label", "not one of the AI system's labels (fracture, no_fracture)"),
    ]
    assert "1954" not in reported(result.batch) and "0612345678" not in reported(result.batch)


def test_identifiers_import_redact_policy_tags_every_scanned_column(world):
    profile = import_profile_create(actor=world.quality, ai_system=world.ai_system, name="redact",
                                    columns={}, identifier_columns=["Nom"], identifier_policy="redact")
    header = HEADER + ";Nom"
    row = ("ACC-0004;IPP-1004;04/03/2026;Nord;Urgences 06 12 34 56 78;M. DUPONT, DDN 03/03/1954.;"
           "Dossier IPP-1004, NIR " + NIR + ".;https://pacs.example/v?acc=ACC-0004;fracture;2.1;Dupont")
    result = run(world, (header + "\n" + row + "\n").encode(), profile=profile)
    assert (result.created, result.errors, result.redacted) == (1, [], 1)
    case = Case.objects.get(import_batch=result.batch)
    assert (case.service, case.clinical_context, case.report_text, case.image_url) == (
        "Urgences [TÉLÉPHONE]", "M. [NOM], DDN [DATE DE NAISSANCE].", "Dossier [IDENTIFIANT], NIR [NIR].",
        "https://pacs.example/v?acc=[IDENTIFIANT]")
    assert result.batch.warnings == [
        {"line": 2, "field": "service", "reason": "redacted: a phone number", "kind": "redacted"},
        {"line": 2, "field": "clinical_context", "reason": "redacted: a birth date, the patient's name",
         "kind": "redacted"},
        {"line": 2, "field": "report_text", "reason": "redacted: a NIR (social security number), the patient's "
                                                      "identifier", "kind": "redacted"},
        {"line": 2, "field": "image_url", "reason": "redacted: the accession number", "kind": "redacted"},
    ]


def test_identifiers_import_redaction_that_overflows_a_column_rejects_the_row(world):
    profile = import_profile_create(actor=world.quality, ai_system=world.ai_system, name="redact",
                                    columns={}, identifier_policy="redact")
    site = "Nord DDN 3/3/54 DDN 4/4/54"  # 26 characters, 42 once each date becomes its tag
    result = run(world, file_with("site", site), profile=profile)
    assert (result.created, result.errors) == (1, [RowError(3, "site", "longer than 40 characters once redacted")])
    assert "3/3/54" not in reported(result.batch)
