"""Shared by the proof tests (tests/proof and tests/postgres): a floor of waiting tickets
written in bulk, child processes on the test's database, and the event-log check.

Child processes run ``python -m tests.proof.children <command> <json>`` with
``DATABASE_URL`` pointing at the running test's database (SQLite file or PostgreSQL), so
they use the real settings and services; see tests/proof/children.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import uuid
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.test import Client

from bench.scenario import bulk_cases
from center import clock
from center.models import AuditEvent, Case, CaseType, Center, Visit, Visitor
from queueing import engine
from queueing.models import (
    DailyCounter,
    EventSequence,
    PriorityClass,
    Service,
    Ticket,
    TicketEvent,
)
from queueing.services import service_date
from tests.e2e.daphne import served_database_url

ROOT = Path(__file__).resolve().parents[2]


def bulk_waiting_tickets(
    center: Center, services: list[Service], case_types: list[CaseType], count: int
) -> list[int]:
    """``count`` waiting tickets with the rows a kiosk check-in writes for each: visitor,
    visit, case, ticket (number, code, rank, service day) and its ISSUED event; the
    EventSequence and the DailyCounters are moved on to match, so that check-ins and
    calls afterwards continue the same gap-free numbering.

    Why this is equivalent for a claim: ``ticket_call_next`` reads only the ticket's
    center, service, status, ``away_since`` and queue order (``rank_at``, id), and writes
    the ticket and the event log. ``test_bulk_floor_matches_the_kiosk`` (tests/proof)
    compares these rows field by field with what ``checkin_issue_ticket`` writes. The
    real service costs ~20 ms a ticket here (5,000: minutes); this costs ~1 ms.
    """
    now = clock.now()
    day = service_date(center, now)
    issued = [now - dt.timedelta(milliseconds=10 * (count - index)) for index in range(count)]
    cases = bulk_cases(center, case_types, issued, reference=f"WC-P{center.pk}")
    counters = {
        counter.service_id: counter
        for counter in DailyCounter.objects.filter(center=center, service_date=day)
    }
    numbers = {
        service.pk: getattr(counters.get(service.pk), "last_number", 0) for service in services
    }
    rows = []
    for index, (case, at) in enumerate(zip(cases, issued, strict=True)):
        service = services[index % len(services)]
        numbers[service.pk] += 1
        number = numbers[service.pk]
        rows.append(
            Ticket(
                center=center,
                service=service,
                case=case,
                service_date=day,
                number=number,
                code=engine.ticket_code(service.prefix, number),
                priority=PriorityClass.STANDARD,
                rank_at=engine.rank_at(at, PriorityClass.STANDARD),
                issued_at=at,
                language="en",
            )
        )
    created = Ticket.objects.bulk_create(rows)
    sequence, _ = EventSequence.objects.get_or_create(center=center)
    first = sequence.last_seq + 1
    TicketEvent.objects.bulk_create(
        TicketEvent(
            center=center,
            seq=first + index,
            kind="ISSUED",
            ticket=ticket,
            at=ticket.issued_at,
            data={"service": ticket.service.code, "priority": ticket.priority},
        )
        for index, ticket in enumerate(created)
    )
    EventSequence.objects.filter(pk=sequence.pk).update(last_seq=first + count - 1)
    for service in services:
        DailyCounter.objects.update_or_create(
            center=center,
            service=service,
            service_date=day,
            defaults={"last_number": numbers[service.pk]},
        )
    return [ticket.pk for ticket in created]


def assert_event_log_gap_free(center: Center) -> list[int]:
    """The center's events are numbered 1..last_seq, each once, in the order written."""
    seqs = list(
        TicketEvent.objects.filter(center=center).order_by("pk").values_list("seq", flat=True)
    )
    last = (
        EventSequence.objects.filter(center=center).values_list("last_seq", flat=True).first() or 0
    )
    assert sorted(seqs) == list(range(1, last + 1)), "the event log has a gap or a duplicate"
    return seqs


def assert_ticket_numbers_unique(center: Center) -> None:
    rows = list(
        Ticket.objects.filter(center=center).values_list(
            "service_id", "service_date", "number", "code"
        )
    )
    assert len({row[:3] for row in rows}) == len(rows), "two tickets share a number"
    assert len({(row[0], row[1], row[3]) for row in rows}) == len(rows), "two tickets share a code"


def child_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(DATABASE_URL=served_database_url(), PYTHONUNBUFFERED="1", **extra)
    env.pop("REDIS_URL", None)
    return env


def start_child(command: str, args: dict[str, Any], **env: str) -> subprocess.Popen[str]:
    """A child process on this test's database; talk to it over stdin/stdout lines."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.proof.children", command, json.dumps(args)],
        cwd=ROOT,
        env=child_env(**env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def expect_line(child: subprocess.Popen[str], expected: str) -> None:
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if line != expected:
        child.kill()
        _, err = child.communicate(timeout=10)
        raise AssertionError(f"child said {line!r}, not {expected!r}:\n{err[-3000:]}")


# --- a check-in killed midway, and one submitted twice at once --------------------------

KILL_POINTS = ("after-visit", "after-event")


def floor_rows(center: Center) -> dict[str, int]:
    """How many rows a check-in writes to, in this center."""
    return {
        "visitors": Visitor.objects.filter(center=center).count(),
        "visits": Visit.objects.filter(center=center).count(),
        "cases": Case.objects.filter(center=center).count(),
        "tickets": Ticket.objects.filter(center=center).count(),
        "events": TicketEvent.objects.filter(center=center).count(),
        "audit": AuditEvent.objects.filter(center=center).count(),
        "last_seq": EventSequence.objects.filter(center=center)
        .values_list("last_seq", flat=True)
        .first()
        or 0,
        "last_number": sum(
            DailyCounter.objects.filter(center=center).values_list("last_number", flat=True)
        ),
    }


def kill_checkin_midway(center: Center, case_type: CaseType, pause: str, key: str) -> None:
    """Starts a check-in in a child process, SIGKILLs it at ``pause`` inside the
    transaction, and checks that none of it exists."""
    before = floor_rows(center)
    child = start_child(
        "checkin", {"center": center.pk, "case_type": case_type.code, "key": key, "pause": pause}
    )
    try:
        expect_line(child, "inside")
    finally:
        child.kill()
        child.communicate(timeout=30)
    assert child.returncode == -9
    assert not Visit.objects.filter(idempotency_key=key).exists()
    assert floor_rows(center) == before, "a killed check-in left part of itself behind"


def checkin_in_child(center: Center, case_type: CaseType, key: str) -> int:
    child = start_child("checkin", {"center": center.pk, "case_type": case_type.code, "key": key})
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])["ticket"]


def kiosk_form(case_type: CaseType, key: str, name: str = "Double Click") -> dict[str, str]:
    """A valid kiosk submission for a case type without intake questions."""
    return {
        "idempotency_key": key,
        "full_name": name,
        "language": "en",
        "purpose": "CASE",
        "screening_passed": "on",
        "recording_rule_acknowledged": "on",
        "case_type": case_type.code,
        "complaint_text": "My wallet is frozen.",
    }


def signed_in(client, user):
    """``client`` with a signed-in session of ``user``, written directly: ``force_login``
    fires django-axes' login signal, whose fake request has no address, and on PostgreSQL
    its access log refuses the address "unknown"."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


def post_at_once(user, path: str, form: dict[str, str], clients: int = 2) -> list[tuple[int, str]]:
    """``clients`` browsers of ``user`` post ``form`` at the same instant, each in its own
    thread and database connection; returns each (status, Location)."""
    browsers = [signed_in(Client(), user) for _ in range(clients)]
    results: list[tuple[int, str] | BaseException] = [RuntimeError("no answer")] * clients
    start = threading.Barrier(clients)

    def post(index: int) -> None:
        try:
            start.wait()
            response = browsers[index].post(path, form)
            results[index] = (response.status_code, response.headers.get("Location", ""))
        except BaseException as error:  # reported below
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    return results  # type: ignore[return-value]


def double_clicked_checkin(center: Center, case_type: CaseType, reception, rounds: int = 5) -> None:
    """The same kiosk form posted twice at once, ``rounds`` times: one ticket each."""
    for round_ in range(rounds):
        key = uuid.uuid4().hex
        before = floor_rows(center)
        answers = post_at_once(reception, "/kiosk/", kiosk_form(case_type, key, f"Double {round_}"))
        assert [status for status, _location in answers] == [302, 302], answers
        assert answers[0][1] == answers[1][1], "the two clicks got different tickets"
        tickets = Ticket.objects.filter(case__visit__idempotency_key=key)
        assert tickets.count() == 1
        assert answers[0][1].rstrip("/").endswith(f"/kiosk/tickets/{tickets.get().pk}")
        after = floor_rows(center)
        assert {
            name: after[name] - before[name] for name in ("visitors", "visits", "cases", "tickets")
        } == {
            "visitors": 1,
            "visits": 1,
            "cases": 1,
            "tickets": 1,
        }
