"""A year of history must not slow a busy day: the reads that every check-in and every
visitor's status page repeat read a few rows of the tables that grow with every visitor,
whatever the center served before, not every case, visit, visitor or ticket it ever had."""

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from center import clock
from center.services import returning_visitor_case
from queueing.models import EventSequence, Ticket, TicketEvent
from queueing.selectors import RECENT_OUTCOME_SAMPLE, called_first, line_histories
from tests.queueing.factories import issue, past_visitors

HISTORY = 3000
#: The tables that grow with every visitor, kept for years.
GROWING = {
    "center_visitor",
    "center_visit",
    "center_case",
    "queueing_ticket",
    "queueing_ticketevent",
}


def rows_read(read) -> int:
    """How many rows of the growing tables the statements of ``read()`` read, as
    PostgreSQL executes them on the data as it is now (rows returned by each scan of
    such a table, and those it read and discarded)."""
    with CaptureQueriesContext(connection) as captured:
        read()
    assert captured.captured_queries, "the read ran no query"
    total = 0
    for query in captured.captured_queries:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query['sql']}")
            (plan,) = cursor.fetchone()
        if isinstance(plan, str):
            plan = json.loads(plan)
        total += _scanned(plan[0]["Plan"])
    return total


def _scanned(node: dict) -> int:
    rows = 0
    if node.get("Relation Name") in GROWING:
        discarded = node.get("Rows Removed by Filter", 0) + node.get(
            "Rows Removed by Index Recheck", 0
        )
        rows += (node["Actual Rows"] + discarded) * node["Actual Loops"]
    return rows + sum(_scanned(child) for child in node.get("Plans", []))


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
