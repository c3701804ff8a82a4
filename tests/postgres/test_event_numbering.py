"""Event numbers on PostgreSQL: taken inline when the sequence lock is free, after commit
when another transaction holds it; gap-free and in each transaction's order either way."""

import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import connection, transaction

from center import clock
from center.models import Role
from queueing import events
from queueing.live import _current_seq
from queueing.models import EventSequence, Ticket, TicketEvent
from queueing.services import desk_open, ticket_call_next, ticket_no_show
from tests.center.factories import CenterFactory, staff_user
from tests.queueing.factories import DeskFactory, issue

DESKS = 10
TICKETS = 150


def held_sequence_lock(center_id: int) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """Another connection holds the center's sequence row lock until ``release`` is set."""
    EventSequence.objects.get_or_create(center_id=center_id)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM queueing_eventsequence WHERE center_id = %s FOR UPDATE",
                    [center_id],
                )
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(timeout=10)
    return locked, release, thread


@contextlib.contextmanager
def an_event_holding_the_lock(center, actor) -> Iterator[None]:
    """Another transaction appends an event (so it holds the center's sequence lock) and
    commits when the block ends; it numbers what was deferred meanwhile after its commit."""
    locked, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                events.ticket_event_append(center=center, kind="NOTICE", actor=actor)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        yield
    finally:
        release.set()
        thread.join(timeout=10)


def desk_opened(center, service):
    """Desk 1, taking ``service``, opened by a representative of its own."""
    rep = staff_user(center, Role.REPRESENTATIVE, username="rep-desk-1")
    desk = DeskFactory(center=center, number=1, services=[service])
    return desk_open(desk=desk, by=rep), rep


@pytest.fixture
def published() -> Iterator[list[dict]]:
    """Every payload published while the test runs, in order."""
    payloads: list[dict] = []
    events.listeners.append(payloads.append)
    try:
        yield payloads
    finally:
        events.listeners.remove(payloads.append)


def assert_gap_free(center) -> list[int]:
    seqs = list(
        TicketEvent.objects.filter(center=center).order_by("seq").values_list("seq", flat=True)
    )
    assert None not in seqs
    assert seqs == list(range(1, len(seqs) + 1))
    assert EventSequence.objects.get(center=center).last_seq == len(seqs)
    return seqs


@pytest.mark.django_db(transaction=True)
def test_ten_desks_number_every_event_once_without_gaps(
    center, case_type, accounts_service, reception
):
    for n in range(TICKETS):
        issue(center, case_type, by=reception, name=f"Visitor {n}")
    desks = []
    for number in range(1, DESKS + 1):
        rep = staff_user(center, Role.REPRESENTATIVE, f"pg-num{number}")
        desk = DeskFactory(center=center, number=number, services=[accounts_service])
        desks.append((desk_open(desk=desk, by=rep), rep))
    published: list[int] = []
    events.listeners.append(lambda payload: published.append(payload["seq"]))
    errors: list[BaseException] = []
    start = threading.Barrier(DESKS)

    def work(desk, rep) -> None:
        try:
            start.wait()
            while ticket_call_next(desk=desk, by=rep) is not None:
                ticket_no_show(desk=desk, by=rep)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=work, args=pair) for pair in desks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        events.listeners.pop()

    assert errors == []
    seqs = assert_gap_free(center)
    calls = TicketEvent.objects.filter(center=center, kind=TicketEvent.Kind.CALLED).count()
    assert calls == TICKETS
    # Every event of the burst was published exactly once, whoever numbered it.
    burst = [seq for seq in seqs if seq > seqs[-1] - 2 * TICKETS]
    assert sorted(published) == burst
    assert [seq for seq, count in Counter(published).items() if count > 1] == []
    # A ticket's own events are numbered in the order they happened.
    for ticket_id, kinds in _kinds_by_ticket(center).items():
        assert kinds[-2:] == ["CALLED", "NO_SHOW"], ticket_id


def _kinds_by_ticket(center) -> dict[int, list[str]]:
    kinds: dict[int, list[str]] = {}
    for ticket_id, kind in (
        TicketEvent.objects.filter(center=center, ticket__isnull=False)
        .order_by("seq")
        .values_list("ticket_id", "kind")
    ):
        kinds.setdefault(ticket_id, []).append(kind)
    return kinds


@pytest.mark.django_db(transaction=True)
def test_an_event_written_while_the_lock_is_held_is_numbered_by_the_holder(
    center, case_type, reception
):
    issue(center, case_type, by=reception, name="First")
    with an_event_holding_the_lock(center, reception):
        second = issue(center, case_type, by=reception, name="Second")
        # Committed at once, without waiting for the lock, and not numbered yet.
        assert TicketEvent.objects.get(ticket=second.ticket).seq is None

    # The holder numbered it after its own commit.
    assert TicketEvent.objects.get(ticket=second.ticket).seq == 3
    assert_gap_free(center)


@pytest.mark.django_db(transaction=True)
def test_events_of_one_transaction_keep_their_order_when_deferred(center, reception):
    _locked, release, holder = held_sequence_lock(center.pk)
    try:
        with transaction.atomic():
            first = events.ticket_event_append(center=center, kind="NOTICE", actor=reception)
            # The lock is released before the second event: it must wait all the same.
            release.set()
            holder.join(timeout=10)
            second = events.ticket_event_append(center=center, kind="NOTICE", actor=reception)
            assert (first.seq, second.seq) == (None, None)
    finally:
        release.set()
        holder.join(timeout=10)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.seq, second.seq) == (1, 2)
    assert_gap_free(center)


@pytest.mark.django_db(transaction=True)
def test_an_event_left_unnumbered_by_a_dead_process_is_numbered_by_the_watchdog(center, reception):
    events.ticket_event_append(center=center, kind="NOTICE", actor=reception)
    # What a process killed between its commit and its numbering leaves behind.
    TicketEvent.objects.create(center=center, seq=None, kind="NOTICE", at=clock.now())

    assert _current_seq(center.pk) == 2
    assert_gap_free(center)


@pytest.mark.django_db(transaction=True)
def test_a_call_while_the_lock_is_held_is_numbered_by_the_holder(
    center, case_type, accounts_service, reception, published
):
    """The claim writes its CALLED event in the claim's own statement, which only tries
    the lock: with the lock taken it commits at once and the holder numbers it."""
    waiting = issue(center, case_type, by=reception).ticket
    desk, rep = desk_opened(center, accounts_service)
    with an_event_holding_the_lock(center, reception):
        assert ticket_call_next(desk=desk, by=rep) == waiting
        called = TicketEvent.objects.get(ticket=waiting, kind="CALLED")
        assert called.seq is None

    called.refresh_from_db()
    # ISSUED 1 (before), DESK_CHANGED 2 (the desk opened), NOTICE 3, CALLED 4.
    assert (called.seq, called.desk, called.actor) == (4, desk, rep)
    assert assert_gap_free(center) == [1, 2, 3, 4]
    assert [(payload["seq"], payload["kind"]) for payload in published[-2:]] == [
        (3, "NOTICE"),
        (4, "CALLED"),
    ]


@pytest.mark.django_db(transaction=True)
def test_events_numbered_after_their_commit_are_published_as_any_other(
    center, case_type, accounts_service, reception, published
):
    """Those are read back as values to be published: the same payload as an event's own."""
    waiting = issue(center, case_type, by=reception).ticket
    desk, rep = desk_opened(center, accounts_service)
    with an_event_holding_the_lock(center, reception):
        ticket_call_next(desk=desk, by=rep)

    stored = {
        event.seq: events.event_payload(event)
        for event in TicketEvent.objects.filter(center=center).select_related("ticket", "desk")
    }
    # The NOTICE (no ticket, no desk) and the CALLED event the holder numbered for the desk.
    assert [payload["kind"] for payload in published[-2:]] == ["NOTICE", "CALLED"]
    assert published[-2:] == [stored[3], stored[4]]
    assert (published[-1]["ticket"], published[-1]["desk"]) == (waiting.code, desk.number)


@pytest.mark.django_db(transaction=True)
def test_a_call_numbers_the_events_waiting_before_its_own(
    center, case_type, accounts_service, reception
):
    waiting = issue(center, case_type, by=reception).ticket
    desk, rep = desk_opened(center, accounts_service)
    # Committed without a number by a process that died before numbering it.
    left = TicketEvent.objects.create(center=center, seq=None, kind="NOTICE", at=clock.now())

    ticket_call_next(desk=desk, by=rep)

    left.refresh_from_db()
    called = TicketEvent.objects.get(ticket=waiting, kind="CALLED")
    assert (left.seq, called.seq) == (3, 4)
    assert_gap_free(center)


@pytest.mark.django_db(transaction=True)
def test_a_call_at_a_center_without_a_sequence_row_starts_it(
    center, case_type, accounts_service, reception
):
    """Tickets made without events (a bulk import, say): the claim's statement finds no
    sequence row to lock, so the event is numbered after the row is made."""
    waiting = issue(center, case_type, by=reception).ticket
    desk, rep = desk_opened(center, accounts_service)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM queueing_ticketevent WHERE center_id = %s", [center.pk])
        cursor.execute("DELETE FROM queueing_eventsequence WHERE center_id = %s", [center.pk])

    ticket_call_next(desk=desk, by=rep)

    assert TicketEvent.objects.get(ticket=waiting).seq == 1
    assert assert_gap_free(center) == [1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("last", [2**15 - 2, 2**31 - 2])
def test_numbers_go_past_the_small_integer_ranges(
    center, case_type, accounts_service, reception, last
):
    """The numbering's statements send their parameters typed by size (a number below
    32,768 as a smallint): they add them as bigints, or a center's 32,768th event would
    fail with "smallint out of range"."""
    EventSequence.objects.update_or_create(center=center, defaults={"last_seq": last})
    waiting = issue(center, case_type, by=reception).ticket
    desk, rep = desk_opened(center, accounts_service)

    assert ticket_call_next(desk=desk, by=rep) == waiting

    seqs = TicketEvent.objects.filter(center=center).order_by("seq").values_list("seq", flat=True)
    # ISSUED, DESK_CHANGED (the desk opened), CALLED.
    assert list(seqs) == [last + 1, last + 2, last + 3]
    assert EventSequence.objects.get(center=center).last_seq == last + 3


class _CountingMutex:
    """A lock that counts the threads that have come to it, for a test to wait on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived = 0
        self.changed = threading.Condition()

    def __enter__(self) -> None:
        with self.changed:
            self.arrived += 1
            self.changed.notify_all()
        self.lock.acquire()

    def __exit__(self, *exc_info) -> None:
        self.lock.release()

    def wait_for(self, arrived: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.arrived >= arrived, timeout=10)


class _HeldRounds:
    """This process's numbering rounds of one center, watched: they pass through a
    counting mutex, the first waits for ``go`` after its statement, and ``ran`` gets one
    entry per round run. ``thread()`` makes a desk's after-commit work (see
    :meth:`thread`); ``published`` has the numbers published, ``returned`` says for each
    thread's event whether it was published when its call returned."""

    def __init__(self, monkeypatch, center) -> None:
        self.center = center
        self.go = threading.Event()
        self.ran: list[int] = []
        self.published: list[int] = []
        self.returned: dict[int, bool] = {}
        rounds = events._Rounds()
        self.mutex = rounds.mutex = _CountingMutex()
        monkeypatch.setitem(events._rounds, (os.getpid(), center.pk), rounds)
        number = events._number_committed

        def watched(center_id: int) -> int:
            numbered = number(center_id)
            self.ran.append(1)
            if len(self.ran) == 1:
                assert self.go.wait(timeout=10)
            return numbered

        monkeypatch.setattr(events, "_number_committed", watched)

    def thread(self) -> threading.Thread:
        """Started: commits an event left unnumbered (as a transaction that found the lock
        held does), then numbers after its commit, as every such transaction does."""

        def work() -> None:
            try:
                event = TicketEvent.objects.create(
                    center=self.center, seq=None, kind="NOTICE", at=clock.now()
                )
                events.events_number_pending(self.center.pk)
                event.refresh_from_db()
                self.returned[event.pk] = event.seq in self.published
            finally:
                connection.close()

        thread = threading.Thread(target=work)
        thread.start()
        return thread


@pytest.fixture
def held_rounds(monkeypatch, center, reception) -> Iterator[_HeldRounds]:
    """A center with one event numbered, its rounds watched (:class:`_HeldRounds`)."""
    events.ticket_event_append(center=center, kind="NOTICE", actor=reception)
    held = _HeldRounds(monkeypatch, center)
    listener = lambda payload: held.published.append(payload["seq"])  # noqa: E731
    events.listeners.append(listener)
    try:
        yield held
    finally:
        held.go.set()
        events.listeners.remove(listener)


@pytest.mark.django_db(transaction=True)
def test_desks_that_commit_while_a_round_runs_share_one_round_after_it(held_rounds):
    first = held_rounds.thread()
    held_rounds.mutex.wait_for(1)
    others = [held_rounds.thread() for _ in range(4)]
    held_rounds.mutex.wait_for(5)
    held_rounds.go.set()
    for thread in [first, *others]:
        thread.join(timeout=20)

    # The first round, then one for the four that committed while it ran: not five.
    assert len(held_rounds.ran) == 2
    assert assert_gap_free(held_rounds.center) == [1, 2, 3, 4, 5, 6]
    # Each round publishes what it numbered in the order of the numbers.
    assert held_rounds.published == [2, 3, 4, 5, 6]
    # When each call returned, its thread's event was numbered and published.
    assert list(held_rounds.returned.values()) == [True] * 5


@pytest.mark.django_db(transaction=True)
def test_a_round_that_began_before_a_commit_does_not_count_for_it(held_rounds):
    first = held_rounds.thread()
    # The first round has run its statement and is about to end: the next commit comes
    # after its snapshot.
    deadline = time.monotonic() + 10
    while not held_rounds.ran:
        assert time.monotonic() < deadline, "the first round never ran"
        time.sleep(0.01)
    late = held_rounds.thread()
    held_rounds.mutex.wait_for(2)
    held_rounds.go.set()
    for thread in (first, late):
        thread.join(timeout=20)

    assert len(held_rounds.ran) == 2
    assert assert_gap_free(held_rounds.center) == [1, 2, 3]
    assert list(held_rounds.returned.values()) == [True, True]


def generic_plan(sql: str, names: tuple[str, ...] = ()) -> str:
    """The plan PostgreSQL keeps for a prepared statement, with the statistics of now.
    ``sql`` has psycopg's placeholders: ``%(name)s`` for each of ``names``, or one ``%s``."""
    placeholders = [f"%({name})s" for name in names] or ["%s"]
    for number, placeholder in enumerate(placeholders, start=1):
        sql = sql.replace(placeholder, f"${number}")
    arguments = ", ".join(["NULL"] * len(placeholders))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE plan_check AS {sql}")
        try:
            cursor.execute(f"EXPLAIN EXECUTE plan_check({arguments})")
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE plan_check")


@pytest.mark.django_db
def test_numbering_reads_only_what_it_numbers_whatever_waits_elsewhere(
    center, case_type, reception
):
    """A backlog of events waiting for a number at another center (a worker that died
    there, a watchdog that is down), once the statistics count it, must not turn the
    numbering and the read of what it numbered into scans of the whole event log and of
    every ticket ever issued: each reads the waiting events of its own center, and the
    tickets of those events, by index."""
    first = issue(center, case_type, by=reception, name="Visitor").ticket
    fields = [f.attname for f in Ticket._meta.concrete_fields if not f.primary_key]
    past = []
    for number in range(first.number + 1, first.number + 3000):
        ticket = Ticket(**{name: getattr(first, name) for name in fields})
        ticket.number, ticket.code = number, f"X{number}"
        ticket.status, ticket.token_hash = Ticket.Status.DONE, None
        past.append(ticket)
    Ticket.objects.bulk_create(past)
    elsewhere = CenterFactory()
    TicketEvent.objects.bulk_create(
        TicketEvent(center=elsewhere, seq=None, kind="NOTICE", at=clock.now(), data={})
        for _ in range(4000)
    )
    TicketEvent.objects.bulk_create(
        TicketEvent(center=center, seq=n, kind="NOTICE", at=clock.now(), data={})
        for n in range(1000, 3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE queueing_ticket")
        cursor.execute("ANALYZE queueing_ticketevent")

    with transaction.atomic():
        plans = {
            "numbering in a transaction": generic_plan(
                events._NUMBER_PENDING_SQL, ("center", "last", "own")
            ),
            "numbering after a commit": generic_plan(events._NUMBER_COMMITTED_SQL, ("center",)),
            "payloads' read": generic_plan(events._PAYLOADS_SQL),
        }

    for name, plan in plans.items():
        assert "Seq Scan on queueing_ticketevent" not in plan, f"{name}:\n{plan}"
        assert "Seq Scan on queueing_ticket " not in plan, f"{name}:\n{plan}"
