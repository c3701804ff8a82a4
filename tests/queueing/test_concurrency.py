"""Acceptance: desks and kiosks racing each other on the database under test.

Every thread has its own database connection (and closes it), so the writes really
compete: for SQLite's one write lock on the embedded default, for row locks on
PostgreSQL. The services must serialise them without a single "database is locked" and
without two desks ever getting the same visitor.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection

from center.models import Role
from queueing.models import DailyCounter, Ticket, TicketEvent
from queueing.services import (
    CheckIn,
    checkin_issue_ticket,
    desk_open,
    ticket_resolve,
)
from tests.center.factories import staff_user
from tests.queueing.factories import DeskFactory, issue, serve_next

DESKS = 10
TICKETS = 150
KIOSKS = 10
CHECKINS_PER_KIOSK = 15
JOIN_TIMEOUT_S = 120

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _shared_database(db):
    if connection.vendor == "sqlite":
        assert not connection.is_in_memory_db(), "threads need a shared database file"


def run_in_threads(work: Callable[[int], list], count: int) -> tuple[list[list], list[str]]:
    """Starts ``count`` threads at once; returns what each returned and every error."""
    results: list[list] = [[] for _ in range(count)]
    errors: list[str] = []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = work(index)
        except BaseException as error:  # every error is a failure, reported below
            errors.append(f"thread {index}: {type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    for thread in threads:
        thread.join(timeout=max(0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


@pytest.mark.slow
def test_ten_desks_drain_the_queue_calling_every_ticket_exactly_once(
    center, case_type, accounts_service, reception
):
    issued = {
        issue(center, case_type, by=reception, name=f"V{n}").ticket.pk for n in range(TICKETS)
    }
    desks = []
    for number in range(1, DESKS + 1):
        rep = staff_user(center, Role.REPRESENTATIVE, f"race-rep{number}")
        desk = DeskFactory(center=center, number=number, services=[accounts_service])
        desks.append((desk_open(desk=desk, by=rep), rep))

    def desk_loop(index: int) -> list[int]:
        desk, rep = desks[index]
        called = []
        while (ticket := serve_next(desk, rep)) is not None:
            called.append(ticket.pk)
            ticket_resolve(
                desk=desk, outcome="GUIDANCE_GIVEN", reason_code="", explanation="Done.", by=rep
            )
        return called

    per_desk, errors = run_in_threads(desk_loop, DESKS)

    assert errors == []
    called = [pk for desk_calls in per_desk for pk in desk_calls]
    assert [pk for pk, times in Counter(called).items() if times > 1] == []
    assert set(called) == issued
    assert sum(1 for desk_calls in per_desk if desk_calls) > 1, "the desks did not race"
    assert not Ticket.objects.waiting().exists()
    assert Ticket.objects.filter(status=Ticket.Status.DONE).count() == TICKETS
    calls = Counter(TicketEvent.objects.filter(kind="CALLED").values_list("ticket", flat=True))
    assert set(calls.values()) == {1}
    assert len(calls) == TICKETS
    seqs = list(TicketEvent.objects.filter(center=center).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1, len(seqs) + 1))


def test_concurrent_check_ins_get_unique_gap_free_numbers(center, case_type, accounts_service):
    def kiosk_loop(index: int) -> list[str]:
        codes = []
        for n in range(CHECKINS_PER_KIOSK):
            result = checkin_issue_ticket(
                center=center,
                checkin=CheckIn(
                    full_name=f"Kiosk {index} visitor {n}",
                    purpose="CASE",
                    screening_passed=True,
                    items_stored=False,
                    recording_rule_acknowledged=True,
                    case_type=case_type,
                    complaint={"registration_year": "2015"},
                    complaint_text="Locked out.",
                    idempotency_key=f"kiosk-{index}-{n}",
                ),
                by=None,
            )
            assert result.token
            codes.append(result.ticket.code)
        return codes

    per_kiosk, errors = run_in_threads(kiosk_loop, KIOSKS)

    assert errors == []
    total = KIOSKS * CHECKINS_PER_KIOSK
    codes = sorted(code for kiosk_codes in per_kiosk for code in kiosk_codes)
    assert codes == [f"A{number:03d}" for number in range(1, total + 1)]
    numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert numbers == list(range(1, total + 1))
    assert DailyCounter.objects.get(service=accounts_service).last_number == total
    seqs = list(TicketEvent.objects.filter(center=center).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1, total + 1))
