"""A Hypothesis state machine of the ticket lifecycle, through the real services.

Hypothesis draws sequences of what happens on a floor (check-ins with and without
priority, desks opened, paused and closed, calls, recalls, no-shows, service started,
transfers, decisions, walkouts, cancellations, time passing on an injected clock) and runs
them through the real services on the test database, beside a small model of the rules.
Every action the model expects to be refused must raise a DomainError and change nothing;
every other must do what the model says. After every step:

- each desk has at most one active ticket, and it is the model's;
- every ticket's status (and calls so far) is the model's;
- ``call_next`` called exactly the ticket the model chose: the lowest rank among the
  desk's services, ties by issue order (FIFO within a priority class, priority 10
  minutes ahead);
- the event log is numbered 1..N, strictly increasing in the order written, and has
  exactly one event per successful step (none for a refused one);
- ticket numbers are unique, and gap-free per service and day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from center import clock
from center.errors import DomainError
from center.models import AssistanceNeed, Role
from queueing import services
from queueing.engine import PRIORITY_HEAD_START
from queueing.models import Desk, EventSequence, Ticket, TicketEvent
from tests.center.factories import staff_user
from tests.queueing.factories import DeskFactory, issue

START = dt.datetime(2026, 3, 2, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
MACHINE_SETTINGS = settings(
    max_examples=30,
    stateful_step_count=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
DESK_NUMBERS = (1, 2, 3)
ANY_INDEX = st.integers(min_value=0, max_value=10_000)


@dataclass
class ModelTicket:
    service: str
    rank_at: dt.datetime
    status: str = Ticket.Status.WAITING
    desk: int | None = None
    calls: int = 0


@dataclass
class ModelDesk:
    services: frozenset[str]
    status: str = Desk.Status.CLOSED
    operated: bool = False


@dataclass
class World:
    """What every example starts from (rolled back to after each)."""

    center: object
    services: dict[str, object]
    case_types: dict[str, object]
    desks: dict[int, tuple[object, object]]
    reception: object
    skills: dict[int, frozenset[str]] = field(default_factory=dict)


class TicketLifecycle(RuleBasedStateMachine):
    world: ClassVar[World]

    def __init__(self) -> None:
        super().__init__()
        self.stack = contextlib.ExitStack()
        self.clock = clock.FixedClock(START)
        self.stack.enter_context(clock.use_clock(self.clock))
        self.stack.enter_context(transaction.atomic())
        self.tickets: dict[int, ModelTicket] = {}
        self.desks = {number: ModelDesk(self.world.skills[number]) for number in DESK_NUMBERS}
        self.events = 0
        for number in DESK_NUMBERS:  # the day starts with the desks open
            self.open_desk(number)

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.stack.close()

    # --- helpers ----------------------------------------------------------------------

    def desk(self, number: int):
        return self.world.desks[number]

    def active(self, number: int) -> tuple[int, ModelTicket] | None:
        for pk, ticket in self.tickets.items():
            if ticket.desk == number and ticket.status in Ticket.ACTIVE_STATUSES:
                return pk, ticket
        return None

    def refused(self, action, **kwargs) -> None:
        with pytest.raises(DomainError):
            action(**kwargs)

    def pick(self, index: int) -> tuple[int, ModelTicket]:
        pk = sorted(self.tickets)[index % len(self.tickets)]
        return pk, self.tickets[pk]

    # --- the visitor's side ---------------------------------------------------------

    @rule(
        arrivals=st.lists(
            st.tuples(
                st.sampled_from(["ACCOUNTS", "WALLET"]),
                st.booleans(),
                st.integers(min_value=0, max_value=4),
            ),
            min_size=1,
            max_size=6,
        )
    )
    def check_in(self, arrivals: list[tuple[str, bool, int]]) -> None:
        """A few visitors arrive, minutes apart (queues must grow to test their order)."""
        for service, priority, minutes_later in arrivals:
            self.clock.advance(minutes=minutes_later)
            needs = (AssistanceNeed.ELDERLY,) if priority else ()
            case_type = self.world.case_types[service]
            result = issue(self.world.center, case_type, by=self.world.reception, needs=needs)
            now = self.clock.now()
            rank = now - PRIORITY_HEAD_START if priority else now
            assert result.ticket.rank_at == rank
            self.tickets[result.ticket.pk] = ModelTicket(service=service, rank_at=rank)
            self.events += 1

    @rule(minutes=st.integers(min_value=0, max_value=15))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @precondition(lambda self: self.tickets)
    @rule(index=ANY_INDEX)
    def walkout(self, index: int) -> None:
        pk, ticket = self.pick(index)
        stored = Ticket.objects.get(pk=pk)
        if ticket.status != Ticket.Status.WAITING:
            self.refused(services.ticket_walkout, ticket=stored, by=self.world.reception)
            return
        services.ticket_walkout(ticket=stored, by=self.world.reception)
        ticket.status = Ticket.Status.WALKOUT
        self.events += 1

    @precondition(lambda self: self.tickets)
    @rule(index=ANY_INDEX)
    def cancel(self, index: int) -> None:
        pk, ticket = self.pick(index)
        stored = Ticket.objects.get(pk=pk)
        if ticket.status != Ticket.Status.WAITING:
            self.refused(services.ticket_cancel, ticket=stored)
            return
        services.ticket_cancel(ticket=stored)
        ticket.status = Ticket.Status.CANCELLED
        self.events += 1

    # --- the desks --------------------------------------------------------------------

    @rule(number=st.sampled_from(DESK_NUMBERS))
    def open_desk(self, number: int) -> None:
        desk, rep = self.desk(number)
        services.desk_open(desk=desk, by=rep)
        self.desks[number].status = Desk.Status.OPEN
        self.desks[number].operated = True
        self.events += 1

    @rule(number=st.sampled_from(DESK_NUMBERS))
    def pause_desk(self, number: int) -> None:
        desk, rep = self.desk(number)
        if not self.desks[number].operated:
            self.refused(services.desk_pause, desk=desk, by=rep)
            return
        services.desk_pause(desk=desk, by=rep)
        self.desks[number].status = Desk.Status.PAUSED
        self.events += 1

    @rule(number=st.sampled_from(DESK_NUMBERS))
    def close_desk(self, number: int) -> None:
        desk, rep = self.desk(number)
        if not self.desks[number].operated or self.active(number):
            self.refused(services.desk_close, desk=desk, by=rep)
            return
        services.desk_close(desk=desk, by=rep)
        self.desks[number].status = Desk.Status.CLOSED
        self.desks[number].operated = False
        self.events += 1

    @rule(number=st.sampled_from(DESK_NUMBERS))
    def call_next(self, number: int) -> None:
        desk, rep = self.desk(number)
        model = self.desks[number]
        if not model.operated or model.status != Desk.Status.OPEN or self.active(number):
            self.refused(services.ticket_call_next, desk=desk, by=rep)
            return
        waiting = [
            (ticket.rank_at, pk)
            for pk, ticket in self.tickets.items()
            if ticket.status == Ticket.Status.WAITING and ticket.service in model.services
        ]
        called = services.ticket_call_next(desk=desk, by=rep)
        if not waiting:
            assert called is None
            return
        expected = min(waiting)[1]
        assert called is not None
        assert called.pk == expected, "call_next broke the queue order"
        ticket = self.tickets[expected]
        ticket.status, ticket.desk, ticket.calls = Ticket.Status.CALLED, number, 1
        self.events += 1

    def _at_desk(self, number: int, action, statuses, **kwargs) -> ModelTicket | None:
        """Runs a desk action on its current visitor, or checks it is refused."""
        desk, rep = self.desk(number)
        current = self.active(number)
        if not self.desks[number].operated or current is None or current[1].status not in statuses:
            self.refused(action, desk=desk, by=rep, **kwargs)
            return None
        return current[1]

    @rule(number=st.sampled_from(DESK_NUMBERS))
    def recall(self, number: int) -> None:
        ticket = self._at_desk(number, services.ticket_recall, {Ticket.Status.CALLED})
        if ticket is None:
            return
        desk, rep = self.desk(number)
        services.ticket_recall(desk=desk, by=rep)
        if ticket.calls >= 3:
            ticket.status = Ticket.Status.NO_SHOW
        else:
            ticket.calls += 1
        self.events += 1

    @rule(number=st.sampled_from(DESK_NUMBERS))
    def no_show(self, number: int) -> None:
        ticket = self._at_desk(number, services.ticket_no_show, {Ticket.Status.CALLED})
        if ticket is None:
            return
        desk, rep = self.desk(number)
        services.ticket_no_show(desk=desk, by=rep)
        ticket.status = Ticket.Status.NO_SHOW
        self.events += 1

    @rule(number=st.sampled_from(DESK_NUMBERS))
    def start_serving(self, number: int) -> None:
        ticket = self._at_desk(number, services.ticket_start_serving, {Ticket.Status.CALLED})
        if ticket is None:
            return
        desk, rep = self.desk(number)
        services.ticket_start_serving(desk=desk, by=rep)
        ticket.status = Ticket.Status.SERVING
        self.events += 1

    @rule(number=st.sampled_from(DESK_NUMBERS), to=st.sampled_from(["ACCOUNTS", "WALLET"]))
    def transfer(self, number: int, to: str) -> None:
        service = self.world.services[to]
        active = set(Ticket.ACTIVE_STATUSES)
        ticket = self._at_desk(number, services.ticket_transfer, active, service=service)
        if ticket is None:
            return
        desk, rep = self.desk(number)
        if ticket.service == to:
            self.refused(services.ticket_transfer, desk=desk, by=rep, service=service)
            return
        new = services.ticket_transfer(desk=desk, by=rep, service=service)
        assert new.rank_at == ticket.rank_at, "a transferred visitor lost their place"
        ticket.status = Ticket.Status.TRANSFERRED
        self.tickets[new.pk] = ModelTicket(service=to, rank_at=ticket.rank_at)
        self.events += 2

    @rule(number=st.sampled_from(DESK_NUMBERS))
    def resolve(self, number: int) -> None:
        decision = {"outcome": "GUIDANCE_GIVEN", "reason_code": "", "explanation": "Explained."}
        ticket = self._at_desk(number, services.ticket_resolve, {Ticket.Status.SERVING}, **decision)
        if ticket is None:
            return
        desk, rep = self.desk(number)
        services.ticket_resolve(desk=desk, by=rep, **decision)
        ticket.status = Ticket.Status.DONE
        self.events += 1

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def one_active_ticket_per_desk_and_statuses_as_modelled(self) -> None:
        stored = {
            pk: (status, desk, calls)
            for pk, status, desk, calls in Ticket.objects.filter(
                center=self.world.center
            ).values_list("pk", "status", "desk__number", "call_count")
        }
        assert {pk: row[0] for pk, row in stored.items()} == {
            pk: ticket.status for pk, ticket in self.tickets.items()
        }
        active_desks = [row[1] for row in stored.values() if row[0] in Ticket.ACTIVE_STATUSES]
        assert len(active_desks) == len(set(active_desks)), "a desk has two active tickets"
        for pk, ticket in self.tickets.items():
            if ticket.status in Ticket.ACTIVE_STATUSES:
                assert stored[pk][1:] == (ticket.desk, ticket.calls)
        desks = dict(Desk.objects.filter(center=self.world.center).values_list("number", "status"))
        assert desks == {number: desk.status for number, desk in self.desks.items()}

    @invariant()
    def event_log_strictly_increasing_without_gaps(self) -> None:
        seqs = list(
            TicketEvent.objects.filter(center=self.world.center)
            .order_by("pk")
            .values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(seqs) == self.events, "a step wrote more or fewer events than it made"
        last = EventSequence.objects.filter(center=self.world.center).values_list(
            "last_seq", flat=True
        )
        assert list(last) in ([len(seqs)], [] if not seqs else [len(seqs)])

    @invariant()
    def ticket_numbers_unique_and_gap_free(self) -> None:
        numbers: dict[tuple[int, dt.date], list[int]] = {}
        for service, day, number in Ticket.objects.filter(center=self.world.center).values_list(
            "service_id", "service_date", "number"
        ):
            numbers.setdefault((service, day), []).append(number)
        for issued in numbers.values():
            assert sorted(issued) == list(range(1, len(issued) + 1))


@pytest.mark.slow
def test_ticket_lifecycle_keeps_its_invariants(
    center, accounts_service, wallet_service, case_type, wallet_case_type, reception
):
    desks = {}
    skills = {1: [accounts_service, wallet_service], 2: [accounts_service], 3: [wallet_service]}
    for number, serves in skills.items():
        rep = staff_user(center, Role.REPRESENTATIVE, f"machine-rep{number}")
        desks[number] = (DeskFactory(center=center, number=number, services=serves), rep)
    TicketLifecycle.world = World(
        center=center,
        services={"ACCOUNTS": accounts_service, "WALLET": wallet_service},
        case_types={"ACCOUNTS": case_type, "WALLET": wallet_case_type},
        desks=desks,
        reception=reception,
        skills={number: frozenset(s.code for s in serves) for number, serves in skills.items()},
    )
    run_state_machine_as_test(TicketLifecycle, settings=MACHINE_SETTINGS)
