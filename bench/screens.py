"""Screens: server time and SQL queries of each screen on a busy floor.

A center set up through the real services: two services, 30 open desks each with a
called visitor, a day of history (some hundreds of visitors served, spread over the
hours before now) and 500 visitors waiting on the two services. Each screen is requested
in this process with ``django.test.Client`` (the whole middleware stack, no network),
after a few warm-up requests; the figures are the median and 95th percentile over the
measured requests, and the number of SQL queries of one request.

Baseline: a bare Django view rendering a trivial template through the same middleware,
in the same run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

from bench.report import median, percentile
from bench.runner import Context
from bench.scenario import check_in, staff
from center import clock
from center.models import CaseType, Center, Role
from queueing.models import Desk, Service, Ticket
from queueing.services import (
    desk_open,
    hash_token,
    ticket_call_next,
    ticket_no_show,
    ticket_resolve,
    ticket_start_serving,
)

NAME = "screens"
TITLE = "server time and SQL queries of each screen on a busy floor (500 waiting, 30 desks)"

WAITING = 500
DESKS = 30
SERVED = 300
NO_SHOWS = 30
WARMUP = 3
REQUESTS = 30
QUICK_REQUESTS = 10
ACCOUNTS_CASE_TYPE = "BENCH_ACCOUNTS"

BARE_TEMPLATE = engines["django"].from_string(
    "<!doctype html><html><head><title>{{ title }}</title></head>"
    "<body><p>{{ title }}</p></body></html>"
)


def bare(request: HttpRequest) -> HttpResponse:
    """The baseline: a Django view rendering a trivial template."""
    return HttpResponse(BARE_TEMPLATE.render({"title": "Walk-in Center"}, request))


#: The project's URLs and the baseline's, so both go through the same middleware.
urlpatterns = [
    path("__bench__/bare/", bare),
    path("", include("center.urls")),
]


def run(context: Context) -> None:
    report = context.report
    started = time.monotonic()
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"]):
        screens = floor_create()
        report.note(f"  floor ready in {time.monotonic() - started:.0f} s: {_floor_line()}")
        requests = QUICK_REQUESTS if context.quick else REQUESTS
        bare_times = timings(Client(), "/__bench__/bare/", requests)
        bare_p50, bare_p95 = median(bare_times), percentile(bare_times, 0.95)
        report.figure("screens.bare.p50", bare_p50, "ms")
        report.figure("screens.bare.p95", bare_p95, "ms")
        for name, (url, make_client) in screens.items():
            client = make_client()
            times = timings(client, url, requests)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            report.figure(f"screens.{name}.p50", median(times), "ms", baseline=bare_p50)
            report.figure(f"screens.{name}.p95", percentile(times, 0.95), "ms", baseline=bare_p95)
            report.figure(f"screens.{name}.queries", len(captured.captured_queries), "queries")
            report.figure(f"screens.{name}.bytes", len(response.content) / 1024, "KiB")
    report.note(f"  screens done in {time.monotonic() - started:.0f} s")


def timings(client: Client, url: str, requests: int) -> list[float]:
    """Milliseconds per request, after the warm-up ones."""
    times = []
    for index in range(WARMUP + requests):
        begin = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - begin
        assert response.status_code == 200, (url, response.status_code)
        if index >= WARMUP:
            times.append(elapsed * 1000)
    return times


def _floor_line() -> str:
    tickets = Ticket.objects.all()
    return (
        f"{tickets.filter(status=Ticket.Status.WAITING).count()} waiting, "
        f"{tickets.filter(status=Ticket.Status.CALLED).count()} called, "
        f"{tickets.filter(status=Ticket.Status.DONE).count()} served, "
        f"{tickets.filter(status=Ticket.Status.NO_SHOW).count()} no-shows"
    )


def _logged_in(user) -> Callable[[], Client]:
    def make() -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def floor_create() -> dict[str, tuple[str, Callable[[], Client]]]:
    """The busy floor; returns each screen's URL and how to get a client allowed on it."""
    center = Center.objects.create(
        name="Bench screens", slug="bench-screens", timezone="Asia/Shanghai", languages=["en"]
    )
    services = [
        Service.objects.create(center=center, code="ACCOUNTS", name="Accounts", prefix="A"),
        Service.objects.create(center=center, code="WALLET", name="Wallet", prefix="W"),
    ]
    case_types = [
        CaseType.objects.get_or_create(
            code=ACCOUNTS_CASE_TYPE,
            defaults={"name": "Account question", "skill": "ACCOUNTS", "expected_service_s": 600},
        )[0],
        CaseType.objects.get_or_create(
            code="BENCH_WALLET",
            defaults={"name": "Wallet question", "skill": "WALLET", "expected_service_s": 420},
        )[0],
    ]
    reception = staff(center, Role.RECEPTION, "screens-reception")
    supervisor = staff(center, Role.SUPERVISOR, "screens-supervisor")
    desks, reps = [], []
    for number in range(1, DESKS + 1):
        rep = staff(center, Role.REPRESENTATIVE, f"screens-rep-{number}")
        desk = Desk.objects.create(center=center, number=number)
        # Most desks take both services, some only one: the lines differ.
        desk.services.set(services if number % 3 else services[number % 2 :][:1])
        desks.append(desk)
        reps.append(rep)

    count = 0

    def next_visitor() -> str:
        nonlocal count
        count += 1
        return check_in(center, case_types[count % 2], name=f"Visitor {count}", by=reception).token

    # The day so far: visitors served one after another over the hours before now, on a
    # clock that moves forward, so the day in numbers has hours and waits to show.
    now = clock.now()
    history = SERVED + NO_SHOWS
    begin = max(
        now - dt.timedelta(hours=6),
        dt.datetime.combine(now.astimezone(center.tzinfo).date(), dt.time(), center.tzinfo)
        + dt.timedelta(minutes=5),
    )
    step = (now - begin - dt.timedelta(minutes=2)) / history
    fixed = clock.FixedClock(begin)
    with clock.use_clock(fixed):
        for index in range(history):
            desk, rep = desks[index % DESKS], reps[index % DESKS]
            if index < DESKS:
                desk_open(desk=desk, by=rep)
            next_visitor()
            fixed.advance(seconds=step.total_seconds() * 0.3)
            if ticket_call_next(desk=desk, by=rep) is None:
                continue
            if index % (history // NO_SHOWS) == 0:
                ticket_no_show(desk=desk, by=rep)
            else:
                fixed.advance(seconds=step.total_seconds() * 0.1)
                ticket_start_serving(desk=desk, by=rep)
                fixed.advance(seconds=step.total_seconds() * 0.5)
                ticket_resolve(
                    desk=desk,
                    outcome="GUIDANCE_GIVEN",
                    reason_code="",
                    explanation="Explained what to do.",
                    by=rep,
                )
            fixed.advance(seconds=step.total_seconds() * 0.1)

    # Now: every desk has called a visitor, and WAITING visitors stand in the two lines.
    tokens = [next_visitor() for _ in range(WAITING + DESKS)]
    for desk, rep in zip(desks, reps, strict=True):
        ticket_call_next(desk=desk, by=rep)
    waiting = Ticket.objects.waiting().filter(center=center).count()
    assert waiting == WAITING, waiting
    # The visitor whose page is measured stands in the middle of the queue.
    watched = next(
        token
        for token in tokens[len(tokens) // 2 :]
        if Ticket.objects.get(token_hash=hash_token(token)).status == Ticket.Status.WAITING
    )
    return {
        "kiosk": ("/kiosk/", _logged_in(reception)),
        "reception": ("/reception/", _logged_in(reception)),
        "desk": ("/desk/", _logged_in(reps[0])),
        "board": (f"/board/?center={center.slug}", Client),
        "supervisor": ("/supervisor/", _logged_in(supervisor)),
        "supervisor_day": ("/supervisor/day/", _logged_in(supervisor)),
        "visitor": (f"/t/{watched}/", Client),
    }
