"""Declared conflicts through the committee API, and the committee list's query count."""

import pytest

from audit.models import AuditEvent
from committees.models import DeclaredConflict, Member
from tests.factories import CommitteeFactory, MemberFactory
from tests.helpers import seat
from tests.workflows import build_world


def test_declare_conflict_201_and_listed(world, api):
    m = seat(world, world.clinicians[0])
    r = api(world.quality).post(f"/api/committees/{world.committee.pk}/conflicts/",
                                {"member": m.pk, "kind": "ai_system", "ai_system": world.ai_system.pk}, format="json")
    assert r.status_code == 201
    c = DeclaredConflict.objects.get()
    assert (c.member_id, c.kind, c.ai_system_id, c.value) == (m.pk, "ai_system", world.ai_system.pk, "")
    assert AuditEvent.objects.filter(action="member.declare_conflict").count() == 1
    body = api(world.quality).get(f"/api/committees/{world.committee.pk}/").json()
    row = next(x for x in body["members"] if x["id"] == m.pk)
    assert [(x["kind"], x["ai_system"]) for x in row["conflicts"]] == [("ai_system", world.ai_system.pk)]


def test_declare_conflict_errors(world, api):
    m = seat(world, world.clinicians[0])
    url = f"/api/committees/{world.committee.pk}/conflicts/"
    assert api(world.management).post(url, {"member": m.pk, "kind": "site", "value": "Nord"},
                                      format="json").status_code == 403
    assert api(world.quality).post(url, {"member": m.pk, "kind": "site"}, format="json").status_code == 400
    other = MemberFactory()  # a seat on another committee
    assert api(world.quality).post(url, {"member": other.pk, "kind": "site", "value": "Nord"},
                                   format="json").status_code == 404
    assert api(world.quality).post("/api/committees/999999/conflicts/", {"member": m.pk, "kind": "site",
                                                                          "value": "Nord"},
                                   format="json").status_code == 404
    assert not DeclaredConflict.objects.exists()


@pytest.mark.parametrize("n", [1, 3])
def test_committee_list_query_count(db, api, django_assert_num_queries, n):
    world = build_world(n_cases=0)
    for _ in range(n - 1):
        c = CommitteeFactory()
        MemberFactory(committee=c)
    for m in Member.objects.all():
        DeclaredConflict.objects.create(member=m, kind="site", value="Nord")
    client = api(world.quality)
    with django_assert_num_queries(5):  # count, committees, AI systems, members+users, conflicts
        r = client.get("/api/committees/")
    assert len(r.json()["results"]) == n
