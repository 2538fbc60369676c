"""Pseudonyms (DESIGN §10): HMAC-SHA256 of a normalised identifier with a key held outside the
database, and no source identifier ever stored."""

import csv
import json
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings

from audit.models import AuditEvent
from cases.importing.service import import_cases
from cases.models import Case, ImportBatch
from cases.pseudonymization import (
    PseudonymKey,
    current_key,
    hmac_sha256_hex,
    normalise_identifier,
    pseudonymize,
)

REFDATA = Path(__file__).resolve().parents[1] / "refdata"
RFC4231 = list(csv.DictReader((REFDATA / "rfc4231_hmac_sha256.csv").open(encoding="utf-8")))


@pytest.mark.unit
def test_pseudonymization_rfc4231_file_has_vectors():
    assert len(RFC4231) >= 2


@pytest.mark.unit
@pytest.mark.parametrize("vector", RFC4231, ids=[f"case{v['test_case']}" for v in RFC4231])
def test_pseudonymization_hmac_matches_rfc4231(vector):
    key = bytes.fromhex(vector["key_hex"])
    assert hmac_sha256_hex(key, vector["data_ascii"].encode("ascii")) == vector["expected_hmac_sha256_hex"]


KEY = PseudonymKey(key_id="t1", secret=b"unit-test-key")


@pytest.mark.unit
def test_pseudonymization_is_the_hmac_of_namespace_and_normalised_identifier():
    assert pseudonymize(" ipp 00 42 ", namespace="patient", key=KEY) == hmac_sha256_hex(
        b"unit-test-key", b"patient:IPP0042"
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    "variant", ["IPP0042", "ipp0042", " IPP0042 ", "IPP 0042", "ipp\t00 42\n", "ＩＰＰ００４２"]
)
def test_pseudonymization_same_identifier_written_differently_gives_the_same_pseudonym(variant):
    assert normalise_identifier(variant) == "IPP0042"
    assert pseudonymize(variant, namespace="patient", key=KEY) == pseudonymize(
        "IPP0042", namespace="patient", key=KEY
    )


@pytest.mark.unit
def test_pseudonymization_namespace_and_key_separate_pseudonyms():
    as_patient = pseudonymize("123456", namespace="patient", key=KEY)
    assert as_patient != pseudonymize("123456", namespace="case", key=KEY)
    assert as_patient != pseudonymize("123456", namespace="clinician", key=KEY)
    assert as_patient != pseudonymize("123456", namespace="patient", key=PseudonymKey("t2", b"another-key"))
    assert as_patient != pseudonymize("123457", namespace="patient", key=KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", as_patient)  # a lowercase hex HMAC-SHA256


@pytest.mark.unit
@override_settings(PSEUDONYM_KEY="from-the-environment", PSEUDONYM_KEY_FILE=None, PSEUDONYM_KEY_ID="env7")
def test_pseudonymization_key_from_the_environment():
    assert current_key() == PseudonymKey(key_id="env7", secret=b"from-the-environment")
    assert pseudonymize("A1", namespace="case") == hmac_sha256_hex(b"from-the-environment", b"case:A1")


@pytest.mark.unit
def test_pseudonymization_key_from_a_key_file(tmp_path):
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("  from-the-key-file\n", encoding="utf-8")
    with override_settings(PSEUDONYM_KEY=None, PSEUDONYM_KEY_FILE=str(key_file), PSEUDONYM_KEY_ID="file3"):
        assert current_key() == PseudonymKey(key_id="file3", secret=b"from-the-key-file")
        assert pseudonymize("A1", namespace="case") == hmac_sha256_hex(b"from-the-key-file", b"case:A1")
    # The environment wins when both are set.
    with override_settings(PSEUDONYM_KEY="from-env", PSEUDONYM_KEY_FILE=str(key_file)):
        assert current_key().secret == b"from-env"


@pytest.mark.unit
@pytest.mark.parametrize("empty", [None, ""])
def test_pseudonymization_without_any_key_refuses(empty, tmp_path):
    with override_settings(PSEUDONYM_KEY=empty, PSEUDONYM_KEY_FILE=None), pytest.raises(ImproperlyConfigured):
        current_key()
    blank = tmp_path / "blank.key"
    blank.write_text("\n", encoding="utf-8")
    with (
        override_settings(PSEUDONYM_KEY=empty, PSEUDONYM_KEY_FILE=str(blank)),
        pytest.raises(ImproperlyConfigured),
    ):
        current_key()


# --- No source identifier is ever stored -------------------------------------------------------

RAW_PATIENTS = ["IPP-SRC-80417", "IPP-SRC-80418", "IPP-SRC-80419"]
RAW_ACCESSIONS = ["ACC-SRC-55501", "ACC-SRC-55502", "ACC-SRC-55503", "ACC-SRC-55504"]
RAW_CLINICIANS = ["RPPS-SRC-10003", "RPPS-SRC-10004"]


def _every_stored_value(model) -> list[str]:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - a table name from the model's own meta
        return [
            json.dumps(v, default=str) if not isinstance(v, str) else v
            for row in cursor.fetchall()
            for v in row
        ]


def test_pseudonymization_no_source_identifier_is_stored(world):
    rows = [
        "accession_number;patient_id;exam_date;site;ai_label;clinician_id;ai_score",
        f"{RAW_ACCESSIONS[0]};{RAW_PATIENTS[0]};01/03/2026;Nord;fracture;{RAW_CLINICIANS[0]};0,91",
        f"{RAW_ACCESSIONS[1]};{RAW_PATIENTS[1]};02/03/2026;Nord;no_fracture;{RAW_CLINICIANS[1]};0,12",
        f"{RAW_ACCESSIONS[2]};{RAW_PATIENTS[2].lower()};2026-03-03;Sud;fracture;;0,77",
        # Rejected (no such date): its errors are stored too.
        f"{RAW_ACCESSIONS[3]};{RAW_PATIENTS[0]};31/02/2026;Sud;fracture;;x",
    ]
    result = import_cases(
        actor=world.quality, ai_system=world.ai_system, raw="\n".join(rows).encode(), filename="export.csv"
    )
    assert (result.created, len({e.line for e in result.errors})) == (3, 1)

    stored = " ".join(
        _every_stored_value(Case) + _every_stored_value(ImportBatch) + _every_stored_value(AuditEvent)
    ).upper()
    for raw in RAW_PATIENTS + RAW_ACCESSIONS + RAW_CLINICIANS:
        assert raw.upper() not in stored
        assert normalise_identifier(raw) not in stored
    # What is stored instead: the keyed pseudonyms, and the key's id for rotation.
    case = Case.objects.get(source_key=pseudonymize(RAW_ACCESSIONS[2], namespace="case"))
    assert case.patient_pseudonym == pseudonymize(RAW_PATIENTS[2], namespace="patient")
    assert case.key_id == result.batch.key_id == "test1"
    assert Case.objects.get(
        source_key=pseudonymize(RAW_ACCESSIONS[0], namespace="case")
    ).clinician_pseudonym == (pseudonymize(RAW_CLINICIANS[0], namespace="clinician"))
