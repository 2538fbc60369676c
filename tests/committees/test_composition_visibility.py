"""The composition of committee B (members, terms, conflicts, sessions) is not visible to the
officers of committee A, nor to B's ordinary members; the quality team sees every committee."""

import datetime as dt

import pytest
from django.utils import timezone

from committees.models import DeclaredConflict
from sittings.services import session_create
from tests.factories import CommitteeFactory, MemberFactory, UserFactory
from tests.login import verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(world):
    """Committee A (the world's) and committee B, with a distinctive member, conflict and session."""
    b = CommitteeFactory(name="Collège B secret")
    b_chair = UserFactory(role="chair", username="chair-b")
    b_reader = UserFactory(role="clinician", username="reader-b", last_name="Zéphyrin-Secret")
    MemberFactory(committee=b, user=b_chair, role="chair")
    seat = MemberFactory(committee=b, user=b_reader, role="clinician")
    DeclaredConflict.objects.create(member=seat, kind="vendor", value="VendorSecretB")
    session = session_create(actor=b_chair, committee=b, title="Séance B secrète",
                             scheduled_at=timezone.now() + dt.timedelta(days=3), place="Salle B")
    return world, b, b_reader, session


@pytest.mark.parametrize("who", ["chair", "secretary"])
def test_officers_of_a_do_not_see_committee_b_through_the_api(two, api, who):
    world, b, _, session = two
    client = api(getattr(world, who))

    listed = client.get("/api/committees/").json()
    names = [c["name"] for c in (listed["results"] if isinstance(listed, dict) else listed)]
    assert names == [world.committee.name]
    for url in [f"/api/committees/{b.pk}/", f"/api/committees/{b.pk}/members/", f"/api/sessions/{session.pk}/"]:
        r = client.get(url)
        assert (r.status_code, r.json()["code"], r.json()["extra"]) == (404, "not_found", {})
        assert "Zéphyrin" not in r.content.decode() and "VendorSecretB" not in r.content.decode()
    conflict = client.post(f"/api/committees/{b.pk}/conflicts/", {"member": 1, "kind": "site", "value": "x"},
                           format="json")
    assert conflict.status_code == 404
    sessions = client.get("/api/sessions/").json()
    titles = [s["title"] for s in (sessions["results"] if isinstance(sessions, dict) else sessions)]
    assert "Séance B secrète" not in titles


@pytest.mark.parametrize("who", ["chair", "secretary"])
def test_officers_of_a_do_not_see_committee_b_on_the_web(two, who):
    world, b, _, session = two
    client = verified_client(getattr(world, who))
    assert "Collège B secret" not in client.get("/committees/").content.decode()
    for url in [f"/committees/{b.pk}/", f"/sessions/{session.pk}/"]:
        r = client.get(url)
        assert r.status_code == 404 and "Zéphyrin" not in r.content.decode()


def test_members_of_b_do_not_read_the_composition(two, api):
    _, b, reader, _ = two
    client = api(reader)
    assert client.get("/api/committees/").status_code == 403
    assert client.get(f"/api/committees/{b.pk}/").status_code == 404
    assert client.get(f"/api/committees/{b.pk}/members/").status_code == 404


def test_quality_sees_both_committees(two, api):
    world, b, _, _ = two
    listed = api(world.quality).get("/api/committees/").json()
    names = sorted(c["name"] for c in (listed["results"] if isinstance(listed, dict) else listed))
    assert names == sorted([world.committee.name, "Collège B secret"])
    members = api(world.quality).get(f"/api/committees/{b.pk}/members/").json()
    assert "VendorSecretB" in str(members)
    assert len(members) == 2


def test_officer_still_sees_a_committee_nobody_sits_on_to_found_it(api):
    founder = UserFactory(role="chair")
    empty = CommitteeFactory(name="Collège vide")
    assert api(founder).get(f"/api/committees/{empty.pk}/").status_code == 200
