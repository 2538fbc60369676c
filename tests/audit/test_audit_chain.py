"""The audit trail is append-only and hash-chained (DESIGN §10).

Every service write appends exactly the events it announces, each linked to the row before it
(``prev_hash``) and sealed by the SHA-256 of its canonical content, recomputed here independently
of ``audit.services``. Rows refuse to be saved again or deleted through the ORM, and tampering
done behind the application's back, directly in SQL, is caught by ``manage.py verify_audit``,
which names the first broken row. Plain database tests: they run on SQLite and on PostgreSQL.
"""

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command

from audit.models import GENESIS_HASH, AppendOnlyError, AuditEvent, ChainHead
from audit.services import audit_record
from cases.importing.service import import_cases
from cases.services import ai_system_create
from committees.enums import MemberRole
from committees.services import committee_create, member_add, member_end_term
from reviews import services
from reviews.enums import AssignmentState, CampaignState
from reviews.models import Assignment, CampaignCase
from tests.audit.support import Buffer as _Buffer
from tests.audit.support import json_param as _json_param
from tests.audit.support import keyed_hash as canonical_hash
from tests.audit.support import plain_hash, tampering
from tests.audit.support import sql as _sql
from tests.factories import UserFactory
from tests.workflows import campaign_in

pytestmark = pytest.mark.django_db

A = AssignmentState


def assert_chain_intact() -> list[AuditEvent]:
    """Every lane links from the genesis, position after position, each row sealed with the test
    audit key; each lane's head holds its last link. Returns the rows in id order."""
    rows = list(AuditEvent.objects.order_by("id"))
    lanes: dict[int, list[AuditEvent]] = {}
    for row in rows:
        lanes.setdefault(row.lane, []).append(row)
    for lane, events in lanes.items():
        prev = GENESIS_HASH
        for position, row in enumerate(events, start=1):
            assert (row.seq, row.key_id, row.prev_hash, row.hash) == (position, "atest1", prev, canonical_hash(row))
            prev = row.hash
        head = ChainHead.objects.get(id=lane)
        assert (head.last_hash, head.count) == (prev, len(events))
    return rows


class Trail:
    """Runs one service call and returns the events it appended, after checking the whole chain."""

    def __init__(self):
        self.last = 0
        self.result = None

    def __call__(self, fn, **kwargs) -> list[tuple[str, str, str]]:
        self.result = fn(**kwargs)
        rows = assert_chain_intact()
        new = [(r.action, r.object_type, r.actor_label) for r in rows if r.pk > self.last]
        self.last = rows[-1].pk if rows else 0
        return new


# --- Every write is chained --------------------------------------------------------------------


def test_audit_chain_every_service_write_appends_its_events(world):
    q, chair = world.quality, world.chair
    trail = Trail()

    assert trail(
        ai_system_create,
        actor=q,
        name="Chain AI",
        vendor="V",
        version="1.0",
        intended_use="Test",
        output_type="binary",
        labels=["fracture", "no_fracture"],
        positive_label="fracture",
    ) == [("ai_system.create", "cases.aisystem", "quality")]
    ai = trail.result
    assert trail(
        committee_create, actor=q, name="Collège chaîné", hospital_group="GHT", ai_system_ids=[ai.pk]
    ) == [("committee.create", "committees.committee", "quality")]
    assert trail(
        member_add,
        actor=q,
        committee=trail.result,
        user=UserFactory(),
        role=MemberRole.CLINICIAN,
        term_start=dt.date(2026, 1, 1),
    ) == [("member.add", "committees.member", "quality")]
    assert trail(member_end_term, actor=q, member=trail.result, term_end=dt.date(2026, 6, 30)) == [
        ("member.end_term", "committees.member", "quality")
    ]
    raw = b"accession_number;patient_id;exam_date;site;ai_label\nA1;P1;01/03/2026;Nord;fracture\n"
    assert trail(import_cases, actor=q, ai_system=world.ai_system, raw=raw, filename="a.csv") == [
        ("import.completed", "cases.importbatch", "quality")
    ]

    period = {
        "period_start": dt.date(2026, 1, 1),
        "period_end": dt.date(2026, 6, 30),
        "review_deadline": dt.date(2026, 12, 31),
    }
    assert trail(
        services.campaign_create,
        actor=q,
        ai_system=world.ai_system,
        committee=world.committee,
        name="Campagne chaînée",
        sample_size=4,
        seed=11,
        **period,
    ) == [("campaign.create", "reviews.campaign", "quality")]
    campaign = trail.result
    for name in ("schedule", "draw_sample", "start_review"):
        assert trail(getattr(services, f"campaign_{name}"), actor=q, campaign=campaign) == [
            (f"campaign.{name}", "reviews.campaign", "quality")
        ]

    ccs = list(CampaignCase.objects.filter(campaign=campaign).order_by("pk"))
    first, second, *rest = ccs
    a_open = Assignment.objects.filter(campaign_case=first, kind="clinician").order_by("pk").first()
    assert trail(services.assignment_open, actor=a_open.reviewer, assignment=a_open) == [
        ("assignment.open", "reviews.assignment", a_open.reviewer.username)
    ]
    a_decline = Assignment.objects.filter(campaign_case=second, kind="clinician").order_by("pk").first()
    who = a_decline.reviewer.username
    assert trail(
        services.assignment_decline, actor=a_decline.reviewer, assignment=a_decline, reason="Conflit"
    ) == [
        ("assignment.decline", "reviews.assignment", who),
        ("assignment.reassign", "reviews.assignment", who),
    ]
    a_expire = Assignment.objects.filter(campaign_case=second, state=A.ASSIGNED).order_by("pk").last()
    assert trail(services.assignment_expire, actor=q, assignment=a_expire) == [
        ("assignment.expire", "reviews.assignment", "quality"),
        ("assignment.reassign", "reviews.assignment", "quality"),
    ]

    # Lock every verdict: each submit is one event, the last one of a case also settles the case.
    disagree = {rest[0].pk} if rest else set()
    for cc in ccs:
        active = list(
            Assignment.objects.filter(campaign_case=cc, state__in=[A.ASSIGNED, A.OPENED]).order_by("pk")
        )
        for i, a in enumerate(active):
            if a.kind == "clinician":
                label = "no_fracture" if (cc.pk in disagree and i == 0) else "fracture"
                data = {"label": label, "confidence": 4, "rationale": "Trait."}
            else:
                data = {
                    "patient_informed": "yes",
                    "information_understandable": "yes",
                    "rights_respected": "yes",
                    "equity_concern": False,
                }
            events = trail(services.assignment_submit, actor=a.reviewer, assignment=a, data=data)
            expected = [("assignment.submit", "reviews.assignment", a.reviewer.username)]
            if i == len(active) - 1:
                cc.refresh_from_db()
                expected.append((f"campaign_case.{cc.state}", "reviews.campaigncase", a.reviewer.username))
            assert events == expected
    a = (
        Assignment.objects.filter(campaign_case=first, state=A.SUBMITTED, kind="clinician")
        .order_by("pk")
        .first()
    )
    assert trail(services.assignment_unblind, actor=a.reviewer, assignment=a) == [
        ("assignment.unblind", "reviews.assignment", a.reviewer.username)
    ]
    assert trail(
        services.assignment_classify,
        actor=a.reviewer,
        assignment=a,
        discrepancy="understandable",
        would_have_changed=False,
    ) == [("assignment.classify", "reviews.assignment", a.reviewer.username)]
    for cc in CampaignCase.objects.filter(campaign=campaign, state="needs_adjudication"):
        assert trail(
            services.adjudication_record,
            actor=chair,
            campaign_case=cc,
            label="fracture",
            reasoning="Consensus.",
        ) == [("campaign_case.adjudicate", "reviews.campaigncase", "chair")]
    for name, actor in (("close_review", q), ("start_analysis", q), ("publish", chair), ("archive", q)):
        assert trail(getattr(services, f"campaign_{name}"), actor=actor, campaign=campaign) == [
            (f"campaign.{name}", "reviews.campaign", actor.username)
        ]
    trail(
        services.campaign_create,
        actor=q,
        ai_system=world.ai_system,
        committee=world.committee,
        name="Annulée",
        sample_size=1,
        **period,
    )
    assert trail(services.campaign_cancel, actor=q, campaign=trail.result, reason="Doublon") == [
        ("campaign.cancel", "reviews.campaign", "quality")
    ]
    call_command("verify_audit", stdout=(out := _Buffer()))
    assert out.text == f"Audit trail intact: {AuditEvent.objects.count()} events verified.\n" + NO_ANCHOR


def test_audit_chain_a_refused_write_appends_nothing(world):
    campaign = campaign_in(world, CampaignState.DRAFT)
    before = AuditEvent.objects.count()
    with pytest.raises(Exception, match="Only the quality team|not allowed"):
        services.campaign_schedule(actor=world.clinicians[0], campaign=campaign)
    assert AuditEvent.objects.count() == before
    assert_chain_intact()


def test_audit_chain_event_stores_exactly_what_it_hashed(db):
    user = UserFactory(username="hasher")
    event = audit_record(
        actor=user,
        action="test.record",
        object_type="x",
        object_id="7",
        data={"b": [1, 2.5, "é"], "a": {"when": dt.date(2026, 3, 1)}, "none": None},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.data == {"a": {"when": "2026-03-01"}, "b": [1, 2.5, "é"], "none": None}
    assert (stored.lane, stored.seq, stored.key_id) == (1, 1, "atest1")
    assert (stored.prev_hash, stored.hash) == (GENESIS_HASH, canonical_hash(stored))
    assert stored.hash != plain_hash(stored)  # keyed: not computable without the audit key
    assert (stored.actor_id, stored.actor_label) == (user.pk, "hasher")
    anonymous = audit_record(actor=None, action="test.system")
    assert (anonymous.actor_id, anonymous.actor_label, anonymous.prev_hash) == (None, "system", stored.hash)


# --- Append-only through the ORM ---------------------------------------------------------------


def test_audit_chain_rows_cannot_be_saved_again_or_deleted(db):
    event = audit_record(actor=None, action="test.one", data={"n": 1})
    row = AuditEvent.objects.get(pk=event.pk)
    row.data = {"n": 2}
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.save(update_fields=["data"])
    with pytest.raises(AppendOnlyError):
        row.delete()
    assert AuditEvent.objects.get(pk=event.pk).data == {"n": 1}
    assert_chain_intact()


# --- Tampering in SQL --------------------------------------------------------------------------


@pytest.fixture
def chain(world):
    """A real trail of a dozen events, through the services."""
    campaign_in(world, CampaignState.IN_REVIEW)
    for a in Assignment.objects.order_by("pk")[:6]:
        services.assignment_open(actor=a.reviewer, assignment=a)
    rows = list(AuditEvent.objects.order_by("id"))
    assert len(rows) >= 8
    assert {r.lane for r in rows} == {1}
    call_command("verify_audit", stdout=_Buffer())
    return [r.pk for r in rows]


NO_ANCHOR = ("Warning: no anchor file is configured (CGH_AUDIT_ANCHOR_PATH): a trail cut at its end or emptied "
             "cannot be detected.\n")


def broken(pk, reason: str, checked: int) -> str:
    seq = AuditEvent.objects.values_list("seq", flat=True).get(pk=pk)
    return f"Audit trail broken at event {pk} (lane 1, position {seq}): {reason} ({checked} events verified)."


CONTENT = "its content does not match its keyed hash: it was changed, or sealed without the audit key"
LINK = "its previous-hash link does not match the event before it in its lane"


def head_broken(count: int, length: int, checked: int) -> str:
    return (f"Audit trail does not verify: the head of lane 1 counts {count} events but the lane ends at position "
            f"{length}: events were removed from its end, or the head was altered ({checked} events verified).")


def _verify_fails_with(message: str) -> None:
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit", stdout=_Buffer())
    assert str(excinfo.value) == message


def test_audit_chain_verify_passes_on_an_intact_chain(chain):
    out = _Buffer()
    call_command("verify_audit", stdout=out)
    assert out.text == f"Audit trail intact: {len(chain)} events verified.\n" + NO_ANCHOR


def test_audit_chain_update_of_data_names_that_row(chain):
    target = chain[4]
    with tampering():
        _sql("UPDATE {table} SET data = " + _json_param() + " WHERE id = %s", [json.dumps({"state": "forged"}), target])
    _verify_fails_with(broken(target, CONTENT, 4))


def test_audit_chain_update_of_actor_label_names_that_row(chain):
    target = chain[2]
    with tampering():
        _sql("UPDATE {table} SET actor_label = %s WHERE id = %s", ["somebody-else", target])
    _verify_fails_with(broken(target, CONTENT, 2))


def test_audit_chain_update_of_the_first_row_names_it(chain):
    with tampering():
        _sql("UPDATE {table} SET action = %s WHERE id = %s", ["campaign.forged", chain[0]])
    _verify_fails_with(broken(chain[0], CONTENT, 0))


def test_audit_chain_forgery_rehashed_without_the_key_is_caught_at_that_row(chain):
    """Someone who changes a row and recomputes its hash without the audit key is caught there."""
    target = chain[3]
    row = AuditEvent.objects.get(pk=target)
    row.actor_label = "forger"
    with tampering():
        _sql("UPDATE {table} SET actor_label = %s, hash = %s WHERE id = %s", ["forger", plain_hash(row), target])
    _verify_fails_with(broken(target, CONTENT, 3))


def test_audit_chain_forgery_rehashed_with_the_key_is_caught_at_the_next_row(chain):
    """Even with the key, a rewritten row breaks the next row's link unless the rest is rewritten too
    (which only the checkpoints outside the database catch: test_audit_anchors)."""
    target = chain[3]
    row = AuditEvent.objects.get(pk=target)
    row.actor_label = "forger"
    with tampering():
        _sql("UPDATE {table} SET actor_label = %s, hash = %s WHERE id = %s", ["forger", canonical_hash(row), target])
    _verify_fails_with(broken(chain[4], LINK, 4))


def test_audit_chain_delete_of_a_middle_row_names_the_row_after_it(chain):
    with tampering():
        _sql("DELETE FROM {table} WHERE id = %s", [chain[5]])
    _verify_fails_with(broken(chain[6], "position 6 of lane 1 is missing before it: events were deleted", 5))


def test_audit_chain_delete_of_the_last_row_is_caught_by_the_head(chain):
    with tampering():
        _sql("DELETE FROM {table} WHERE id = %s", [chain[-1]])
    _verify_fails_with(head_broken(len(chain), len(chain) - 1, len(chain) - 1))


def test_audit_chain_swap_of_two_rows_names_the_first_of_them(chain):
    i, j = chain[2], chain[6]
    columns = ["created_at", "actor_id", "actor_label", "action", "object_type", "object_id", "data", "lane", "seq",
               "key_id", "prev_hash", "hash"]
    a = AuditEvent.objects.filter(pk=i).values(*columns).get()
    b = AuditEvent.objects.filter(pk=j).values(*columns).get()
    # An UPDATE behind the model's back, in three steps because ``hash`` and (lane, seq) are unique.
    with tampering():
        AuditEvent.objects.filter(pk=j).update(hash="0" * 63 + "1", seq=10_000)
        AuditEvent.objects.filter(pk=i).update(**b)
        AuditEvent.objects.filter(pk=j).update(**a)
    # Walking the lane by position, position 3 now sits on the later row (id j): its id is higher
    # than the next position's, which is the first to be out of order.
    _verify_fails_with(
        f"Audit trail broken at event {chain[3]} (lane 1, position 4): it is out of order: its id is lower than "
        f"that of the event before it in lane 1 (3 events verified)."
    )


def test_audit_chain_swap_of_two_rows_data_names_the_first_of_them(chain):
    i, j = chain[1], chain[3]
    a, b = (AuditEvent.objects.get(pk=pk).data for pk in (i, j))
    assert a != b
    with tampering():
        _sql("UPDATE {table} SET data = " + _json_param() + " WHERE id = %s", [json.dumps(b), i])
        _sql("UPDATE {table} SET data = " + _json_param() + " WHERE id = %s", [json.dumps(a), j])
    _verify_fails_with(broken(i, CONTENT, 1))


def test_audit_chain_verify_reports_a_forged_head(chain):
    with tampering():
        ChainHead.objects.filter(id=1).update(count=len(chain) + 1)
    _verify_fails_with(head_broken(len(chain) + 1, len(chain), len(chain)))
