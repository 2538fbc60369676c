"""Two reveals at once by the same person: the source reference is shown exactly once."""

import pytest

from audit.models import AuditEvent
from reidentification import services
from tests.reviews.test_concurrency import needs_postgres, race
from tests.sittings.flows import SOURCE_REFERENCE, give_source_reference
from tests.workflows import build_world, disagreeing_campaign

JUSTIFICATION = "L'IA a manqué une fracture du scaphoïde que le clinicien n'a pas vue : rappel du patient."


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_reveals_by_the_requester_show_the_reference_once():
    world = build_world()
    cc = disagreeing_campaign(world, sample_size=2).campaign_cases.order_by("pk").first()
    give_source_reference(cc)
    req = services.reidentification_request(actor=world.chair, campaign_case=cc, justification=JUSTIFICATION)
    services.reidentification_approve(actor=world.dpo, request=req, comment="Justifié.")
    url = f"/api/reidentification-requests/{req.pk}/reveal/"

    results = race([(world.chair.pk, url, {}), (world.chair.pk, url, {})])

    assert sorted(status for status, _ in results) == [200, 409]
    shown = [body for status, body in results if status == 200]
    assert shown == [{"source_reference": SOURCE_REFERENCE}]
    assert SOURCE_REFERENCE not in str([body for status, body in results if status == 409])
    assert AuditEvent.objects.filter(action="reidentification.reveal", object_id=str(req.pk)).count() == 1
