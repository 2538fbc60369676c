"""The committee page's composition forms in French: add a member, end a term, declare and
withdraw a conflict, set the quorum rule. Happy paths, errors named on their fields, refusals
(403, 404, 409) that change nothing, and a query count that does not grow with the members."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from committees import services
from committees.models import Committee, DeclaredConflict, Member
from tests.factories import CommitteeFactory, MemberFactory, UserFactory
from tests.helpers import html, seat
from tests.login import login
from tests.sittings.flows import session_in

pytestmark = pytest.mark.django_db


def page(world) -> str:
    return f"/committees/{world.committee.pk}/"


def state() -> dict:
    return {
        "committees": list(Committee.objects.order_by("pk").values_list(
            "pk", "quorum_clinicians", "quorum_patient_reps")),
        "members": list(Member.objects.order_by("pk").values_list("pk", "term_end")),
        "conflicts": list(DeclaredConflict.objects.order_by("pk").values_list("pk", "withdrawn_at")),
        "audit": AuditEvent.objects.exclude(action__startswith="auth.").count(),
    }


def test_forms_are_shown_to_managers_in_french(world):
    body = html(login(world.secretary).get(page(world) + "?tab=manage"))
    for text in ("Attribuer un siège", "Déclarer un conflit d'intérêts", "Règle de quorum"):
        assert text in body
    assert "Mettre fin au mandat" in html(login(world.secretary).get(page(world) + "?tab=members"))


def test_add_member_happy_path_and_errors(world):
    client = login(world.secretary)
    newcomer = UserFactory(role="clinician", username="newdoc")
    url = f"/committees/{world.committee.pk}/members/"
    before = state()
    r = client.post(url, {"member-user": "", "member-role": "clinician", "member-term_start": "2026-01-01",
                          "member-term_end": "2025-01-01"})
    assert r.status_code == 400
    assert set(r.context["member_form"].errors) == {"user", "term_end"}
    # Same person, same seat, term still open: the service's refusal lands on the "user" field.
    r = client.post(url, {"member-user": world.clinicians[0].pk, "member-role": "clinician",
                          "member-term_start": "2026-01-01"})
    assert r.status_code == 400
    assert set(r.context["member_form"].errors) == {"user"}
    assert "occupe déjà ce siège" in html(r)
    assert state() == before
    r = client.post(url, {"member-user": newcomer.pk, "member-role": "clinician", "member-specialty": "Radiologie",
                          "member-site": "Nord", "member-service": "Urgences", "member-term_start": "2026-01-01",
                          "member-term_end": "2028-12-31"})
    assert r.status_code == 302 and r["Location"] == page(world)
    m = Member.objects.get(user=newcomer)
    assert (m.role, m.specialty, m.site, m.service, m.term_start, m.term_end) == (
        "clinician", "Radiologie", "Nord", "Urgences", dt.date(2026, 1, 1), dt.date(2028, 12, 31))
    assert AuditEvent.objects.filter(action="member.add", object_id=str(m.pk)).count() == 1


def test_end_term_moves_the_member_to_history_then_409(world):
    client = login(world.quality)
    member = seat(world, world.clinicians[0])
    url = f"/committees/{world.committee.pk}/members/{member.pk}/end-term/"
    prefix = f"end-{member.pk}-"
    r = client.post(url, {prefix + "term_end": "2020-01-01"})  # before the term started
    assert r.status_code == 400
    bound = next(m for m in r.context["members"] if m.pk == member.pk).end_form
    assert set(bound.errors) == {"term_end"}
    assert Member.objects.get(pk=member.pk).term_end is None
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    r = client.post(url, {prefix + "term_end": yesterday.isoformat()})
    assert r.status_code == 302
    body = html(client.get(page(world) + "?tab=history"))
    assert world.clinicians[0].display_name in body.split("Historique")[-1]
    before = state()
    r = client.post(url, {prefix + "term_end": timezone.localdate().isoformat()})
    assert r.status_code == 409 and "déjà terminé" in html(r)
    assert state() == before


def test_declare_and_withdraw_a_conflict(world):
    client = login(world.chair)
    member = seat(world, world.clinicians[1])
    url = f"/committees/{world.committee.pk}/conflicts/"
    before = state()
    r = client.post(url, {"conflict-member": member.pk, "conflict-kind": "ai_system"})
    assert r.status_code == 400 and set(r.context["conflict_form"].errors) == {"ai_system"}
    r = client.post(url, {"conflict-member": member.pk, "conflict-kind": "vendor", "conflict-value": "  "})
    assert r.status_code == 400 and set(r.context["conflict_form"].errors) == {"value"}
    r = client.post(url, {"conflict-member": "", "conflict-kind": "vendor", "conflict-value": "Acme"})
    assert r.status_code == 400 and set(r.context["conflict_form"].errors) == {"member"}
    assert state() == before
    r = client.post(url, {"conflict-member": member.pk, "conflict-kind": "ai_system",
                          "conflict-ai_system": world.ai_system.pk, "conflict-value": "ignored",
                          "conflict-description": "Investigateur de l'étude de validation"})
    assert r.status_code == 302
    conflict = DeclaredConflict.objects.get()
    assert (conflict.member_id, conflict.kind, conflict.ai_system_id, conflict.value) == (
        member.pk, "ai_system", world.ai_system.pk, "")
    withdraw = f"/committees/{world.committee.pk}/conflicts/{conflict.pk}/withdraw/"
    assert withdraw in client.get(page(world) + "?tab=members").content.decode()
    assert client.post(withdraw).status_code == 302
    conflict.refresh_from_db()
    assert conflict.withdrawn_at is not None
    body = html(client.get(page(world) + "?tab=members"))
    assert "retiré le" in body and withdraw not in body
    before = state()
    r = client.post(withdraw)
    assert r.status_code == 409 and "déjà été retiré" in html(r)
    assert state() == before


def test_set_quorum_happy_path_errors_and_409_while_sitting(world):
    client = login(world.secretary)
    url = f"/committees/{world.committee.pk}/quorum/"
    before = state()
    r = client.post(url, {"quorum-clinicians": "0", "quorum-patient_reps": "-1"})
    assert r.status_code == 400 and set(r.context["quorum_form"].errors) == {"clinicians", "patient_reps"}
    assert state() == before
    assert client.post(url, {"quorum-clinicians": "3", "quorum-patient_reps": "0"}).status_code == 302
    world.committee.refresh_from_db()
    assert (world.committee.quorum_clinicians, world.committee.quorum_patient_reps) == (3, 0)
    assert AuditEvent.objects.filter(action="committee.set_quorum").count() == 1
    session_in(world, "open", with_cases=False)
    before = state()
    r = client.post(url, {"quorum-clinicians": "1", "quorum-patient_reps": "1"})
    assert r.status_code == 409 and "pendant une séance" in html(r)
    assert state() == before


def test_composition_posts_refused_to_others(world):
    member = seat(world, world.clinicians[0])
    conflict = services.conflict_declare(actor=world.quality, member=member, kind="site", value="Nord")
    posts = [
        (f"/committees/{world.committee.pk}/members/", {"member-user": world.dpo.pk, "member-role": "quality",
                                                       "member-term_start": "2026-01-01"}),
        (f"/committees/{world.committee.pk}/members/{member.pk}/end-term/",
         {f"end-{member.pk}-term_end": "2026-01-01"}),
        (f"/committees/{world.committee.pk}/conflicts/", {"conflict-member": member.pk, "conflict-kind": "site",
                                                         "conflict-value": "Sud"}),
        (f"/committees/{world.committee.pk}/conflicts/{conflict.pk}/withdraw/", {}),
        (f"/committees/{world.committee.pk}/quorum/", {"quorum-clinicians": "1", "quorum-patient_reps": "0"}),
    ]
    other_chair = UserFactory(role="chair", username="otherchair")
    MemberFactory(committee=CommitteeFactory(), user=other_chair, role="chair")
    stranger = MemberFactory()
    before = state()
    for user in (world.management, world.dpo, world.clinicians[0], world.patient_reps[0]):
        client = login(user)
        for url, data in posts:
            assert client.post(url, data).status_code == 404, (user.username, url)
    # An officer of another committee does not see this one either.
    for url, data in posts:
        assert login(other_chair).post(url, data).status_code == 404, url
        assert login(world.quality).get(url).status_code == 405
    # A member of another committee is not found through this committee.
    assert login(world.quality).post(f"/committees/{world.committee.pk}/members/{stranger.pk}/end-term/",
                                     {f"end-{stranger.pk}-term_end": "2026-01-01"}).status_code == 404
    assert state() == before


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_committee_page_query_count_is_constant_with_1_and_3_members(db):
    committee = CommitteeFactory()
    quality = UserFactory(role="quality", username="q")
    client = login(quality)
    url = f"/committees/{committee.pk}/"

    def add(n):
        for _ in range(n):
            m = MemberFactory(committee=committee)
            DeclaredConflict.objects.create(member=m, kind="vendor", value="Acme")
            ended = MemberFactory(committee=committee, term_end=timezone.localdate() - dt.timedelta(days=2))
            DeclaredConflict.objects.create(member=ended, kind="site", value="Nord",
                                            withdrawn_at=timezone.now())

    add(1)
    one = _count(client, url)
    add(2)
    three = _count(client, url)
    assert one == three
    assert Member.objects.filter(committee=committee).count() == 6
