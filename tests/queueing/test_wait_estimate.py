"""The status page's wait estimate when desks serve several lines, read from the database
(ticket_wait_estimate) and from one floor read (Floor.estimate): the two agree."""

import pytest

from queueing import engine
from queueing.selectors import floor_snapshot, ticket_wait_estimate, tickets_ahead
from queueing.services import desk_open
from tests.queueing.factories import issue


@pytest.mark.django_db
def test_a_line_sharing_its_desk_waits_for_the_other_lines_visitors_ahead(
    center, case_type, wallet_case_type, reception, desk, desk2, rep, rep2
):
    # Desk 1 serves ACCOUNTS and WALLET, desk 2 only ACCOUNTS.
    desk_open(desk=desk, by=rep)
    desk_open(desk=desk2, by=rep2)
    accounts = [issue(center, case_type, by=reception).ticket for _ in range(4)]
    wallet = issue(center, wallet_case_type, by=reception).ticket
    later = issue(center, case_type, by=reception).ticket

    estimate = ticket_wait_estimate(wallet, tickets_ahead(wallet))
    # Desk 1, WALLET's only desk, calls the 4 ACCOUNTS visitors ahead first too, with
    # desk 2's help: the work ahead over the two desks.
    work = (wallet_case_type.expected_service_s + 4 * case_type.expected_service_s) / 2
    assert (estimate.low_s + estimate.high_s) / 2 == pytest.approx(work, abs=1)
    alone = engine.estimate_wait(
        ahead=0,
        open_desks=1,
        service_times_s=[],
        default_service_s=wallet_case_type.expected_service_s,
    )
    assert estimate.high_s > alone.high_s

    # An ACCOUNTS visitor behind the WALLET one does not wait for it: desk 2 serves
    # ACCOUNTS alone and gets to it first.
    behind = ticket_wait_estimate(later, tickets_ahead(later))
    own_only = engine.estimate_wait(
        ahead=4, open_desks=2, service_times_s=[], default_service_s=case_type.expected_service_s
    )
    assert behind == own_only

    floor = floor_snapshot(center)
    for ticket in [*accounts, wallet, later]:
        line, ahead = floor.waiting_place(ticket.pk)
        from_floor = floor.estimate(line, ahead, ticket.case.case_type.expected_service_s)
        assert from_floor == ticket_wait_estimate(ticket, tickets_ahead(ticket)), ticket.code
