"""The visitor page says why someone who came later was called first."""

import datetime as dt

import pytest

from center.clock import FixedClock, use_clock
from queueing.engine import Overtaker, why_called_first
from queueing.services import desk_open, ticket_call_next
from tests.queueing.factories import DeskFactory, issue
from tests.queueing.web import text

NINE = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai


def _other(minutes_later: int, *, service: int = 1, priority: int = 0, transferred=False):
    return Overtaker(
        issued_at=NINE + dt.timedelta(minutes=minutes_later),
        service_id=service,
        priority=priority,
        transferred=transferred,
    )


@pytest.mark.parametrize(
    ("other", "reason"),
    [
        (_other(-1, priority=1), None),  # came earlier: no explanation owed
        (_other(5, service=2), "ANOTHER_SERVICE"),
        (_other(5, transferred=True), "TRANSFERRED"),
        (_other(5, priority=1), "PRIORITY"),
        (_other(5), None),
    ],
)
def test_why_called_first(other, reason):
    assert why_called_first(issued_at=NINE, service_id=1, priority=0, other=other) == reason


def test_a_waiting_visitor_is_told_a_priority_visitor_went_first(
    client, center, case_type, open_desk, rep
):
    with use_clock(FixedClock(NINE)) as clock:
        mine = issue(center, case_type, name="Standard")
        clock.advance(minutes=3)
        elderly = issue(center, case_type, name="Elderly", needs=("ELDERLY",))
        assert ticket_call_next(desk=open_desk, by=rep) == elderly.ticket
        page = text(client.get(f"/t/{mine.token}/"))
    assert f"{elderly.ticket.code} was called before you because elderly" in page


def test_a_visitor_of_another_line_called_first_is_explained(
    client, center, case_type, wallet_case_type, wallet_service, rep2
):
    wallet_desk = DeskFactory(center=center, number=7, services=[wallet_service])
    desk_open(desk=wallet_desk, by=rep2)
    with use_clock(FixedClock(NINE)) as clock:
        mine = issue(center, case_type, name="Accounts")
        clock.advance(minutes=3)
        wallet = issue(center, wallet_case_type, name="Wallet")
        assert ticket_call_next(desk=wallet_desk, by=rep2) == wallet.ticket
        page = text(client.get(f"/t/{mine.token}/"))
    assert "waits in another line, served by other desks" in page


def test_no_explanation_when_the_order_was_kept(client, center, case_type, open_desk, rep):
    with use_clock(FixedClock(NINE)) as clock:
        first = issue(center, case_type, name="First")
        clock.advance(minutes=3)
        mine = issue(center, case_type, name="Second")
        assert ticket_call_next(desk=open_desk, by=rep) == first.ticket
        page = text(client.get(f"/t/{mine.token}/"))
    assert "was called before you" not in page
