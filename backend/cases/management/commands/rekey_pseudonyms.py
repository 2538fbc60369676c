"""``manage.py rekey_pseudonyms --user USERNAME [--patient-ids FILE] [--clinician-ids FILE]
[--from KEY_ID ...] [--dry-run]``: moves stored pseudonyms from retired keys to the current key.

No correspondence table exists, so a pseudonym can only be re-made from its source identifier:

- a case is re-keyed when all of its pseudonyms can be: its source key from the encrypted accession
  number (needs ``CGH_SOURCE_KEY``; the decrypted number must give back the stored source key), its
  patient pseudonym from ``--patient-ids`` (e.g. the hospital information system's extract of
  patient identifiers) and its signer's pseudonym, if any, from ``--clinician-ids`` (e.g. the staff
  directory's RPPS numbers); otherwise it stays under its retired key;
- an opt-out is re-keyed from ``--patient-ids`` (give the opt-out register);
- a user's clinician pseudonym is re-keyed from ``--clinician-ids``; the user also keeps their
  pseudonym under every retired key of the ring, for the cases still stored under one.

Identifier files hold one identifier per line (UTF-8, blank lines ignored); they are read, never
stored, and never written to the output or the audit trail. Each table is re-keyed in its own
transaction (cases, opt-outs, users), with one audit event of counts; the command only touches
rows still under a retired key, so a second run changes nothing and an interrupted run resumes.
The report says, per retired key, what still needs it: a key may leave the ring
(``CGH_PSEUDONYM_OLD_KEYS``) once nothing does.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.enums import Role
from audit.services import audit_record
from cases.models import Case, OptOut
from cases.pseudonymization import KeyRing, PseudonymKey, key_ring, pseudonymize
from cases.source_reference import current_source_key, decrypt_source_reference

BATCH = 2000


def read_identifiers(path: str | None) -> Iterator[list[str]]:
    """Identifiers of a file, in batches (the file may be a whole patient extract)."""
    if not path:
        return
    batch: list[str] = []
    try:
        with Path(path).open(encoding="utf-8-sig") as stream:
            for line in stream:
                value = line.strip()
                if value:
                    batch.append(value)
                if len(batch) >= BATCH:
                    yield batch
                    batch = []
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
    if batch:
        yield batch


def translation(path: str | None, *, namespace: str, ring: KeyRing, retired: list[PseudonymKey],
                present: Callable[[str, list[str]], set[str]]) -> dict[tuple[str, str], str]:
    """{(retired key id, pseudonym under it): pseudonym under the current key} for the identifiers of
    ``path`` whose retired pseudonym is stored (``present(key_id, pseudonyms)``): memory follows the
    rows to re-key, not the size of the file."""
    out: dict[tuple[str, str], str] = {}
    for batch in read_identifiers(path):
        for key in retired:
            old = {pseudonymize(v, namespace=namespace, key=key): v for v in batch}
            for pseudonym in present(key.key_id, list(old)):
                out[(key.key_id, pseudonym)] = pseudonymize(old[pseudonym], namespace=namespace, key=ring.current)
    return out


class Command(BaseCommand):
    help = ("Move stored pseudonyms from retired keys to the current key (cases, opt-outs, clinicians), "
            "and report what still needs each retired key.")

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username of the administrator or DPO running it")
        parser.add_argument("--patient-ids", help="file of source patient identifiers, one per line")
        parser.add_argument("--clinician-ids", help="file of source clinician identifiers, one per line")
        parser.add_argument("--from", dest="key_ids", action="append", default=[],
                            help="re-key only this retired key id (repeatable; default: every retired key)")
        parser.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")

    def handle(self, *args, **options):
        User = get_user_model()
        try:
            self.actor = User.objects.get(username=options["user"], is_active=True)
        except User.DoesNotExist as exc:
            raise CommandError(f"No active user {options['user']!r}.") from exc
        if not self.actor.has_role(Role.ADMIN, Role.DPO):
            raise CommandError("Only an administrator or the data-protection officer may re-key pseudonyms.")
        try:
            ring = key_ring()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        wanted = options["key_ids"]
        unknown = set(wanted) - {k.key_id for k in ring.retired}
        if unknown:
            raise CommandError(f"Not a retired key of the ring: {', '.join(sorted(unknown))}.")
        retired = [k for k in ring.retired if not wanted or k.key_id in wanted]
        in_data = (set(Case.objects.order_by().values_list("key_id", flat=True).distinct())
                   | set(OptOut.objects.order_by().values_list("key_id", flat=True).distinct())
                   | set(User.objects.exclude(clinician_key_id="").order_by()
                         .values_list("clinician_key_id", flat=True).distinct()))
        missing = in_data - set(ring.key_ids)
        if missing:
            raise CommandError(f"Pseudonyms were made with key id(s) {', '.join(sorted(missing))}, which the key ring "
                               "does not hold: add them to CGH_PSEUDONYM_OLD_KEYS first.")
        self.dry_run = options["dry_run"]
        self.ring, self.retired = ring, retired
        self.retired_ids = [k.key_id for k in retired]
        prefix = "[dry run] " if self.dry_run else ""
        if not retired:
            self.stdout.write(f"{prefix}No retired key in the ring: nothing to re-key.")
            return
        patients = translation(options["patient_ids"], namespace="patient", ring=ring, retired=retired,
                               present=self._patients_present)
        clinicians = translation(options["clinician_ids"], namespace="clinician", ring=ring, retired=retired,
                                 present=self._clinicians_present)
        clinician_ids = [v for batch in read_identifiers(options["clinician_ids"]) for v in batch]
        for table, step in (("cases", lambda: self._cases(patients, clinicians)),
                            ("opt-outs", lambda: self._optouts(patients)),
                            ("users", lambda: self._users(clinician_ids))):
            with transaction.atomic():
                rekeyed, remaining = step()
                if not self.dry_run:
                    audit_record(actor=self.actor, action="pseudonyms.rekey", object_type=f"cases.rekey.{table}",
                                 data={"table": table, "from": self.retired_ids, "to": ring.current.key_id,
                                       "rekeyed": rekeyed, "remaining": dict(sorted(remaining.items()))})
            left = ", ".join(f"{n} {reason}" for reason, n in sorted(remaining.items())) or "none"
            verb = "would re-key" if self.dry_run else "re-keyed"
            self.stdout.write(f"{prefix}{table}: {verb} {rekeyed}; still under a retired key: {left}")
        still = self._still_needed()
        for key_id in self.retired_ids:
            needs = still.get(key_id)
            if needs:
                detail = ", ".join(f"{n} {what}" for what, n in sorted(needs.items()))
                self.stdout.write(f"{prefix}key {key_id} is still needed ({detail}): keep it in the ring.")
            else:
                self.stdout.write(f"{prefix}key {key_id} is no longer needed: it may leave the ring.")

    # --- What exists under a retired key -----------------------------------------------------------

    def _patients_present(self, key_id: str, pseudonyms: list[str]) -> set[str]:
        return (set(Case.objects.filter(key_id=key_id, patient_pseudonym__in=pseudonyms)
                    .values_list("patient_pseudonym", flat=True))
                | set(OptOut.objects.filter(key_id=key_id, patient_pseudonym__in=pseudonyms)
                      .values_list("patient_pseudonym", flat=True)))

    def _clinicians_present(self, key_id: str, pseudonyms: list[str]) -> set[str]:
        return set(Case.objects.filter(key_id=key_id, clinician_pseudonym__in=pseudonyms)
                   .values_list("clinician_pseudonym", flat=True))

    def _still_needed(self) -> dict[str, Counter]:
        User = get_user_model()
        still: dict[str, Counter] = {}
        for label, qs, field in (
            ("cases", Case.objects, "key_id"),
            ("opt-outs", OptOut.objects, "key_id"),
            ("users", User.objects.exclude(clinician_pseudonym=""), "clinician_key_id"),
        ):
            for key_id in self.retired_ids:
                n = qs.filter(**{field: key_id}).count()
                if n:
                    still.setdefault(key_id, Counter())[label] = n
        return still

    # --- Cases -------------------------------------------------------------------------------------

    def _cases(self, patients: dict, clinicians: dict) -> tuple[int, Counter]:
        """Re-keys the cases whose every pseudonym can be re-made; the others keep their key id."""
        current = self.ring.current
        keys = {k.key_id: k for k in self.retired}
        source_key = current_source_key()
        rekeyed, remaining = 0, Counter()
        qs = (Case.objects.select_for_update().filter(key_id__in=self.retired_ids).order_by("id")
              .only("id", "ai_system_id", "key_id", "source_key", "patient_pseudonym", "clinician_pseudonym",
                    "source_reference", "source_reference_key_id"))
        batch: list[Case] = []

        def flush():
            nonlocal rekeyed
            if not batch:
                return
            # A case already imported under the current key with the same accession number (imported
            # twice, across keys, before matching followed rotations) cannot take its source key.
            taken = set(Case.objects.filter(key_id=current.key_id, source_key__in=[c.source_key for c in batch])
                        .values_list("ai_system_id", "source_key"))
            ok = [c for c in batch if (c.ai_system_id, c.source_key) not in taken]
            if len(ok) < len(batch):
                remaining["already imported under the current key"] += len(batch) - len(ok)
            if ok and not self.dry_run:
                Case.objects.bulk_update(ok, ["source_key", "patient_pseudonym", "clinician_pseudonym", "key_id"],
                                         batch_size=500)
            rekeyed += len(ok)
            batch.clear()

        for case in qs.iterator(chunk_size=BATCH):
            key = keys[case.key_id]
            if not case.source_reference:
                remaining["without an encrypted source reference"] += 1
                continue
            if source_key is None or case.source_reference_key_id != source_key.key_id:
                remaining["without the source key of their reference"] += 1
                continue
            accession = decrypt_source_reference(case.source_reference, source_key)
            if pseudonymize(accession, namespace="case", key=key) != case.source_key:
                remaining["whose source reference does not match"] += 1
                continue
            patient = patients.get((case.key_id, case.patient_pseudonym))
            if patient is None:
                remaining["whose patient is not in the identifier file"] += 1
                continue
            clinician = ""
            if case.clinician_pseudonym:
                clinician = clinicians.get((case.key_id, case.clinician_pseudonym))
                if clinician is None:
                    remaining["whose signer is not in the identifier file"] += 1
                    continue
            case.source_key = pseudonymize(accession, namespace="case", key=current)
            case.patient_pseudonym, case.clinician_pseudonym, case.key_id = patient, clinician, current.key_id
            batch.append(case)
            if len(batch) >= BATCH:
                flush()
        flush()
        return rekeyed, remaining

    # --- Opt-outs ----------------------------------------------------------------------------------

    def _optouts(self, patients: dict) -> tuple[int, Counter]:
        current = self.ring.current.key_id
        rekeyed, remaining = 0, Counter()
        rows = list(OptOut.objects.select_for_update().filter(key_id__in=self.retired_ids).order_by("id"))
        moved = {o.pk: patients.get((o.key_id, o.patient_pseudonym)) for o in rows}
        # A patient registered again under the current key: the retired row is a duplicate.
        registered = set(OptOut.objects.filter(key_id=current, patient_pseudonym__in=[p for p in moved.values() if p])
                         .values_list("patient_pseudonym", flat=True))
        update, delete = [], []
        for o in rows:
            new = moved[o.pk]
            if new is None:
                remaining["whose patient is not in the identifier file"] += 1
            elif new in registered:
                delete.append(o.pk)
            else:
                o.patient_pseudonym, o.key_id = new, current
                update.append(o)
        if not self.dry_run:
            OptOut.objects.filter(pk__in=delete).delete()
            OptOut.objects.bulk_update(update, ["patient_pseudonym", "key_id"], batch_size=500)
        rekeyed = len(update) + len(delete)
        return rekeyed, remaining

    # --- Users -------------------------------------------------------------------------------------

    def _users(self, clinician_ids: list[str]) -> tuple[int, Counter]:
        """Each clinician of the file found among the users (by their pseudonym under its key) gets
        their pseudonym under the current key, and under every retired key in
        ``clinician_retired_pseudonyms`` for the cases still stored under one."""
        User = get_user_model()
        ring = self.ring
        by_key: dict[tuple[str, str], str] = {}
        for value in clinician_ids:
            for key in ring.keys:
                by_key[(key.key_id, pseudonymize(value, namespace="clinician", key=key))] = value
        rekeyed, remaining = 0, Counter()
        users = list(User.objects.select_for_update().exclude(clinician_pseudonym="").order_by("id"))
        changed = []
        for user in users:
            value = by_key.get((user.clinician_key_id, user.clinician_pseudonym))
            if value is None:
                if user.clinician_key_id in self.retired_ids:
                    remaining["not in the identifier file"] += 1
                continue
            pseudonyms = ring.pseudonyms(value, namespace="clinician")
            target = (pseudonyms[ring.current.key_id], ring.current.key_id,
                      {k.key_id: pseudonyms[k.key_id] for k in ring.retired})
            if (user.clinician_pseudonym, user.clinician_key_id, user.clinician_retired_pseudonyms) == target:
                continue
            user.clinician_pseudonym, user.clinician_key_id, user.clinician_retired_pseudonyms = target
            changed.append(user)
        if not self.dry_run:
            User.objects.bulk_update(changed, ["clinician_pseudonym", "clinician_key_id",
                                               "clinician_retired_pseudonyms"], batch_size=500)
        rekeyed = len(changed)
        return rekeyed, remaining
