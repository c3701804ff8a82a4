"""Acceptance: two processes with ten desks each drain 5,000 waiting tickets on PostgreSQL.

Each process is a real child Python process (tests/proof/children.py) with its own
connections, one thread per desk calling ``ticket_call_next`` until nobody waits (after
each claim a raw UPDATE lets the visitor go, as in bench/claims.py). Every ticket must be
called exactly once, none lost, ticket numbers unique, and the center's event log
gap-free: one ISSUED and one CALLED event for every ticket, numbered 1..N without a hole.

The 5,000 tickets: 4,950 written in bulk (tests/proof/support.py explains why that is the
kiosk's rows, and a test there checks it field by field) and 50 through the real kiosk
service, interleaved with the bulk ones' numbering.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import pytest

from center.models import Role
from queueing.models import Ticket, TicketEvent
from queueing.services import desk_open
from tests.center.factories import staff_user
from tests.proof.support import (
    assert_event_log_gap_free,
    assert_ticket_numbers_unique,
    bulk_waiting_tickets,
    expect_line,
    start_child,
)
from tests.queueing.factories import DeskFactory, issue

# The issue's 5,000 (about 30 s on these machines); WALKIN_DRAIN_TICKETS for another size.
TICKETS = int(os.environ.get("WALKIN_DRAIN_TICKETS", "5000"))
THROUGH_THE_KIOSK = 50
PROCESSES = 2
DESKS_EACH = 10
DRAIN_TIMEOUT_S = 900
# The children's sessions commit without waiting for the WAL flush. Locks, visibility and
# atomicity are the same; only durability after a server crash is not, which this test
# does not test. With the flush (~11 ms on these disks) the center's event-sequence row,
# locked from each event to its commit, caps the drain at ~45 tickets/s: minutes, not s.
NO_FLUSH_AT_COMMIT = "-c synchronous_commit=off"


@pytest.mark.django_db(transaction=True)
def test_two_processes_of_ten_desks_drain_5000_tickets_exactly_once(
    center, case_type, wallet_case_type, accounts_service, wallet_service, reception
):
    services = [accounts_service, wallet_service]
    made = time.perf_counter()
    ticket_ids = set(
        bulk_waiting_tickets(
            center, services, [case_type, wallet_case_type], TICKETS - THROUGH_THE_KIOSK
        )
    )
    for n in range(THROUGH_THE_KIOSK):
        chosen = case_type if n % 2 else wallet_case_type
        ticket_ids.add(issue(center, chosen, by=reception, name=f"Kiosk visitor {n}").ticket.pk)
    assert len(ticket_ids) == TICKETS
    desks = []
    for number in range(1, PROCESSES * DESKS_EACH + 1):
        rep = staff_user(center, Role.REPRESENTATIVE, f"drain-rep{number}")
        desk = DeskFactory(center=center, number=number, services=services)
        desks.append([desk_open(desk=desk, by=rep).pk, rep.pk])
    setup_s = time.perf_counter() - made

    children = [
        start_child(
            "drain",
            {"desks": desks[index * DESKS_EACH : (index + 1) * DESKS_EACH]},
            PGOPTIONS=NO_FLUSH_AT_COMMIT,
        )
        for index in range(PROCESSES)
    ]
    try:
        for child in children:
            expect_line(child, "ready")
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, err = child.communicate(timeout=DRAIN_TIMEOUT_S)
            assert child.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()

    assert [result["errors"] for result in results] == [[]] * PROCESSES
    claimed = [pk for result in results for pk in result["claimed"]]
    twice = [pk for pk, count in Counter(claimed).items() if count > 1]
    assert twice == [], "a ticket was called by two desks"
    assert set(claimed) == ticket_ids, "a ticket was lost or invented"
    # Both processes really took part.
    assert all(len(result["claimed"]) > TICKETS // 10 for result in results)

    statuses = Counter(Ticket.objects.filter(center=center).values_list("status", flat=True))
    assert statuses == {Ticket.Status.NO_SHOW: TICKETS}
    assert_ticket_numbers_unique(center)
    seqs = assert_event_log_gap_free(center)
    assert len(seqs) == 2 * TICKETS + PROCESSES * DESKS_EACH  # and each desk's DESK_CHANGED
    kinds = Counter(
        TicketEvent.objects.filter(center=center, ticket__isnull=False).values_list(
            "ticket_id", "kind"
        )
    )
    assert set(kinds.values()) == {1}
    assert {kind for _ticket, kind in kinds} == {"ISSUED", "CALLED"}
    assert len(kinds) == 2 * TICKETS
    # One CALLED event per ticket, in the order the claims committed: seq order.
    called = list(
        TicketEvent.objects.filter(center=center, kind="CALLED")
        .order_by("seq")
        .values_list("ticket_id", flat=True)
    )
    assert sorted(called) == sorted(ticket_ids)

    seconds = max(result["seconds"] for result in results)
    cpu_ms = 1000 * sum(result["cpu"] for result in results) / TICKETS
    print(  # noqa: T201 - the figure of the run, shown with -s
        f"\ndrained {TICKETS} tickets with {PROCESSES}x{DESKS_EACH} desks in {seconds:.1f} s"
        f" ({TICKETS / seconds:.0f} tickets/s, {cpu_ms:.1f} ms of the children's CPU per"
        f" claim; setup {setup_s:.1f} s)"
    )
