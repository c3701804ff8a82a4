"""The ticket event log and its publication.

Every queue state change appends one :class:`TicketEvent` inside the service's
transaction and publishes a small JSON event to the center's floor group only after the
change is committed and numbered, so no screen ever hears of a change that was rolled
back. Delivery is at-most-once; screens resynchronise from the log's sequence number.

Numbering. Each center's events carry a gap-free, strictly increasing sequence number,
allocated under the row lock of the center's :class:`EventSequence`. A row lock is held
until commit, and on PostgreSQL a commit waits for its WAL flush (milliseconds): a lock
that every transaction waited for would serialise every desk's commits. So on PostgreSQL:

- A transaction takes the lock only if it is free (``SKIP LOCKED``). It then first numbers
  the committed events still waiting for a number, in the order they were written, and
  then its own: a ticket's events are numbered in the order they happened.
- Otherwise its events are written without a number and it commits without waiting.
- After its commit, every transaction that wrote events numbers those still waiting
  (:func:`events_number_pending`): one statement, which takes the lock only if something
  waits and the lock is free, and holds it only while it runs. If another transaction
  holds it, that holder looks again once it has let it go, and finds them: they were
  committed before it was found held.

Claims then commit in parallel and numbering runs in batches. A floor read sees every
change up to its sequence number (and perhaps a few newer ones not yet numbered, which
the next number announces). If a process dies between a commit and that look, the next
event of the center, or any worker's floor watchdog within a second, numbers the rest
(the same if a holder rolls back: it does not look again).

On SQLite every write transaction already holds the database's only write lock, so the
number is always taken inline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from center import clock
from center.db import prepared_cursor
from center.models import Center
from queueing import groups
from queueing.models import Desk, EventSequence, Ticket, TicketEvent

logger = logging.getLogger(__name__)

#: Extra receivers of published events (tests, the simulator's recorder).
listeners: list[Callable[[dict[str, Any]], None]] = []

_SEQUENCE_TABLE = EventSequence._meta.db_table
_EVENT_TABLE = TicketEvent._meta.db_table

_NEXT_SEQ_SQL = (
    f"UPDATE {_SEQUENCE_TABLE} SET last_seq = last_seq + 1 "  # noqa: S608 - a table name, no input
    "WHERE center_id = %s RETURNING last_seq"
)


def _lock_seq_if_free_sql(center: str) -> str:
    """PostgreSQL only: one row with the last number if nobody holds the lock, one row
    with NULL if somebody does, no row if the center has no sequence row yet."""
    return (
        f"SELECT locked.last_seq FROM {_SEQUENCE_TABLE} AS sequence LEFT JOIN LATERAL "  # noqa: S608 - a table name, no input
        f"(SELECT last_seq FROM {_SEQUENCE_TABLE} AS mine WHERE mine.center_id = sequence.center_id"
        f" FOR UPDATE SKIP LOCKED) AS locked ON true WHERE sequence.center_id = {center}"
    )


_LOCK_SEQ_IF_FREE_SQL = _lock_seq_if_free_sql("%s")

#: For a statement that writes an event itself (see :func:`ticket_event_written`): the
#: lock as a common table expression named ``sequence_lock``, for the center passed as
#: ``%(center)s``. Select from it in the statement's result, or it is not taken.
SEQUENCE_LOCK_CTE = f"sequence_lock AS ({_lock_seq_if_free_sql('%(center)s')})"
#: The numbering statements' update reads the events to number through the index of the
#: center's waiting events, whatever the statistics say of the waiting events of all
#: centers: joined to them only by id, the plan kept for the statement may read the whole
#: log (a hash join) once the statistics count a backlog somewhere.
_WAITING_EVENT = "event.center_id = %(center)s AND event.seq IS NULL"
# Runs after the lock is taken, in a statement of its own: under READ COMMITTED its
# snapshot then includes every number an earlier holder committed. It numbers the waiting
# events after %(last)s in the order they were written, moves the center's last number
# past them and past %(own)s more (the caller's own event), and returns the new last
# number with the ids it numbered.
_NUMBER_PENDING_SQL = (
    f"WITH pending AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM {_EVENT_TABLE} "  # noqa: S608 - table names, no input
    "WHERE center_id = %(center)s AND seq IS NULL), "
    f"numbered AS (UPDATE {_EVENT_TABLE} AS event SET seq = %(last)s::bigint + pending.n "
    f"FROM pending WHERE event.id = pending.id AND {_WAITING_EVENT} RETURNING event.id) "
    f"UPDATE {_SEQUENCE_TABLE} SET last_seq = %(last)s::bigint + %(own)s::bigint "
    "+ (SELECT count(*) FROM numbered) WHERE center_id = %(center)s "
    "RETURNING last_seq, ARRAY(SELECT id FROM numbered ORDER BY id)"
)


def _current_transaction() -> int:
    return id(connection.atomic_blocks[0]) if connection.atomic_blocks else 0


def _lock_if_free(cursor: Any, center_id: int) -> int | None:
    """The center's last number, with its lock; None if another transaction holds it."""
    cursor.execute(_LOCK_SEQ_IF_FREE_SQL, [center_id])
    row = cursor.fetchone()
    if row is None:
        EventSequence.objects.get_or_create(center_id=center_id)
        cursor.execute(_LOCK_SEQ_IF_FREE_SQL, [center_id])
        row = cursor.fetchone()
    return row[0] if row else None


def _number_pending(center_id: int, last_seq: int, own: int) -> tuple[int, list[int]]:
    """Under the lock: numbers the waiting events after ``last_seq`` and reserves ``own``
    numbers after them; returns the new last number and the ids it numbered."""
    with prepared_cursor() as cursor:
        cursor.execute(_NUMBER_PENDING_SQL, {"center": center_id, "last": last_seq, "own": own})
        new_last, event_ids = cursor.fetchone()
    return new_last, list(event_ids)


def _next_seq(center: Center) -> tuple[int | None, list[int]]:
    """The event's number, or None (PostgreSQL, lock taken) to be numbered after commit;
    and the ids of waiting events this transaction numbered before it."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_NEXT_SEQ_SQL, [center.pk])
            row = cursor.fetchone()
            if row is None:
                EventSequence.objects.get_or_create(center=center)
                cursor.execute(_NEXT_SEQ_SQL, [center.pk])
                row = cursor.fetchone()
        return row[0], []
    # Once one event of a transaction waits, the later ones wait too: they keep their order.
    if getattr(connection, "_walkin_deferring", None) == _current_transaction():
        return None, []
    with connection.cursor() as cursor:
        last_seq = _lock_if_free(cursor, center.pk)
        if last_seq is None:
            connection._walkin_deferring = _current_transaction()
            return None, []
    seq, earlier = _number_pending(center.pk, last_seq, own=1)
    return seq, earlier


# The payloads of events numbered after their commit (PostgreSQL), read as they are
# published: through the ORM, building the event, its ticket and its desk, this read cost a
# worker more time per claim than anything else it did (2.3 ms against 0.3 in process,
# measured side by side on one machine).
def _payloads_select(events: str) -> str:
    """The columns of :func:`_payload`, in its order, for the events of ``events`` (the
    event table, or a common table expression of its rows)."""
    # Each event's ticket is read by its id (the LIMIT keeps the subquery from being merged
    # into a join, which a plan expecting many events would make a read of every ticket).
    return (
        "SELECT event.center_id, event.seq, event.kind, event.at, ticket.code,"  # noqa: S608 - table names, no input
        f" event.ticket_id, ticket.status, desk.number, event.data::text FROM {events} AS event"
        f" LEFT JOIN LATERAL (SELECT code, status FROM {Ticket._meta.db_table}"
        " WHERE id = event.ticket_id LIMIT 1) AS ticket ON true"
        f" LEFT JOIN {Desk._meta.db_table} AS desk ON desk.id = event.desk_id"
    )


_PAYLOADS_SQL = f"{_payloads_select(_EVENT_TABLE)} WHERE event.id = ANY(%s::bigint[])"


def _payload_of_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """A payload from the columns of :func:`_payloads_select` (its data as JSON text)."""
    return _payload((*row[:-1], json.loads(row[-1])))


def _payloads(event_ids: list[int]) -> list[dict[str, Any]]:
    """The payloads of events numbered after their commit or by another transaction, read
    in one query. PostgreSQL only: elsewhere a transaction numbers its own events only."""
    if not event_ids:
        return []
    with prepared_cursor() as cursor:
        cursor.execute(_PAYLOADS_SQL, [event_ids])
        rows = cursor.fetchall()
    return [_payload_of_row(row) for row in rows]


# After a commit, in one statement of its own: numbers the center's committed events that
# wait for a number, if the lock is free, releases the lock at the statement's end, and
# returns what it numbered as payloads (one row per event, in order; one row of NULLs if
# none) after three flags: something waited, the center has its sequence row, the lock
# was taken. The statement's snapshot is taken before the lock: an earlier holder may have
# numbered some of the events it sees as waiting, and committed, in between. Every
# numbering moves the last number, so the events are numbered only if the last number
# under the lock is still the one of the snapshot; else nothing is, and the caller runs it
# again. No lock is tried when nothing waits.
_NUMBER_COMMITTED_SQL = (
    f"WITH pending AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM {_EVENT_TABLE} "  # noqa: S608 - table names, no input
    "WHERE center_id = %(center)s AND seq IS NULL), "
    f"seen AS (SELECT last_seq FROM {_SEQUENCE_TABLE} WHERE center_id = %(center)s), "
    f"locked AS (SELECT last_seq FROM {_SEQUENCE_TABLE} WHERE center_id = %(center)s "
    "AND EXISTS (SELECT 1 FROM pending) FOR UPDATE SKIP LOCKED), "
    f"numbered AS (UPDATE {_EVENT_TABLE} AS event SET seq = locked.last_seq + pending.n "
    f"FROM pending, locked, seen WHERE event.id = pending.id AND {_WAITING_EVENT} "
    "AND locked.last_seq = seen.last_seq RETURNING event.*), "
    f"moved AS (UPDATE {_SEQUENCE_TABLE} SET last_seq = last_seq + (SELECT count(*) FROM numbered) "
    "WHERE center_id = %(center)s AND EXISTS (SELECT 1 FROM numbered)) "
    "SELECT EXISTS (SELECT 1 FROM pending), EXISTS (SELECT 1 FROM seen), "
    "EXISTS (SELECT 1 FROM locked), payload.* FROM (SELECT) AS round "
    f"LEFT JOIN ({_payloads_select('numbered')}) AS payload ON true ORDER BY payload.seq"
)


class _Rounds:
    """This process's numbering of one center after commits, one round at a time.

    A round that starts after a thread's commit numbers that thread's events (or finds
    the lock held by a transaction that will): the thread need not run one of its own.
    With many desks in one worker, the threads that commit while a round runs wait for it,
    and the first of them runs one more round for all of them, instead of each running
    the same statement, most of them to find the lock held or nothing left to number."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        #: Rounds started, and the last round that ended without an error.
        self.started = 0
        self.done = 0


#: (process id, center id) -> its rounds (a forked child starts afresh).
_rounds: dict[tuple[int, int], _Rounds] = {}
_rounds_lock = threading.Lock()


def _rounds_of(center_id: int) -> _Rounds:
    key = (os.getpid(), center_id)
    rounds = _rounds.get(key)
    if rounds is None:
        with _rounds_lock:
            rounds = _rounds.setdefault(key, _Rounds())
    return rounds


def events_number_pending(center_id: int) -> int:
    """Numbers and publishes the center's committed events that wait for a number, unless
    another transaction holds the lock (it will look again after its commit).

    Run after a commit (never inside a transaction: a round waits for the one before it).
    Each round is one statement, which holds the lock only while it runs; a round of this
    process that started after the caller's commit serves the caller too (:class:`_Rounds`).
    Returns how many this call numbered."""
    if connection.vendor != "postgresql":
        return 0
    rounds = _rounds_of(center_id)
    # Read after the caller's commit: a round numbered later than this starts after it.
    before = rounds.started
    with rounds.mutex:
        if rounds.done > before:
            return 0
        rounds.started += 1
        numbered = _number_committed(center_id)
        rounds.done = rounds.started
    return numbered


def _number_committed(center_id: int) -> int:
    numbered = 0
    while True:
        with prepared_cursor() as cursor:
            cursor.execute(_NUMBER_COMMITTED_SQL, {"center": center_id})
            rows = cursor.fetchall()
        waiting, sequence_row, locked = rows[0][:3]
        if not waiting:
            return numbered
        if not sequence_row:
            EventSequence.objects.get_or_create(center_id=center_id)
            continue
        if not locked:
            return numbered
        # Locked, but numbered nothing if its snapshot was older than the last number:
        # the next round takes a new one, and looks again for events written meanwhile.
        # After the flags, a payload per row; a row of NULLs if it numbered nothing.
        payloads = [_payload_of_row(row[3:]) for row in rows if row[3] is not None]
        publish_all(payloads)
        numbered += len(payloads)


def _seq(payload: dict[str, Any]) -> int:
    return payload["seq"]


def event_payload(event: TicketEvent) -> dict[str, Any]:
    return new_event_payload(
        center_id=event.center_id,
        seq=event.seq,
        kind=event.kind,
        at=event.at,
        ticket=event.ticket,
        desk=event.desk,
        data=event.data,
    )


def new_event_payload(
    *,
    center_id: int,
    seq: int | None,
    kind: str,
    at: dt.datetime,
    ticket: Ticket | None,
    desk: Desk | None,
    data: dict[str, Any],
) -> dict[str, Any]:
    """The payload of an event from its parts, for a caller that wrote the event's row
    itself and has no model instance of it (see :func:`ticket_event_written`)."""
    return _payload(
        (
            center_id,
            seq,
            kind,
            at,
            ticket.code if ticket else None,
            ticket.pk if ticket else None,
            ticket.status if ticket else None,
            desk.number if desk else None,
            data,
        )
    )


def _payload(row: tuple[Any, ...]) -> dict[str, Any]:
    """The JSON an event is published as, from its center, number, kind, time, ticket code,
    ticket id, ticket status, desk number and data, in that order."""
    center_id, seq, kind, at, ticket_code, ticket_id, ticket_status, desk_number, data = row
    return {
        "type": "floor.event",
        "center": center_id,
        "seq": seq,
        "kind": kind,
        "at": at.isoformat(),
        "ticket": ticket_code,
        "ticket_id": ticket_id,
        "status": ticket_status,
        "desk": desk_number,
        "data": data,
    }


def ticket_event_append(
    *,
    center: Center,
    kind: str,
    ticket: Ticket | None = None,
    desk: Desk | None = None,
    actor: Any = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Appends to the log; must run inside the transaction of the change it records."""
    seq, earlier = _next_seq(center)
    event = TicketEvent.objects.create(
        center=center,
        seq=seq,
        kind=kind,
        ticket=ticket,
        desk=desk,
        actor=actor if actor is not None and actor.is_authenticated else None,
        at=clock.now(),
        data=data or {},
    )
    if seq is None:
        transaction.on_commit(lambda: events_number_pending(center.pk))
        return event
    _publish_on_commit(event_payload(event), before=earlier, after=[])
    return event


def ticket_event_written(
    payload: dict[str, Any], *, event_id: int, sequence_row: bool, last_seq: int | None
) -> None:
    """Numbers and publishes an event that the caller's own statement inserted without a
    number, in the same transaction as the change it records. That statement also tried
    the center's lock (:data:`SEQUENCE_LOCK_CTE`): ``sequence_row`` says whether the center
    has its sequence row, ``last_seq`` is its last number if the lock was free, else None.

    ``payload`` is the event as it will be published (:func:`new_event_payload`, without a
    number), ``event_id`` its row's id; its ``seq`` is set here when it is numbered before
    the commit. PostgreSQL only (SQLite has no data-modifying WITH)."""
    center_id = payload["center"]
    if not sequence_row:
        with connection.cursor() as cursor:
            last_seq = _lock_if_free(cursor, center_id)
    deferring = getattr(connection, "_walkin_deferring", None) == _current_transaction()
    if last_seq is None or deferring:
        connection._walkin_deferring = _current_transaction()
        transaction.on_commit(lambda: events_number_pending(center_id))
        return
    # Numbered here in a statement of its own (its snapshot sees every number an earlier
    # holder committed): the waiting events and this one, in the order written.
    new_last, event_ids = _number_pending(center_id, last_seq, own=0)
    position = event_ids.index(event_id)
    payload["seq"] = new_last - len(event_ids) + position + 1
    _publish_on_commit(payload, before=event_ids[:position], after=event_ids[position + 1 :])


def _publish_on_commit(payload: dict[str, Any], *, before: list[int], after: list[int]) -> None:
    """After commit: publishes the event of ``payload`` between the other events its
    transaction numbered, then numbers and publishes those written while this transaction
    held the lock."""

    def after_commit() -> None:
        publish_all(sorted([payload, *_payloads(before + after)], key=_seq))
        events_number_pending(payload["center"])

    transaction.on_commit(after_commit)


def publish_all(payloads: list[dict[str, Any]]) -> None:
    """Sends the events to their centers' floor groups, in order, in one call of the
    channel layer's loop (one hand-off from this thread, not one per event)."""
    for payload in payloads:
        for listener in listeners:
            listener(payload)
    layer = get_channel_layer()
    if layer is None or not payloads:
        return

    async def send_all() -> None:
        for payload in payloads:
            await layer.group_send(groups.center_floor(payload["center"]), payload)

    try:
        _run_async(send_all())
    except Exception:
        # The log is the truth and screens resynchronise from it: a lost push is tolerable,
        # failing the visitor's already-committed request is not.
        seqs = ", ".join(str(payload["seq"]) for payload in payloads)
        logger.exception("could not publish floor event %s", seqs)


#: How long a publication may take before it is given up (and logged): a channel layer that
#: stopped answering must not hold the request whose change is already committed.
PUBLISH_TIMEOUT_S = 5.0


def _run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Runs a channel-layer call from sync code and waits for it, at most
    ``PUBLISH_TIMEOUT_S``.

    In a request under the server, on the server's event loop, the loop the in-memory
    layer's receivers wait on: ``async_to_sync`` finds it where asgiref keeps it for the
    threads it runs sync code in (``SyncToAsync.threadlocal``), and so does this test.
    Elsewhere (a management command, the simulator, a thread of a test or benchmark)
    ``async_to_sync`` would start a thread and an event loop for every call (half a
    millisecond); one loop in a thread of its own serves every such call of the process."""
    bounded = asyncio.wait_for(coroutine, PUBLISH_TIMEOUT_S)
    if getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None:

        async def awaited() -> Any:
            return await bounded

        return async_to_sync(awaited)()
    return asyncio.run_coroutine_threadsafe(bounded, _publisher_loop()).result()


#: Process id -> its publisher loop and the thread running it (a forked child starts its own).
_publishers: dict[int, tuple[asyncio.AbstractEventLoop, threading.Thread]] = {}
_publishers_lock = threading.Lock()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """The process's loop for channel-layer calls from outside the server, started on
    first use."""
    with _publishers_lock:
        running = _publishers.get(os.getpid())
        if running is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_publisher_run, args=(loop,), name="walkin-publisher", daemon=True
            )
            thread.start()
            running = _publishers[os.getpid()] = (loop, thread)
        return running[0]


def publisher_close() -> None:
    """Stops the process's publisher loop and closes it, and with it what the channel
    layer opened on it (its Redis connections). The next publication starts a new one.

    For whoever closes the layer's connections from another loop (``layer.flush()`` in
    tests): channels-redis cannot close a connection of a loop that is still running."""
    with _publishers_lock:
        running = _publishers.pop(os.getpid(), None)
    if running is None:
        return
    loop, thread = running
    loop.call_soon_threadsafe(loop.stop)
    thread.join()


def _publisher_run(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_forever()
    # Closed in its own thread: closing runs the loop once more (channels-redis closes its
    # connections then), which no other thread's running loop may be in the way of.
    loop.close()
