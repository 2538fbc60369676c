"""The main navigation per role, drawn from the ``can`` predicates of the context processor.

Each role sees exactly the entries it saw when the template tested roles itself; the ``can``
object evaluates a predicate only when a template reads it.
"""

import re
from types import SimpleNamespace

import pytest

from tests.helpers import html
from tests.login import login
from web.context_processors import Can, can, predicates

NAV = re.compile(r'<nav class="main-nav".*?</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')

COMMITTEE_WORK = {"/committees/", "/actions/", "/vigilance/"}
EXPECTED_NAV = {
    # the world's clinicians and patient representatives sit on its committee: they read its
    # sessions and its dashboards (not its actions or vigilance, which officers handle)
    "clinician": {"/reviews/", "/campaigns/", "/reports/", "/committees/", "/actions/mine/"},
    "patient_rep": {"/reviews/", "/campaigns/", "/reports/", "/committees/", "/actions/mine/", "/transparency/"},
    "chair": {"/reviews/", "/campaigns/", "/reports/", *COMMITTEE_WORK, "/reidentification/"},
    "secretary": {"/campaigns/", "/reports/", *COMMITTEE_WORK},
    "management": {"/campaigns/", "/reports/", "/actions/mine/"},
    "quality": {"/campaigns/", "/reports/", *COMMITTEE_WORK, "/imports/", "/imports/flagged-text/", "/transparency/"},
    "admin": {"/campaigns/", "/reports/", *COMMITTEE_WORK, "/imports/", "/imports/flagged-text/", "/transparency/"},
    "dpo": {"/campaigns/", "/actions/mine/", "/reidentification/"},
}


def _user(world, role: str):
    return {"clinician": world.clinicians[0], "patient_rep": world.patient_reps[0]}.get(role) or getattr(world, role)


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(EXPECTED_NAV))
def test_navigation_links_per_role(world, role):
    response = login(_user(world, role)).get("/campaigns/")

    assert response.status_code == 200
    nav = NAV.search(html(response)).group(0)
    assert set(HREF.findall(nav)) == EXPECTED_NAV[role]


def test_can_exposes_only_user_level_predicates():
    names = set(predicates())

    assert {"import_cases", "review_blinding_flags", "review_cases", "view_dashboards",
            "view_committee_pages", "view_reidentification", "administer_accounts"} <= names
    assert "manage_committee" not in names  # takes a committee as well as a user
    assert "request" not in names


def test_can_evaluates_nothing_until_read_and_then_once_per_request():
    class CountingUser:
        is_authenticated = is_active = True
        reads = 0

        @property
        def role(self):
            CountingUser.reads += 1
            return "quality"

    request = SimpleNamespace(user=CountingUser())

    obj = can(request)["can"]
    assert CountingUser.reads == 0
    assert obj.import_cases is True and obj.import_cases is True
    assert CountingUser.reads == 1
    assert can(request)["can"] is obj
    assert isinstance(obj, Can)
