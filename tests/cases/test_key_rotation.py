"""Pseudonymization key rotation (DESIGN §10): a key ring with retired keys kept for matching, so
that re-imports, opt-outs and the signer exclusion still match across a rotation; and
``rekey_pseudonyms``, after which the retired key can leave the ring. Runs on SQLite and on
PostgreSQL (there the import writes through COPY)."""

import io

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from audit.models import AuditEvent
from cases.importing.service import import_cases
from cases.models import Case, OptOut
from cases.pseudonymization import (
    PseudonymKey,
    UnknownPseudonymKey,
    key_ring,
    parse_retired_keys,
    pseudonymize,
)
from cases.services import optout_register
from reviews.eligibility import Pool, Reader

pytestmark = pytest.mark.django_db

OLD_ID, OLD_SECRET = "test1", "test-pseudonymization-key"  # the test settings' key
NEW_ID, NEW_SECRET = "k2", "second-pseudonymization-key-after-rotation"
OLD = PseudonymKey(OLD_ID, OLD_SECRET.encode())
NEW = PseudonymKey(NEW_ID, NEW_SECRET.encode())
ROTATED = dict(PSEUDONYM_KEY=NEW_SECRET, PSEUDONYM_KEY_ID=NEW_ID, PSEUDONYM_OLD_KEYS=f"{OLD_ID}:{OLD_SECRET}")
NEW_ONLY = dict(PSEUDONYM_KEY=NEW_SECRET, PSEUDONYM_KEY_ID=NEW_ID, PSEUDONYM_OLD_KEYS=None)

HEADER = "accession_number;patient_id;exam_date;site;service;ai_label;final_label;clinician_id\n"
ROWS = [
    "ACC-1;PAT-1;01/03/2026;Nord;Urgences;fracture;fracture;RPPS-1",
    "ACC-2;PAT-2;02/03/2026;Nord;Urgences;no_fracture;no_fracture;RPPS-2",
    "ACC-3;PAT-3;03/03/2026;Sud;Orthopédie;fracture;no_fracture;",
]


def csv_bytes(rows=ROWS) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


def run(world, raw: bytes):
    return import_cases(actor=world.quality, ai_system=world.ai_system, raw=raw, filename="cases.csv")


def counts(result) -> tuple:
    return result.created, result.updated, result.unchanged, [e.__dict__ for e in result.errors]


def imported(world):
    """(source key, patient pseudonym, clinician pseudonym, key id, site) of the imported cases."""
    return sorted(Case.objects.filter(ai_system=world.ai_system, import_batch__isnull=False)
                  .values_list("source_key", "patient_pseudonym", "clinician_pseudonym", "key_id", "site"))


def under(key, accession, patient, clinician, site):
    return (pseudonymize(accession, namespace="case", key=key), pseudonymize(patient, namespace="patient", key=key),
            pseudonymize(clinician, namespace="clinician", key=key) if clinician else "", key.key_id, site)


# --- The ring ----------------------------------------------------------------------------------


@pytest.mark.unit
def test_key_rotation_retired_keys_parse_from_the_environment_and_from_a_file():
    assert parse_retired_keys("k0:abc:def, k1:xyz\tk-2:q", origin="env") == [
        ("k0", "abc:def"), ("k1", "xyz"), ("k-2", "q")]
    assert parse_retired_keys("# retired in 2025\nk0:a secret with spaces\n\n k1:xyz \n", origin="file",
                              one_per_line=True) == [("k0", "a secret with spaces"), ("k1", "xyz")]
    with pytest.raises(ImproperlyConfigured, match="entry 2 is not 'id:secret'"):
        parse_retired_keys("k0:abc,nosecret", origin="CGH_PSEUDONYM_OLD_KEYS")
    with pytest.raises(ImproperlyConfigured, match="a key id is 1 to 20 letters"):
        parse_retired_keys("bad id!:abc", origin="CGH_PSEUDONYM_OLD_KEYS", one_per_line=True)


@pytest.mark.unit
def test_key_rotation_ring_from_file_and_environment(tmp_path):
    ring_file = tmp_path / "ring"
    ring_file.write_text("# id:secret\nk0:zero-secret\n", encoding="utf-8")
    with override_settings(**ROTATED, PSEUDONYM_OLD_KEYS_FILE=str(ring_file)):
        ring = key_ring()
    assert ring.current == NEW
    assert ring.retired == (OLD, PseudonymKey("k0", b"zero-secret"))
    assert ring.key_ids == (NEW_ID, OLD_ID, "k0")


@pytest.mark.unit
@pytest.mark.parametrize(("old_keys", "message"), [
    (f"{NEW_ID}:other", "The key id k2 appears twice"),
    (f"k0:{NEW_SECRET}", "The retired key k0 has the current key's secret"),
    ("k0:a,k0:b", "The key id k0 appears twice"),
])
def test_key_rotation_ring_refuses_ambiguous_keys(old_keys, message):
    with override_settings(**{**ROTATED, "PSEUDONYM_OLD_KEYS": old_keys}), \
            pytest.raises(ImproperlyConfigured, match=message):
        key_ring()


# --- Import across a rotation (CSV; COPY on PostgreSQL) --------------------------------------------


def test_key_rotation_reimport_after_rotation_adds_and_updates_nothing(world):
    first = run(world, csv_bytes())
    assert counts(first) == (3, 0, 0, [])
    before = imported(world)
    with override_settings(**ROTATED):
        again = run(world, csv_bytes())
    assert counts(again) == (0, 0, 3, [])
    assert imported(world) == before
    assert before == sorted([under(OLD, "ACC-1", "PAT-1", "RPPS-1", "Nord"),
                             under(OLD, "ACC-2", "PAT-2", "RPPS-2", "Nord"), under(OLD, "ACC-3", "PAT-3", "", "Sud")])
    assert again.batch.key_id == NEW_ID


def test_key_rotation_corrected_file_after_rotation_updates_the_matching_rows(world):
    run(world, csv_bytes())
    corrected = [ROWS[0].replace(";Nord;", ";Est;"), ROWS[1].replace("RPPS-2", "RPPS-9"), ROWS[2],
                 "ACC-4;PAT-4;04/03/2026;Nord;Urgences;fracture;fracture;RPPS-1"]
    with override_settings(**ROTATED):
        result = run(world, csv_bytes(corrected))
    assert counts(result) == (1, 2, 1, [])
    # Updated cases keep their key id, every pseudonym of a row under the same key; the new case
    # is made with the current key.
    assert imported(world) == sorted([
        under(OLD, "ACC-1", "PAT-1", "RPPS-1", "Est"), under(OLD, "ACC-2", "PAT-2", "RPPS-9", "Nord"),
        under(OLD, "ACC-3", "PAT-3", "", "Sud"), under(NEW, "ACC-4", "PAT-4", "RPPS-1", "Nord")])
    with override_settings(**ROTATED):
        assert counts(run(world, csv_bytes(corrected))) == (0, 0, 4, [])


def test_key_rotation_duplicate_rows_of_an_old_case_are_reported_once(world):
    run(world, csv_bytes())
    with override_settings(**ROTATED):
        result = run(world, csv_bytes([ROWS[0], ROWS[0].replace(";Nord;", ";Est;")]))
    assert counts(result) == (0, 0, 1, [{"line": 3, "field": "accession_number",
                                         "reason": "the same accession number appears twice"}])


def test_key_rotation_unknown_key_id_in_the_data_stops_the_import(world):
    run(world, csv_bytes())
    with override_settings(**NEW_ONLY), pytest.raises(UnknownPseudonymKey) as raised:
        run(world, csv_bytes())
    assert (raised.value.status_code, raised.value.extra) == (409, {"key_ids": [OLD_ID]})
    assert Case.objects.filter(import_batch__isnull=False).count() == 3


def test_key_rotation_unknown_key_id_is_a_409_through_the_api(world, api):
    run(world, csv_bytes())
    with override_settings(**NEW_ONLY):
        response = api(world.quality).post("/api/cases/opt-outs/", {"patient_ids": ["PAT-1"]}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "unknown_pseudonym_key"
    assert response.json()["extra"] == {"key_ids": [OLD_ID]}
    assert (OptOut.objects.count(), Case.objects.filter(is_opted_out=True).count()) == (0, 0)


# --- Opt-outs across a rotation ----------------------------------------------------------------------


def test_key_rotation_optout_under_old_key_flags_cases_imported_under_new_key(world):
    optout_register(actor=world.quality, patient_ids=["PAT-2"])
    assert list(OptOut.objects.values_list("key_id", flat=True)) == [OLD_ID]
    with override_settings(**ROTATED):
        result = run(world, csv_bytes())
    assert result.created == 3
    flagged = Case.objects.filter(is_opted_out=True)
    assert list(flagged.values_list("patient_pseudonym", "key_id")) == [
        (pseudonymize("PAT-2", namespace="patient", key=NEW), NEW_ID)]


def test_key_rotation_optout_under_new_key_flags_cases_imported_under_old_key(world):
    run(world, csv_bytes())
    with override_settings(**ROTATED):
        result = optout_register(actor=world.quality, patient_ids=["PAT-1", "PAT-3"])
        assert (result.added, result.already, result.cases_flagged) == (2, 0, 2)
        again = optout_register(actor=world.quality, patient_ids=["pat-1"])
        assert (again.added, again.already, again.cases_flagged) == (0, 1, 0)
    assert sorted(OptOut.objects.values_list("patient_pseudonym", "key_id")) == sorted([
        (pseudonymize("PAT-1", namespace="patient", key=NEW), NEW_ID),
        (pseudonymize("PAT-3", namespace="patient", key=NEW), NEW_ID)])
    assert sorted(Case.objects.filter(is_opted_out=True).values_list("patient_pseudonym", flat=True)) == sorted([
        pseudonymize("PAT-1", namespace="patient", key=OLD), pseudonymize("PAT-3", namespace="patient", key=OLD)])


def test_key_rotation_patient_registered_under_old_key_is_already_registered_after_rotation(world):
    optout_register(actor=world.quality, patient_ids=["PAT-1"])
    with override_settings(**ROTATED):
        result = optout_register(actor=world.quality, patient_ids=["PAT-1"])
    assert (result.added, result.already) == (0, 1)
    assert OptOut.objects.count() == 1


# --- Signer exclusion across a rotation --------------------------------------------------------------


def _reader(user_id, pseudonyms):
    current = pseudonyms.get(NEW_ID) or next(iter(pseudonyms.values()), "")
    return Reader(user_id, "Radiologie", current, signer_pseudonyms=pseudonyms)


@pytest.mark.unit
def test_key_rotation_signer_is_compared_under_the_case_key():
    signer_old = pseudonymize("RPPS-1", namespace="clinician", key=OLD)
    signer_new = pseudonymize("RPPS-1", namespace="clinician", key=NEW)
    other_new = pseudonymize("RPPS-2", namespace="clinician", key=NEW)
    both = _reader(1, {OLD_ID: signer_old, NEW_ID: signer_new})
    old_only = _reader(2, {OLD_ID: pseudonymize("RPPS-3", namespace="clinician", key=OLD)})
    not_a_signer = _reader(3, {})
    assert [both.signed(signer_old, OLD_ID), both.signed(signer_new, NEW_ID), both.signed(other_new, NEW_ID)] == [
        True, True, False]
    # Known only under the old key: for a case under the new key, nobody can tell: excluded.
    assert [old_only.signed(signer_old, OLD_ID), old_only.signed(signer_new, NEW_ID)] == [False, True]
    assert [not_a_signer.signed(signer_new, NEW_ID), both.signed("", NEW_ID)] == [False, False]


@pytest.mark.unit
def test_key_rotation_pool_never_picks_the_signer_and_refuses_an_unknown_key():
    signer_new = pseudonymize("RPPS-1", namespace="clinician", key=NEW)
    readers = [_reader(1, {OLD_ID: pseudonymize("RPPS-1", namespace="clinician", key=OLD), NEW_ID: signer_new}),
               _reader(2, {NEW_ID: pseudonymize("RPPS-2", namespace="clinician", key=NEW)}),
               _reader(3, {})]
    pool = Pool(readers, np.random.default_rng(1), False, key_ids=frozenset({NEW_ID, OLD_ID}))
    assert sorted(pool.pick(case_id=1, service="", signer=signer_new, signer_key_id=NEW_ID, k=2, exclude=set())) == [
        2, 3]
    assert pool.pick(case_id=2, service="", signer=signer_new, signer_key_id=NEW_ID, k=3, exclude=set()) == []
    with pytest.raises(UnknownPseudonymKey):
        pool.pick(case_id=3, service="", signer=signer_new, signer_key_id="k9", k=1, exclude=set())


def test_key_rotation_user_pseudonym_saved_without_key_id_takes_the_current_key(world):
    user = world.clinicians[0]
    user.clinician_pseudonym = pseudonymize("RPPS-1", namespace="clinician")
    user.save(update_fields=["clinician_pseudonym"])
    user.refresh_from_db()
    assert (user.clinician_key_id, user.signer_pseudonyms()) == (OLD_ID, {OLD_ID: user.clinician_pseudonym})


# --- Re-keying ----------------------------------------------------------------------------------------


def _rekey(tmp_path, world, *args):
    patients = tmp_path / "patients.txt"
    patients.write_text("PAT-1\nPAT-2\n\nPAT-3\nPAT-99\n", encoding="utf-8")
    clinicians = tmp_path / "clinicians.txt"
    clinicians.write_text("RPPS-1\nRPPS-2\n", encoding="utf-8")
    out = io.StringIO()
    with override_settings(**ROTATED):
        call_command("rekey_pseudonyms", "--user", world.admin.username, "--patient-ids", str(patients),
                     "--clinician-ids", str(clinicians), *args, stdout=out)
    return out.getvalue()


def _state():
    return (sorted(Case.objects.values_list("id", "source_key", "patient_pseudonym", "clinician_pseudonym", "key_id")),
            sorted(OptOut.objects.values_list("patient_pseudonym", "key_id")))


@pytest.fixture
def before_rotation(world):
    """Three cases, an opt-out and a signing clinician, all under the old key."""
    run(world, csv_bytes())
    optout_register(actor=world.quality, patient_ids=["PAT-2"])
    signer = world.clinicians[0]
    signer.clinician_pseudonym = pseudonymize("RPPS-1", namespace="clinician", key=OLD)
    signer.save(update_fields=["clinician_pseudonym"])
    return world


def test_key_rotation_rekey_dry_run_changes_nothing(before_rotation, tmp_path):
    world = before_rotation
    # The world's own cases (made by factories, no source reference) stay under the old key.
    state, events = _state(), AuditEvent.objects.count()
    out = _rekey(tmp_path, world, "--dry-run")
    assert (_state(), AuditEvent.objects.count()) == (state, events)
    assert out.splitlines() == [
        "[dry run] cases: would re-key 3; still under a retired key: 6 without an encrypted source reference",
        "[dry run] opt-outs: would re-key 1; still under a retired key: none",
        "[dry run] users: would re-key 1; still under a retired key: none",
        "[dry run] key test1 is still needed (9 cases, 1 opt-outs, 1 users): keep it in the ring.",
    ]


def test_key_rotation_rekey_moves_everything_then_the_old_key_can_leave_the_ring(before_rotation, tmp_path):
    world = before_rotation
    Case.objects.filter(import_batch__isnull=True).delete()  # factory cases have no source reference
    out = _rekey(tmp_path, world)
    assert out.splitlines() == [
        "cases: re-keyed 3; still under a retired key: none",
        "opt-outs: re-keyed 1; still under a retired key: none",
        "users: re-keyed 1; still under a retired key: none",
        "key test1 is no longer needed: it may leave the ring.",
    ]
    assert imported(world) == sorted([under(NEW, "ACC-1", "PAT-1", "RPPS-1", "Nord"),
                                      under(NEW, "ACC-2", "PAT-2", "RPPS-2", "Nord"),
                                      under(NEW, "ACC-3", "PAT-3", "", "Sud")])
    assert list(OptOut.objects.values_list("patient_pseudonym", "key_id")) == [
        (pseudonymize("PAT-2", namespace="patient", key=NEW), NEW_ID)]
    signer = type(world.clinicians[0]).objects.get(pk=world.clinicians[0].pk)
    assert signer.signer_pseudonyms() == {NEW_ID: pseudonymize("RPPS-1", namespace="clinician", key=NEW),
                                          OLD_ID: pseudonymize("RPPS-1", namespace="clinician", key=OLD)}
    events = list(AuditEvent.objects.filter(action="pseudonyms.rekey").order_by("id").values_list(
        "object_type", "data"))
    assert events == [
        ("cases.rekey.cases", {"table": "cases", "from": [OLD_ID], "to": NEW_ID, "rekeyed": 3, "remaining": {}}),
        ("cases.rekey.opt-outs", {"table": "opt-outs", "from": [OLD_ID], "to": NEW_ID, "rekeyed": 1,
                                  "remaining": {}}),
        ("cases.rekey.users", {"table": "users", "from": [OLD_ID], "to": NEW_ID, "rekeyed": 1, "remaining": {}}),
    ]
    # Idempotent: a second run changes nothing and says so.
    state = _state()
    assert _rekey(tmp_path, world).splitlines()[:3] == [
        "cases: re-keyed 0; still under a retired key: none",
        "opt-outs: re-keyed 0; still under a retired key: none",
        "users: re-keyed 0; still under a retired key: none",
    ]
    assert _state() == state
    # The old key leaves the ring: everything still matches.
    with override_settings(**NEW_ONLY):
        assert counts(run(world, csv_bytes())) == (0, 0, 3, [])
        result = optout_register(actor=world.quality, patient_ids=["PAT-2", "PAT-3"])
        assert (result.added, result.already, result.cases_flagged) == (1, 1, 1)
        reader = Reader(signer.pk, "", signer.clinician_pseudonym, signer_pseudonyms=signer.signer_pseudonyms())
        case = Case.objects.get(source_key=pseudonymize("ACC-1", namespace="case", key=NEW))
        assert reader.signed(case.clinician_pseudonym, case.key_id) is True
    assert sorted(Case.objects.filter(is_opted_out=True).values_list("patient_pseudonym", flat=True)) == sorted([
        pseudonymize("PAT-2", namespace="patient", key=NEW), pseudonymize("PAT-3", namespace="patient", key=NEW)])


def test_key_rotation_rekey_without_identifier_files_keeps_what_it_cannot_remake(before_rotation, tmp_path):
    world = before_rotation
    Case.objects.filter(import_batch__isnull=True).delete()
    out = io.StringIO()
    with override_settings(**ROTATED):
        call_command("rekey_pseudonyms", "--user", world.dpo.username, stdout=out)
    assert out.getvalue().splitlines() == [
        "cases: re-keyed 0; still under a retired key: 3 whose patient is not in the identifier file",
        "opt-outs: re-keyed 0; still under a retired key: 1 whose patient is not in the identifier file",
        "users: re-keyed 0; still under a retired key: 1 not in the identifier file",
        "key test1 is still needed (3 cases, 1 opt-outs, 1 users): keep it in the ring.",
    ]
    assert imported(world)[0][3] == OLD_ID


def test_key_rotation_rekey_is_for_administrators_and_the_dpo_only(before_rotation, tmp_path):
    state, events = _state(), AuditEvent.objects.count()
    with override_settings(**ROTATED), pytest.raises(CommandError, match="Only an administrator or the data"):
        call_command("rekey_pseudonyms", "--user", before_rotation.quality.username, stdout=io.StringIO())
    assert (_state(), AuditEvent.objects.count()) == (state, events)


def test_key_rotation_rekey_refuses_data_under_a_key_the_ring_lacks(before_rotation):
    with override_settings(**{**NEW_ONLY, "PSEUDONYM_OLD_KEYS": "k0:some-other-retired-key"}), \
            pytest.raises(CommandError, match="key id\\(s\\) test1, which the key ring does not hold"):
        call_command("rekey_pseudonyms", "--user", before_rotation.admin.username, stdout=io.StringIO())

