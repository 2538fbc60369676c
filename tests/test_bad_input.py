"""Hostile input answers a 4xx in the project error shape and changes nothing: bounded JSON,
validated pagination, database ids in URLs, NUL characters, JSON-shaped fields, upload size;
and the HTTP headers that keep case data out of caches."""

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEvent
from cases.models import AISystem, ImportBatch
from committees.models import Committee
from common.models import StoredFile
from common.uploads import MaxSizeUploadHandler, UploadTooLarge
from reviews.models import Campaign
from reviews.sampling import Design
from tests.login import verified_client

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"
INVALID = "The request is not valid: see extra for each field."
LISTS = ["/api/campaigns/", "/api/cases/", "/api/ai-systems/", "/api/committees/", "/api/actions/", "/api/sessions/",
         "/api/assignments/", "/api/import-batches/", "/api/vigilance-reports/", "/api/reidentification-requests/"]
DETAILS = ["/api/campaigns/{}/", "/api/cases/{}/", "/api/ai-systems/{}/", "/api/committees/{}/", "/api/actions/{}/",
           "/api/sessions/{}/", "/api/assignments/{}/", "/api/import-batches/{}/", "/api/vigilance-reports/{}/",
           "/api/campaign-cases/{}/", "/api/agenda-items/{}/", "/api/reidentification-requests/{}/",
           "/api/campaigns/{}/results/", "/api/import-batches/{}/errors-csv/"]
WEB_DETAILS = ["/campaigns/{}/", "/reviews/{}/", "/committees/{}/", "/sessions/{}/", "/imports/{}/", "/vigilance/{}/",
               "/reports/campaigns/{}/", "/reports/published/{}/", "/reidentification/{}/", "/actions/{}/"]
NOT_FOUND = {"code": "not_found", "detail": "Non trouvé.", "extra": {}}


def web_client(user) -> Client:
    client = verified_client(user)
    client.raise_request_exception = False
    return client


def client_for(api, user):
    client = api(user)
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(("query", "param", "message"), [
    (f"limit={HUGE}", "limit", "Give a whole number from 1 to 200."),
    ("limit=201", "limit", "Give a whole number from 1 to 200."),
    ("limit=0", "limit", "Give a whole number from 1 to 200."),
    ("limit=-1", "limit", "Give a whole number from 1 to 200."),
    ("limit=1.5", "limit", "Give a whole number from 1 to 200."),
    ("limit=%C2%B2", "limit", "Give a whole number from 1 to 200."),
    (f"offset={HUGE}", "offset", "Give a whole number from 0 to 2147483647."),
    ("offset=-3", "offset", "Give a whole number from 0 to 2147483647."),
    ("offset=abc", "offset", "Give a whole number from 0 to 2147483647."),
])
def test_bad_input_pagination_is_validated(world, api, url, query, param, message):
    response = client_for(api, world.quality).get(f"{url}?{query}")
    assert (response.status_code, response.json()) == (
        400, {"code": "invalid", "detail": INVALID, "extra": {param: [message]}})


def test_bad_input_pagination_accepts_its_bounds(world, api):
    response = client_for(api, world.quality).get("/api/cases/?limit=200&offset=2")
    assert (response.status_code, response.json()["count"], len(response.json()["results"])) == (200, 6, 4)


@pytest.mark.parametrize("url", DETAILS)
@pytest.mark.parametrize("pk", [HUGE, "9223372036854775808", "1.5", "-1", "0", "1e3", "%C2%B2", "01"])
def test_bad_input_api_ids_out_of_range_are_404(world, api, url, pk):
    response = client_for(api, world.quality).get(url.format(pk))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("url", WEB_DETAILS)
@pytest.mark.parametrize("pk", [HUGE, "1.5", "-1", "0"])
def test_bad_input_web_ids_out_of_range_are_404(world, url, pk):
    client = web_client(world.quality)
    assert client.get(url.format(pk)).status_code == 404


def test_bad_input_largest_id_reaches_the_view(world, api):
    response = client_for(api, world.quality).get("/api/cases/9223372036854775807/")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


DEEP = "[" * 10_000 + "]" * 10_000
DEPTH = {"code": "invalid", "detail": INVALID, "extra": {"body": ["Nested more than 20 levels deep."]}}


@pytest.mark.parametrize("url", ["/api/campaigns/", "/api/ai-systems/", "/api/cases/opt-outs/", "/api/committees/",
                                 "/api/vigilance-reports/", "/api/import-batches/profiles/"])
def test_bad_input_deep_json_is_400(world, api, url):
    response = client_for(api, world.quality).post(url, DEEP, content_type="application/json")
    assert (response.status_code, response.json()) == (400, DEPTH)


def test_bad_input_deep_json_on_the_anonymous_token_endpoint(db, api):
    response = client_for(api, None).post("/api/auth/token/", DEEP, content_type="application/json")
    assert (response.status_code, response.json()) == (400, DEPTH)


def test_bad_input_json_just_past_the_depth_bound_names_the_path(world, api):
    body = {"design": {"sizes": {"a": [[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}}
    response = client_for(api, world.quality).post("/api/campaigns/", body, format="json")
    assert (response.status_code, response.json()["extra"]) == (
        400, {"design.sizes.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0": ["Nested more than 20 levels deep."]})


def test_bad_input_json_body_over_the_bound_is_413(world, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"patient_ids": ["x" * 50] * 30})
    response = client_for(api, world.quality).post("/api/cases/opt-outs/", body, content_type="application/json")
    assert (response.status_code, response.json()) == (
        413, {"code": "request_too_large", "detail": "The request body is larger than 1000 bytes.", "extra": {}})


def test_bad_input_json_nan_is_refused(world, api):
    response = client_for(api, world.quality).post(
        "/api/ai-systems/", '{"name": "x", "score_threshold": NaN}', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "Détecteur\x00", "vendor": "V", "version": "1", "intended_use": "u", "output_type": "binary",
      "labels": ["a", "b"], "positive_label": "a"}, "name"),
    ({"name": "Détecteur", "vendor": "V", "version": "1", "intended_use": "u", "output_type": "binary",
      "labels": ["a", "b\x00"], "positive_label": "a"}, "labels.1"),
    ({"name": "Détecteur", "vendor": "V", "version": "1", "intended_use": "u", "output_type": "binary",
      "labels": ["a", "b"], "positive_label": "a", "acceptance_thresholds": {"sens\x00": 0.9}},
     "acceptance_thresholds"),
])
def test_bad_input_nul_in_json_is_400_and_writes_nothing(world, api, body, field):
    before = AISystem.objects.count()
    response = client_for(api, world.quality).post("/api/ai-systems/", body, format="json")
    assert (response.status_code, response.json()) == (
        400, {"code": "invalid", "detail": INVALID, "extra": {field: ["Null characters are not allowed."]}})
    assert AISystem.objects.count() == before


def test_bad_input_nul_in_form_body_is_400(world, api):
    response = client_for(api, world.quality).post(
        "/api/ai-systems/", {"name": "a\x00b", "vendor": "V"}, format="multipart")
    assert (response.status_code, response.json()["extra"]) == (400, {"name": ["Null characters are not allowed."]})


@pytest.mark.parametrize("url", ["/api/cases/?ai_system=%00", "/api/campaigns/?x=a%00b",
                                 "/api/campaigns/plan/?design=%00"])
def test_bad_input_nul_in_query_string_is_400(world, api, url):
    response = client_for(api, world.quality).get(url)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["detail"] == "Null characters are not allowed in the address."


def test_bad_input_nul_in_web_query_string_is_400(world):
    client = web_client(world.quality)
    response = client.get("/campaigns/?q=%00")
    assert (response.status_code, response.content.decode()) == (400, "L’adresse contient un caractère nul.")


@pytest.mark.parametrize("value", [HUGE, "%C2%B2", "1.5", "-2", "abc"])
def test_bad_input_case_filter_is_validated(world, api, value):
    response = client_for(api, world.quality).get(f"/api/cases/?ai_system={value}")
    assert (response.status_code, response.json()) == (400, {
        "code": "invalid", "detail": INVALID,
        "extra": {"ai_system": ["Give the id of an AI system (a whole number)."]}})


CAMPAIGN = {"name": "C", "period_start": "2026-01-01", "period_end": "2026-03-31", "sample_size": 4,
            "review_deadline": "2026-06-30"}


@pytest.mark.parametrize("field", ["ai_system", "committee"])
def test_bad_input_ids_out_of_range_in_bodies_are_400(world, api, field):
    body = {**CAMPAIGN, "ai_system": world.ai_system.pk, "committee": world.committee.pk, field: int(HUGE)}
    before = Campaign.objects.count()
    response = client_for(api, world.quality).post("/api/campaigns/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["extra"]
    assert Campaign.objects.count() == before


@pytest.mark.parametrize("field", ["ai_system", "profile"])
def test_bad_input_ids_out_of_range_in_upload_form_are_400(world, api, field):
    data = {"ai_system": world.ai_system.pk, "file": SimpleUploadedFile("a.csv", b"x"), field: HUGE}
    response = client_for(api, world.quality).post("/api/import-batches/", data, format="multipart")
    assert response.status_code == 400
    assert field in response.json()["extra"]
    assert ImportBatch.objects.count() == 0


@pytest.mark.parametrize(("design", "message"), [
    ({"type": "stratified", "strata_by": ["site"], "allocation": "set", "sizes": [1, 2]},
     "sizes must be an object {stratum: size}."),
    ({"type": "stratified", "strata_by": "site"}, "strata_by must be a list of dimension names."),
    ({"type": "stratified", "strata_by": [{"a": 1}]}, "strata_by must be a list of dimension names."),
    ({"type": "stratified", "strata_by": ["site"], "allocation": "set", "sizes": {"Nord": 1e300}},
     "sizes.Nord must be a whole number."),
    ({"type": "stratified", "strata_by": ["site"], "oversample": {"Nord": "x"}}, "oversample.Nord must be a number."),
    ({"type": ["stratified"]}, "Unknown design \"['stratified']\": one of simple_random, stratified."),
    ([1, 2], "The design is an object with type, strata_by, allocation, sizes, oversample."),
])
def test_bad_input_campaign_design_shape_is_validated(world, api, design, message):
    with pytest.raises(ValueError) as raised:
        Design.from_dict(design)
    assert str(raised.value) == message
    before = Campaign.objects.count()
    response = client_for(api, world.quality).post("/api/campaigns/", {
        **CAMPAIGN, "ai_system": world.ai_system.pk, "committee": world.committee.pk, "design": design},
        format="json")
    assert response.status_code == 400
    assert Campaign.objects.count() == before


# --- Uploads -------------------------------------------------------------------------------------


def test_bad_input_upload_over_the_limit_is_413_before_reading(world, api, settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    data = {"ai_system": world.ai_system.pk, "file": SimpleUploadedFile("big.csv", b"x" * (1024 * 1024 + 1))}
    response = client_for(api, world.quality).post("/api/import-batches/", data, format="multipart")
    assert (response.status_code, response.json()) == (413, {
        "code": "request_too_large", "detail": "The request body is larger than the limit of 1 MB.",
        "extra": {"limit_mb": 1}})
    assert (ImportBatch.objects.count(), StoredFile.objects.count(), list(tmp_path.iterdir())) == (0, 0, [])


def test_bad_input_upload_over_the_limit_on_the_web_form(world, settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    client = web_client(world.quality)
    response = client.post("/imports/", {"ai_system": world.ai_system.pk,
                                         "file": SimpleUploadedFile("big.csv", b"x" * (1024 * 1024 + 1))})
    assert (response.status_code, response.content.decode()) == (
        413, "Le fichier dépasse la limite de 1 Mo. Découpez-le en fichiers plus petits et importez-les un à un.")
    assert ImportBatch.objects.count() == 0


def test_bad_input_upload_handler_cuts_a_body_that_lies_about_its_length(settings):
    settings.MAX_UPLOAD_BYTES = 10
    handler = MaxSizeUploadHandler()
    handler.handle_raw_input(None, {}, 5, "b")
    handler.receive_data_chunk(b"x" * 6, 0)
    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"x" * 5, 6)


def test_bad_input_upload_settings_are_deliberate():
    assert (settings.MAX_UPLOAD_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.FILE_UPLOAD_MAX_MEMORY_SIZE,
            settings.FILE_UPLOAD_HANDLERS[0]) == (200 * 1024 * 1024, 2 * 1024 * 1024, 1024 * 1024,
                                                  "common.uploads.MaxSizeUploadHandler")


# --- Headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/cases/", "/api/campaigns/", f"/api/cases/{HUGE}/"])
def test_bad_input_api_responses_are_not_cached(world, api, url):
    response = client_for(api, world.quality).get(url)
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_bad_input_anonymous_api_refusal_is_not_cached(db, api):
    response = client_for(api, None).get("/api/cases/")
    assert response.json()["code"] == "not_authenticated"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("url", ["/", "/campaigns/", "/imports/", "/reports/"])
def test_bad_input_signed_in_pages_are_not_cached(world, url):
    client = web_client(world.quality)
    response = client.get(url)
    assert "no-store" in response["Cache-Control"]


def test_bad_input_csp_forbids_plugins_and_base_tags(db, client):
    policy = client.get("/login/")["Content-Security-Policy"]
    assert "object-src 'none'" in policy.split("; ")
    assert "base-uri 'none'" in policy.split("; ")


# --- Found by fuzzing the served schema (scripts/fuzz.py) ----------------------------------------


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/api/campaigns.json"),
    ("get", "/api/cases/{ai}.json"),
    ("get", "/api/campaigns/plan.json"),
    ("post", "/api/ai-systems.json"),
    ("post", "/api/committees/{committee}/quorum.json"),
])
def test_bad_input_format_suffixes_are_404(world, api, method, url):
    """The API has no ``.json`` addresses: the suffix routes passed a ``format`` argument that the
    actions do not take, a 500 on every one of them."""
    before = AuditEvent.objects.count()
    address = url.format(ai=world.cases[0].pk, committee=world.committee.pk)
    response = getattr(client_for(api, world.quality), method)(address, {}, format="json")
    assert (response.status_code, response.json(), AuditEvent.objects.count()) == (404, NOT_FOUND, before)


def test_bad_input_schema_lists_no_format_suffix(world, api):
    schema = client_for(api, world.quality).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert [path for path in schema.json()["paths"] if "{format}" in path] == []


def test_bad_input_committee_with_an_unknown_ai_system_is_400_and_writes_nothing(world, api):
    before = (Committee.objects.count(), AuditEvent.objects.count())
    body = {"name": "Collège F", "hospital_group": "GHT", "ai_system_ids": [world.ai_system.pk, 987654, 987653]}
    response = client_for(api, world.quality).post("/api/committees/", body, format="json")
    assert (response.status_code, response.json()) == (400, {
        "code": "invalid", "detail": "Unknown AI system.",
        "extra": {"ai_system_ids": ["No AI system with id 987653.", "No AI system with id 987654."]}})
    assert (Committee.objects.count(), AuditEvent.objects.count()) == before


def test_bad_input_committee_name_taken_is_400_and_writes_nothing(world, api):
    before = (Committee.objects.count(), AuditEvent.objects.count())
    body = {"name": world.committee.name, "hospital_group": "GHT"}
    response = client_for(api, world.quality).post("/api/committees/", body, format="json")
    assert (response.status_code, response.json()) == (400, {
        "code": "invalid", "detail": "A committee with this name exists already.", "extra": {"name": ["already used"]}})
    assert (Committee.objects.count(), AuditEvent.objects.count()) == before
