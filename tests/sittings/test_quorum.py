"""The quorum rule has one home (``sittings.quorum``): the services ask the database, the session
serializer reads prefetched attendances, and both count the same people."""

import pytest

from committees.enums import MemberRole
from sittings.models import Session
from sittings.quorum import Quorum, prefetched_quorum, session_quorum
from sittings.selectors import session_list_for_user
from sittings.services import attendance_record, session_start
from tests.factories import MemberFactory
from tests.sittings.flows import plan

pytestmark = pytest.mark.django_db


def test_quorum_counts_a_person_with_two_seats_once_and_both_readings_agree(world, django_assert_num_queries):
    # The chair also holds a clinician seat: invited twice, counted as one clinician.
    MemberFactory(committee=world.committee, user=world.chair, role=MemberRole.CLINICIAN)
    session = plan(world)
    session_start(actor=world.secretary, session=session)
    present = {world.chair.pk, world.patient_reps[0].pk}
    for attendance in session.attendances.select_related("member"):
        status = "present" if attendance.member.user_id in present else "excused"
        attendance_record(actor=world.secretary, session=session, member=attendance.member, status=status)
    assert session.attendances.filter(status="present").count() == 3

    queried = session_quorum(Session.objects.select_related("committee").get(pk=session.pk))
    listed = session_list_for_user(world.quality).get(pk=session.pk)
    with django_assert_num_queries(0):
        prefetched = prefetched_quorum(listed)

    assert queried == prefetched == Quorum(clinicians_present=1, clinicians_needed=2, patient_reps_present=1,
                                           patient_reps_needed=1)
    assert not queried.is_met
