"""Two corrections of the same published report at once: one new version, the other refused."""

import threading

import pytest
from django.db import connection

from common.exceptions import DomainError
from reports import services
from reports.enums import Audience, ReportState
from reports.models import Report
from tests.reports.test_reports import analysed_campaign
from tests.reviews.test_concurrency import needs_postgres
from tests.workflows import build_world


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_corrections_make_one_version():
    world = build_world(n_cases=6)
    campaign = analysed_campaign(world)
    first = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    barrier = threading.Barrier(2, timeout=10)
    outcomes: list = [None, None]

    def correct(i: int, reason: str) -> None:
        try:
            barrier.wait()
            outcomes[i] = services.report_correct(actor=world.quality, report=first, reason=reason).version
        except DomainError as exc:
            outcomes[i] = exc.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=correct, args=(i, f"Correction {i}")) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes, key=str) == sorted([2, 409], key=str)
    versions = list(Report.objects.filter(campaign=campaign, audience=Audience.INTERNAL)
                    .order_by("version").values_list("version", "state"))
    assert versions == [(1, ReportState.SUPERSEDED), (2, ReportState.PUBLISHED)]
