"""The AI system's public profile: edited by the quality team only (API and web), validated,
scanned for direct identifiers, audited."""

import pytest
from django.test import Client

from audit.models import AuditEvent
from cases.models import AISystem
from tests.helpers import html
from tests.login import login

pytestmark = pytest.mark.django_db

URL = "/api/ai-systems/{}/public-profile/"


def _state(ai: AISystem) -> tuple:
    ai.refresh_from_db()
    return (ai.public_purpose, ai.vendor, ai.ce_class, ai.ce_number, ai.human_oversight, ai.how_to_object,
            ai.public_contact)


@pytest.mark.parametrize(("who", "status"), [
    ("quality", 200), ("admin", 200), ("chair", 403), ("secretary", 403), ("management", 403),
    ("clinician", 404), ("patient_rep", 404), ("dpo", 404),
])
def test_api_edit_by_role(world, api, who, status):
    user = {"clinician": world.clinicians[0], "patient_rep": world.patient_reps[0]}.get(who) or getattr(world, who)
    before = _state(world.ai_system)
    response = api(user).patch(URL.format(world.ai_system.pk), {"public_purpose": "Lire les radiographies."},
                               format="json")
    assert response.status_code == status
    events = AuditEvent.objects.filter(action="ai_system.update_public_profile")
    if status == 200:
        assert response.json()["public_purpose"] == "Lire les radiographies."
        assert events.get().data == {"fields": ["public_purpose"]}
    else:
        assert _state(world.ai_system) == before and not events.exists()
        assert "Lire" not in response.content.decode()


def test_api_anonymous_is_refused(world, api):
    assert api().patch(URL.format(world.ai_system.pk), {"vendor": "X"}, format="json").status_code in (401, 403)


@pytest.mark.parametrize(("payload", "field", "code"), [
    ({"ce_class": "IV"}, "ce_class", "invalid"),
    ({"ce_class": "", "ce_number": "CE 1234"}, "ce_class", "invalid"),
    ({"vendor": "  "}, "vendor", "invalid"),
    ({"colour": "red"}, "colour", "invalid"),
    ({"human_oversight": "Contactez le patient au 06 12 34 56 78."}, "human_oversight", "direct_identifier"),
    ({"how_to_object": "Ecrire a jean.dupont@example.org"}, "how_to_object", "direct_identifier"),
])
def test_api_refuses_bad_input_and_changes_nothing(world, api, payload, field, code):
    before = _state(world.ai_system)
    response = api(world.quality).patch(URL.format(world.ai_system.pk), payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in str(body)
    if code == "direct_identifier":
        assert body["code"] == "direct_identifier"
        assert "06 12" not in response.content.decode() and "jean.dupont" not in response.content.decode()
    assert _state(world.ai_system) == before
    assert not AuditEvent.objects.filter(action="ai_system.update_public_profile").exists()


def test_contact_may_be_an_institutional_phone_number(world, api):
    response = api(world.quality).patch(URL.format(world.ai_system.pk),
                                        {"public_contact": "Maison des usagers, 01 23 45 67 89"}, format="json")
    assert response.status_code == 200
    assert _state(world.ai_system)[-1] == "Maison des usagers, 01 23 45 67 89"


@pytest.mark.parametrize(("who", "status"), [
    ("quality", 200), ("admin", 200), ("chair", 403), ("secretary", 403), ("management", 403),
    ("clinician", 403), ("patient_rep", 403), ("dpo", 403),
])
def test_web_page_by_role(world, who, status):
    user = {"clinician": world.clinicians[0], "patient_rep": world.patient_reps[0]}.get(who) or getattr(world, who)
    response = login(user).get(f"/transparency/ai-systems/{world.ai_system.pk}/")
    assert response.status_code == status
    if status == 403:
        assert world.ai_system.intended_use not in html(response)


def test_web_edit_saves_audits_and_refuses_identifiers(world):
    client = login(world.quality)
    url = f"/transparency/ai-systems/{world.ai_system.pk}/"
    form = {"public_purpose": "Repérer les fractures.", "vendor": "Radiolab SAS", "ce_class": "IIa",
            "ce_number": "CE 0123", "human_oversight": "Un médecin relit chaque examen.",
            "how_to_object": "Dites-le au secrétariat.", "public_contact": "Maison des usagers"}
    assert client.post(url, form).status_code == 302
    assert _state(world.ai_system)[0] == "Repérer les fractures."
    assert AuditEvent.objects.filter(action="ai_system.update_public_profile").count() == 1
    response = client.post(url, form | {"human_oversight": "Appeler M. le patient au 06 12 34 56 78."})
    assert response.status_code == 400
    assert "numéro de téléphone" in html(response)
    assert _state(world.ai_system)[4] == "Un médecin relit chaque examen."
    assert AuditEvent.objects.filter(action="ai_system.update_public_profile").count() == 1


def test_web_unknown_ai_system_is_404_for_quality_and_403_for_others(world):
    assert login(world.quality).get("/transparency/ai-systems/999999/").status_code == 404
    assert login(world.management).get("/transparency/ai-systems/999999/").status_code == 403
    assert Client().get(f"/transparency/ai-systems/{world.ai_system.pk}/").status_code == 302
