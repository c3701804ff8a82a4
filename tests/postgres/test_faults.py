"""Faults on PostgreSQL: a check-in killed midway (SIGKILL inside its transaction) leaves
none of itself and no gap in the event log; a kiosk form submitted twice at once issues
one ticket. tests/proof/test_faults.py runs the same on the embedded SQLite."""

from __future__ import annotations

import pytest

from queueing.models import Ticket
from tests.proof.support import (
    KILL_POINTS,
    assert_event_log_gap_free,
    checkin_in_child,
    double_clicked_checkin,
    kill_checkin_midway,
)
from tests.queueing.factories import issue

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_checkin_killed_midway_leaves_nothing_and_no_gap(center, wallet_case_type, reception):
    first = issue(center, wallet_case_type, by=reception, name="Before")
    for pause in KILL_POINTS:
        kill_checkin_midway(center, wallet_case_type, pause, key=f"killed-{pause}")
    # No lock is left behind (the sequence row, the counter row): the next check-ins,
    # here and in another process, go through and number on without a gap.
    after = issue(center, wallet_case_type, by=reception, name="After")
    assert after.ticket.number == first.ticket.number + 1
    whole = Ticket.objects.get(pk=checkin_in_child(center, wallet_case_type, key="whole"))
    assert whole.number == after.ticket.number + 1
    assert_event_log_gap_free(center)


def test_a_kiosk_form_submitted_twice_at_once_issues_one_ticket(
    center, wallet_case_type, reception
):
    double_clicked_checkin(center, wallet_case_type, reception)
    assert_event_log_gap_free(center)
