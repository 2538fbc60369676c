"""axe-core on every page of the review workspace: no "serious" or "critical" violation.

axe-core is a test-only asset (``vendor/axe.min.js``, MPL-2.0), never served by the
application. It is evaluated in the page through the DevTools protocol (``page.evaluate``),
which the page's CSP (``script-src 'self'``) does not govern, so the CSP stays as in production.
"""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from cases.models import Case
from cases.source_reference import current_source_key, encrypt_source_reference
from committees import services as committee_services
from reidentification.services import reidentification_request
from reviews import services
from reviews.enums import CampaignState
from reviews.models import Assignment
from sittings import services as sittings_services
from tests.browser.login import log_in
from tests.workflows import build_world, campaign_in, disagreeing_campaign, present_quorum
from vigilance.services import vigilance_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
BLOCKING = ("serious", "critical")


def violations(page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "targets": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in BLOCKING
    ]


def test_no_serious_or_critical_accessibility_violation(open_page, live_server):
    world = build_world(n_cases=3, n_clinicians=1, n_patient_reps=1)
    Case.objects.update(image_url="https://pacs.example.org/viewer?study=42")
    campaign = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)
    clinician = world.clinicians[0]
    mine = list(Assignment.objects.filter(reviewer=clinician).order_by("pk"))
    assert len(mine) >= 2
    blind, other = mine[0], mine[1]
    services.assignment_open(actor=clinician, assignment=blind)
    for a in (other,):
        services.assignment_submit(actor=clinician, assignment=a, data={"label": "fracture", "confidence": 3})
    locked = other
    rep_a = Assignment.objects.filter(reviewer=world.patient_reps[0]).first()
    services.assignment_open(actor=world.patient_reps[0], assignment=rep_a)
    base = live_server.url
    found: dict[str, list] = {}

    page = open_page().page
    page.goto(f"{base}/login/")
    found["login"] = violations(page)

    log_in(page, base, clinician.username)
    for name, url in (("queue", "/reviews/"), ("blind case", f"/reviews/{blind.pk}/"),
                      ("locked", f"/reviews/{locked.pk}/")):
        page.goto(base + url)
        found[name] = violations(page)
    services.assignment_unblind(actor=clinician, assignment=locked)
    page.goto(f"{base}/reviews/{locked.pk}/")
    found["unblinded"] = violations(page)

    page = open_page().page
    log_in(page, base, world.patient_reps[0].username)
    page.goto(f"{base}/reviews/{rep_a.pk}/")
    found["patient-rep form"] = violations(page)

    services.protocol_deviation_record(actor=world.quality, campaign=campaign, item="Taille d'échantillon",
                                       description="Portée de 2 à 3 cas.", reason="Strate rare.")
    page = open_page().page
    log_in(page, base, world.quality.username)
    for name, url in (("campaign list", "/campaigns/"), ("campaign detail", f"/campaigns/{campaign.pk}/"),
                      ("wizard", "/campaigns/new/"), ("progress board", f"/campaigns/{campaign.pk}/board/"),
                      ("import list", "/imports/")):
        page.goto(base + url)
        found[name] = violations(page)

    # The campaign page with the deviations list and the deviation form in error (400).
    page.goto(f"{base}/campaigns/{campaign.pk}/")
    page.locator("#id_item").fill("Date limite")
    page.locator("#id_description").fill("Reportée d'une semaine.")
    page.locator("#deviations form").evaluate("f => f.noValidate = true")
    page.get_by_role("button", name="Enregistrer l'écart").click()
    page.locator("#deviations .notice-error").wait_for()
    found["deviation form errors"] = violations(page)

    page.goto(f"{base}/campaigns/new/")
    page.locator("#id_name").fill("A11y")
    page.locator("#id_ai_system").select_option(str(world.ai_system.pk))
    page.locator("#id_committee").select_option(str(world.committee.pk))
    page.locator("#id_period_start").fill("2026-01-01")
    page.locator("#id_period_end").fill("2026-06-30")
    page.locator("#id_design_type_1").check()
    page.locator("#id_strata_by_0").check()
    page.locator("#id_review_deadline").fill("2026-12-31")
    page.locator("button[value=preview]").click()
    page.locator("#preview").wait_for()
    found["wizard preview"] = violations(page)
    page.locator("#id_name").fill("")
    page.locator("button[value=preview]").evaluate("b => b.form.noValidate = true")
    page.locator("button[value=preview]").click()
    page.locator(".notice-error").wait_for()
    found["wizard errors"] = violations(page)

    assert {name: v for name, v in found.items() if v} == {}

    # Canary: axe really ran and reports what it should (an image without alternative text).
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\\'/x.png\\'>')")
    assert [v["id"] for v in violations(page)] == ["image-alt"]


def test_committee_pages_have_no_serious_or_critical_violation(open_page, live_server):
    """Sessions (plan form with errors, open session with its forms, sign confirmation), actions,
    vigilance (list, report, edit), re-identification (list, form, request) and adjudication."""



    world = build_world()
    campaign = disagreeing_campaign(world)
    cc = campaign.campaign_cases.order_by("pk").first()
    key = current_source_key()
    Case.objects.filter(pk=cc.case_id).update(source_reference=encrypt_source_reference("ACC-1", key),
                                              source_reference_key_id=key.key_id)
    session = sittings_services.session_create(
        actor=world.secretary, committee=world.committee, title="Séance a11y",
        scheduled_at=timezone.now() + dt.timedelta(days=1), place="Salle 1")
    sittings_services.session_start(actor=world.secretary, session=session)
    present_quorum(session, world.secretary)
    item = session.items.order_by("position").first()
    decision = sittings_services.decision_record(actor=world.chair, item=item, summary="Débat.", text="Retenu.",
                                                  votes_for=4, reference_label="fracture")
    action = sittings_services.action_create(
        actor=world.chair, committee=world.committee, kind="train_users", title="Former", owner=world.quality,
        due_date=timezone.localdate() + dt.timedelta(days=10), decision=decision)
    report = vigilance_create(actor=world.secretary, committee=world.committee, ai_system=world.ai_system,
                              event_date=timezone.localdate(), description="Fracture manquée.")
    request = reidentification_request(actor=world.chair, campaign_case=cc,
                                       justification="L'IA a manqué une fracture ; rappel du patient.")
    # The committee page with a declared conflict (its withdraw button) and an ended term (history).
    seat = world.committee.members.get(user=world.clinicians[2])
    committee_services.conflict_declare(actor=world.secretary, member=seat, kind="vendor", value="Acme")
    committee_services.member_end_term(actor=world.secretary, member=seat,
                                       term_end=timezone.localdate() - dt.timedelta(days=1))
    base = live_server.url
    found: dict[str, list] = {}

    page = open_page().page
    log_in(page, base, world.secretary.username)
    for name, url in (("committees", "/committees/"), ("committee", f"/committees/{world.committee.pk}/"),
                      ("session new", f"/committees/{world.committee.pk}/sessions/new/"),
                      ("action list", "/actions/"), ("action", f"/actions/{action.pk}/"),
                      ("vigilance list", "/vigilance/"), ("vigilance", f"/vigilance/{report.pk}/"),
                      ("vigilance edit", f"/vigilance/{report.pk}/edit/"),
                      ("adjudication", f"/campaigns/{campaign.pk}/adjudication/"),
                      ("case", f"/campaigns/{campaign.pk}/cases/{cc.pk}/")):
        page.goto(base + url)
        found[name] = violations(page)
    page.goto(f"{base}/committees/{world.committee.pk}/sessions/new/")
    page.get_by_role("button", name="Planifier la séance").click()
    page.locator(".errors").first.wait_for()
    found["session new errors"] = violations(page)
    for tab in ("members", "history", "manage"):
        page.goto(f"{base}/committees/{world.committee.pk}/?tab={tab}")
        found[f"committee {tab}"] = violations(page)
    page.goto(f"{base}/sessions/{session.pk}/?tab=attendance")
    found["session attendance"] = violations(page)
    page.goto(f"{base}/committees/{world.committee.pk}/?tab=manage")
    page.get_by_role("button", name="Attribuer le siège").click()
    page.locator(".errors").first.wait_for()
    found["committee composition errors"] = violations(page)

    page = open_page().page
    log_in(page, base, world.chair.username)
    page.goto(f"{base}/sessions/{session.pk}/")
    for summary in page.locator("details > summary").all():
        summary.click()  # the decision and action forms, open
    found["session open"] = violations(page)
    for name, url in (("reid list", "/reidentification/"), ("reid new", "/reidentification/new/"),
                      ("reid", f"/reidentification/{request.pk}/")):
        page.goto(base + url)
        found[name] = violations(page)
    page.goto(f"{base}/sessions/{session.pk}/?tab=minutes")
    found["session minutes draft"] = violations(page)
    page.get_by_role("button", name="Clore la séance").click()
    page.get_by_role("button", name="Oui, clore la séance").wait_for()
    found["close confirmation"] = violations(page)
    sittings_services.session_close(actor=world.secretary, session=session)
    page.goto(f"{base}/sessions/{session.pk}/sign/")
    found["sign"] = violations(page)
    sittings_services.session_sign(actor=world.chair, session=session)
    page.goto(f"{base}/sessions/{session.pk}/")
    found["session signed"] = violations(page)
    page.goto(f"{base}/sessions/{session.pk}/?tab=minutes")
    found["session signed minutes"] = violations(page)

    page = open_page().page
    log_in(page, base, world.patient_reps[0].username)
    for name, url in (("member committees", "/committees/"), ("member session", f"/sessions/{session.pk}/"),
                      ("member dashboards", "/reports/")):
        page.goto(base + url)
        found[name] = violations(page)

    page = open_page().page
    log_in(page, base, world.dpo.username)
    page.goto(f"{base}/reidentification/{request.pk}/")
    found["reid dpo"] = violations(page)

    assert {name: v for name, v in found.items() if v} == {}
