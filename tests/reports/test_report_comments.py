"""Draft reports the committee comments on before publication: preparing a draft, who comments
(members in office of the campaign's committee and the publishers; 403 for other readers, 404
for whoever cannot read the report), identifiers refused, no comment once published, publishing
the draft freezes today's figures under the same row, drafts are never downloaded, and the page's
query count does not grow with the comments."""

import pytest

from audit.models import AuditEvent
from common.exceptions import TransitionNotAllowed
from reports import services
from reports.enums import Audience, ReportState
from reports.models import Report, ReportComment
from tests.factories import AISystemFactory, CommitteeFactory, MemberFactory, UserFactory
from tests.helpers import html, snapshot
from tests.login import login
from tests.reports.test_reports import analysed_campaign
from tests.workflows import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafted():
    world = build_world(n_cases=6)
    campaign = analysed_campaign(world)
    response = login(world.quality).post(f"/reports/campaigns/{campaign.pk}/draft/", {"audience": Audience.INTERNAL})
    assert response.status_code == 302
    return world, campaign, Report.objects.get(campaign=campaign)


def _comment(user_or_client, report, text):
    client = user_or_client if hasattr(user_or_client, "post") else login(user_or_client)
    return client.post(f"/reports/published/{report.pk}/comment/", {"text": text})


def test_a_draft_holds_the_figures_of_the_day_without_hash_and_is_audited(drafted):
    world, campaign, report = drafted
    assert (report.state, report.version, report.content_hash, report.published_at) == (
        ReportState.DRAFT, 1, "", None)
    assert report.figures["dashboard"]["summary"]["n_cases"] == 4
    event = AuditEvent.objects.get(action="report.draft")
    assert (event.object_id, event.data) == (
        str(report.pk), {"campaign": campaign.pk, "audience": Audience.INTERNAL, "version": 1})
    page = html(login(world.patient_reps[0]).get(f"/reports/published/{report.pk}/"))
    assert "Brouillon" in page and "export.pdf" not in page and 'id="comment-text"' in page


def test_a_second_draft_of_the_same_audience_is_409_and_changes_nothing(drafted):
    world, campaign, _report = drafted
    client = login(world.quality)
    before = snapshot()
    with pytest.raises(TransitionNotAllowed):
        services.report_draft_create(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    response = client.post(f"/reports/campaigns/{campaign.pk}/draft/", {"audience": Audience.INTERNAL})
    assert response.status_code == 409
    assert snapshot() == before and Report.objects.filter(campaign=campaign).count() == 1


@pytest.mark.parametrize("who", ["patient_rep", "clinician", "chair", "quality"])
def test_members_and_publishers_comment_on_the_draft(drafted, who):
    world, _campaign, report = drafted
    user = {"patient_rep": world.patient_reps[0], "clinician": world.clinicians[1], "chair": world.chair,
            "quality": world.quality}[who]
    response = _comment(user, report, "  Le taux de concordance mérite une phrase d'explication.  ")
    assert response.status_code == 302
    comment = ReportComment.objects.get(report=report)
    assert (comment.author, comment.text) == (user, "Le taux de concordance mérite une phrase d'explication.")
    event = AuditEvent.objects.get(action="report.comment")
    assert event.data == {"comment": comment.pk, "chars": len(comment.text)}
    assert "explication" not in str(event.data)
    assert "mérite une phrase" in html(login(world.management).get(f"/reports/published/{report.pk}/"))


def test_management_reads_the_draft_but_does_not_comment(drafted):
    world, _campaign, report = drafted
    page = html(login(world.management).get(f"/reports/published/{report.pk}/"))
    assert 'id="comment-text"' not in page
    client = login(world.management)
    before = snapshot()
    assert _comment(client, report, "Avis de la direction.").status_code == 403
    assert snapshot() == before and not ReportComment.objects.exists()


def test_another_committees_member_and_the_dpo_get_404(drafted):
    world, _campaign, report = drafted
    other = CommitteeFactory(ai_systems=[AISystemFactory()])
    outsider = UserFactory(role="patient_rep", username="other-rep")
    MemberFactory(committee=other, user=outsider, role="patient_rep", service="", site="")
    for user in (outsider, world.dpo):
        assert login(user).get(f"/reports/published/{report.pk}/").status_code == 404
        assert _comment(user, report, "Je passe par là.").status_code == 404
    assert not ReportComment.objects.exists()


@pytest.mark.parametrize("text", ["", "   ", "x" * 4001, "Rappeler Mme Zorglubowski au 06 71 42 83 19"])
def test_bad_comments_are_400_and_store_nothing(drafted, text):
    world, _campaign, report = drafted
    client = login(world.patient_reps[0])
    before = snapshot()
    assert _comment(client, report, text).status_code == 400
    assert snapshot() == before and not ReportComment.objects.exists()


def test_publishing_the_draft_freezes_todays_figures_in_the_same_row_and_closes_comments(drafted):
    world, campaign, report = drafted
    _comment(world.patient_reps[0], report, "Première remarque.")
    published = services.report_publish(actor=world.quality, campaign=campaign, audience=Audience.INTERNAL)
    assert published.pk == report.pk
    published.refresh_from_db()
    assert (published.state, published.version, len(published.content_hash)) == (ReportState.PUBLISHED, 1, 64)
    assert published.content_hash == services.content_hash(published.figures)
    assert ReportComment.objects.filter(report=published).count() == 1
    client = login(world.patient_reps[0])
    before = snapshot()
    assert _comment(client, published, "Trop tard.").status_code == 409
    assert snapshot() == before
    page = html(login(world.patient_reps[0]).get(f"/reports/published/{report.pk}/"))
    assert "Première remarque." in page and 'id="comment-text"' not in page


@pytest.mark.parametrize("kind", ["export.html", "export.pdf", "export.csv"])
def test_a_draft_is_never_downloaded(drafted, kind):
    world, _campaign, report = drafted
    assert login(world.quality).get(f"/reports/published/{report.pk}/{kind}").status_code == 404


def test_report_page_query_count_does_not_grow_with_comments(drafted, django_assert_num_queries):
    world, _campaign, report = drafted
    client = login(world.chair)
    client.get(f"/reports/published/{report.pk}/")
    _comment(world.patient_reps[0], report, "Un.")
    # session, user, the report with its campaign, the user's committee seats, the blind check,
    # the comments with their authors
    with django_assert_num_queries(6):
        client.get(f"/reports/published/{report.pk}/")
    for i in range(5):
        _comment(world.clinicians[0], report, f"Remarque {i}.")
    with django_assert_num_queries(6):
        assert "Remarque 4." in html(client.get(f"/reports/published/{report.pk}/"))
