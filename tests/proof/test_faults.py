"""Faults on the embedded database (SQLite file): a check-in killed midway and a kiosk
form submitted twice at once. tests/postgres/test_faults.py runs the same on PostgreSQL;
tests/proof/test_workers.py kills Daphne workers and restarts Redis.
"""

from __future__ import annotations

import pytest

from queueing.models import Ticket, TicketEvent
from tests.proof.support import (
    KILL_POINTS,
    assert_event_log_gap_free,
    checkin_in_child,
    double_clicked_checkin,
    floor_rows,
    kill_checkin_midway,
)
from tests.queueing.factories import issue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("pause", KILL_POINTS)
def test_a_checkin_killed_midway_leaves_nothing_and_no_gap(
    pause, center, wallet_case_type, reception
):
    first = issue(center, wallet_case_type, by=reception, name="Before")
    kill_checkin_midway(center, wallet_case_type, pause, key=f"killed-{pause}")
    # The database is not left locked, and numbering goes on without a gap.
    after = issue(center, wallet_case_type, by=reception, name="After")
    assert after.ticket.number == first.ticket.number + 1
    assert_event_log_gap_free(center)


def test_a_checkin_that_is_not_killed_writes_all_of_it(center, wallet_case_type):
    before = floor_rows(center)
    ticket = Ticket.objects.select_related("case__visit__visitor").get(
        pk=checkin_in_child(center, wallet_case_type, key="whole")
    )
    assert ticket.case.visit.idempotency_key == "whole"
    assert TicketEvent.objects.filter(ticket=ticket, kind="ISSUED").count() == 1
    after = floor_rows(center)
    assert [
        after[name] - before[name] for name in ("visitors", "visits", "cases", "tickets", "events")
    ] == [1] * 5
    assert_event_log_gap_free(center)


def test_a_kiosk_form_submitted_twice_at_once_issues_one_ticket(
    center, wallet_case_type, reception
):
    double_clicked_checkin(center, wallet_case_type, reception)
    assert_event_log_gap_free(center)
