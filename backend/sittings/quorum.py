"""The quorum rule, in one place: distinct people present, counted by seat, against the counts
the committee requires (``Committee.quorum_clinicians`` and ``quorum_patient_reps``).

Clinician experts and the chair (a clinician who also reads) count as clinicians, patient
representatives as such; someone holding two seats counts once. ``session_quorum`` asks the
database (one query); ``prefetched_quorum`` reads attendances already prefetched with their
members (no query), for lists of sessions."""

from collections.abc import Iterable
from dataclasses import dataclass

from committees.enums import READER_SEATS, MemberRole

from .enums import AttendanceStatus
from .models import Session


@dataclass(frozen=True)
class Quorum:
    clinicians_present: int
    clinicians_needed: int
    patient_reps_present: int
    patient_reps_needed: int

    @property
    def is_met(self) -> bool:
        return (self.clinicians_present >= self.clinicians_needed
                and self.patient_reps_present >= self.patient_reps_needed)

    @property
    def present(self) -> int:
        return self.clinicians_present + self.patient_reps_present

    def describe(self) -> str:
        return (f"{self.clinicians_present} of {self.clinicians_needed} clinicians and "
                f"{self.patient_reps_present} of {self.patient_reps_needed} patient representatives present")


def quorum_of_seats(committee, present_seats: Iterable[tuple[int, str]]) -> Quorum:
    """The rule itself: ``present_seats`` are the ``(user id, seat)`` pairs of the members present."""
    seats = list(present_seats)
    clinicians = {uid for uid, role in seats if role in READER_SEATS}
    patient_reps = {uid for uid, role in seats if role == MemberRole.PATIENT_REP}
    return Quorum(len(clinicians), committee.quorum_clinicians, len(patient_reps), committee.quorum_patient_reps)


def session_quorum(session: Session) -> Quorum:
    """The quorum of ``session`` as the database has it now. One query."""
    seats = session.attendances.filter(status=AttendanceStatus.PRESENT).values_list("member__user_id",
                                                                                     "member__role")
    return quorum_of_seats(session.committee, seats)


def prefetched_quorum(session: Session) -> Quorum:
    """The quorum of ``session`` from its prefetched attendances and their members (no query)."""
    return quorum_of_seats(session.committee, ((a.member.user_id, a.member.role) for a in session.attendances.all()
                                               if a.status == AttendanceStatus.PRESENT))
