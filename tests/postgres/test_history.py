"""A year of history must not slow a busy day: the reads that every check-in and every
visitor's status page repeat read a few rows of the tables that grow with every visitor,
whatever the center served before, not every case, visit, visitor or ticket it ever had."""

import datetime as dt

import pytest
from django.db import connection

from bench.plans import rows_read
from center import clock
from center.services import returning_visitor_case
from queueing.models import EventSequence, Ticket, TicketEvent
from queueing.selectors import RECENT_OUTCOME_SAMPLE, called_first, line_histories
from tests.queueing.factories import issue, past_visitors

HISTORY = 3000


@pytest.fixture
def year_of_history(center, accounts_service, case_type):
    """HISTORY visitors served over the last year, each with its CALLED event."""
    now = clock.now()
    outcomes = []
    for n in range(HISTORY):
        finished = now - dt.timedelta(days=1 + n * 365 / HISTORY)
        outcomes.append((Ticket.Status.DONE, finished - dt.timedelta(minutes=12), finished))
    tickets = past_visitors(accounts_service, case_type, outcomes)
    TicketEvent.objects.bulk_create(
        TicketEvent(
            center=center,
            seq=seq,
            kind=TicketEvent.Kind.CALLED,
            ticket=ticket,
            at=ticket.issued_at + dt.timedelta(minutes=30),
        )
        for seq, ticket in enumerate(sorted(tickets, key=lambda t: t.issued_at), start=1)
    )
    EventSequence.objects.update_or_create(center=center, defaults={"last_seq": HISTORY})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@pytest.mark.django_db
def test_a_status_pages_estimate_reads_each_lines_latest_visitors_only(
    year_of_history, accounts_service
):
    # The line's latest outcomes, and as many index entries to find where they start.
    assert rows_read(lambda: line_histories([accounts_service.pk])) <= 3 * RECENT_OUTCOME_SAMPLE


@pytest.mark.django_db
def test_a_check_in_looks_for_the_visitors_open_case_by_account_and_phone_only(
    year_of_history, center
):
    read = rows_read(
        lambda: returning_visitor_case(
            center=center, account_handle="returning_123", phone="+86 139 0000 0000"
        )
    )
    assert read <= 10


@pytest.mark.django_db
def test_who_was_called_first_reads_today_only(year_of_history, center, case_type, reception):
    waiting = issue(center, case_type, by=reception, name="Waiting").ticket
    issue(center, case_type, by=reception, name="Behind")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE queueing_ticket")
    assert rows_read(lambda: called_first(waiting)) <= 10
