"""The discordant-case list of the campaign dashboard: case-level, for the quality team and the
committee's officers only; never for management, never for someone still reading blind, never in
a published report or its exports; its content, its order, and a constant query count."""

import datetime as dt
import json
from html import unescape

import pytest
import weasyprint
from django.utils import timezone

from cases.models import Case
from reports import selectors, services
from reports.enums import Audience
from reviews import services as review_services
from reviews.enums import AssignmentKind, CampaignState
from reviews.models import Assignment
from sittings import services as sittings_services
from tests.helpers import html
from tests.login import login
from tests.workflows import build_world, campaign_in, submit_all

pytestmark = pytest.mark.django_db

LIST_ID = 'id="discordant-cases"'
LIST_TITLE = "Dossiers discordants"

# Per sampled case (in campaign-case order): imported AI output, clinician's final decision,
# whether the clinician readers disagree, whether a reader flags a possible adverse event.
PLAN = [
    ("fracture", "fracture", False, False),        # 0: AI right and followed: not discordant
    ("no_fracture", "no_fracture", False, True),   # 1: AI wrong but followed, flagged
    ("fracture", "no_fracture", False, True),      # 2: AI right but overridden, flagged
    ("fracture", "fracture", True, False),         # 3: readers disagree: awaiting adjudication
    ("no_fracture", "fracture", False, False),     # 4: AI wrong and overridden
    ("no_fracture", "no_fracture", False, False),  # 5: AI wrong but followed
]


def _flag(world, cc) -> None:
    """A clinician reader of ``cc`` unblinds and flags a possible adverse event (real services)."""
    reader = Assignment.objects.filter(campaign_case=cc, kind=AssignmentKind.CLINICIAN).order_by("pk").first()
    review_services.assignment_unblind(actor=reader.reviewer, assignment=reader)
    review_services.assignment_classify(actor=reader.reviewer, assignment=reader, discrepancy="clear_significant",
                                        would_have_changed=False, possible_adverse_event=True)


def discordant_world(plan=PLAN):
    """A campaign reviewed by the real services, left in adjudication (case 3 waits for it when
    planned so). The committee's session is planned after the verdicts and before the flags, so
    the cases whose reference differs from the AI or whose readers disagree are on its agenda,
    and a case that is only flagged is not (the automatic enqueue runs on commit)."""
    world = build_world(n_cases=len(plan))
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=len(plan))
    ccs = list(campaign.campaign_cases.order_by("pk"))
    assert len(ccs) == len(plan)
    for cc, (ai, final, _disagree, _flagged) in zip(ccs, plan, strict=True):
        Case.objects.filter(pk=cc.case_id).update(ai_label=ai, final_label=final)  # the imported data
    disagree = {cc.pk for cc, p in zip(ccs, plan, strict=True) if p[2]}
    first: dict[int, int] = {}

    def label_for(a):
        first.setdefault(a.campaign_case_id, a.pk)
        return "no_fracture" if a.campaign_case_id in disagree and first[a.campaign_case_id] != a.pk else "fracture"

    submit_all(campaign, label_for)
    sittings_services.session_create(
        actor=world.secretary, committee=world.committee, title="Séance de printemps",
        scheduled_at=timezone.make_aware(dt.datetime(2026, 9, 1, 14, 0)), place="Salle du conseil")
    for cc, p in zip(ccs, plan, strict=True):
        if p[3]:
            _flag(world, cc)
    campaign = review_services.campaign_close_review(actor=world.quality, campaign=campaign)
    return world, campaign, ccs


@pytest.fixture
def setup():
    return discordant_world()


# --- Who sees the list -------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["quality", "chair", "secretary"])
def test_discordant_cases_shown_to_case_level_readers(setup, who):
    world, campaign, ccs = setup
    response = login(getattr(world, who)).get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    text = html(response)
    assert LIST_ID in text and LIST_TITLE in text
    assert f"/campaigns/{campaign.pk}/cases/{ccs[1].pk}/" in text
    assert f"/campaigns/{campaign.pk}/cases/{ccs[0].pk}/" not in text  # concordant: not listed


def test_discordant_cases_hidden_from_management(setup):
    world, campaign, ccs = setup
    response = login(world.management).get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    text = html(response)
    assert "figure-confusion" in text
    assert LIST_ID not in text and LIST_TITLE not in text
    assert "Événement indésirable possible" not in text
    for cc in ccs:
        assert f"/cases/{cc.pk}/" not in text


def test_discordant_cases_chair_with_blind_review_pending_is_refused():
    """The chair reads cases too (one clinician in the committee): with a review of theirs still
    blind, the dashboard is refused, although other readers' verdicts and discordances exist."""
    world = build_world(n_cases=4, n_clinicians=1)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=4)
    chair_blind = Assignment.objects.filter(campaign_case__campaign=campaign, reviewer=world.chair)
    assert chair_blind.exists()
    for a in Assignment.objects.filter(campaign_case__campaign=campaign).exclude(reviewer=world.chair):
        data = ({"label": "no_fracture", "confidence": 4, "rationale": "Trait visible."}
                if a.kind == AssignmentKind.CLINICIAN else
                {"patient_informed": "yes", "information_understandable": "yes", "rights_respected": "yes",
                 "equity_concern": False, "comments": ""})
        review_services.assignment_submit(actor=a.reviewer, assignment=a, data=data)
    response = login(world.chair).get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code == 403
    assert LIST_ID not in html(response) and LIST_TITLE not in html(response)


# --- Content and order -------------------------------------------------------------------------

def test_discordant_cases_content_and_order(setup):
    world, campaign, ccs = setup
    frame = selectors.campaign_dashboard_frame(campaign, with_case_flags=True)
    rows = selectors.discordant_cases(frame)

    def row(i, reference, category, *, awaiting=False, disagree=False, flagged=False, agenda=None):
        ai, final = PLAN[i][:2]
        return {"campaign_case_id": ccs[i].pk, "case_id": ccs[i].case_id, "ai_label": ai, "final_label": final,
                "reference_label": reference, "awaiting_adjudication": awaiting, "category": category,
                "readers_disagree": disagree, "possible_adverse_event": flagged, "agenda": agenda}

    assert rows == [
        row(1, "fracture", "ai_wrong_followed", flagged=True, agenda="pending"),
        row(5, "fracture", "ai_wrong_followed", agenda="pending"),
        row(2, "fracture", "ai_right_overridden", flagged=True),
        row(3, None, "missing", awaiting=True, disagree=True, agenda="pending"),
        row(4, "fracture", "ai_wrong_overridden", agenda="pending"),
    ]


def test_discordant_cases_page_in_french(setup):
    world, campaign, ccs = setup
    text = html(login(world.secretary).get(f"/reports/campaigns/{campaign.pk}/"))
    table = text[text.index(LIST_ID):text.index("</table>", text.index(LIST_ID))]
    assert "<caption>" in table and 'scope="col"' in table and 'scope="row"' in table
    order = [table.index(f"/campaigns/{campaign.pk}/cases/{ccs[i].pk}/") for i in (1, 5, 2, 3, 4)]
    assert order == sorted(order)
    for words in ("IA fausse, suivie", "IA juste, non suivie", "En attente d'arbitrage", "relecteurs en désaccord",
                  "À l'ordre du jour", "Ordre du jour du comité", "Événement indésirable possible"):
        assert words in table


def test_discordant_cases_empty_list_says_so():
    world = build_world(n_cases=2)
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)
    for cc in campaign.campaign_cases.all():
        Case.objects.filter(pk=cc.case_id).update(ai_label="fracture", final_label="fracture")
    submit_all(campaign)
    text = html(login(world.quality).get(f"/reports/campaigns/{campaign.pk}/"))
    assert LIST_TITLE in text and "Aucun dossier discordant." in text and LIST_ID not in text


# --- Never frozen, never exported --------------------------------------------------------------

def _adjudicate_and_analyse(world, campaign, ccs):
    review_services.adjudication_record(actor=world.chair, campaign_case=ccs[3], label="fracture",
                                        reasoning="Trait de fracture visible au second plan.")
    campaign = review_services.campaign_start_analysis(actor=world.quality, campaign=campaign)
    assert campaign.state == CampaignState.ANALYSIS
    return campaign


def test_discordant_cases_after_adjudication_keep_the_reader_disagreement(setup):
    world, campaign, ccs = setup
    campaign = _adjudicate_and_analyse(world, campaign, ccs)
    rows = selectors.discordant_cases(selectors.campaign_dashboard_frame(campaign, with_case_flags=True))
    adjudicated = next(r for r in rows if r["campaign_case_id"] == ccs[3].pk)
    assert (adjudicated["reference_label"], adjudicated["category"], adjudicated["readers_disagree"],
            adjudicated["awaiting_adjudication"]) == ("fracture", "ai_right_followed", True, False)


@pytest.mark.parametrize("audience", [Audience.INTERNAL, Audience.PUBLIC])
def test_discordant_cases_never_in_published_reports(setup, monkeypatch, audience):
    world, campaign, ccs = setup
    campaign = _adjudicate_and_analyse(world, campaign, ccs)
    report = services.report_publish(actor=world.quality, campaign=campaign, audience=audience)
    frozen = json.dumps(report.figures)
    assert "discordant" not in frozen and "possible_adverse_event" not in frozen
    assert "campaign_case_id" not in frozen and "agenda" not in frozen
    client = login(world.quality)  # case-level access, yet the frozen report holds no case
    pages = {
        "page": html(client.get(f"/reports/published/{report.pk}/")),
        "html": html(client.get(f"/reports/published/{report.pk}/export.html")),
        "csv": client.get(f"/reports/published/{report.pk}/export.csv").content.decode(),
    }

    printed = []
    real_html = weasyprint.HTML

    def spy(*args, **kwargs):
        printed.append(kwargs.get("string", ""))
        return real_html(*args, **kwargs)

    monkeypatch.setattr(weasyprint, "HTML", spy)
    pdf = client.get(f"/reports/published/{report.pk}/export.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    pages["pdf"] = unescape(printed[0])
    for name, text in pages.items():
        assert LIST_ID not in text and LIST_TITLE not in text, name
        assert "discordant" not in text.lower(), name
        for cc in ccs:
            assert f"/cases/{cc.pk}/" not in text, name


def test_report_figures_hold_no_case_list(setup):
    world, campaign, ccs = setup
    campaign = _adjudicate_and_analyse(world, campaign, ccs)
    figures = services.report_figures(campaign=campaign, audience=Audience.INTERNAL)
    assert set(figures) == {"audience", "dashboard", "charts"}
    assert "categories" not in figures["dashboard"]["three_way"]
    assert "discordant" not in services.canonical_json(figures).decode()


# --- Query count -------------------------------------------------------------------------------

@pytest.mark.parametrize("n_discordant", [1, 3])
def test_discordant_cases_query_count_is_constant(django_assert_num_queries, n_discordant):
    plan = [("no_fracture", "no_fracture", False, True)] * n_discordant + [("fracture", "fracture", False, False)]
    world, campaign, ccs = discordant_world(plan)
    client = login(world.quality)
    client.get(f"/reports/campaigns/{campaign.pk}/")  # warm the session and the content types
    # session, user, the user's committee seats (the menu),
    # campaign, blind check (once: publishing reuses it), case rows (with flags and
    # agenda), verdicts, the campaign's revision (2) and the cached figures (the warm-up computed
    # them), reports, and the quality team's per-reader table (read afresh, one query): the list
    # costs no query of its own
    with django_assert_num_queries(12):
        response = client.get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    assert html(response).count(f"/campaigns/{campaign.pk}/cases/") == n_discordant
