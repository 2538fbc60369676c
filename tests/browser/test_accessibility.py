"""axe-core on every page of the review workspace: no "serious" or "critical" violation.

axe-core is a test-only asset (``vendor/axe.min.js``, MPL-2.0), never served by the
application. It is evaluated in the page through the DevTools protocol (``page.evaluate``),
which the page's CSP (``script-src 'self'``) does not govern, so the CSP stays as in production.
"""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.second_factor import requires_second_factor
from cases.models import Case
from cases.services import import_enqueue
from cases.source_reference import current_source_key, encrypt_source_reference
from committees import services as committee_services
from reidentification.services import reidentification_approve, reidentification_request
from reports.enums import Audience
from reports.services import report_publish
from reviews import services
from reviews.enums import CampaignState
from reviews.models import Assignment
from sittings import services as sittings_services
from tests.browser.login import log_in
from tests.factories import PASSWORD
from tests.login import next_code, totp_code
from tests.workflows import build_world, campaign_in, disagreeing_campaign, present_quorum, submit_all
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


# --- Every page of the product, for every role -------------------------------------------------
# The pages come from the URL configuration: a new page fails ``test_every_page_is_checked_or_
# excluded_with_a_reason`` until it is visited below or excluded here with the reason.

POST_TARGET = "a form's POST target: it redirects, or answers with the page the form is on, checked there"
FRAGMENT = "an htmx fragment swapped into its page, which is checked with it"
DOWNLOAD = "a download (PDF or CSV), not a page"
EXCLUDED = {
    **dict.fromkeys([
        "web:assignment_open", "web:assignment_submit", "web:assignment_save_draft", "web:assignment_unblind",
        "web:assignment_classify", "web:assignment_decline", "web:deviation_record", "web:assignment_reassign",
        "web:campaign_transition", "web:board_reassign", "web:third_reading", "web:member_add", "web:member_end_term",
        "web:conflict_declare", "web:conflict_withdraw", "web:committee_quorum", "web:session_transition",
        "web:session_attendance", "web:session_add_item", "web:item_decide", "web:item_defer",
        "web:item_action_create", "web:action_transition", "web:vigilance_declare", "web:vigilance_close",
        "web:reid_decide", "web:reid_withdraw", "web:blinding_clear", "web:blinding_redact",
        "reports:report_publish", "reports:report_draft", "reports:report_comment", "reports:report_correct",
        "reports:report_edit", "web:logout", "set_language", "web:assignment_next", "web:session_roll_call",
        "web:minutes_comment", "web:item_vote", "web:item_proxy_vote", "web:item_comment",
        "transparency:register_draft", "transparency:falc_draft", "transparency:text_edit",
        "transparency:text_transition",
    ], POST_TARGET),
    **dict.fromkeys(["transparency:texts", "transparency:text", "transparency:ai_system", "transparency:register",
                     "transparency:report", "transparency:falc", "transparency:poster"],
                    "checked under axe-core, with the objects it needs, by tests/browser/test_transparency.py"),
    "transparency:poster_pdf": DOWNLOAD,
    **dict.fromkeys(["web:campaign_progress", "web:session_refresh", "web:import_status"], FRAGMENT),
    **dict.fromkeys(["reports:evidence_pdf", "reports:evidence_csv", "reports:report_export_pdf",
                     "reports:report_export_csv", "web:minutes_pdf", "web:vigilance_pdf", "web:vigilance_csv",
                     "web:import_errors_csv"], DOWNLOAD),
    **dict.fromkeys(["reports:evidence_html", "reports:report_export_html", "web:minutes_html"],
                    "a self-contained HTML file downloaded for offline reading (an inspection), not a page"),
    "web:home": "redirects each role to its landing page, which is checked",
    "web:sso_start": "redirects to the hospital's identity provider (single sign-on), not a page of the product",
    "web:sso_callback": "the identity provider's return: redirects, or shows the refusal page of single sign-on",
    "schema": "the OpenAPI schema (YAML)", "swagger-ui": "the API documentation of a third-party viewer",
    "redoc": "the API documentation of a third-party viewer",
}
"""Pages not visited by ``test_every_page_for_every_role_has_no_serious_violation``, with why."""

def url_names() -> set[str]:
    """Every named page of the product (the admin and the JSON API aside)."""
    def walk(patterns, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin" or str(p.pattern).startswith("api/"):
                    continue  # the Django admin and the JSON API are not pages of the product
                inner = p.namespace and (f"{namespace}:{p.namespace}" if namespace else p.namespace)
                yield from walk(p.url_patterns, inner or namespace)
            elif isinstance(p, URLPattern) and p.name:
                yield f"{namespace}:{p.name}" if namespace else p.name

    return set(walk(get_resolver().url_patterns, None))


def _world_with_everything():
    """One of each object a page shows: campaigns in review and in analysis, a published report,
    a session (signed) and an open one, an action, a vigilance report, a re-identification
    request, an import."""
    world = build_world(n_cases=10)
    in_review = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2)
    analysed = campaign_in(world, CampaignState.IN_REVIEW, sample_size=2, seed=7)
    submit_all(analysed)
    services.campaign_close_review(actor=world.quality, campaign=analysed)
    services.campaign_start_analysis(actor=world.quality, campaign=analysed)
    published = report_publish(actor=world.quality, campaign=analysed, audience=Audience.INTERNAL)
    disagreeing = disagreeing_campaign(world, sample_size=4)
    cc = disagreeing.campaign_cases.order_by("pk").first()
    key = current_source_key()
    Case.objects.filter(pk=cc.case_id).update(source_reference=encrypt_source_reference("ACC-2", key),
                                              source_reference_key_id=key.key_id)
    signed = sittings_services.session_create(
        actor=world.secretary, committee=world.committee, title="Séance signée",
        scheduled_at=timezone.now() + dt.timedelta(days=1), place="Salle 2")
    sittings_services.session_start(actor=world.secretary, session=signed)
    present_quorum(signed, world.secretary)
    item = signed.items.order_by("position").first()
    decision = sittings_services.decision_record(actor=world.chair, item=item, summary="Débat.", text="Retenu.",
                                                  votes_for=4, reference_label="fracture")
    action = sittings_services.action_create(
        actor=world.chair, committee=world.committee, kind="train_users", title="Former", owner=world.quality,
        due_date=timezone.localdate() + dt.timedelta(days=10), decision=decision)
    sittings_services.session_close(actor=world.secretary, session=signed)
    sittings_services.session_sign(actor=world.chair, session=signed)
    to_sign = sittings_services.session_create(
        actor=world.secretary, committee=world.committee, title="Séance à signer",
        scheduled_at=timezone.now() + dt.timedelta(days=2), place="Salle 3")
    sittings_services.session_start(actor=world.secretary, session=to_sign)
    present_quorum(to_sign, world.secretary)
    sittings_services.session_close(actor=world.secretary, session=to_sign)
    report = vigilance_create(actor=world.secretary, committee=world.committee, ai_system=world.ai_system,
                              event_date=timezone.localdate(), description="Fracture manquée.")
    request = reidentification_request(actor=world.chair, campaign_case=cc,
                                       justification="L'IA a manqué une fracture ; rappel du patient.")
    batch = import_enqueue(actor=world.quality, ai_system=world.ai_system,
                           upload=SimpleUploadedFile("export.csv", b"exam_id;ai_label\n1;fracture\n"))
    blind = Assignment.objects.filter(reviewer=world.clinicians[0], campaign_case__campaign=in_review).first()
    services.assignment_open(actor=world.clinicians[0], assignment=blind)
    rep = Assignment.objects.filter(reviewer=world.patient_reps[0], campaign_case__campaign=in_review).first()
    return world, {"in_review": in_review, "analysed": analysed, "disagreeing": disagreeing, "cc": cc,
                   "signed": signed, "to_sign": to_sign, "action": action, "vigilance": report, "request": request,
                   "batch": batch,
                   "report": published, "blind": blind, "rep": rep}


def _pages(world, o) -> list[tuple[str, str | None, str]]:
    """(url name, role, path): every page each role opens in its work, on the objects above."""
    ai, committee = world.ai_system.pk, world.committee.pk
    staff_pages = [
        ("web:campaign_list", "/campaigns/"), ("web:campaign_wizard", "/campaigns/new/"),
        ("web:campaign", f"/campaigns/{o['in_review'].pk}/"),
        ("web:campaign_board", f"/campaigns/{o['in_review'].pk}/board/"),
        ("web:adjudication_list", f"/campaigns/{o['disagreeing'].pk}/adjudication/"),
        ("web:case_context", f"/campaigns/{o['disagreeing'].pk}/cases/{o['cc'].pk}/"),
        ("web:import_list", "/imports/"), ("web:import", f"/imports/{o['batch'].pk}/"),
        ("web:blinding_flags", "/imports/flagged-text/"),
        ("reports:index", "/reports/"), ("reports:campaign", f"/reports/campaigns/{o['analysed'].pk}/"),
        ("reports:ai_system", f"/reports/ai-systems/{ai}/"),
        ("reports:population", f"/reports/ai-systems/{ai}/population/"),
        ("reports:evidence", f"/reports/ai-systems/{ai}/evidence/"),
        ("reports:report", f"/reports/published/{o['report'].pk}/"),
        ("web:committee_list", "/committees/"), ("web:committee", f"/committees/{committee}/"),
        ("web:action_list", "/actions/"), ("web:action", f"/actions/{o['action'].pk}/"),
        ("web:vigilance_list", "/vigilance/"), ("web:vigilance", f"/vigilance/{o['vigilance'].pk}/"),
        ("web:vigilance_edit", f"/vigilance/{o['vigilance'].pk}/edit/"),
        ("web:session", f"/sessions/{o['signed'].pk}/"),
        ("web:password_change", "/account/"),
    ]
    pages = [(name, "quality", path) for name, path in staff_pages]
    pages += [(name, "admin", path) for name, path in staff_pages if name not in ("web:password_change",)]
    pages += [
        (None, None, "/login/"), ("web:legal_notice", None, "/legal-notice/"),
        ("web:accessibility", None, "/accessibility/"), ("public", None, "/public/"), ("web:login", None, "/login/"),
        ("web:queue", "clinician", "/reviews/"), ("web:assignment", "clinician", f"/reviews/{o['blind'].pk}/"),
        ("web:my_actions", "clinician", "/actions/mine/"), ("web:password_change", "clinician", "/account/"),
        ("web:queue", "patient_rep", "/reviews/"), ("web:assignment", "patient_rep", f"/reviews/{o['rep'].pk}/"),
        ("web:committee", "secretary", f"/committees/{committee}/"),
        ("web:session_new", "secretary", f"/committees/{committee}/sessions/new/"),
        ("web:action", "secretary", f"/actions/{o['action'].pk}/"),
        ("web:vigilance_edit", "secretary", f"/vigilance/{o['vigilance'].pk}/edit/"),
        ("web:reid_list", "chair", "/reidentification/"), ("web:reid_new", "chair", "/reidentification/new/"),
        ("web:reid", "chair", f"/reidentification/{o['request'].pk}/"),
        ("web:session_sign", "chair", f"/sessions/{o['to_sign'].pk}/sign/"),
        ("web:reid_list", "dpo", "/reidentification/"), ("web:reid", "dpo", f"/reidentification/{o['request'].pk}/"),
        ("reports:index", "management", "/reports/"), ("reports:ai_system", "management", f"/reports/ai-systems/{ai}/"),
        ("reports:campaign", "management", f"/reports/campaigns/{o['analysed'].pk}/"),
        ("reports:population", "management", f"/reports/ai-systems/{ai}/population/"),
        ("web:my_actions", "management", "/actions/mine/"),
    ]
    return pages


SECOND_FACTOR_PAGES = {"web:otp_setup", "web:otp_verify", "web:otp_backup_codes", "web:reid_reveal"}
"""Visited on the way: while logging in, enrolment (setup, then the backup codes) at the first login
of a role that needs a second factor, verification at the next; the source reference the chair is
shown once, by the button of an approved request."""


def test_every_page_is_checked_or_excluded_with_a_reason():
    visited = {name for name, _role, _path in _pages(SimpleNamespace(ai_system=SimpleNamespace(pk=1),
                                                                     committee=SimpleNamespace(pk=1)),
                                                    _FakeObjects()) if name}
    covered = visited | SECOND_FACTOR_PAGES | set(EXCLUDED)
    assert sorted(url_names() - covered) == []
    assert sorted(covered - url_names()) == []  # no stale entry
    assert all(EXCLUDED.values())


class _FakeObjects(dict):
    def __missing__(self, key):
        return SimpleNamespace(pk=1)


def test_every_page_for_every_role_has_no_serious_violation(open_page, live_server):
    world, objects = _world_with_everything()
    base = live_server.url
    found: dict[str, list] = {}
    pages_by_role: dict[str | None, list[tuple[str, str]]] = {}
    for name, role, path in _pages(world, objects):
        pages_by_role.setdefault(role, []).append((name or path, path))
    for role, pages in pages_by_role.items():
        page = open_page().page
        if role is not None:
            user = {"clinician": world.clinicians[0], "patient_rep": world.patient_reps[0]}.get(role) or getattr(
                world, role)
            _log_in_checking_second_factor(page, base, user.username, found)
        for label, path in pages:
            response = page.goto(base + path)
            assert response.status == 200, (role, path, response.status)
            page.wait_for_load_state("networkidle")  # the charts drawn
            found[f"{role} {label}"] = violations(page)
    # The source reference, shown once to the chair after the DPO's approval (a POST).
    reidentification_approve(actor=world.dpo, request=objects["request"], comment="Justifié.")
    page = open_page().page
    _log_in_checking_second_factor(page, base, world.chair.username, found)
    page.goto(f"{base}/reidentification/{objects['request'].pk}/")
    page.get_by_role("button", name="Afficher la référence source").click()
    page.get_by_text("ACC-2").wait_for()
    found["chair web:reid_reveal"] = violations(page)
    # The second login of a role with a second factor: the verification page.
    page = open_page().page
    _log_in_checking_second_factor(page, base, world.quality.username, found)
    assert {name: v for name, v in found.items() if v} == {}
    assert any(k.endswith("web:otp_setup") for k in found) and any(k.endswith("web:otp_verify") for k in found)


def _log_in_checking_second_factor(page, base: str, username: str, found: dict) -> None:
    """``log_in``, with axe run on each second-factor page on the way."""
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    user = get_user_model().objects.get(username=username)
    if not requires_second_factor(user):
        return
    submit = page.locator("form.panel button[type=submit]")
    if page.url.endswith("/account/second-factor/setup/"):
        found[f"{username} web:otp_setup"] = violations(page)
        page.locator("#id_otp").fill(totp_code(TOTPDevice.objects.get(user=user, confirmed=False)))
        submit.click()
        page.locator(".backup-codes").wait_for()
        found[f"{username} web:otp_backup_codes"] = violations(page)
        page.locator("main a.button-primary").click()
    else:
        found[f"{username} web:otp_verify"] = violations(page)
        page.locator("#id_otp").fill(next_code(TOTPDevice.objects.get(user=user, confirmed=True)))
        submit.click()
    page.wait_for_load_state()
