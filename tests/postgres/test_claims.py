"""Desks calling at the same instant on PostgreSQL: every ticket called exactly once."""

import threading
from collections import Counter

import pytest
from django.db import connection

from center import clock
from center.errors import DomainError
from center.models import Role
from queueing.models import Ticket, TicketEvent
from queueing.services import (
    _claim_logged_sql,
    _claim_params,
    desk_open,
    ticket_call_next,
    ticket_no_show,
)
from tests.center.factories import staff_user
from tests.queueing.factories import DeskFactory, issue

DESKS = 10
TICKETS = 200
ROUNDS = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_desks_never_share_a_ticket(center, case_type, accounts_service, reception):
    for n in range(TICKETS):
        issue(center, case_type, by=reception, name=f"Visitor {n}")
    desks = []
    for number in range(1, DESKS + 1):
        rep = staff_user(center, Role.REPRESENTATIVE, f"pg-rep{number}")
        desk = DeskFactory(center=center, number=number, services=[accounts_service])
        desks.append((desk_open(desk=desk, by=rep), rep))
    called: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(DESKS)

    def work(desk, rep) -> None:
        try:
            start.wait()
            while (ticket := ticket_call_next(desk=desk, by=rep)) is not None:
                called.append(ticket.code)
                ticket_no_show(desk=desk, by=rep)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=pair) for pair in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    duplicates = [code for code, count in Counter(called).items() if count > 1]
    assert duplicates == []
    assert len(called) == TICKETS
    assert not Ticket.objects.waiting().exists()


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_call_next_calls_one_visitor(
    center, case_type, accounts_service, reception
):
    """Two calls of one desk at the same instant both find the desk free; the database's
    one active ticket per desk lets one through and the other is told why."""
    for n in range(4):
        issue(center, case_type, by=reception, name=f"Visitor {n}")
    rep = staff_user(center, Role.REPRESENTATIVE, "pg-double")
    desk = desk_open(desk=DeskFactory(center=center, number=1, services=[accounts_service]), by=rep)
    for _round in range(ROUNDS):
        outcomes: list[object] = []
        start = threading.Barrier(2)

        def click(outcomes: list[object], start: threading.Barrier) -> None:
            try:
                start.wait()
                outcomes.append(ticket_call_next(desk=desk, by=rep))
            except DomainError as refusal:
                outcomes.append(refusal)
            finally:
                connection.close()

        threads = [threading.Thread(target=click, args=(outcomes, start)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        called = [outcome for outcome in outcomes if isinstance(outcome, Ticket)]
        assert len(outcomes) == 2
        assert len(called) == 1, outcomes
        assert "Finish the current visitor" in str(
            next(outcome for outcome in outcomes if not isinstance(outcome, Ticket))
        )
        assert list(Ticket.objects.active().filter(desk=desk)) == called
        ticket_no_show(desk=desk, by=rep)
        issue(center, case_type, by=reception, name="Next visitor")
    assert TicketEvent.objects.filter(center=center, kind="CALLED").count() == ROUNDS


@pytest.mark.django_db
def test_a_call_walks_the_waiting_line_from_its_front(
    center, case_type, accounts_service, reception
):
    """The claim reads the line in queue order from an index and stops at its first
    ticket: no sort of every waiting ticket on every call of a busy floor."""
    for n in range(150):
        issue(center, case_type, by=reception, name=f"Visitor {n}")
    rep = staff_user(center, Role.REPRESENTATIVE, "pg-rep-plan")
    desk = desk_open(desk=DeskFactory(center=center, number=1, services=[accounts_service]), by=rep)
    params = {
        **_claim_params(desk, rep, clock.now()),
        "action": "ticket.called",
        "subject": "ticket:",
        "details": "{}",
        "kind": "CALLED",
    }
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE queueing_ticket")
        cursor.execute(f"EXPLAIN {_claim_logged_sql()}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "ticket_waiting_in_order" in plan, plan
    assert "Sort" not in plan, plan


@pytest.mark.django_db
def test_the_claim_and_the_numbering_are_prepared_once_they_ran_five_times(
    center, case_type, accounts_service, reception
):
    """PostgreSQL parses and plans them once per connection, not on every call."""
    for n in range(7):
        issue(center, case_type, by=reception, name=f"Visitor {n}")
    rep = staff_user(center, Role.REPRESENTATIVE, "pg-rep-prepared")
    desk = desk_open(desk=DeskFactory(center=center, number=1, services=[accounts_service]), by=rep)
    for _ in range(7):
        assert ticket_call_next(desk=desk, by=rep) is not None
        ticket_no_show(desk=desk, by=rep)

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any(text.startswith("WITH claimed AS") for text in prepared), prepared
    assert any(text.startswith("WITH pending AS") for text in prepared), prepared
