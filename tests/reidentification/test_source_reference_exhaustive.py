"""The source reference (the accession number kept, encrypted, for a patient recall) reaches
nobody but the requesting chair and the approving data-protection officer, once each.

A world is built through the real services with a case whose source reference is encrypted, an
approved re-identification request about it, the case on a session's agenda, a vigilance report
and an action. Then, for every role (and anonymous), every URL of the project is requested with
GET (read from the URL resolver, so that new pages are covered without editing this file), and
every reveal endpoint (API and web, any URL named "…reveal…") is POSTed. The plain value must
appear in exactly two responses in all: the requester's first reveal and the deciding officer's
first reveal. Its ciphertext must appear in none. The Django admin, seen as a superuser, shows
neither.
"""

import itertools
import re

import pytest
from django.contrib import admin
from django.urls import get_resolver, reverse
from rest_framework.test import APIClient

from cases.models import Case
from cases.source_reference import current_source_key, encrypt_source_reference
from reidentification import services
from reidentification.models import ReidentificationRequest
from sittings import services as sittings_services
from tests.factories import MemberFactory, UserFactory
from tests.login import verified_login
from tests.reviews.test_blinding import _kind_of, _params, _walk
from tests.sittings.flows import plan
from tests.workflows import disagreeing_campaign, present_quorum
from vigilance.services import vigilance_create

pytestmark = pytest.mark.django_db

PLAIN = "IPP-RECALL-48213-QZ"
KEY = "Zb1Hh5c0r2m8A8kq7qg5m6Jm3l1m0e1j3Jb3Y6oVY0E="
OTHER_ROLES = ["quality", "clinician", "patient_rep", "chair_other", "secretary", "management", "admin",
               "dpo_other", "anonymous"]


def _endpoints():
    seen = {}
    for route, name, _pattern in _walk(get_resolver().url_patterns):
        if name.startswith("admin:") or route.startswith("admin/"):
            continue  # the admin is checked as a superuser below
        params = _params(route)
        if "format" in params:
            continue
        seen.setdefault(name or route, (name, route, params))
    return list(seen.values())


def _url(name: str, route: str, params: tuple[str, ...], ids: dict[str, int]) -> str:
    kwargs = {}
    for param in params:
        kind = _kind_of(param, route)
        is_int = f"<int:{param}>" in route or param in ("pk", "id") or param.endswith(("_pk", "_id"))
        kwargs[param] = ids.get(kind, 1) if is_int else "approve"
    if name:
        return reverse(name, kwargs=kwargs)
    path = route
    for k, v in kwargs.items():
        path = re.sub(r"<(?:\w+:)?" + k + ">", str(v), path)
    return "/" + path


def _client(user) -> APIClient:
    client = APIClient()
    client.raise_request_exception = False
    if user is not None:
        verified_login(client, user)
    return client


def _text(response) -> str:
    body = b"" if getattr(response, "streaming", False) else response.content
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    return headers + "\n" + body.decode("utf-8", "replace")


def test_source_reference_reaches_only_the_requester_and_the_deciding_officer_once(world, settings):
    settings.SOURCE_KEY, settings.SOURCE_KEY_ID, settings.SOURCE_KEY_FILE = KEY, "exh1", None
    campaign = disagreeing_campaign(world, sample_size=2)
    cc = campaign.campaign_cases.select_related("campaign", "case").order_by("pk").first()
    ciphertext = encrypt_source_reference(PLAIN, current_source_key())
    Case.objects.filter(pk=cc.case_id).update(source_reference=ciphertext, source_reference_key_id="exh1")
    cc.case.refresh_from_db()
    session = plan(world)
    sittings_services.session_start(actor=world.secretary, session=session)
    present_quorum(session, world.secretary)

    report = vigilance_create(actor=world.quality, committee=world.committee, ai_system=world.ai_system,
                              event_date=cc.case.exam_date, description="Fracture manquée.", campaign_case=cc)
    action = sittings_services.action_create(actor=world.secretary, committee=world.committee, kind="other",
                                             title="Rappel", owner=world.quality,
                                             due_date=cc.case.exam_date.replace(year=2099))
    request = services.reidentification_request(
        actor=world.chair, campaign_case=cc, justification="Fracture manquée par l'IA et le clinicien : rappel.")
    services.reidentification_approve(actor=world.dpo, request=request, comment="Justifié.")
    chair_other = UserFactory(role="chair", username="chair_other")
    MemberFactory(committee=world.committee, user=chair_other, role="chair")
    users = {
        "quality": world.quality, "clinician": world.clinicians[0], "patient_rep": world.patient_reps[0],
        "chair_other": chair_other, "secretary": world.secretary, "management": world.management,
        "admin": world.admin, "dpo_other": UserFactory(role="dpo", username="dpo_other"), "anonymous": None,
        "requester": world.chair, "deciding_dpo": world.dpo,
    }
    ids = {
        "campaign_case": cc.pk, "case": cc.case_id, "campaign": campaign.pk, "committee": world.committee.pk,
        "ai_system": world.ai_system.pk, "assignment": cc.assignments.order_by("pk").first().pk,
        "session": session.pk, "agenda_item": session.items.get(campaign_case=cc).pk, "action": action.pk,
        "vigilance_report": report.pk, "reidentification_request": request.pk,
    }
    endpoints = _endpoints()
    urls = [_url(name, route, params, ids) for name, route, params in endpoints]
    reveal_urls = [u for (name, _r, _p), u in zip(endpoints, urls, strict=True) if "reveal" in name]
    assert f"/api/reidentification-requests/{request.pk}/reveal/" in reveal_urls

    shown: list[tuple[str, str, str]] = []  # (who, method, url) of each response carrying the value
    problems: list[str] = []

    def check(who, method, url, response):
        text = _text(response)
        if response.status_code >= 500:
            problems.append(f"{who} {method} {url}: server error {response.status_code}")
        if ciphertext in text:
            problems.append(f"{who} {method} {url}: the ciphertext")
        if PLAIN in text:
            shown.append((who, method, url))
            if text.count(PLAIN) != 1:
                problems.append(f"{who} {method} {url}: the value {text.count(PLAIN)} times")

    def get_everything(who):
        client = _client(users[who])
        for url in urls:
            check(who, "GET", url, client.get(url, HTTP_ACCEPT="application/json" if url.startswith("/api/")
                                              else "text/html"))
            if url.startswith("/api/"):
                check(who, "GET(html)", url, client.get(url, HTTP_ACCEPT="text/html"))

    def post_reveals(who):
        client = _client(users[who])
        for url in reveal_urls:
            check(who, "POST", url, client.post(url, {}))

    for who in OTHER_ROLES:
        get_everything(who)
        post_reveals(who)
    assert (shown, problems) == ([], [])

    for who in ("requester", "deciding_dpo"):
        post_reveals(who)  # the first reveal URL shows it; every later one answers "already shown"
        post_reveals(who)
        get_everything(who)
    assert problems == []
    assert shown == [("requester", "POST", reveal_urls[0]), ("deciding_dpo", "POST", reveal_urls[0])]
    assert ReidentificationRequest.objects.get(pk=request.pk).state == "completed"

    for who in [*OTHER_ROLES, "requester", "deciding_dpo"]:  # and afterwards, nobody again
        post_reveals(who)
    assert len(shown) == 2 and problems == []


def test_source_reference_absent_from_the_django_admin(world, settings, client):
    settings.SOURCE_KEY, settings.SOURCE_KEY_ID, settings.SOURCE_KEY_FILE = KEY, "exh1", None
    cc = disagreeing_campaign(world, sample_size=2).campaign_cases.select_related("campaign", "case").first()
    ciphertext = encrypt_source_reference(PLAIN, current_source_key())
    Case.objects.filter(pk=cc.case_id).update(source_reference=ciphertext, source_reference_key_id="exh1")
    cc.case.refresh_from_db()
    request = services.reidentification_request(
        actor=world.chair, campaign_case=cc, justification="Fracture manquée par l'IA et le clinicien : rappel.")
    services.reidentification_approve(actor=world.dpo, request=request, comment="Justifié.")
    services.reidentification_reveal(actor=world.chair, request=request)
    services.reidentification_reveal(actor=world.dpo, request=request)
    root = UserFactory(username="root", is_staff=True, is_superuser=True, role="admin")
    verified_login(client, root)

    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{prefix}_changelist"))
        pages += [reverse(f"{prefix}_change", args=[pk])
                  for pk in itertools.islice(model.objects.values_list("pk", flat=True), 200)]
    bodies = {url: client.get(url) for url in pages}

    assert all(r.status_code == 200 for r in bodies.values()), {u: r.status_code for u, r in bodies.items()}
    assert [u for u, r in bodies.items() if PLAIN in r.content.decode() or ciphertext in r.content.decode()] == []
