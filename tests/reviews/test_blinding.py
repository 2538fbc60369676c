"""Blinding, the core invariant (DESIGN §5), tested exhaustively rather than by example.

Following pretalx's rule, the module first builds a world full of data that *could* leak, each
piece a sentinel that appears nowhere else: per case an unusual AI score, an AI version, a
sampling stratum and a clinical context; per verdict a rationale or comment; per classification
a comment; per adjudication its reasoning. The world is brought through the real services to a
state where every reviewer holds cases in every assignment state (assigned, opened, submitted,
unblinded, classified, declined, expired), some cases are concordant, adjudicated or waiting for
adjudication, and some of them had a reviewer who declined or expired.

Then every URL of the project (the API router, the schema and docs, the web pages: all read from
the URL resolver at run time, so that new pages are covered without editing this file) is
requested for every object of the world, with GET, and HEAD, OPTIONS and the browsable API where
meaningful, as every reviewer and every other role. Each (endpoint, persona, state) is one test:

* a reviewer whose assignment on a case is assigned, opened, declined or expired (never locked),
  or who has no assignment on it, gets nothing sealed of that case: no AI score or version, no
  stratum, no other verdict, no classification, no adjudication, no sealed field at all (the
  AI label and the final decision are labels that the form legitimately offers, so they are
  checked as fields, not as text), and no case state that derives from other verdicts;
* once locked (submitted), the reviewer's own verdict is visible and nothing else sealed;
* once unblinded, the AI output and the final decision are visible in their own assignment;
* the chair with a blind review pending on a case gets nothing sealed of that case anywhere;
* management, the data-protection officer and anonymous callers get no case-level data at all.

The world is built once per module inside a transaction that is rolled back at the end; every
test runs in a savepoint of it, so that the POST tests of error messages change nothing.
"""

import datetime as dt
import itertools
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from rest_framework.test import APIClient

from accounts.enums import Role
from cases.importing.service import import_cases
from cases.models import Case, ImportBatch
from committees.enums import MemberRole
from reidentification.services import reidentification_request
from reviews import services
from reviews.enums import BLIND_STATES, AssignmentKind, AssignmentState
from reviews.models import Assignment, Campaign, CampaignCase
from sittings import services as sittings_services
from tests.factories import AISystemFactory, CaseFactory, CommitteeFactory, MemberFactory, UserFactory
from tests.helpers import csv_bytes
from tests.login import verified_login
from tests.workflows import present_quorum
from vigilance.models import VigilanceReport
from vigilance.services import vigilance_update

A = AssignmentState
STATES = [A.ASSIGNED, A.OPENED, A.SUBMITTED, A.UNBLINDED, A.CLASSIFIED, A.DECLINED, A.EXPIRED]
NEVER_LOCKED = {A.ASSIGNED, A.OPENED, A.DECLINED, A.EXPIRED}
LOCKABLE = {A.SUBMITTED, A.UNBLINDED, A.CLASSIFIED, A.DECLINED, A.EXPIRED}
UNBLINDED = {A.UNBLINDED, A.CLASSIFIED, A.CLOSED}
UNASSIGNED = "unassigned"

N_CASES = 14
LABELS = ["fracture", "no_fracture"]
# Fields that carry sealed data (or derive from other verdicts): a reviewer may only meet them
# inside their own unblinded assignment.
SEALED_KEYS = frozenset(
    {
        "ai_label",
        "ai_score",
        "ai_version",
        "final_label",
        "stratum",
        "reference_label",
        "other_verdicts",
        "adjudication",
        "inclusion_probability",
    }
)
# A stratified design whose strata, sizes and weights are sentinels (set on the world's campaign).
SEALED_DESIGN = {
    "type": "stratified", "strata_by": ["ai_label"], "allocation": "set",
    "sizes": {"ai_label=DESIGNSEAL001Z": 7, "ai_label=DESIGNSEAL002Z": 7},
    "oversample": {"ai_label=DESIGNSEAL001Z": 2.718281},
}
DESIGN_SENTINELS = ("DESIGNSEAL001Z", "DESIGNSEAL002Z", "2.718281", "POPHASHSEAL4242Z")
# Who may see the design of the world's campaign: the quality team and the results readers who do
# not read it blind (the chair still reads some of its cases blind).
DESIGN_READERS = frozenset({"quality", "admin", "secretary", "chair_free", "management"})
# Case states that say how the other readers answered.
DERIVED_CASE_STATES = frozenset({"reviewed", "concordant", "needs_adjudication", "adjudicated"})


def score_of(i: int) -> float:
    # 61 % to 89 %: as a percentage never a valid minute or second, so never part of a timestamp.
    return round(0.612345 + 0.021 * i, 6)


def score_forms(value: float) -> list[str]:
    """How a score may be written (in the API, a page or an export), decimal point normalised."""
    return sorted({repr(value), f"{value:.4f}", f"{value * 100:.2f}", f"{value * 100:.4f}"})


# One pass over a response finds every candidate: sentinels, and numbers (decimal point or comma)
# that could be a case's AI score.
TOKEN = re.compile(r"[A-Z]+SEAL\d+Z|(?<![\d])\d+[.,]\d+(?![\d])")


def tokens_of(text: str) -> set[str]:
    return {t.replace(",", ".") for t in TOKEN.findall(text)}


# --- URL enumeration (at collection time, from the resolver) -----------------------------------


@dataclass(frozen=True)
class Endpoint:
    id: str  # test id: the URL name
    name: str  # name to reverse ("" when unnamed)
    route: str  # the full pattern, for the id substitution and the report
    params: tuple[str, ...]
    is_api: bool
    is_list: bool


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), (f"{namespace}{p.name}" if p.name else ""), p


def _params(route: str) -> tuple[str, ...]:
    names = re.findall(r"\(\?P<(\w+)>", route) + re.findall(r"(?<!\?P)<(?:\w+:)?(\w+)>", route)
    return tuple(dict.fromkeys(names))


def enumerate_endpoints() -> list[Endpoint]:
    seen: dict[str, Endpoint] = {}
    for route, name, _pattern in _walk(get_resolver().url_patterns):
        if name.startswith("admin:") or route.startswith("admin/"):
            continue  # the Django admin is for is_staff accounts only; none of the roles here is staff
        params = _params(route)
        if "format" in params:
            continue  # DRF's format-suffix twin of a route covered under the same name
        key = name or route
        if key in seen:
            continue
        # The DRF routes answer JSON; the schema and its two documentation pages have their own media.
        is_api = route.startswith("api/") and name not in ("schema", "swagger-ui", "redoc")
        seen[key] = Endpoint(
            id=key,
            name=name,
            route=route,
            params=params,
            is_api=is_api,
            is_list=is_api and not params and name.endswith("-list"),
        )
    return list(seen.values())


ENDPOINTS = enumerate_endpoints()

READER_PERSONAS = [(kind, state) for kind in ("clinician", "patient_rep") for state in [*STATES, UNASSIGNED]
                   if not (kind == "patient_rep" and state == A.CLASSIFIED)]  # a patient rep never classifies
# The chair reads as a clinician too; as an officer, only a pending blind review hides a case.
CHAIR_PERSONAS = [("chair", A.ASSIGNED), ("chair", A.OPENED)]
OTHER_PERSONAS = [
    (role, "-") for role in ("quality", "admin", "secretary", "chair_free", "management", "dpo", "anonymous")
]
PERSONAS = READER_PERSONAS + CHAIR_PERSONAS + OTHER_PERSONAS
NO_CASE_DATA = {"management", "dpo", "anonymous"}
# The committee's work, which every member in office reads (the world's clinicians and patient
# representatives sit on its committee): there, as for the officers, only what concerns a case the
# member still reads blind is withheld, so these reads are judged case by case.
MEMBER_READ_PREFIXES = ("session-", "agenda-item-", "web:committee", "web:session", "web:case_context",
                        "web:minutes_", "reports:index", "reports:campaign", "reports:report", "campaign-results")


# --- The world ---------------------------------------------------------------------------------


@dataclass
class Response:
    method: str
    url: str
    status: int
    body: str
    tokens: set[str]  # sentinels and numbers found in the headers and the body
    data: Any  # the parsed body when it is JSON


@dataclass
class SealedWorld:
    users: dict[str, Any]  # key -> user (None for anonymous)
    persona_users: dict[tuple[str, str], list[str]]  # (kind, state) -> user keys holding that state
    campaign: Campaign
    batch: ImportBatch
    ids: dict[str, list[int]]  # kind of object -> ids
    ids_for: dict[str, dict[str, list[int]]]  # caller -> kind of object -> the ids worth requesting
    case_sealed: dict[int, list[tuple[int | None, str]]]  # case id -> (owner user id, token)
    case_context: dict[int, str]  # case id -> visible-material sentinel
    states: dict[tuple[int, int], str]  # (user id, case id) -> that user's assignment state
    assignments_of: dict[int, list[Assignment]]  # user id -> assignments
    cache: dict[tuple[str, str], list[Response]] = field(default_factory=dict)

    def user_id(self, key: str) -> int | None:
        user = self.users[key]
        return user.pk if user is not None else None


def _plan_states(by_reviewer: dict[int, list[Assignment]], rng: random.Random) -> dict[int, str]:
    """A target state per original assignment such that every reviewer holds every state (but a
    patient representative, who never classifies, holds no classified one), with as
    many cases as possible where every original reader ends up locked, declined or expired (so
    that, once the replacements submit, the case settles and can be adjudicated)."""
    best, best_score = None, (-1, -1)
    for _ in range(3000):
        plan: dict[int, str] = {}
        for assignments in by_reviewer.values():
            states = STATES + [A.SUBMITTED] * (len(assignments) - len(STATES))
            if assignments[0].kind == AssignmentKind.PATIENT_REP:  # never classifies a clinical discrepancy
                states = [A.UNBLINDED if x == A.CLASSIFIED else x for x in states]
            rng.shuffle(states)
            plan.update({a.pk: s for a, s in zip(assignments, states, strict=True)})
        per_case: dict[int, list[str]] = {}
        for assignments in by_reviewer.values():
            for a in assignments:
                per_case.setdefault(a.campaign_case_id, []).append(plan[a.pk])
        settled = [s for s in per_case.values() if all(x in LOCKABLE for x in s)]
        with_gap = sum(1 for s in settled if {A.DECLINED, A.EXPIRED} & set(s))
        score = (min(len(settled), 5), min(with_gap, 2))
        if score > best_score:
            best, best_score = plan, score
        if best_score == (5, 2):
            break
    return best


def _committee_objects(users, committee, flagged_cc: CampaignCase):
    """The committee's work on the sealed campaign: an open session (quorum present) whose agenda
    holds the cases before the committee, among them ``flagged_cc`` that the chair still reads
    blind, with a decision on it recorded by the other chair; an action from that decision; the
    vigilance report opened on it, completed; a re-identification request about it. Returns the
    ids per kind, and the sentinels (case id, owner allowed to see it, token) they carry."""

    secretary, chair_free = users["secretary"], users["chair_free"]
    session = sittings_services.session_create(
        actor=secretary, committee=committee, title="Séance scellée",
        scheduled_at=dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC), place="Salle du conseil")
    sittings_services.session_start(actor=secretary, session=session)
    present_quorum(session, secretary)
    items = list(session.items.order_by("position"))
    item = next(i for i in items if i.campaign_case_id == flagged_cc.pk)
    tag = f"{flagged_cc.pk:04d}Z"
    decision = sittings_services.decision_record(
        actor=chair_free, item=item, summary=f"Discussion DECSEAL{tag}", text=f"Décision DECTEXTSEAL{tag}",
        votes_for=3)
    action = sittings_services.action_create(
        actor=chair_free, committee=committee, kind="train_users", title="Former les urgentistes",
        owner=users["quality"], due_date=dt.date(2027, 6, 30), decision=decision)
    report = VigilanceReport.objects.get(campaign_case=flagged_cc)
    vigilance_update(actor=secretary, report=report, description=f"Erreur de l'IA VIGSEAL{tag}",
                     seriousness="serious_harm", patient_consequences=f"Retard VIGCONSEAL{tag}")
    request = reidentification_request(
        actor=chair_free, campaign_case=flagged_cc,
        justification=f"Rappel du patient nécessaire : REIDSEAL{tag} fracture manquée.")
    objects = {
        "session": [session.pk],
        "agenda_item": [i.pk for i in items],
        "action": [action.pk],
        "vigilance_report": [report.pk],
        "reidentification_request": [request.pk],
    }
    case_id = flagged_cc.case_id
    sealed = [(case_id, None, f"DECSEAL{tag}"), (case_id, None, f"DECTEXTSEAL{tag}"),
              (case_id, None, f"VIGSEAL{tag}"), (case_id, None, f"VIGCONSEAL{tag}"),
              (case_id, users["dpo"].pk, f"REIDSEAL{tag}")]  # the officer decides on the justification
    return objects, sealed


def build_sealed_world() -> SealedWorld:
    quality = UserFactory(role=Role.QUALITY, username="quality")
    users = {
        "quality": quality,
        "admin": UserFactory(role=Role.ADMIN, username="admin"),
        "secretary": UserFactory(role=Role.SECRETARY, username="secretary"),
        "chair": UserFactory(role=Role.CHAIR, username="chair"),
        "chair_free": UserFactory(role=Role.CHAIR, username="chair_free"),
        "management": UserFactory(role=Role.MANAGEMENT, username="management"),
        "dpo": UserFactory(role=Role.DPO, username="dpo"),
        "anonymous": None,
    }
    clinicians = [f"clin{i}" for i in range(3)]
    reps = [f"rep{i}" for i in range(2)]
    for key in clinicians:
        users[key] = UserFactory(role=Role.CLINICIAN, username=key)
    for key in reps:
        users[key] = UserFactory(role=Role.PATIENT_REP, username=key)

    ai = AISystemFactory(name="Sealed Wrist AI", labels=LABELS, positive_label=LABELS[0], version="2.1")
    committee = CommitteeFactory(ai_systems=[ai])
    MemberFactory(
        committee=committee, user=users["chair"], role=MemberRole.CHAIR, service="Direction médicale"
    )
    MemberFactory(committee=committee, user=users["secretary"], role=MemberRole.SECRETARY, service="Qualité")
    for key in clinicians:
        MemberFactory(committee=committee, user=users[key], role=MemberRole.CLINICIAN, service="Radiologie")
    for key in reps:
        MemberFactory(committee=committee, user=users[key], role=MemberRole.PATIENT_REP, service="", site="")

    rows = [
        {
            "accession_number": f"ACCSEAL{i:03d}",
            "patient_id": f"PATSEAL{i:03d}",
            "exam_date": f"{i + 1:02d}/03/2026",
            "site": "Nord",
            "service": "Urgences",
            "sex": "FM"[i % 2],
            "age": str(30 + i),
            "clinical_context": f"Chute. CONTEXTSEAL{i:03d}Z",
            "report_text": "Radiographie du poignet, deux incidences.",
            "ai_label": LABELS[i % 2],
            "ai_score": f"{score_of(i):.6f}".replace(".", ","),
            "ai_version": f"AIVERSEAL{i:03d}Z",
            "final_label": LABELS[(i // 2) % 2],
            "clinician_id": f"DRSEAL{i:03d}",
        }
        for i in range(N_CASES)
    ]
    result = import_cases(actor=quality, ai_system=ai, raw=csv_bytes(rows), filename="sealed.csv")
    assert (result.created, result.errors) == (N_CASES, [])
    cases = list(Case.objects.filter(ai_system=ai).order_by("exam_date"))
    index_of = {c.pk: i for i, c in enumerate(cases)}

    campaign = services.campaign_create(
        actor=quality,
        ai_system=ai,
        committee=committee,
        name="Campagne scellée",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 6, 30),
        sample_size=N_CASES,
        review_deadline=dt.date(2026, 12, 31),
        seed=424242,
    )
    for step in (services.campaign_schedule, services.campaign_draw_sample, services.campaign_start_review):
        campaign = step(actor=quality, campaign=campaign)
    for cc in CampaignCase.objects.filter(campaign=campaign):
        # Strata may be built on the AI output: secret like it (a stratified design would set it).
        CampaignCase.objects.filter(pk=cc.pk).update(stratum=f"STRATSEAL{index_of[cc.case_id]:03d}Z")
    # The design and the frozen protocol (strata, set sizes, over-sampling weights) and the draw's
    # seed and population hash: secret from anyone who reads the campaign blind, whatever the role.
    Campaign.objects.filter(pk=campaign.pk).update(
        design=SEALED_DESIGN, protocol={**campaign.protocol, "design": SEALED_DESIGN},
        population_hash=DESIGN_SENTINELS[-1])
    campaign.refresh_from_db()

    originals = list(Assignment.objects.filter(campaign_case__campaign=campaign).order_by("pk"))
    by_reviewer: dict[int, list[Assignment]] = {}
    for a in originals:
        by_reviewer.setdefault(a.reviewer_id, []).append(a)
    plan = _plan_states(by_reviewer, random.Random(7))
    reader_index = {u.pk: i for i, u in enumerate(users[k] for k in [*clinicians, "chair"])}

    def submit(a: Assignment) -> None:
        if a.kind == AssignmentKind.CLINICIAN:
            label = LABELS[(index_of[a.campaign_case.case_id] + reader_index[a.reviewer_id]) % 2]
            data = {"label": label, "confidence": 3, "rationale": f"RATIONALESEAL{a.pk:04d}Z"}
        else:
            data = {
                "patient_informed": "yes",
                "information_understandable": "no",
                "rights_respected": "yes",
                "equity_concern": True,
                "comments": f"REPCOMMENTSEAL{a.pk:04d}Z",
            }
        services.assignment_submit(actor=a.reviewer, assignment=a, data=data)

    for a in originals:  # first everything that reassigns, so that replacements exist
        if plan[a.pk] == A.DECLINED:
            services.assignment_decline(
                actor=a.reviewer, assignment=a, reason=f"Conflit DECLINESEAL{a.pk:04d}Z"
            )
        elif plan[a.pk] == A.EXPIRED:
            services.assignment_expire(actor=quality, assignment=a)
    # One classifying reader flags a possible adverse event on a case the chair still reads blind:
    # the case goes before the committee and a vigilance report is opened on it.
    chair_blind = {
        a.campaign_case_id for a in originals
        if a.reviewer_id == users["chair"].pk and plan[a.pk] in (A.ASSIGNED, A.OPENED)
    }
    flagged = next(
        a for a in originals
        if plan[a.pk] == A.CLASSIFIED and a.kind == AssignmentKind.CLINICIAN and a.campaign_case_id in chair_blind
    )
    for a in originals:
        target = plan[a.pk]
        if target == A.OPENED:
            services.assignment_open(actor=a.reviewer, assignment=a)
        if target in (A.SUBMITTED, A.UNBLINDED, A.CLASSIFIED):
            services.assignment_open(actor=a.reviewer, assignment=a)
            submit(a)
        if target in (A.UNBLINDED, A.CLASSIFIED):
            services.assignment_unblind(actor=a.reviewer, assignment=a)
        if target == A.CLASSIFIED:
            services.assignment_classify(
                actor=a.reviewer,
                assignment=a,
                discrepancy="understandable",
                would_have_changed=False,
                possible_adverse_event=a.pk == flagged.pk,
                comment=f"CLASSIFSEAL{a.pk:04d}Z",
            )
    # Replacement readers of cases whose original readers are all done submit too: those cases
    # settle (concordant or needs adjudication) while a declined or expired reader still holds them.
    done = {a.campaign_case_id for a in originals} - {
        a.campaign_case_id for a in originals if plan[a.pk] not in LOCKABLE
    }
    for a in Assignment.objects.filter(replaces__isnull=False, campaign_case_id__in=done, state=A.ASSIGNED):
        submit(a)
    waiting = list(CampaignCase.objects.filter(campaign=campaign, state="needs_adjudication").order_by("pk"))
    for cc in waiting[1:]:  # one stays waiting for adjudication
        services.adjudication_record(
            actor=users["chair"], campaign_case=cc, label=LABELS[0], reasoning=f"ADJSEAL{cc.pk:04d}Z"
        )
    # A protocol deviation naming a stratum built on the AI output: secret like the strata.
    services.protocol_deviation_record(
        actor=quality, campaign=campaign, item="oversample", description="Stratum DEVSEAL0000Z over-sampled",
        reason="Rare stratum.")
    # A second chair joins after the review started: an officer with no review of their own.
    MemberFactory(committee=committee, user=users["chair_free"], role=MemberRole.CHAIR, service="Direction")
    committee_objects, committee_sealed = _committee_objects(users, committee, flagged.campaign_case)

    # What each case could leak, and who may see which part of it.
    case_sealed: dict[int, list[tuple[int | None, str]]] = {}
    for c in cases:
        i = index_of[c.pk]
        case_sealed[c.pk] = [(None, form) for form in score_forms(score_of(i))]
        case_sealed[c.pk] += [(None, f"AIVERSEAL{i:03d}Z"), (None, f"STRATSEAL{i:03d}Z"), (None, "DEVSEAL0000Z")]
    assignments = list(
        Assignment.objects.filter(campaign_case__campaign=campaign)
        .select_related("campaign_case", "reviewer")
        .order_by("pk")
    )
    for a in assignments:
        sealed = case_sealed[a.campaign_case.case_id]
        sealed += [
            (a.reviewer_id, f"RATIONALESEAL{a.pk:04d}Z"),
            (a.reviewer_id, f"REPCOMMENTSEAL{a.pk:04d}Z"),
            (a.reviewer_id, f"CLASSIFSEAL{a.pk:04d}Z"),
        ]
    for cc in CampaignCase.objects.filter(campaign=campaign):
        case_sealed[cc.case_id].append((None, f"ADJSEAL{cc.pk:04d}Z"))
    for case_id, owner, token in committee_sealed:
        case_sealed[case_id].append((owner, token))

    states = {(a.reviewer_id, a.campaign_case.case_id): a.state for a in assignments}
    assignments_of: dict[int, list[Assignment]] = {}
    for a in assignments:
        assignments_of.setdefault(a.reviewer_id, []).append(a)
    kinds = {**{k: "clinician" for k in clinicians}, **{k: "patient_rep" for k in reps}, "chair": "chair"}
    persona_users: dict[tuple[str, str], list[str]] = {}
    for key, kind in kinds.items():
        uid = users[key].pk
        held = {s for (u, _c), s in states.items() if u == uid}
        if len(held) < len(cases) and kind != "chair":
            held.add(UNASSIGNED)
        for state in held:
            persona_users.setdefault((kind, state), []).append(key)
    for role, _ in OTHER_PERSONAS:
        persona_users[(role, "-")] = [role]

    ccs = {cc.case_id: cc.pk for cc in CampaignCase.objects.filter(campaign=campaign)}
    ids = {
        "case": [c.pk for c in cases],
        "campaign_case": sorted(ccs.values()),
        "assignment": [a.pk for a in assignments],
        "campaign": [campaign.pk],
        "committee": [committee.pk],
        "ai_system": [ai.pk],
        "import_batch": [result.batch.pk],
        **committee_objects,
    }
    # Which objects to request as whom. Every object a caller may see, and those that would leak the
    # most if the visibility rules slipped: for a reviewer, the other readers' assignments of the
    # cases they hold and three cases they do not hold; for a caller without any case-level access,
    # every case and one assignment per case. (Every other id answers the same 404.)
    ids_for: dict[str, dict[str, list[int]]] = {}
    for key, user in users.items():
        uid = user.pk if user is not None else None
        held = {c for (u, c) in states if u == uid}
        if held:
            not_held = [c for c in ids["case"] if c not in held][:3]
            ids_for[key] = {
                "assignment": [a.pk for a in assignments if a.campaign_case.case_id in held],
                "case": sorted(held) + not_held,
                "campaign_case": sorted(ccs[c] for c in [*held, *not_held]),
            }
        elif key in NO_CASE_DATA:
            first = {}
            for a in assignments:
                first.setdefault(a.campaign_case.case_id, a.pk)
            ids_for[key] = {"assignment": sorted(first.values())}
        else:
            ids_for[key] = {}
    return SealedWorld(
        users=users,
        persona_users=persona_users,
        campaign=campaign,
        batch=result.batch,
        ids=ids,
        ids_for=ids_for,
        case_sealed=case_sealed,
        case_context={c.pk: f"CONTEXTSEAL{index_of[c.pk]:03d}Z" for c in cases},
        states=states,
        assignments_of=assignments_of,
    )


@pytest.fixture(scope="module")
def sealed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_sealed_world()
        yield world
        transaction.set_rollback(True)


# --- Requests ----------------------------------------------------------------------------------

OBJECT_KINDS = [  # a route segment or URL parameter name -> kind of object, most specific first
    ("agenda_item", "agenda_item"),
    ("item", "agenda_item"),
    ("session", "session"),
    ("vigilance", "vigilance_report"),
    ("reidentification", "reidentification_request"),
    ("reid", "reidentification_request"),
    ("action", "action"),
    ("assignment", "assignment"),
    ("review", "assignment"),
    ("campaign_case", "campaign_case"),
    ("campaigncase", "campaign_case"),
    ("campaign", "campaign"),
    ("import_batch", "import_batch"),
    ("batch", "import_batch"),
    ("import", "import_batch"),
    ("ai_system", "ai_system"),
    ("aisystem", "ai_system"),
    ("committee", "committee"),
    ("case", "case"),
]


def _kind_of(param: str, route: str) -> str | None:
    """The kind of object a URL parameter designates: from its name (``assignment_pk``) or, for a
    generic name (``pk``), from the literal path segment just before it (``assignments/<pk>/``)."""
    before = re.split(r"\(\?P<" + param + r">|<(?:\w+:)?" + param + ">", route)[0]
    segments = [s for s in re.split(r"[/^\\]", before) if s and "(" not in s and "<" not in s]
    candidates = [param.lower()] + ([segments[-1].lower().replace("-", "_")] if segments else [])
    for text in candidates:
        for needle, kind in OBJECT_KINDS:
            if needle in text:
                return kind
    return None


def urls_for(endpoint: Endpoint, world: SealedWorld, key: str) -> list[str]:
    choices = []
    for param in endpoint.params:
        kind = _kind_of(param, endpoint.route)
        is_int = f"<int:{param}>" in endpoint.route or param in ("pk", "id") or param.endswith(("_pk", "_id"))
        # An unknown resource still gets requested: a few ids, or a few words (e.g. a transition name).
        fallback = [1, 2, 3, 999999] if is_int else ["start_review", "publish", "unknown"]
        choices.append(world.ids_for[key].get(kind) or world.ids.get(kind) or fallback)
    urls = []
    for values in itertools.product(*choices):
        kwargs = dict(zip(endpoint.params, values, strict=True))
        if endpoint.name:
            urls.append(reverse(endpoint.name, kwargs=kwargs))
        else:
            path = endpoint.route
            for k, v in kwargs.items():
                path = re.sub(r"<(?:\w+:)?" + k + ">", str(v), path)
            urls.append("/" + path)
    return urls


def _client(world: SealedWorld, key: str) -> Client:
    client = APIClient()
    client.raise_request_exception = False  # a crash is a finding of its own endpoint, not of the module
    if world.users[key] is not None:
        verified_login(client, world.users[key])
    return client


def _record(method: str, url: str, response) -> Response:
    body = b"" if getattr(response, "streaming", False) else response.content
    text = body.decode("utf-8", "replace")
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    is_json = "json" in response.get("Content-Type", "") and text
    return Response(
        method,
        url,
        response.status_code,
        text,
        tokens_of(headers + "\n" + text),
        json.loads(text) if is_json else None,
    )


THOROUGH = NO_CASE_DATA | {"chair", "clin0", "clin1", "clin2", "rep0", "rep1"}
"""Callers from whom something is hidden get every variant of every request; the others (quality,
admin, secretary, the chair without reviews) only the JSON GETs, checked for server errors."""


def fetch(world: SealedWorld, endpoint: Endpoint, key: str) -> list[Response]:
    """Every response ``key`` can get from ``endpoint``: GET on every object of the world (JSON
    for the API, ``?limit`` large enough for lists that nothing hides on page 2), then, where
    the GET answered, the browsable API, HEAD and OPTIONS. A POST-only API route answers 405
    before it looks at any object: one GET and its OPTIONS cover it."""
    cache_key = (endpoint.id, key)
    if cache_key in world.cache:
        return world.cache[cache_key]
    client = _client(world, key)
    thorough = key in THOROUGH and endpoint.id != "schema"  # the schema is the same for everyone
    out: list[Response] = []
    json_accept = {"HTTP_ACCEPT": "application/json"} if endpoint.is_api else {}
    for n, url in enumerate(urls_for(endpoint, world, key)):
        params = {"limit": 200} if endpoint.is_list else {}
        get = _record("GET", url, client.get(url, params, **json_accept))
        out.append(get)
        if thorough and n == 0:
            out.append(_record("OPTIONS", url, client.options(url, **json_accept)))
        if get.status == 405 or (world.users[key] is None and get.status != 200 and n >= 2):
            break  # answered before any object is looked at: the other ids would answer the same
        if not thorough and n >= 2:
            break  # nothing is hidden from this caller: a few objects show that the route answers
        if not thorough:
            continue
        if get.status == 200 and endpoint.is_api:
            out.append(_record("GET(html)", url, client.get(url, params, HTTP_ACCEPT="text/html")))
        if n == 0:
            out.append(_record("HEAD", url, client.head(url, **json_accept)))
    world.cache[cache_key] = out
    return out


# --- Checks ------------------------------------------------------------------------------------


def forbidden_tokens(world: SealedWorld, key: str, kind: str, state: str) -> dict[str, int]:
    """Every token ``key`` must not see in ``state`` -> the case it belongs to."""
    uid = world.user_id(key)
    out = {}
    for case_id, sealed in world.case_sealed.items():
        if kind in NO_CASE_DATA:
            parts = [t for owner, t in sealed if owner is None or owner != uid] + [world.case_context[case_id]]
        else:
            held = world.states.get((uid, case_id), UNASSIGNED)
            if held != state:
                continue
            if state in NEVER_LOCKED or state == UNASSIGNED:
                parts = [t for _, t in sealed]
                if state == UNASSIGNED:
                    parts.append(world.case_context[case_id])
            elif state == A.SUBMITTED:
                parts = [t for owner, t in sealed if owner != uid]
            else:
                continue  # unblinded: the reviewer sees the AI output of this case
        out.update(dict.fromkeys(parts, case_id))
    return out


def _allowed_context(node: dict, unblinded_ids: set[int]) -> bool:
    """The reviewer's own unblinded assignment: the one place sealed fields may appear."""
    return (
        {"id", "state", "kind"} <= node.keys() and node["id"] in unblinded_ids and node["state"] in UNBLINDED
    )


def structural_leaks(
    data: Any, *, unblinded_ids: set[int], blind_case_ids: set[int], reviewer: bool
) -> list[str]:
    """Sealed fields where they may not be. For a reviewer (or a role without case-level access):
    any sealed field or derived case state outside their own unblinded assignment. For anyone:
    a representation of a case hidden from them that carries sealed fields."""
    leaks: list[str] = []

    def walk(node: Any, path: str, allowed: bool) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]", allowed)
            return
        if not isinstance(node, dict):
            if reviewer and not allowed and isinstance(node, str) and node in DERIVED_CASE_STATES:
                leaks.append(f"{path} = {node!r}")
            return
        allowed = allowed or _allowed_context(node, unblinded_ids)
        sealed_here = sorted(SEALED_KEYS & node.keys())
        if reviewer and not allowed and sealed_here:
            leaks.append(f"{path} has {sealed_here}")
        is_hidden_case = "exam_date" in node and node.get("id") in blind_case_ids
        holds_hidden_case = isinstance(node.get("case"), dict) and node["case"].get("id") in blind_case_ids
        if (is_hidden_case or holds_hidden_case) and sealed_here and not allowed:
            leaks.append(f"{path} (a case hidden from the caller) has {sealed_here}")
        for k, v in node.items():
            walk(v, f"{path}.{k}", allowed)

    walk(data, "$", False)
    return leaks


@pytest.mark.parametrize(("kind", "state"), PERSONAS, ids=[f"{k}-{s}" for k, s in PERSONAS])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.id for e in ENDPOINTS])
def test_blinding_nothing_sealed_reaches_the_caller(sealed, db, endpoint, kind, state):
    keys = sealed.persona_users.get((kind, state))
    assert keys, f"the world has no {kind} in state {state}"
    failures = []
    for key in keys:
        uid = sealed.user_id(key)
        forbidden = forbidden_tokens(sealed, key, kind, state)
        unblinded_ids = {a.pk for a in sealed.assignments_of.get(uid, []) if a.state in UNBLINDED}
        reviewer = kind in ("clinician", "patient_rep") or kind in NO_CASE_DATA
        if kind in ("clinician", "patient_rep") and endpoint.id.startswith(MEMBER_READ_PREFIXES):
            reviewer = False
            if state not in BLIND_STATES:
                forbidden = {}
        for r in fetch(sealed, endpoint, key):
            where = f"{key} {r.method} {r.url} -> {r.status}"
            if r.status >= 500:
                failures.append(f"{where}: server error")
                continue
            for token in sorted(r.tokens & forbidden.keys()):
                failures.append(f"{where}: sealed data of case {forbidden[token]} ({token!r})")
            if key not in DESIGN_READERS:
                for token in sorted(t for t in DESIGN_SENTINELS if t in r.tokens or t in r.body):
                    failures.append(f"{where}: the campaign's design ({token!r})")
            if r.method == "GET" and r.status == 200 and "schema" not in endpoint.id:
                data = r.data
                if data is not None:
                    failures += [
                        f"{where}: {leak}"
                        for leak in structural_leaks(
                            data,
                            unblinded_ids=unblinded_ids,
                            blind_case_ids=set(forbidden.values()),
                            reviewer=reviewer,
                        )
                    ]
                elif reviewer and kind not in NO_CASE_DATA and "needs_adjudication" in r.body:
                    failures.append(f"{where}: a case state derived from other verdicts")
    assert failures == []


# --- The world itself, and what must be visible ------------------------------------------------


def test_blinding_world_covers_every_state_and_case_outcome(sealed, db):
    for kind in ("clinician", "patient_rep", "chair"):
        for state in STATES:
            if (kind, state) == ("patient_rep", A.CLASSIFIED):  # never classifies: refused (409)
                assert not sealed.persona_users.get((kind, state))
                continue
            assert sealed.persona_users.get((kind, state)), (kind, state)
    outcomes = set(CampaignCase.objects.filter(campaign=sealed.campaign).values_list("state", flat=True))
    assert {"in_review", "concordant", "needs_adjudication", "adjudicated"} <= outcomes
    # A settled case that one of its readers declined or let expire: the hardest case to keep sealed.
    gaps = CampaignCase.objects.filter(
        campaign=sealed.campaign,
        state__in=["concordant", "needs_adjudication", "adjudicated"],
        assignments__state__in=[A.DECLINED, A.EXPIRED],
    )
    assert gaps.exists()
    # Every sealed value is unique to its case and really stored.
    assert Case.objects.filter(ai_version__startswith="AIVERSEAL").count() == N_CASES


def test_blinding_staff_see_the_sentinels(sealed, db):
    """The detector works: the quality team does get every sentinel of every case."""
    body = "".join(r.body for r in fetch(sealed, _endpoint("case-list"), "quality"))
    assert len(body) > 1000
    for i, case_id in enumerate(sealed.ids["case"]):
        assert set(score_forms(score_of(i))) & tokens_of(body), case_id
        assert f"AIVERSEAL{i:03d}Z" in body
        assert sealed.case_context[case_id] in body


def test_blinding_structural_detector_flags_staff_data_for_a_reviewer(sealed, db):
    """The field detector works: the committee's case list, handed to a reviewer, is all leaks."""
    data = _get(sealed, "quality", f"/api/campaigns/{sealed.campaign.pk}/cases/", limit=200)
    leaks = structural_leaks(data, unblinded_ids=set(), blind_case_ids=set(), reviewer=True)
    assert len([x for x in leaks if "stratum" in x]) == N_CASES
    assert any("'concordant'" in x for x in leaks) and any("'needs_adjudication'" in x for x in leaks)
    hidden = structural_leaks(
        data, unblinded_ids=set(), blind_case_ids={sealed.ids["case"][0]}, reviewer=False
    )
    assert len(hidden) == 2  # the campaign case and its case


def _endpoint(name: str) -> Endpoint:
    return next(e for e in ENDPOINTS if e.name == name)


def _get(world: SealedWorld, key: str, url: str, **params) -> Any:
    response = _client(world, key).get(url, params, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, (url, response.content)
    return response.json()


@pytest.mark.parametrize("state", STATES)
def test_blinding_own_assignment_shows_what_its_state_allows(sealed, db, state):
    """assigned/opened: the case material, no verdict, no sealed field; submitted: the own verdict,
    still no AI output; unblinded and classified: the AI output and the final decision."""
    checked = 0
    for key in ("clin0", "clin1", "clin2", "rep0", "rep1", "chair"):
        uid = sealed.user_id(key)
        for a in sealed.assignments_of[uid]:
            if a.state != state:
                continue
            data = _get(sealed, key, f"/api/assignments/{a.pk}/")
            case = Case.objects.get(pk=a.campaign_case.case_id)
            assert data["state"] == state
            assert data["case"]["clinical_context"] == case.clinical_context
            own = f"RATIONALESEAL{a.pk:04d}Z" if a.kind == "clinician" else f"REPCOMMENTSEAL{a.pk:04d}Z"
            if state in NEVER_LOCKED:
                assert data["verdict"] is None
                assert SEALED_KEYS.isdisjoint(data["case"])
                assert data["is_blinded"] is (state in (A.ASSIGNED, A.OPENED))
            elif state == A.SUBMITTED:
                assert own in json.dumps(data["verdict"])
                assert SEALED_KEYS.isdisjoint(data["case"]) and "other_verdicts" not in data
            else:
                assert own in json.dumps(data["verdict"])
                assert (
                    data["case"]["ai_label"],
                    data["case"]["ai_score"],
                    data["case"]["ai_version"],
                    data["case"]["final_label"],
                ) == (case.ai_label, case.ai_score, case.ai_version, case.final_label)
            if any(e.name == "web:assignment" for e in ENDPOINTS):  # the reviewer's page says the same
                page = _client(sealed, key).get(reverse("web:assignment", kwargs={"pk": a.pk}))
                assert page.status_code == 200
                # A patient representative's page never shows the AI output: their review ends with
                # the lock, and they judge the patient's information, not the reading.
                assert (f"AIVERSEAL{sealed.ids['case'].index(case.pk):03d}Z" in page.content.decode()) is (
                    state in UNBLINDED and a.kind == "clinician"
                ), (key, a.pk, state)
            checked += 1
    assert checked


# --- Queue order, filters and sorting ----------------------------------------------------------

ORDERING_ATTEMPTS = [
    {"ordering": "ai_label"},
    {"ordering": "-ai_label"},
    {"ordering": "ai_score"},
    {"ordering": "-campaign_case__case__ai_score"},
    {"ordering": "campaign_case__case__final_label"},
    {"ordering": "campaign_case__stratum"},
    {"ai_label": LABELS[0]},
    {"ai_label": LABELS[1]},
    {"final_label": LABELS[0]},
    {"campaign_case__case__ai_label": LABELS[1]},
    {"ai_score__gte": "0.8"},
    {"stratum": "STRATSEAL000Z"},
    {"search": LABELS[0]},
    {"state": "needs_adjudication"},
]


@pytest.mark.parametrize("key", ["clin0", "clin1", "clin2", "rep0", "rep1", "chair"])
def test_blinding_queue_order_is_display_order_and_ignores_sealed_sorts_and_filters(sealed, db, key):
    uid = sealed.user_id(key)
    plain = _get(sealed, key, "/api/assignments/", limit=200)
    expected = [
        a.pk
        for a in sorted(
            Assignment.objects.filter(reviewer_id=uid), key=lambda a: (a.due_date, a.display_order)
        )
    ]
    assert [row["id"] for row in plain["results"]] == expected
    assert plain["count"] == len(expected)
    for params in ORDERING_ATTEMPTS:
        assert _get(sealed, key, "/api/assignments/", limit=200, **params) == plain, params


@pytest.mark.skipif(not any(e.name == "web:queue" for e in ENDPOINTS), reason="no web queue page")
@pytest.mark.parametrize("key", ["clin0", "rep0", "chair"])
def test_blinding_web_queue_ignores_sealed_sorts_and_filters(sealed, db, key):
    client = _client(sealed, key)

    def page(params):
        body = client.get(reverse("web:queue"), params).content.decode()
        body = body.replace("?" + urlencode(params), "")  # the page's own address, echoed (language form)
        return re.sub(r'(csrfmiddlewaretoken" value=|csrf-token" content=|X-CSRFToken": )"[^"]*"', "", body)

    plain = page({})
    for a in sealed.assignments_of[sealed.user_id(key)]:
        assert reverse("web:assignment", kwargs={"pk": a.pk}) in plain
    for params in ORDERING_ATTEMPTS:
        assert page(params) == plain, params


def test_blinding_staff_lists_ignore_sealed_filters_for_the_chair_with_blind_reviews(sealed, db):
    """The chair still reads some cases of the campaign blind: its case list (strata and inclusion
    probabilities are the design) is refused whatever the filter, and says nothing; the other
    chair gets every case."""
    url = f"/api/campaigns/{sealed.campaign.pk}/cases/"
    refused = {"code": "permission_denied",
               "detail": "Case-level results are for the quality team and the committee officers, "
                         "without blind reviews pending in the campaign.", "extra": {}}
    for params in [{}, *ORDERING_ATTEMPTS]:
        response = _client(sealed, "chair").get(url, {"limit": 200, **params}, HTTP_ACCEPT="application/json")
        assert (response.status_code, response.json()) == (403, refused), params
    assert _get(sealed, "chair_free", url, limit=200)["count"] == N_CASES


# --- Error messages ----------------------------------------------------------------------------

OWN_ATTEMPTS = [  # (action, payload): wrong payloads, and a right verdict in what may be the wrong state
    ("open", {}),
    ("submit", {"label": "NOT-A-LABEL", "confidence": 9}),
    ("submit", {"label": LABELS[1], "confidence": 3}),
    ("unblind", {}),
    ("classify", {"discrepancy": "nonsense", "would_have_changed": "maybe"}),
    ("decline", {"reason": ""}),
    ("expire", {}),
]
CAMPAIGN_ACTIONS = [
    "schedule",
    "draw_sample",
    "start_review",
    "close_review",
    "start_analysis",
    "publish",
    "archive",
    "cancel",
]


@pytest.mark.parametrize(
    ("kind", "state"),
    READER_PERSONAS + CHAIR_PERSONAS,
    ids=[f"{k}-{s}" for k, s in READER_PERSONAS + CHAIR_PERSONAS],
)
def test_blinding_error_messages_reveal_nothing_sealed(sealed, db, kind, state):
    """Every action a reviewer can attempt on the cases they hold in ``state`` (their own
    assignment, the other readers' assignments, the campaign case, the campaign), with wrong or
    incomplete payloads: 400, 403, 404 and 409 bodies carry nothing sealed of those cases, and
    what an action that succeeds answers is as blind as a GET. Each request runs in its own
    savepoint, rolled back."""
    failures = []
    for key in sealed.persona_users[(kind, state)]:
        uid = sealed.user_id(key)
        forbidden = forbidden_tokens(sealed, key, kind, state)
        if not forbidden:
            continue
        blind_cases = set(forbidden.values())
        client = _client(sealed, key)
        web_actions = {
            e.name.removeprefix("web:assignment_"): e.name
            for e in ENDPOINTS
            if e.name.startswith("web:assignment_")
        }
        # One case in this state (every case in a given state answers alike): the caller's own
        # assignment with every attempt, through the API and the web forms; the other readers'
        # assignments of it; its campaign case; and, once per caller, the campaign's transitions.
        case_id = min(blind_cases)
        attempts = []
        for a in Assignment.objects.filter(campaign_case__case_id=case_id).order_by("pk"):
            tries = OWN_ATTEMPTS if a.reviewer_id == uid else [("submit", {"label": LABELS[0]})]
            attempts += [(f"/api/assignments/{a.pk}/{action}/", p) for action, p in tries]
            attempts += [
                (reverse(web_actions[action], kwargs={"pk": a.pk}), ("form", p))
                for action, p in tries
                if action in web_actions
            ]
        cc = CampaignCase.objects.get(case_id=case_id)
        attempts += [
            (f"/api/campaign-cases/{cc.pk}/adjudicate/", {"label": "NOT-A-LABEL", "reasoning": ""}),
            (f"/api/campaign-cases/{cc.pk}/adjudicate/", {"label": LABELS[0], "reasoning": "Revu."}),
        ]
        if state == A.ASSIGNED:
            attempts += [
                (f"/api/campaigns/{sealed.campaign.pk}/{action}/", {}) for action in CAMPAIGN_ACTIONS
            ]
        for url, payload in attempts:
            sid = transaction.savepoint()
            if isinstance(payload, tuple):
                response = client.post(url, payload[1])  # a web form, urlencoded
            else:
                response = client.post(url, payload, format="json")
            transaction.savepoint_rollback(sid)
            where = f"{key} POST {url} {payload} -> {response.status_code}"
            data = (
                response.json() if response.get("Content-Type", "").startswith("application/json") else None
            )
            if response.status_code >= 500:
                failures.append(f"{where}: server error")
                continue
            if response.status_code == 200 and data is not None and data.get("state") in UNBLINDED:
                continue  # the reviewer unblinded their own locked verdict: now they may see
            failures += [
                f"{where}: sealed data of case {forbidden[t]} ({t!r})"
                for t in sorted(tokens_of(response.content.decode()) & forbidden.keys())
            ]
            if data is not None and kind in ("clinician", "patient_rep"):
                failures += [
                    f"{where}: {leak}"
                    for leak in structural_leaks(
                        data, unblinded_ids=set(), blind_case_ids=blind_cases, reviewer=True
                    )
                ]
    assert failures == []


def test_blinding_bad_label_error_names_the_choices_only(sealed, db):
    a = next(a for a in sealed.assignments_of[sealed.user_id("clin0")] if a.state == A.OPENED)
    response = _client(sealed, "clin0").post(
        f"/api/assignments/{a.pk}/submit/", {"label": "NOT-A-LABEL"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "The verdict is not complete.",
        "extra": {"label": [f"Choose one of: {', '.join(LABELS)}."]},
    }


def test_blinding_schema_lists_no_path_the_enumeration_missed(sealed, db):
    """The OpenAPI schema and the URL resolver agree: every documented path is requested above."""

    schema = _get(sealed, "quality", "/api/schema/", format="json")
    names = {e.name for e in ENDPOINTS}
    for path in schema["paths"]:
        match = resolve(re.sub(r"\{[^}]+\}", "1", path))
        assert match.url_name in names, path


# --- Who may read blind at all -----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.QUALITY, Role.ADMIN, Role.SECRETARY, Role.MANAGEMENT, Role.DPO])
def test_blinding_only_reviewer_roles_are_given_blind_reviews(sealed, db, role):
    """The quality team and the administrators see every case with its AI output (``/api/cases/``),
    management reads campaign figures: an account of such a role that was given a reading seat
    must never be handed a blind review, or it could read the AI output of its own blind case."""
    ai = AISystemFactory(name=f"Seat AI {role}")
    committee = CommitteeFactory(ai_systems=[ai])
    seated = UserFactory(role=role, username=f"seated_{role}")
    MemberFactory(committee=committee, user=seated, role=MemberRole.CLINICIAN, service="Radiologie")
    for i in range(2):
        MemberFactory(
            committee=committee,
            user=UserFactory(role=Role.CLINICIAN, username=f"seat_clin{i}_{role}"),
            role=MemberRole.CLINICIAN,
            service="Radiologie",
        )
    for i in range(3):
        CaseFactory(ai_system=ai, ai_version=f"SEATSEAL{i:03d}Z", exam_date=dt.date(2026, 3, 15))
    q = sealed.users["quality"]
    campaign = services.campaign_create(
        actor=q,
        ai_system=ai,
        committee=committee,
        name="Sièges",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 6, 30),
        sample_size=3,
        review_deadline=dt.date(2026, 12, 31),
        patient_reps_per_case=0,
        seed=1,
    )
    for step in (services.campaign_schedule, services.campaign_draw_sample, services.campaign_start_review):
        campaign = step(actor=q, campaign=campaign)

    client = APIClient()
    verified_login(client, seated)
    body = client.get("/api/cases/", {"limit": 200}, HTTP_ACCEPT="application/json").content.decode()
    seen = {t for t in tokens_of(body) if t.startswith("SEATSEAL")}
    blind = set(
        Case.objects.filter(campaign_cases__assignments__reviewer=seated).values_list("ai_version", flat=True)
    )
    assert (sorted(blind), sorted(seen & blind)) == ([], [])


# --- Committee work on sealed cases ------------------------------------------------------------


def test_blinding_committee_work_reaches_officers_but_not_the_chair_reading_blind(sealed, db):
    """The detector sees the committee's sentinels where they belong (so the exhaustive test above
    would notice them elsewhere), and the chair who still reads the flagged case blind gets the
    item withheld, the minutes without its passage, no vigilance report and no re-identification
    request of it."""
    session, report, request = (sealed.ids[k][0] for k in ("session", "vigilance_report", "reidentification_request"))
    decisions = _get(sealed, "quality", f"/api/sessions/{session}/")
    assert "DECSEAL" in json.dumps(decisions) and "DECTEXTSEAL" in json.dumps(decisions)
    assert "VIGSEAL" in json.dumps(_get(sealed, "secretary", f"/api/vigilance-reports/{report}/"))
    assert "REIDSEAL" in json.dumps(_get(sealed, "dpo", f"/api/reidentification-requests/{request}/"))

    chair = _client(sealed, "chair")
    flagged = next(i for i in _get(sealed, "quality", f"/api/sessions/{session}/")["items"] if i["decision"])
    assert sealed.states[(sealed.user_id("chair"), CampaignCase.objects.get(pk=flagged["campaign_case"]).case_id)] in (
        A.ASSIGNED, A.OPENED)
    seen = _get(sealed, "chair", f"/api/sessions/{session}/")
    assert next(i for i in seen["items"] if i["id"] == flagged["id"]) == {
        "id": flagged["id"], "session": session, "position": flagged["position"], "kind": "case", "is_withheld": True}
    minutes = _get(sealed, "chair", f"/api/sessions/{session}/minutes/")
    assert minutes["withheld_passages"] >= 1
    assert "DECSEAL" not in json.dumps(minutes) and "DECTEXTSEAL" not in json.dumps(minutes)
    assert f'data-case="{flagged["campaign_case"]}"' not in minutes["minutes_html"]
    assert chair.get(f"/api/vigilance-reports/{report}/", HTTP_ACCEPT="application/json").status_code == 404
    assert _get(sealed, "chair", "/api/reidentification-requests/")["results"] == []


# --- Score outputs of the campaign dashboard -----------------------------------------------------

SCORE_SECTION_MARKERS = ('id="score-outputs"', "figure-roc", "figure-calibration", "figure-threshold")
"""What the score-outputs section of a campaign's figures (ROC, calibration, threshold what-if)
leaves in any page, fragment or export that carries it."""
BLIND_READERS = ("chair", "clin0", "clin1", "clin2", "rep0", "rep1")
"""Every user of the world who reads cases of its campaign blind (checked by the test below)."""


def test_blinding_score_outputs_are_on_the_dashboard_for_results_readers(sealed, db):
    """The markers are real: the world's AI gives a score, and the readers of the campaign's
    figures who read none of it blind get the section."""
    url = reverse("reports:campaign", kwargs={"pk": sealed.campaign.pk})
    for key in ("quality", "secretary", "chair_free", "management"):
        body = _client(sealed, key).get(url).content.decode()
        assert all(marker in body for marker in SCORE_SECTION_MARKERS[:2]), key


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.id for e in ENDPOINTS])
def test_blinding_score_outputs_never_reach_a_blind_reader(sealed, db, endpoint):
    """Every response to every reviewer and to the chair reading cases of the campaign blind,
    on every endpoint of the project, is free of the score-outputs section."""
    assert {k for persona in READER_PERSONAS + CHAIR_PERSONAS for k in sealed.persona_users.get(persona, [])} \
        <= set(BLIND_READERS)
    leaks = [f"{key} {r.method} {r.url} -> {r.status}: {marker}"
             for key in BLIND_READERS for r in fetch(sealed, endpoint, key)
             for marker in SCORE_SECTION_MARKERS if marker in r.body]
    assert leaks == []
