"""FHIR Bundles: patient_informed (the product's extension, or a Consent) and image_url (ImagingStudy
endpoint, else presentedForm, else Media)."""

import copy
import json
from pathlib import Path

import pytest

from cases.fhir import PATIENT_INFORMED_URL, bundle_records
from cases.importing.service import import_cases
from cases.models import Case
from cases.pseudonymization import pseudonymize

SAMPLE = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "import_samples" / "cases.fhir.json")
                    .read_text(encoding="utf-8"))


def bundle(*extra, report=None, patient=None):
    data = copy.deepcopy(SAMPLE)
    for entry in data["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "DiagnosticReport":
            res.update(report or {})
        if res["resourceType"] == "Patient":
            res.update(patient or {})
    data["entry"] += [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in extra]
    return data


def record(data):
    (_, rec), = list(bundle_records(data))
    return rec


def informed(value):
    return {"extension": [{"url": PATIENT_INFORMED_URL, **value}]}


def test_sample_without_the_new_elements_maps_neither():
    rec = record(bundle())
    assert "patient_informed" not in rec and "image_url" not in rec


@pytest.mark.parametrize(("where", "value", "expected"), [
    ("report", {"valueBoolean": True}, "yes"), ("report", {"valueBoolean": False}, "no"),
    ("patient", {"valueBoolean": True}, "yes"), ("report", {"valueCode": "non"}, "non"),
])
def test_patient_informed_extension(where, value, expected):
    data = bundle(**{where: informed(value)})
    assert record(data)["patient_informed"] == expected


def test_the_report_extension_wins_over_the_patient_one_and_other_extensions_are_ignored():
    report = {"extension": [{"url": "http://example.org/other", "valueBoolean": True},
                            {"url": PATIENT_INFORMED_URL, "valueBoolean": False}]}
    assert record(bundle(report=report, patient=informed({"valueBoolean": True})))["patient_informed"] == "no"


@pytest.mark.parametrize(("status", "expected"), [("active", "yes"), ("rejected", "no"), ("draft", None)])
def test_patient_informed_from_a_consent_about_the_subject(status, expected):
    consent = {"resourceType": "Consent", "id": "consent-1", "status": status,
               "scope": {"text": "information IA"}, "category": [{"text": "information IA"}],
               "patient": {"reference": "urn:uuid:patient-1"}}
    assert record(bundle(consent)).get("patient_informed") == expected


def test_image_url_from_the_imaging_study_endpoint_then_presented_form_then_media():
    endpoint = {"resourceType": "Endpoint", "id": "ep-1", "status": "active",
                "connectionType": {"code": "dicom-wado-rs"}, "payloadType": [{"text": "DICOM"}],
                "address": "https://pacs.example/wado/studies/1.2.3"}
    study = {"resourceType": "ImagingStudy", "id": "is-1", "status": "available",
             "subject": {"reference": "urn:uuid:patient-1"}, "endpoint": [{"reference": "urn:uuid:ep-1"}]}
    media = {"resourceType": "Media", "id": "media-1", "status": "completed",
             "content": {"contentType": "image/jpeg", "url": "https://viewer.example/media/9"}}
    form = {"presentedForm": [{"contentType": "application/pdf", "url": "https://viewer.example/report/7"}]}
    both = {"imagingStudy": [{"reference": "urn:uuid:is-1"}], **form}
    assert record(bundle(endpoint, study, report=both))["image_url"] == "https://pacs.example/wado/studies/1.2.3"
    assert record(bundle(report=form))["image_url"] == "https://viewer.example/report/7"
    assert record(bundle(media, report={"media": [{"link": {"reference": "urn:uuid:media-1"}}]}))["image_url"] == \
        "https://viewer.example/media/9"


@pytest.mark.django_db
def test_imported_case_keeps_patient_informed_and_image_url(world):
    data = bundle(report={**informed({"valueBoolean": True}),
                          "presentedForm": [{"contentType": "image/png", "url": "https://viewer.example/i/1"}]})
    result = import_cases(actor=world.quality, ai_system=world.ai_system, raw=json.dumps(data).encode(),
                          filename="x.fhir.json", fmt="fhir")
    assert result.created == 1, result.errors
    case = Case.objects.get(source_key=pseudonymize("ACC-0301", namespace="case"))
    assert (case.patient_informed, case.image_url) == (True, "https://viewer.example/i/1")
