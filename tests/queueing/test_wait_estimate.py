"""The status page's wait estimate when desks serve several lines, when a desk is on a
break and when visitors ahead tend to leave, read from the database
(ticket_wait_estimate) and from one floor read (Floor.estimate): the two agree."""

import datetime as dt

import pytest

from center import clock
from queueing import engine
from queueing.models import Desk, Ticket
from queueing.selectors import floor_snapshot, ticket_wait_estimate, tickets_ahead
from queueing.services import desk_open, desk_pause
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


@pytest.mark.django_db
def test_a_desk_on_a_break_counts_again_once_the_centers_usual_pause_is_over(
    center, case_type, reception, desk, desk2, rep, rep2
):
    """Two ACCOUNTS desks, one paused 10 minutes ago in a center whose pauses last 30:
    the 20 minutes left of it are worked by one desk, the rest by both."""
    center.desk_pause_minutes = 30
    center.save()
    desk_open(desk=desk, by=rep)
    desk_open(desk=desk2, by=rep2)
    tickets = [issue(center, case_type, by=reception).ticket for _ in range(6)]
    desk_pause(desk=desk2, by=rep2)
    Desk.objects.filter(pk=desk2.pk).update(
        status_changed_at=clock.now() - dt.timedelta(minutes=10)
    )
    last = tickets[-1]
    work = 6 * case_type.expected_service_s

    estimate = ticket_wait_estimate(last, tickets_ahead(last))

    one_desk_for = 20 * 60
    expected = work if work <= one_desk_for else one_desk_for + (work - one_desk_for) / 2
    assert (estimate.low_s + estimate.high_s) / 2 == pytest.approx(expected, abs=2)
    # Without the paused desk the wait would be the whole work on one desk.
    assert (estimate.low_s + estimate.high_s) / 2 < work
    floor = floor_snapshot(center)
    for ticket in tickets:
        line, ahead = floor.waiting_place(ticket.pk)
        from_floor = floor.estimate(line, ahead, ticket.case.case_type.expected_service_s)
        assert from_floor == ticket_wait_estimate(ticket, tickets_ahead(ticket)), ticket.code


@pytest.mark.django_db
def test_visitors_ahead_who_tend_to_leave_count_for_less(center, case_type, reception, desk, rep):
    """Of the line's last 20 visitors, 5 walked out before their call: of 8 ahead, 6 are
    expected at the desk."""
    desk_open(desk=desk, by=rep)
    for n in range(20):
        ticket = issue(center, case_type, by=reception).ticket
        status = Ticket.Status.WALKOUT if n % 4 == 0 else Ticket.Status.NO_SHOW
        Ticket.objects.filter(pk=ticket.pk).update(status=status, finished_at=clock.now())
    waiting = [issue(center, case_type, by=reception).ticket for _ in range(9)]
    last = waiting[-1]

    estimate = ticket_wait_estimate(last, tickets_ahead(last))

    assert (estimate.low_s + estimate.high_s) / 2 == pytest.approx(
        (6 + 1) * case_type.expected_service_s, abs=2
    )
    line, ahead = floor_snapshot(center).waiting_place(last.pk)
    assert floor_snapshot(center).estimate(line, ahead, case_type.expected_service_s) == estimate
