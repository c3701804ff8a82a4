"""What a line's latest visitors say about the next ones (``line_histories``): the latest
outcomes of each line, however many it had before, and every outcome of a line with few."""

import datetime as dt

import pytest

from center import clock
from queueing import engine
from queueing.models import Ticket
from queueing.selectors import (
    LEFT_BEFORE_CALL,
    RECENT_OUTCOME_SAMPLE,
    RECENT_SERVICE_SAMPLE,
    line_histories,
)
from tests.queueing.factories import past_visitors

STATUSES = [
    Ticket.Status.DONE,
    Ticket.Status.DONE,
    Ticket.Status.WALKOUT,
    Ticket.Status.NO_SHOW,
    Ticket.Status.DONE,
    Ticket.Status.CANCELLED,
    Ticket.Status.TRANSFERRED,
]


def outcomes(count: int, *, days: int) -> list[tuple[str, dt.datetime | None, dt.datetime]]:
    """``count`` outcomes over the last ``days`` days, oldest first, each with its own
    service time (a minute more for each)."""
    now = clock.now()
    step = dt.timedelta(days=days) / count
    rows = []
    for n in range(count):
        finished = now - dt.timedelta(days=days) + n * step
        status = STATUSES[n % len(STATUSES)]
        serving = finished - dt.timedelta(minutes=n + 1) if status == Ticket.Status.DONE else None
        rows.append((status, serving, finished))
    return rows


def expected(rows: list[tuple[str, dt.datetime | None, dt.datetime]]):
    """The history the definition gives, from every outcome in Python."""
    latest = sorted(rows, key=lambda row: row[2], reverse=True)[:RECENT_OUTCOME_SAMPLE]
    served = [
        (finished - serving).total_seconds()
        for status, serving, finished in latest
        if status == Ticket.Status.DONE
    ][:RECENT_SERVICE_SAMPLE]
    stay = engine.stay_share([status not in LEFT_BEFORE_CALL for status, _s, _f in latest])
    return served[::-1], stay


@pytest.mark.django_db
def test_each_line_speaks_by_its_latest_outcomes_and_a_short_line_by_all_of_them(
    accounts_service, wallet_service, case_type, wallet_case_type
):
    busy = outcomes(3 * RECENT_OUTCOME_SAMPLE + 5, days=300)
    short = outcomes(RECENT_OUTCOME_SAMPLE - 7, days=20)
    past_visitors(accounts_service, case_type, busy)
    past_visitors(wallet_service, wallet_case_type, short)

    histories = line_histories([accounts_service.pk, wallet_service.pk])

    for service, rows in ((accounts_service, busy), (wallet_service, short)):
        served, stay = expected(rows)
        assert histories[service.pk].service_times_s == served, service.code
        assert histories[service.pk].stay_share == pytest.approx(stay), service.code


@pytest.mark.django_db
def test_a_line_that_finished_nobody_yet_has_an_empty_history(accounts_service, wallet_service):
    histories = line_histories([accounts_service.pk, wallet_service.pk])
    assert histories[accounts_service.pk].service_times_s == []
    assert line_histories([]) == {}
