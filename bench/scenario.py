"""A center set up through the real services: one service, one open desk, and waiting
visitors whose status-page tokens the benchmark opens sockets on.

The first ``front`` tickets are the ones the desk will call; behind them wait the
``sockets`` tickets that are watched, so every call moves each watched visitor one place
forward: after ``k`` calls, the ``i``-th watched visitor has ``front - k + i`` ahead.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from center.models import Case, CaseType, Center, Role, StaffProfile, Visit, Visitor
from queueing.models import Desk, EventSequence, Service
from queueing.services import (
    CheckIn,
    IssuedTicket,
    checkin_issue_ticket,
    desk_open,
    ticket_call_next,
    ticket_no_show,
)

CASE_TYPE_CODE = "BENCH_GENERAL"


@dataclass(frozen=True)
class Scenario:
    center_id: int
    desk_id: int
    rep_id: int
    front: int
    #: Status-page tokens of the watched tickets, in queue order.
    tokens: list[str]

    def expected_ahead(self, index: int, calls: int) -> int:
        return max(self.front - calls, 0) + index


def scenario_create(*, label: str, sockets: int, front: int) -> Scenario:
    suffix = f"{label}-{secrets.token_hex(3)}"
    center = Center.objects.create(
        name=f"Bench {label}", slug=f"bench-{suffix}", timezone="Asia/Shanghai", languages=["en"]
    )
    service = Service.objects.create(center=center, code="ACCOUNTS", name="Accounts", prefix="A")
    case_type, _created = CaseType.objects.get_or_create(
        code=CASE_TYPE_CODE,
        defaults={"name": "Account question", "skill": "ACCOUNTS", "expected_service_s": 600},
    )
    reception = staff(center, Role.RECEPTION, f"bench-reception-{suffix}")
    rep = staff(center, Role.REPRESENTATIVE, f"bench-rep-{suffix}")
    desk = Desk.objects.create(center=center, number=1)
    desk.services.set([service])
    desk_open(desk=desk, by=rep)
    tokens = []
    for index in range(front + sockets):
        issued = check_in(center, case_type, name=f"Visitor {index}", by=reception)
        if index >= front:
            tokens.append(issued.token)
    return Scenario(center_id=center.pk, desk_id=desk.pk, rep_id=rep.pk, front=front, tokens=tokens)


def check_in(center: Center, case_type: CaseType, *, name: str, by) -> IssuedTicket:
    """A visitor through the real kiosk service, as the benchmarks' floors are filled."""
    issued = checkin_issue_ticket(
        center=center,
        checkin=CheckIn(
            full_name=name,
            purpose="CASE",
            screening_passed=True,
            items_stored=False,
            recording_rule_acknowledged=True,
            case_type=case_type,
            complaint={},
            complaint_text="My account is suspended.",
            language="en",
        ),
        by=by,
    )
    assert issued.token, "a fresh check-in hands out its token"
    return issued


def staff(center: Center, role: str, username: str):
    user = get_user_model().objects.create_user(username=username)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    StaffProfile.objects.create(user=user, center=center)
    return user


def call_next(*, desk_id: int, rep_id: int) -> tuple[float, int]:
    """Calls the next visitor; returns the time right after the service returned and the
    event sequence it committed."""
    desk = Desk.objects.get(pk=desk_id)
    ticket = ticket_call_next(desk=desk, by=get_user_model().objects.get(pk=rep_id))
    called_at = time.monotonic()
    assert ticket is not None, "the benchmark ran out of waiting tickets"
    return called_at, EventSequence.objects.get(center_id=desk.center_id).last_seq


def no_show(*, desk_id: int, rep_id: int) -> None:
    desk = Desk.objects.get(pk=desk_id)
    ticket_no_show(desk=desk, by=get_user_model().objects.get(pk=rep_id))


def bulk_cases(
    center: Center,
    case_types: list[CaseType],
    issued: list[dt.datetime],
    *,
    reference: str,
    status: str = Case.Status.OPEN,
) -> list[Case]:
    """The rows a kiosk check-in writes before its ticket, in bulk: a visitor, a checked-in
    visit and a case for each time in ``issued`` (the case types in turn, references
    ``<reference>-<n>``). ``tests/proof`` compares them with what the kiosk writes."""
    visitors = Visitor.objects.bulk_create(
        Visitor(center=center, full_name=f"Visitor {index}", language="en", created_at=at)
        for index, at in enumerate(issued)
    )
    visits = Visit.objects.bulk_create(
        Visit(
            center=center,
            visitor=visitor,
            status=Visit.Status.CHECKED_IN,
            purpose="CASE",
            screening_passed=True,
            recording_rule_acknowledged=True,
            assistance_needs=[],
            at=at,
        )
        for visitor, at in zip(visitors, issued, strict=True)
    )
    return Case.objects.bulk_create(
        Case(
            center=center,
            visit=visit,
            case_type=case_types[index % len(case_types)],
            reference=f"{reference}-{index}",
            complaint={},
            complaint_text="My account is suspended.",
            status=status,
            opened_at=at,
            updated_at=at,
        )
        for index, (visit, at) in enumerate(zip(visits, issued, strict=True))
    )
