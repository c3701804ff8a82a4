"""Claims: how fast 10 desks drain the queue with ``ticket_call_next`` on PostgreSQL.

A fresh database of this benchmark only (``bench_claims_<pid>`` on the server of
``DATABASE_URL`` when it is PostgreSQL, else ``postgres://postgres@127.0.0.1:5432/test``),
migrated, and dropped at the end; the run's own database is put back afterwards. An
unreachable server skips the benchmark with one line.

Each run sets up a center of its own: two services, 10 desks taking both, each opened by
its own representative through ``desk_open``, and N waiting tickets bulk-created as the
kiosk would have issued them (visitor, visit, case, ticket with its number, code, rank and
service day, no token; the ISSUED events numbered 1..N, the EventSequence and the
DailyCounters to match), then ANALYZE. 10 threads, each with its own connection, desk and
representative, call ``ticket_call_next`` until it returns None; after each claim the
desk lets the visitor go with one raw autocommit UPDATE (status NO_SHOW), so that it may
call again. Figure: claims per second, median of 3 runs.

Baseline, in the same run: the same 10 threads with psycopg directly, on a fresh floor of
the same shape, each claim ``BEGIN; SELECT id … FOR UPDATE SKIP LOCKED LIMIT 1; UPDATE …
SET status='CALLED', desk_id=…; COMMIT``, followed by the same release. A second raw loop
also writes the rows a claim of the service writes, its audit entry and its CALLED event
(``INSERT``, ``INSERT`` before the ``COMMIT``; the event numbered from a plain sequence):
against it, what the service costs beyond the rows themselves (the gap-free numbering,
the publication, Django).

Every variant checks that every ticket was claimed exactly once. One more service run,
not counted, times each SQL statement of a claim by what it does, the commit and the
publication after it, to show where the time goes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import dj_database_url
import psycopg
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from bench.cpu import machine_cpu_s, process_cpu_s
from bench.postgres import fresh_database, server
from bench.report import median
from bench.runner import Context
from bench.scenario import bulk_cases
from center import clock
from center.db import prepared_cursor
from center.models import AuditEvent, CaseType, Center, Role, StaffProfile
from queueing import engine, events
from queueing.models import (
    DailyCounter,
    Desk,
    EventSequence,
    PriorityClass,
    Service,
    Ticket,
    TicketEvent,
)
from queueing.services import desk_open, service_date, ticket_call_next

NAME = "claims"
TITLE = "claims per second of 10 desks draining the queue on PostgreSQL"

DESKS = 10
TICKETS = 1000
QUICK_TICKETS = 300
PHASED_TICKETS = 500
RUNS = 3
QUICK_RUNS = 1

RELEASE_SQL = "UPDATE queueing_ticket SET status = 'NO_SHOW', finished_at = now() WHERE id = %s"
CLAIM_SELECT_SQL = (
    "SELECT id, code FROM queueing_ticket WHERE center_id = %s AND status = 'WAITING'"
    " AND service_id = ANY(%s) ORDER BY rank_at, id FOR UPDATE SKIP LOCKED LIMIT 1"
)
CLAIM_UPDATE_SQL = (
    "UPDATE queueing_ticket SET status = 'CALLED', desk_id = %s, called_at = now(),"
    " call_count = 1 WHERE id = %s AND status = 'WAITING'"
)
#: The rows the service writes beside the claim (the raw loop with the claim's rows).
AUDIT_INSERT_SQL = (
    "INSERT INTO center_auditevent (center_id, actor_id, action, subject, details, at)"
    " VALUES (%s, %s, 'ticket.called', 'ticket:' || %s, %s::jsonb, now())"
)
#: The event takes a number of a plain sequence: unique, but not the service's gap-free
#: numbering. (Left without one, the drain's events would stay waiting for a number, and
#: the statistics of the runs after it would count them.)
EVENT_NUMBERS_SQL = "CREATE SEQUENCE IF NOT EXISTS bench_event_number START 1000000000"
EVENT_INSERT_SQL = (
    "INSERT INTO queueing_ticketevent (center_id, seq, kind, ticket_id, desk_id, actor_id, at,"
    " data) VALUES (%s, nextval('bench_event_number'), 'CALLED', %s, %s, %s, now(),"
    " '{}'::jsonb)"
)


@dataclass
class Floor:
    center: Center
    services: list[Service]
    desks: list[tuple[Desk, object]]
    ticket_ids: set[int]


@dataclass
class Drain:
    seconds: float
    claimed: list[int]
    errors: list[BaseException]
    #: phase -> seconds summed over every claim (the phased run only)
    phases: dict[str, float] = field(default_factory=dict)
    calls: int = 0
    #: write-ahead log the server wrote meanwhile (the whole server's: run on a quiet one)
    wal_bytes: int = 0
    #: CPU seconds meanwhile: this process's (the desks' threads), and the whole machine's
    #: (this process, PostgreSQL and whatever else runs)
    process_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.claimed) / self.seconds

    @property
    def wal_per_claim(self) -> float:
        return self.wal_bytes / len(self.claimed)

    @property
    def machine_ms_per_claim(self) -> float:
        return 1000 * self.machine_cpu_s / len(self.claimed)

    @property
    def process_ms_per_claim(self) -> float:
        return 1000 * self.process_cpu_s / len(self.claimed)


def run(context: Context) -> None:
    report = context.report
    if (base := server(report)) is None:
        return
    started = time.monotonic()
    with fresh_database(base, "claims") as url:
        parsed = dj_database_url.parse(url)
        report.note(
            f"  database {parsed['NAME']} on {parsed.get('HOST') or 'localhost'}"
            f":{parsed.get('PORT') or 5432} migrated in {time.monotonic() - started:.0f} s"
        )
        _measure(context, url)
    report.note(f"  claims done in {time.monotonic() - started:.0f} s")


def _measure(context: Context, url: str) -> None:
    report = context.report
    tickets = QUICK_TICKETS if context.quick else TICKETS
    runs = QUICK_RUNS if context.quick else RUNS
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        sync = cursor.fetchone()[0]
    report.note(
        f"  PostgreSQL {version} (synchronous_commit {sync}), {DESKS} desks, {tickets} tickets"
        f", {runs} runs each"
    )
    service_rates, raw_rates, logged_rates = [], [], []
    service_wal, raw_wal = [], []
    service_drains, raw_drains, logged_drains = [], [], []
    service_ok = raw_ok = logged_ok = True
    for index in range(runs):
        floor = _floor_create(f"s{index}", tickets)
        drain = _drain_service(floor)
        service_ok &= _check_service(report, floor, drain, f"service run {index + 1}")
        service_rates.append(drain.rate)
        service_wal.append(drain.wal_per_claim)
        service_drains.append(drain)
        floor = _floor_create(f"r{index}", tickets)
        drain = _drain_raw(floor, url)
        raw_ok &= _check_raw(report, floor, drain, f"raw run {index + 1}")
        raw_rates.append(drain.rate)
        raw_wal.append(drain.wal_per_claim)
        raw_drains.append(drain)
        floor = _floor_create(f"l{index}", tickets)
        drain = _drain_raw(floor, url, logged=True)
        logged_ok &= _check_logged(
            report, floor, drain, f"raw run with the rows {index + 1}", numbered=False
        )
        logged_rates.append(drain.rate)
        logged_drains.append(drain)
        report.note(
            f"  run {index + 1}: service {service_rates[-1]:.0f}/s, raw {raw_rates[-1]:.0f}/s,"
            f" raw with the claim's rows {logged_rates[-1]:.0f}/s"
        )
    baseline = median(raw_rates)
    report.figure("claims.raw_sql.d10", baseline, "/s")
    report.figure("claims.call_next.d10", median(service_rates), "/s", baseline=baseline)
    # The rows a claim must write, on their own: what is left beyond them is the service's.
    logged = median(logged_rates)
    report.figure("claims.raw_sql_rows.d10", logged, "/s", baseline=baseline)
    report.figure("claims.call_next.vs_rows.d10", median(service_rates), "/s", baseline=logged)
    # What each claim writes, whatever the machine's speed: its rows, their indexes, and
    # the ticket's release to NO_SHOW (both variants).
    raw_wal_median = median(raw_wal)
    report.figure("claims.raw_sql.wal_per_claim", raw_wal_median, "B")
    report.figure(
        "claims.call_next.wal_per_claim", median(service_wal), "B", baseline=raw_wal_median
    )
    # The ratio of the rates is about the inverse ratio of these when the cores are busy.
    raw_machine = median([drain.machine_ms_per_claim for drain in raw_drains])
    report.figure("claims.raw_sql.cpu_per_claim", raw_machine, "ms")
    report.figure(
        "claims.call_next.cpu_per_claim",
        median([drain.machine_ms_per_claim for drain in service_drains]),
        "ms",
        baseline=raw_machine,
    )
    report.note(
        "  CPU per claim, this process (the desks) + the rest of the machine (PostgreSQL):"
        f" service {_cpu_split(service_drains)}, raw {_cpu_split(raw_drains)}, raw with the"
        f" rows {_cpu_split(logged_drains)}; write-ahead log per claim of the raw loop with the"
        f" rows: {median([drain.wal_per_claim for drain in logged_drains]):.0f} B"
    )
    report.note(
        f"  exactly once: service {'yes' if service_ok else 'NO'} ({runs} x {tickets} tickets"
        f" claimed once each, one CALLED event and one audit entry each), raw "
        f"{'yes' if raw_ok else 'NO'} ({runs} x {tickets} tickets claimed once each), raw with"
        f" the rows {'yes' if logged_ok else 'NO'} (the same, one event and audit entry each)"
    )
    floor = _floor_create("p", min(tickets, PHASED_TICKETS))
    drain = _drain_service(floor, phased=True)
    _check_service(report, floor, drain, "phased run")
    _phases_report(report, drain)


# --- the floor ----------------------------------------------------------------------


def _floor_create(label: str, tickets: int) -> Floor:
    """A center with N waiting tickets, the rows the kiosk would have written for them."""
    center = Center.objects.create(
        name=f"Bench claims {label}",
        slug=f"bench-claims-{label}",
        timezone="Asia/Shanghai",
        languages=["en"],
    )
    services = [
        Service.objects.create(center=center, code="ACCOUNTS", name="Accounts", prefix="A"),
        Service.objects.create(center=center, code="WALLET", name="Wallet", prefix="W"),
    ]
    case_types = [
        CaseType.objects.get_or_create(
            code=f"BENCH_{service.code}",
            defaults={"name": service.name, "skill": service.code, "expected_service_s": 600},
        )[0]
        for service in services
    ]
    now = clock.now()
    day = service_date(center, now)
    issued = [now - dt.timedelta(milliseconds=10 * (tickets - index)) for index in range(tickets)]
    cases = bulk_cases(center, case_types, issued, reference=f"WC-B{center.pk}")
    numbers = [0, 0]
    rows = []
    for index, (case, at) in enumerate(zip(cases, issued, strict=True)):
        service = services[index % 2]
        numbers[index % 2] += 1
        number = numbers[index % 2]
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
                token_hash=None,
            )
        )
    created = Ticket.objects.bulk_create(rows)
    TicketEvent.objects.bulk_create(
        TicketEvent(
            center=center,
            seq=index + 1,
            kind="ISSUED",
            ticket=ticket,
            at=ticket.issued_at,
            data={"service": ticket.service.code, "priority": ticket.priority},
        )
        for index, ticket in enumerate(created)
    )
    EventSequence.objects.create(center=center, last_seq=tickets)
    DailyCounter.objects.bulk_create(
        DailyCounter(center=center, service=service, service_date=day, last_number=number)
        for service, number in zip(services, numbers, strict=True)
    )
    group = Group.objects.get_or_create(name=Role.REPRESENTATIVE)[0]
    desks = []
    for number in range(1, DESKS + 1):
        rep = get_user_model().objects.create_user(username=f"claims-{label}-rep-{number}")
        rep.groups.add(group)
        StaffProfile.objects.create(user=rep, center=center)
        desk = Desk.objects.create(center=center, number=number)
        desk.services.set(services)
        desks.append((desk_open(desk=desk, by=rep), rep))
    # Statistics and free space as autovacuum keeps them on a floor that filled up over
    # the morning (a bulk load just now has no statistics, and the planner would take the
    # tables for empty; the drains before this one left their dead rows, which a server
    # without autovacuum keeps): every variant and run starts from the same state.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return Floor(center, services, desks, {ticket.pk for ticket in created})


# --- the two ways of draining it ----------------------------------------------------


def _threads(work: Callable[[int, list[int], Callable[[], None]], None]) -> Drain:
    """Runs ``work(desk_index, claimed, ready)`` in DESKS threads; each connects, calls
    ``ready()`` and drains. The time runs from the moment all are ready to the last one
    done."""
    claimed: list[list[int]] = [[] for _ in range(DESKS)]
    errors: list[BaseException] = []
    start = threading.Barrier(DESKS + 1)

    def body(index: int) -> None:
        try:
            work(index, claimed[index], start.wait)
        except BaseException as error:
            errors.append(error)
            start.abort()

    threads = [threading.Thread(target=body, args=(index,)) for index in range(DESKS)]
    for thread in threads:
        thread.start()
    wal_start = wal_position()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()
    process_cpu, machine_cpu = process_cpu_s(), machine_cpu_s()
    begin = time.perf_counter()
    for thread in threads:
        thread.join(timeout=300)
    seconds = time.perf_counter() - begin
    return Drain(
        seconds,
        [pk for part in claimed for pk in part],
        errors,
        wal_bytes=wal_since(wal_start),
        process_cpu_s=process_cpu_s() - process_cpu,
        machine_cpu_s=machine_cpu_s() - machine_cpu,
    )


def _cpu_split(drains: list[Drain]) -> str:
    process = median([drain.process_ms_per_claim for drain in drains])
    machine = median([drain.machine_ms_per_claim for drain in drains])
    return f"{process:.2f} + {machine - process:.2f} ms"


def wal_position() -> str | None:
    """Where the server's write-ahead log is (PostgreSQL; None elsewhere)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        return cursor.fetchone()[0]


def wal_since(start: str | None) -> int:
    """Bytes of write-ahead log the whole server wrote since ``start`` (0 without one)."""
    if start is None:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint", [start])
        return cursor.fetchone()[0]


def _drain_service(floor: Floor, *, phased: bool = False) -> Drain:
    phases: dict[str, float] = defaultdict(float)
    lock = threading.Lock()
    calls = 0
    # The publication after the commit goes through the module-level name.
    original_publish = events.publish_all

    def timed_publish(payloads):
        begin = time.perf_counter()
        try:
            original_publish(payloads)
        finally:
            with lock:
                phases["publish after commit"] += time.perf_counter() - begin

    def work(index: int, claimed: list[int], ready: Callable[[], None]) -> None:
        nonlocal calls
        desk, rep = floor.desks[index]
        mine: dict[str, float] = defaultdict(float)
        try:
            connection.ensure_connection()
            ready()
            with contextlib.ExitStack() as stack:
                if phased:
                    stack.enter_context(connection.execute_wrapper(_statement_timer(mine)))
                    _time_commits(connection, mine)
                while True:
                    begin = time.perf_counter()
                    ticket = ticket_call_next(desk=desk, by=rep)
                    mine["call"] += time.perf_counter() - begin
                    if ticket is None:
                        break
                    claimed.append(ticket.pk)
                    # Prepared, as the raw loops' psycopg prepares it: the same cost in both.
                    with prepared_cursor() as cursor:
                        cursor.execute(RELEASE_SQL, [ticket.pk])
        finally:
            connection.close()
            with lock:
                for key, value in mine.items():
                    phases[key] += value
                calls += len(claimed) + 1

    if phased:
        events.publish_all = timed_publish
    try:
        drain = _threads(work)
    finally:
        events.publish_all = original_publish
    drain.phases = dict(phases)
    drain.calls = calls
    return drain


def _drain_raw(floor: Floor, url: str, *, logged: bool = False) -> Drain:
    """The raw loop; ``logged``: with the audit entry and the event a claim writes."""
    center_id = floor.center.pk
    service_ids = [service.pk for service in floor.services]
    if logged:
        with connection.cursor() as cursor:
            cursor.execute(EVENT_NUMBERS_SQL)

    def work(index: int, claimed: list[int], ready: Callable[[], None]) -> None:
        desk, rep = floor.desks[index]
        details = json.dumps({"desk": desk.number})
        with psycopg.connect(url, autocommit=True) as conn:
            ready()
            while True:
                conn.execute("BEGIN")
                row = conn.execute(CLAIM_SELECT_SQL, (center_id, service_ids)).fetchone()
                if row is None:
                    conn.execute("COMMIT")
                    return
                updated = conn.execute(CLAIM_UPDATE_SQL, (desk.pk, row[0])).rowcount
                if updated and logged:
                    conn.execute(AUDIT_INSERT_SQL, (center_id, rep.pk, row[1], details))
                    conn.execute(EVENT_INSERT_SQL, (center_id, row[0], desk.pk, rep.pk))
                conn.execute("COMMIT")
                if updated:
                    claimed.append(row[0])
                    conn.execute(RELEASE_SQL, (row[0],))

    return _threads(work)


# --- checks ---------------------------------------------------------------------------


def _check_common(report, floor: Floor, drain: Drain, label: str) -> bool:
    counts = Counter(drain.claimed)
    twice = [pk for pk, count in counts.items() if count > 1]
    missing = floor.ticket_ids - counts.keys()
    strangers = counts.keys() - floor.ticket_ids
    left = Ticket.objects.filter(center=floor.center, status=Ticket.Status.WAITING).count()
    unassigned = Ticket.objects.filter(center=floor.center, desk__isnull=True).count()
    problems = []
    if drain.errors:
        problems.append(f"errors: {drain.errors[:3]!r}")
    if twice:
        problems.append(f"{len(twice)} claimed more than once")
    if missing:
        problems.append(f"{len(missing)} never claimed")
    if strangers:
        problems.append(f"{len(strangers)} not of this floor")
    if left or unassigned:
        problems.append(f"{left} still waiting, {unassigned} without a desk")
    if problems:
        report.note(f"  {label}: NOT exactly once: {'; '.join(problems)}")
    return not problems


def _check_logged(report, floor: Floor, drain: Drain, label: str, *, numbered: bool) -> bool:
    """Exactly once, and one CALLED event and one audit entry per ticket; ``numbered``: a
    gap-free event sequence too."""
    ok = _check_common(report, floor, drain, label)
    called = Counter(
        TicketEvent.objects.filter(center=floor.center, kind="CALLED").values_list(
            "ticket_id", flat=True
        )
    )
    audits = AuditEvent.objects.filter(center=floor.center, action="ticket.called").count()
    problems = []
    if set(called) != floor.ticket_ids or any(count != 1 for count in called.values()):
        problems.append("CALLED events are not one per ticket")
    if audits != len(floor.ticket_ids):
        problems.append(f"{audits} audit entries for {len(floor.ticket_ids)} tickets")
    if numbered:
        seqs = list(
            TicketEvent.objects.filter(center=floor.center)
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        last = EventSequence.objects.get(center=floor.center).last_seq
        if seqs != list(range(1, last + 1)):
            problems.append("event sequence has gaps or does not match EventSequence")
    if problems:
        report.note(f"  {label}: {'; '.join(problems)}")
    return ok and not problems


def _check_service(report, floor: Floor, drain: Drain, label: str) -> bool:
    return _check_logged(report, floor, drain, label, numbered=True)


def _check_raw(report, floor: Floor, drain: Drain, label: str) -> bool:
    return _check_common(report, floor, drain, label)


# --- where the time goes --------------------------------------------------------------

#: (phase, test on the lower-cased SQL), first match wins.
STATEMENT_KINDS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    (
        "release (bench, not the service)",
        lambda sql: sql.startswith("update queueing_ticket set status = 'no_show'"),
    ),
    (
        "claim, audit and event rows, number lock (one WITH)",
        lambda sql: sql.startswith("with claimed as"),
    ),
    (
        "after the commit: numbering what waits if the lock is free",
        lambda sql: sql.startswith("with pending") and "skip locked" in sql,
    ),
    (
        "event number lock (SELECT … SKIP LOCKED)",
        lambda sql: "from queueing_eventsequence" in sql and "skip locked" in sql,
    ),
    (
        "numbering waiting events and the new last number",
        lambda sql: sql.startswith("with pending"),
    ),
    (
        "EventSequence exists? (its lock was busy)",
        lambda sql: 'from "queueing_eventsequence"' in sql,
    ),
    (
        "events numbered after the commit, read to publish",
        lambda sql: sql.startswith("select event.center_id, event.seq"),
    ),
    (
        "texts to visitors who stepped away",
        lambda sql: 'from "queueing_ticket"' in sql and '"away_since" is not null' in sql,
    ),
    (
        "why nothing was claimed (desk, active ticket)",
        lambda sql: 'from "queueing_desk"' in sql or 'from "queueing_ticket"' in sql,
    ),
)


def _statement_timer(totals: dict[str, float]):
    def wrapper(execute, sql, params, many, context):
        begin = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - begin
            text = sql.lstrip().lower()
            kind = next(
                (name for name, test in STATEMENT_KINDS if test(text)),
                "other SQL (" + text.split(" where ")[0][:60] + ")",
            )
            totals[kind] += elapsed
            totals["statements"] += 1
            if kind.startswith("numbering waiting events"):
                # The lock was taken just before: from here to the commit, every other
                # desk's event is written unnumbered (numbered after, in a batch).
                totals["_held_since"] = time.perf_counter()

    return wrapper


def _time_commits(conn, totals: dict[str, float]) -> None:
    original = conn._commit

    def timed_commit():
        begin = time.perf_counter()
        try:
            return original()
        finally:
            end = time.perf_counter()
            totals["COMMIT"] += end - begin
            if totals.get("_held_since"):
                totals["EventSequence lock held"] += end - totals["_held_since"]
                totals["_held_since"] = 0.0

    conn._commit = timed_commit


def _phases_report(report, drain: Drain) -> None:
    phases = dict(drain.phases)
    call = phases.pop("call", 0.0)
    statements = phases.pop("statements", 0.0)
    release = phases.pop("release (bench, not the service)", 0.0)
    phases.pop("_held_since", None)
    held = phases.pop("EventSequence lock held", 0.0)
    claims = len(drain.claimed)
    report.note(
        f"  phased run (not counted): {drain.rate:.0f} claims/s, {drain.calls} calls,"
        f" {statements / max(drain.calls, 1):.1f} statements per call;"
        f" ms per call summed over the {DESKS} desks:"
    )
    accounted = 0.0
    for name, seconds in sorted(phases.items(), key=lambda item: -item[1]):
        accounted += seconds
        report.note(
            f"    {name:<52} {1000 * seconds / drain.calls:7.3f} ms  {100 * seconds / call:5.1f} %"
        )
    report.note(
        f"    {'Python in the service (the rest)':<52}"
        f" {1000 * (call - accounted) / drain.calls:7.3f} ms"
        f"  {100 * (call - accounted) / call:5.1f} %"
    )
    report.note(
        f"    {'whole ticket_call_next':<52} {1000 * call / drain.calls:7.3f} ms  100.0 %"
        f"   (release after it: {1000 * release / max(claims, 1):.3f} ms per claim)"
    )
    if held:
        report.note(
            f"  event-number lock held from the numbering to the COMMIT: {1000 * held / claims:.2f}"
            f" ms per claim, one desk at a time: at most {claims / held:.0f} claims/s"
            f" (measured {drain.rate:.0f}/s)"
        )
