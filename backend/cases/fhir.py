"""FHIR R4 Bundles → import records, validated with ``fhir.resources`` (its R4B package, which
reads R4 DiagnosticReport, Observation, Device, Patient, ServiceRequest, Practitioner and
Organization resources unchanged).

One DiagnosticReport is one case:

| record field | FHIR element |
|---|---|
| accession_number | DiagnosticReport.identifier[0].value |
| patient_id | Patient.identifier[0].value (the report's subject) |
| sex, age | Patient.gender; age at the exam from Patient.birthDate (the birth date itself is dropped) |
| names (scan only) | Patient.name (to find the patient's name in the text; never stored) |
| exam_date | DiagnosticReport.effectiveDateTime (else issued) |
| site | Organization.name of the performer (else performer.display) |
| service | DiagnosticReport.category[0].text |
| clinical_context | ServiceRequest.reasonCode[0].text (basedOn) |
| report_text | DiagnosticReport.conclusion |
| final_label | DiagnosticReport.conclusionCode[0].coding[0].code |
| clinician_id | Practitioner.identifier[0].value (resultsInterpreter) |
| ai_label | the result Observation whose ``device`` is a Device: valueCodeableConcept.coding[0].code |
| ai_score | that Observation's valueQuantity (or a component's valueQuantity) |
| ai_version | Device.version[0].value |
| patient_informed | extension ``PATIENT_INFORMED_URL`` (valueBoolean; or valueCode/valueString |
|   | yes/no) on the DiagnosticReport, else on the Patient; else a Consent whose ``patient`` is |
|   | the report's subject: status active → informed, rejected → not informed |
| image_url | imagingStudy[0] → ImagingStudy.endpoint[0] → Endpoint.address; else |
|   | DiagnosticReport.presentedForm[0].url; else media[0].link → Media.content.url |

The patient-informed extension is this product's own (FHIR has no standard element for "the patient
was told an AI was used"): ``{"url": PATIENT_INFORMED_URL, "valueBoolean": true}``.
"""

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from common.exceptions import ValidationFailed

PATIENT_INFORMED_URL = "https://college-garantie-humaine.fr/fhir/StructureDefinition/patient-informed-ai"


def _first(items):
    return items[0] if items else None


def _ident(resource) -> str:
    ident = _first(getattr(resource, "identifier", None) or [])
    return (ident.value or "") if ident else ""


def _informed_extension(resource) -> str | None:
    for ext in getattr(resource, "extension", None) or []:
        if ext.url != PATIENT_INFORMED_URL:
            continue
        if ext.valueBoolean is not None:
            return "yes" if ext.valueBoolean else "no"
        value = ext.valueCode or ext.valueString
        if value is not None:
            return str(value)  # yes/no/oui/non/unknown, checked like a CSV value
    return None


def _image_url(report, ref) -> str:
    study = ref(_first(report.imagingStudy or []))
    if study is not None:
        endpoint = ref(_first(study.endpoint or []))
        if endpoint is not None and endpoint.address:
            return str(endpoint.address)
    form = _first(report.presentedForm or [])
    if form is not None and form.url:
        return str(form.url)
    link = _first(report.media or [])
    media = ref(link.link) if link is not None else None
    content = getattr(media, "content", None)
    if content is not None and content.url:
        return str(content.url)
    return ""


UNKNOWN_LISTED = 20


def _check_resource_types(data: dict) -> None:
    """Refuse a Bundle whose entries name a resource type FHIR R4 does not define (the validator
    would crash on it), listing each such entry by its position (``entry[3]``) and type."""
    # fhir.resources loads hundreds of pydantic models: only FHIR imports pay for them.
    from fhir.resources.R4B import get_fhir_model_class  # noqa: PLC0415
    from fhir.resources.R4B.resource import Resource  # noqa: PLC0415

    entries = data.get("entry") or []
    if not isinstance(entries, list):
        return  # the Bundle validator reports it
    unknown = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind is None:
            continue  # a missing or malformed resource: the Bundle validator reports it
        try:
            model = get_fhir_model_class(kind) if isinstance(kind, str) and kind.isascii() and kind.isalpha() else None
        except (KeyError, ValueError):
            model = None
        known = model is not None and issubclass(model, Resource)
        if not known:
            unknown.append({"entry": index, "resourceType": str(kind)[:60]})
    if unknown:
        listed = ", ".join(f"entry[{u['entry']}] ({u['resourceType']})" for u in unknown[:UNKNOWN_LISTED])
        more = f" and {len(unknown) - UNKNOWN_LISTED} more" if len(unknown) > UNKNOWN_LISTED else ""
        raise ValidationFailed(f"The FHIR Bundle holds resources of unknown types: {listed}{more}.",
                               extra={"entries": unknown[:UNKNOWN_LISTED], "unknown": len(unknown)})


def bundle_records(data: Any) -> Iterator[tuple[int, dict]]:
    from fhir.resources.R4B.bundle import Bundle  # noqa: PLC0415 (loaded only by FHIR imports, see above)

    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise ValidationFailed("The FHIR file must be a Bundle resource.")
    _check_resource_types(data)
    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(f"The FHIR Bundle is not valid R4: {where}: {first['msg']}.",
                               extra={"errors": len(exc.errors())}) from exc
    except (KeyError, ValueError) as exc:  # the validator's own refusal of a nested unknown type
        raise ValidationFailed(f"The FHIR Bundle is not valid R4: {str(exc)[:200]}.") from exc
    resources = {}
    consent_list = []
    for entry in bundle.entry or []:
        res = entry.resource
        if res is None:
            continue
        resources[f"{res.get_resource_type()}/{res.id}"] = res
        if entry.fullUrl:
            resources[entry.fullUrl] = res
        if res.get_resource_type() == "Consent":
            consent_list.append(res)

    def ref(reference):
        return resources.get(reference.reference) if reference is not None and reference.reference else None

    consents: dict[int, Any] = {}  # id() of a Patient → the first Consent about them
    for consent in consent_list:
        subject = ref(consent.patient)
        if subject is not None:
            consents.setdefault(id(subject), consent)

    number = 0
    for entry in bundle.entry or []:
        report = entry.resource
        if report is None or report.get_resource_type() != "DiagnosticReport":
            continue
        number += 1
        record: dict[str, Any] = {"accession_number": _ident(report)}
        patient = ref(report.subject)
        if patient is not None:
            record["patient_id"] = _ident(patient)
            record["sex"] = {"female": "F", "male": "M"}.get(patient.gender or "", "X")
            if patient.birthDate:
                record["_birth_date"] = patient.birthDate.isoformat()
            record["_names"] = [" ".join([*(n.given or []), n.family or ""]) for n in patient.name or []]
        elif report.subject is not None and report.subject.identifier is not None:
            record["patient_id"] = report.subject.identifier.value or ""
        when = report.effectiveDateTime or report.issued
        record["exam_date"] = str(when)[:10] if when else ""
        performer = _first(report.performer or [])
        org = ref(performer)
        record["site"] = (getattr(org, "name", None) or (performer.display if performer else None) or "")
        category = _first(report.category or [])
        record["service"] = (category.text or "") if category else ""
        request = ref(_first(report.basedOn or []))
        reason = _first(getattr(request, "reasonCode", None) or [])
        record["clinical_context"] = (reason.text or "") if reason else ""
        record["report_text"] = report.conclusion or ""
        code = _first(report.conclusionCode or [])
        record["final_label"] = (_first(code.coding or []).code or "") if code and code.coding else ""
        interpreter = ref(_first(report.resultsInterpreter or []))
        if interpreter is not None:
            record["clinician_id"] = _ident(interpreter)
        for result in report.result or []:
            obs = ref(result)
            device = ref(obs.device) if obs is not None else None
            if device is None:
                continue
            version = _first(device.version or [])
            record["ai_version"] = (version.value or "") if version else ""
            if obs.valueCodeableConcept and obs.valueCodeableConcept.coding:
                record["ai_label"] = obs.valueCodeableConcept.coding[0].code or ""
            quantity = obs.valueQuantity or next(
                (c.valueQuantity for c in obs.component or [] if c.valueQuantity is not None), None)
            if quantity is not None and quantity.value is not None:
                record["ai_score"] = str(quantity.value)
            break
        informed = _informed_extension(report)
        if informed is None and patient is not None:
            informed = _informed_extension(patient)
        if informed is None and patient is not None:
            consent = consents.get(id(patient))
            if consent is not None:
                informed = {"active": "yes", "rejected": "no"}.get(consent.status or "")
        if informed is not None:
            record["patient_informed"] = informed
        image_url = _image_url(report, ref)
        if image_url:
            record["image_url"] = image_url
        yield number, record
