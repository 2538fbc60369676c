"""No page shows a raw code where a person expects words: every page every demo account opens,
on the demo data (``load_demo``), is searched for the technical values of the project's choice
lists (``in_review``, ``patient_rep``, ``no_fracture``...), for the English state words the
French interface translates (``open``, ``draft``...) and for stratum keys (``ai_label=``)."""

import io
import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from cases.models import AISystem
from fixtures import demo_people
from reidentification.models import ReidentificationRequest
from reports.models import Report
from reviews.models import Assignment, Campaign, CampaignCase
from sittings.models import Action, Session
from tests.login import login
from vigilance.models import VigilanceReport

pytestmark = pytest.mark.django_db

ENGLISH_STATES = {"open", "draft", "scheduled", "sampled", "published", "archived", "cancelled", "assigned",
                  "opened", "submitted", "unblinded", "classified", "closed", "declined", "expired", "withdrawn",
                  "pending", "approved", "refused", "requested", "completed", "done", "above", "below", "in",
                  "empty", "planned", "signed", "deferred", "decided", "superseded", "internal", "public"}
"""Single-word codes that are English words: in the French interface they can only be raw codes."""


def _project_codes() -> set[str]:
    """Every value of the project's choice lists and of the AI systems' output labels that is a
    code, not a word: with an underscore."""
    codes = {label for labels in AISystem.objects.values_list("labels", flat=True) for label in labels or []
             if isinstance(label, str) and "_" in label}
    for model in apps.get_models():
        if model.__module__.split(".")[0] not in {"accounts", "cases", "committees", "reviews", "sittings",
                                                   "vigilance", "reidentification", "reports", "audit"}:
            continue
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "choices", None) or []:
                if isinstance(value, str) and "_" in value:
                    codes.add(value)
    return codes


def code_pattern(codes: set[str]) -> re.Pattern:
    """A code as a word of its own (not inside an address or a longer name), or a stratum key."""
    words = "|".join(sorted(map(re.escape, codes | ENGLISH_STATES), key=len, reverse=True))
    return re.compile(rf"(?<![\w/.=-])({words})(?![\w/=-])|\b(ai_label|score_band|override|site)=")


HIDDEN_TAGS = ("script", "style", "template", "code")
"""Not read as words: scripts and data, and ``<code>``, which shows technical references on
purpose (hashes, audit references such as ``campaign:12``)."""


class _Text(HTMLParser):
    """The text a person reads: no tags, attributes, scripts, styles or JSON data blocks."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN_TAGS:
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag in HIDDEN_TAGS and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(body: str) -> str:
    parser = _Text()
    parser.feed(body)
    return " ".join(parser.parts)


def _paths() -> list[str]:
    def first(qs, n=3):
        return list(qs.order_by("pk").values_list("pk", flat=True)[:n])

    paths = ["/reviews/", "/campaigns/", "/campaigns/new/", "/committees/", "/actions/", "/actions/mine/",
             "/vigilance/", "/reidentification/", "/reidentification/new/", "/imports/", "/imports/flagged-text/",
             "/reports/", "/public/", "/account/"]
    for pk in Campaign.objects.values_list("pk", flat=True):
        paths += [f"/campaigns/{pk}/", f"/campaigns/{pk}/board/", f"/campaigns/{pk}/adjudication/",
                  f"/reports/campaigns/{pk}/"]
    for cc in CampaignCase.objects.order_by("pk").values("pk", "campaign_id")[:3]:
        paths.append(f"/campaigns/{cc['campaign_id']}/cases/{cc['pk']}/")
    for pk in AISystem.objects.values_list("pk", flat=True):
        paths += [f"/reports/ai-systems/{pk}/", f"/reports/ai-systems/{pk}/population/",
                  f"/reports/ai-systems/{pk}/evidence/"]
    paths += [f"/reports/published/{pk}/" for pk in first(Report.objects)]
    paths += [f"/sessions/{pk}/" for pk in first(Session.objects, 5)]
    paths += [f"/actions/{pk}/" for pk in first(Action.objects)]
    paths += [f"/vigilance/{pk}/" for pk in first(VigilanceReport.objects)]
    paths += [f"/reidentification/{pk}/" for pk in first(ReidentificationRequest.objects)]
    paths += [f"/committees/{pk}/" for pk in first(apps.get_model("committees", "Committee").objects)]
    return paths


def test_no_page_of_any_role_shows_a_raw_code_on_the_demo_data():
    call_command("load_demo", "--cases", "300", stdout=io.StringIO())
    codes = _project_codes()
    assert {"in_review", "patient_rep", "no_fracture"} <= codes  # the search is not empty
    pattern = code_pattern(codes)
    paths = _paths()
    found: dict[str, list[str]] = {}
    checked = 0
    for account in demo_people.DEMO_ACCOUNTS:
        user = get_user_model().objects.get(username=account.username)
        client = login(user)
        own = [f"/reviews/{pk}/" for pk in Assignment.objects.filter(reviewer=user).order_by("pk")
               .values_list("pk", flat=True)[:3]]
        for path in paths + own:
            r = client.get(path)
            if r.status_code != 200 or not r["Content-Type"].startswith("text/html"):
                continue
            checked += 1
            hits = sorted({m.group(0) for m in pattern.finditer(visible_text(r.content.decode()))})
            if hits:
                found[f"{account.username} {path}"] = hits
    assert checked > 50
    assert found == {}


@pytest.mark.django_db
def test_the_search_finds_a_raw_code_when_there_is_one():
    text = visible_text('<p title="in_review">État : in_review</p><script>var x = "draft";</script>'
                        '<td>ai_label=fracture</td><p>Relecture ouverte</p>')
    pattern = code_pattern(_project_codes())
    assert sorted({m.group(0) for m in pattern.finditer(text)}) == ["ai_label=", "in_review"]
