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
- Whoever held the lock looks, after its commit, for events still waiting and numbers
  them in a short transaction of its own (:func:`events_number_pending`), again only if
  the lock is free. An event written while the lock was held was committed before its
  holder released the lock, so the holder's look afterwards finds it.

Claims then commit in parallel and numbering runs in batches. A floor read sees every
change up to its sequence number (and perhaps a few newer ones not yet numbered, which
the next number announces). If a process dies between a commit and that look, the next
event of the center, or any worker's floor watchdog within a second, numbers the rest.

On SQLite every write transaction already holds the database's only write lock, so the
number is always taken inline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from center import clock
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
# PostgreSQL only: one row with the last number if nobody holds the lock, one row with
# NULL if somebody does, no row if the center has no sequence row yet.
_LOCK_SEQ_IF_FREE_SQL = (
    f"SELECT locked.last_seq FROM {_SEQUENCE_TABLE} AS sequence LEFT JOIN LATERAL "  # noqa: S608 - a table name, no input
    f"(SELECT last_seq FROM {_SEQUENCE_TABLE} AS mine WHERE mine.center_id = sequence.center_id"
    " FOR UPDATE SKIP LOCKED) AS locked ON true WHERE sequence.center_id = %s"
)
# Runs after the lock is taken, in a statement of its own: under READ COMMITTED its
# snapshot then includes every number an earlier holder committed. It numbers the waiting
# events after %(last)s in the order they were written, moves the center's last number
# past them and past %(own)s more (the caller's own event), and returns the new last
# number with the ids it numbered.
_NUMBER_PENDING_SQL = (
    f"WITH pending AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM {_EVENT_TABLE} "  # noqa: S608 - table names, no input
    "WHERE center_id = %(center)s AND seq IS NULL), "
    f"numbered AS (UPDATE {_EVENT_TABLE} AS event SET seq = %(last)s + pending.n FROM pending "
    "WHERE event.id = pending.id RETURNING event.id) "
    f"UPDATE {_SEQUENCE_TABLE} SET last_seq = %(last)s + %(own)s "
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


def _number_pending(cursor: Any, center_id: int, last_seq: int, own: int) -> tuple[int, list[int]]:
    """Under the lock: numbers the waiting events after ``last_seq`` and reserves ``own``
    numbers after them; returns the new last number and the ids it numbered."""
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
        seq, earlier = _number_pending(cursor, center.pk, last_seq, own=1)
    return seq, earlier


def _publish_events(event_ids: list[int]) -> None:
    if not event_ids:
        return
    for event in (
        TicketEvent.objects.filter(pk__in=event_ids)
        .select_related("ticket", "desk")
        .order_by("seq")
    ):
        publish(event_payload(event))


def events_number_pending(center_id: int) -> int:
    """Numbers and publishes the center's committed events that wait for a number, unless
    another transaction holds the lock (it will look again after its commit).

    Returns how many this call numbered."""
    if connection.vendor != "postgresql":
        return 0
    numbered = 0
    while events_waiting_for_number(center_id):
        with transaction.atomic(), connection.cursor() as cursor:
            last_seq = _lock_if_free(cursor, center_id)
            if last_seq is None:
                break
            _last, event_ids = _number_pending(cursor, center_id, last_seq, own=0)
        _publish_events(event_ids)
        numbered += len(event_ids)
    return numbered


# After every numbered event's commit: kept to the plain statement (index event_unnumbered).
_ANY_UNNUMBERED_SQL = f"SELECT 1 FROM {_EVENT_TABLE} WHERE center_id = %s AND seq IS NULL LIMIT 1"  # noqa: S608 - a table name, no input


def events_waiting_for_number(center_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_ANY_UNNUMBERED_SQL, [center_id])
        return cursor.fetchone() is not None


def event_payload(event: TicketEvent) -> dict[str, Any]:
    ticket = event.ticket
    return {
        "type": "floor.event",
        "center": event.center_id,
        "seq": event.seq,
        "kind": event.kind,
        "at": event.at.isoformat(),
        "ticket": ticket.code if ticket else None,
        "ticket_id": ticket.pk if ticket else None,
        "status": ticket.status if ticket else None,
        "desk": event.desk.number if event.desk else None,
        "data": event.data,
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
    payload = event_payload(event)

    def after_commit() -> None:
        _publish_events(earlier)
        publish(payload)
        # Events written while this transaction held the lock wait for a number.
        events_number_pending(center.pk)

    transaction.on_commit(after_commit)
    return event


def publish(payload: dict[str, Any]) -> None:
    for listener in listeners:
        listener(payload)
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(groups.center_floor(payload["center"]), payload)
    except Exception:
        # The log is the truth and screens resynchronise from it: a lost push is tolerable,
        # failing the visitor's already-committed request is not.
        logger.exception("could not publish floor event %s", payload["seq"])
