"""Check-in: kiosk check-ins per second under one Daphne process at concurrency 10.

One Daphne worker serves the project's ASGI application (``bench.apps.checkin``: the
project's URLs plus one bare view). 10 client threads in this process (``http.client``,
one keep-alive connection each, each logged in as its own reception user) repeat the
kiosk's full flow to a ticket, as a browser does it:

1. ``GET /kiosk/``: the form, its CSRF token and its idempotency key;
2. ``POST /kiosk/``: the check-in (security questions, visitor, case type, complaint),
   answered with a redirect to the slip;
3. ``GET`` the slip (``/kiosk/tickets/<id>/``, with its QR code).

Baseline, served by the same worker with the same settings and middleware, in the same
run: the same 10 threads posting to a bare Django view that writes one row in a
transaction (``bench.apps.checkin_urls``). The two loads alternate (baseline first in odd
rounds, check-ins first in even ones), a few seconds each; figures are medians over the
rounds. Every check-in must be answered with its slip, and the database must hold one
ticket per check-in counted.

Then, in this process (no network, ``django.test.Client``), where a check-in's time goes:
each request's server time and SQL queries beside the bare view's, and the thread CPU
time of each step (staff check, form, service, templates, QR code, session, SQL), timed
by wrapping the functions where the views find them. Last, the same rounds on a fresh
PostgreSQL database when a server answers (not with ``--quick``). The kiosk's rate limit
per login is lifted in the worker (``bench.apps.common.UNLIMITED``); its counting runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import http.client
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from bench.apps.checkin_urls import UNLIMITED, WRITE_PATH, table_create
from bench.claims import wal_position, wal_since
from bench.cpu import process_cpu_s
from bench.postgres import DEFAULT_URL, fresh_database, unreachable
from bench.report import median, percentile
from bench.runner import Context
from bench.scenario import CASE_TYPE_CODE, staff
from bench.servers import HOST, Worker, workers
from center.models import CaseType, Center, Role
from queueing.models import Desk, Service, Ticket

NAME = "checkin"
TITLE = "kiosk check-ins per second under one Daphne worker at concurrency 10"

APP = "bench.apps.checkin:application"
URLCONF = "bench.apps.checkin_urls"
CONCURRENCY = 10
ROUNDS = 5
QUICK_ROUNDS = 1
ROUND_S = 5.0
QUICK_ROUND_S = 2.0
WARMUP_S = 1.5
PROFILE_FLOWS = 30
QUICK_PROFILE_FLOWS = 5
TARGET_RATIO = 0.5
#: The collector settings of a worker (center/asgi.py), for the in-process profile.
WORKER_GC_THRESHOLD = (50_000, 50, 100)

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]*)"')
SLIP = re.compile(r"/kiosk/tickets/(\d+)/$")


@dataclass
class Load:
    """What the client threads did in one timed phase."""

    seconds: float = 0.0
    #: Completed units: check-ins (three requests each) or baseline writes.
    units: int = 0
    requests: int = 0
    #: Request kind -> latencies in seconds.
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    #: The worker's CPU seconds and this process's over the phase.
    worker_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    #: Ticket ids of the slips received.
    tickets: list[int] = field(default_factory=list)
    #: Write-ahead log the server wrote over the phase (PostgreSQL).
    wal_bytes: int = 0

    @property
    def rate(self) -> float:
        return self.units / self.seconds if self.seconds else float("nan")

    @property
    def request_rate(self) -> float:
        return self.requests / self.seconds if self.seconds else float("nan")


class Browser:
    """One keep-alive HTTP/1.1 connection with its cookies, as one kiosk's browser."""

    def __init__(self, port: int, cookies: dict[str, str]) -> None:
        self.port = port
        self.cookies = dict(cookies)
        self.origin = f"http://{HOST}:{port}"
        self.connection = http.client.HTTPConnection(HOST, port, timeout=60)

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        """Returns the status, the Location header and the body."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        if response.will_close:
            self.connection.close()
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        return response.status, response.headers.get("Location", ""), text

    def close(self) -> None:
        self.connection.close()


def checkin_form(csrf: str, key: str, index: int) -> dict[str, str]:
    """The answers a receptionist types in for one visitor."""
    return {
        "csrfmiddlewaretoken": csrf,
        "idempotency_key": key,
        "full_name": f"Visitor {index}",
        "phone": "",
        "language": "en",
        "purpose": "CASE",
        "screening_passed": "on",
        "recording_rule_acknowledged": "on",
        "case_type": CASE_TYPE_CODE,
        "account_handle": "",
        "complaint_text": "My account is suspended and I do not know why.",
    }


def flow(browser: Browser, load: Load, index: int) -> None:
    """One check-in, GET form → POST → slip, timing each request."""
    begin = time.perf_counter()
    status, _, page = browser.request("GET", "/kiosk/")
    after_form = time.perf_counter()
    csrf, key = CSRF.search(page), IDEMPOTENCY.search(page)
    if status != 200 or csrf is None or key is None:
        raise RuntimeError(f"GET /kiosk/: HTTP {status}, form not found")
    status, location, page = browser.request(
        "POST", "/kiosk/", checkin_form(csrf.group(1), key.group(1), index)
    )
    after_post = time.perf_counter()
    slip = SLIP.search(location)
    if status != 302 or slip is None:
        errors = re.findall(r'class="error[^"]*"[^>]*>(.{0,160})', page)
        raise RuntimeError(f"POST /kiosk/: HTTP {status} {location!r}; {errors[:3]}")
    status, _, page = browser.request("GET", location)
    end = time.perf_counter()
    if status != 200 or "ticket-number" not in page:
        raise RuntimeError(f"GET {location}: HTTP {status}, no ticket number")
    load.latencies["form"].append(after_form - begin)
    load.latencies["post"].append(after_post - after_form)
    load.latencies["slip"].append(end - after_post)
    load.latencies["flow"].append(end - begin)
    load.tickets.append(int(slip.group(1)))


def write(browser: Browser, load: Load, index: int) -> None:
    begin = time.perf_counter()
    status, _, text = browser.request("POST", WRITE_PATH, {"note": f"row {index}"})
    if status != 200 or text != "written":
        raise RuntimeError(f"POST {WRITE_PATH}: HTTP {status}")
    load.latencies["write"].append(time.perf_counter() - begin)


def drive(
    browsers: list[Browser],
    step: Callable[[Browser, Load, int], None],
    seconds: float,
    worker: Worker,
    requests_per_unit: int,
) -> Load:
    """Every browser repeats ``step`` in its own thread until ``seconds`` have passed."""
    load = Load()
    lock = threading.Lock()
    start = threading.Barrier(len(browsers) + 1)
    deadline = 0.0
    counter = iter(range(10**9))

    def body(browser: Browser) -> None:
        mine = Load()
        try:
            start.wait()
            while time.perf_counter() < deadline:
                step(browser, mine, next(counter))
                mine.units += 1
        except Exception as error:
            mine.errors.append(repr(error))
        with lock:
            load.units += mine.units
            load.errors += mine.errors
            load.tickets += mine.tickets
            for kind, values in mine.latencies.items():
                load.latencies[kind] += values

    threads = [threading.Thread(target=body, args=(b,), daemon=True) for b in browsers]
    for thread in threads:
        thread.start()
    worker_cpu, client_cpu = worker.cpu_seconds(), process_cpu_s()
    wal_start = wal_position()
    begin = time.perf_counter()
    deadline = begin + seconds
    start.wait()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - begin
    load.worker_cpu_s = worker.cpu_seconds() - worker_cpu
    load.client_cpu_s = process_cpu_s() - client_cpu
    load.wal_bytes = wal_since(wal_start)
    load.requests = load.units * requests_per_unit
    return load


def run(context: Context) -> None:
    report = context.report
    started = time.monotonic()
    _center, cookies = _measure(context, context.env)
    _where_the_time_goes(context, cookies[0])
    if connection.vendor != "postgresql" and not context.quick:
        _on_postgres(context)
    report.note(f"  checkin done in {time.monotonic() - started:.0f} s")


def _measure(context: Context, env: dict[str, str]) -> tuple[Center, list[dict[str, str]]]:
    """The alternating rounds on the database Django's default connection points at (the
    worker's ``DATABASE_URL`` in ``env`` points at the same one)."""
    report = context.report
    database = connection.vendor
    report.note(f"  on {database}:")
    center, cookies = _floor_create()
    table_create()
    rounds = QUICK_ROUNDS if context.quick else ROUNDS
    seconds = QUICK_ROUND_S if context.quick else ROUND_S
    checkins: list[Load] = []
    writes: list[Load] = []
    with _worker(context, env, database) as worker:
        browsers = [Browser(worker.port, jar) for jar in cookies]
        try:
            drive(browsers, write, WARMUP_S, worker, 1)
            drive(browsers, flow, WARMUP_S, worker, 3)
            for index in range(rounds):
                order = ("write", "checkin") if index % 2 == 0 else ("checkin", "write")
                for kind in order:
                    if kind == "write":
                        writes.append(drive(browsers, write, seconds, worker, 1))
                    else:
                        checkins.append(drive(browsers, flow, seconds, worker, 3))
                report.note(
                    f"  round {index + 1}: check-ins {checkins[-1].rate:.1f}/s"
                    f" ({checkins[-1].request_rate:.0f} requests/s), bare writes"
                    f" {writes[-1].rate:.0f}/s"
                )
        finally:
            for browser in browsers:
                browser.close()
    _report_loads(context, center, checkins, writes, database)
    return center, cookies


def _on_postgres(context: Context) -> None:
    """The same on a fresh PostgreSQL database of this benchmark only (as the claims
    benchmark makes one), skipped with one line when no server answers."""
    base = os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_URL
    if why := unreachable(base):
        context.report.note(f"  postgresql skipped: {why}")
        return
    with fresh_database(base, "checkin") as url:
        _measure(context, {**context.env, "DATABASE_URL": url})


@contextlib.contextmanager
def _worker(context: Context, env: dict[str, str], database: str) -> Iterator[Worker]:
    manager = workers(APP, 1, name=f"checkin-{database}", env=env, log_dir=context.work_dir)
    loop = asyncio.new_event_loop()
    try:
        started = loop.run_until_complete(manager.__aenter__())
        try:
            yield started[0]
        finally:
            loop.run_until_complete(manager.__aexit__(None, None, None))
    finally:
        loop.close()


def _floor_create() -> tuple[Center, list[dict[str, str]]]:
    """A center with one service and desk, the case type, and CONCURRENCY reception
    users each logged in (a session cookie per browser)."""
    center = Center.objects.create(
        name="Bench check-in", slug="bench-checkin", timezone="Asia/Shanghai", languages=["en"]
    )
    service = Service.objects.create(center=center, code="ACCOUNTS", name="Accounts", prefix="A")
    CaseType.objects.get_or_create(
        code=CASE_TYPE_CODE,
        defaults={"name": "Account question", "skill": "ACCOUNTS", "expected_service_s": 600},
    )
    desk = Desk.objects.create(center=center, number=1)
    desk.services.set([service])
    jars = []
    for index in range(CONCURRENCY):
        user = staff(center, Role.RECEPTION, f"checkin-reception-{index}")
        jars.append({settings.SESSION_COOKIE_NAME: _session_for(user)})
    return center, jars


def _session_for(user) -> str:
    """A signed-in session, made as ``login()`` makes it but without its signal: django-axes
    would log a sign-in without a client address (and PostgreSQL refuses that address)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _report_loads(
    context: Context, center: Center, checkins: list[Load], writes: list[Load], database: str
) -> None:
    report = context.report
    prefix = f"checkin.{database}"
    errors = [error for load in checkins + writes for error in load.errors]
    if errors:
        report.note(f"  ! {len(errors)} client errors, first: {errors[0]}")
    issued = sum(len(load.tickets) for load in checkins)
    ids = {ticket for load in checkins for ticket in load.tickets}
    in_db = Ticket.objects.filter(center=center, pk__in=ids).count()
    report.note(
        f"  {issued} check-ins measured, {len(ids)} distinct slips, {in_db} of those tickets"
        f" in the database ({'ok' if issued == len(ids) == in_db else 'MISMATCH'})"
    )
    bare = median([load.rate for load in writes])
    report.figure(f"{prefix}.bare_write.c{CONCURRENCY}", bare, "/s")
    report.figure(
        f"{prefix}.requests.c{CONCURRENCY}",
        median([load.request_rate for load in checkins]),
        "/s",
        baseline=bare,
    )
    report.figure(
        f"{prefix}.flows.c{CONCURRENCY}",
        median([load.rate for load in checkins]),
        "/s",
        baseline=bare,
    )
    bare_values = [v for load in writes for v in load.latencies["write"]]
    for kind in ("form", "post", "slip", "flow"):
        values = [v for load in checkins for v in load.latencies[kind]]
        report.figure(
            f"{prefix}.{kind}.latency_p50",
            median(values) * 1000,
            "ms",
            baseline=median(bare_values) * 1000,
        )
    # The slowest check-ins: what a visitor at the kiosk waits for when it is busy.
    report.figure(
        f"{prefix}.flow.latency_p95",
        percentile([v for load in checkins for v in load.latencies["flow"]], 0.95) * 1000,
        "ms",
        baseline=percentile(bare_values, 0.95) * 1000,
    )
    if database == "postgresql":
        # What a check-in writes (its rows, their indexes, the session), whatever the
        # machine's speed; beside the bare view's one row.
        report.figure(
            f"{prefix}.wal_per_checkin",
            median([x.wal_bytes / max(x.units, 1) for x in checkins]),
            "B",
            baseline=median([x.wal_bytes / max(x.units, 1) for x in writes]),
        )
    worker_ms = median([1000 * x.worker_cpu_s / max(x.requests, 1) for x in checkins])
    bare_worker_ms = median([1000 * x.worker_cpu_s / max(x.requests, 1) for x in writes])
    report.figure(f"{prefix}.worker_cpu_per_request", worker_ms, "ms", baseline=bare_worker_ms)
    report.note(
        "  worker CPU over wall time: check-ins"
        f" {median([x.worker_cpu_s / x.seconds for x in checkins]):.0%}, bare"
        f" {median([x.worker_cpu_s / x.seconds for x in writes]):.0%}; the clients (this"
        f" process) {median([x.client_cpu_s / x.seconds for x in checkins]):.0%} and"
        f" {median([x.client_cpu_s / x.seconds for x in writes]):.0%} of a core"
    )


def _where_the_time_goes(context: Context, cookies: dict[str, str]) -> None:
    """In this process, no network: server time and queries of each request of a check-in
    beside the bare view's, then the CPU time of each step of a check-in."""
    report = context.report
    flows = QUICK_PROFILE_FLOWS if context.quick else PROFILE_FLOWS
    limits = {**getattr(settings, "RATE_LIMITS", {}), **UNLIMITED}
    with override_settings(ROOT_URLCONF=URLCONF, ALLOWED_HOSTS=["testserver"], RATE_LIMITS=limits):
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = cookies[settings.SESSION_COOKIE_NAME]
        times: dict[str, list[float]] = defaultdict(list)
        queries: dict[str, int] = {}

        def timed(kind: str, make: Callable[[], object]):
            with CaptureQueriesContext(connection) as captured:
                begin = time.perf_counter()
                response = make()
                times[kind].append(time.perf_counter() - begin)
            queries[kind] = len(captured.captured_queries)
            return response

        def one(index: int, *, bare: bool = True) -> None:
            if bare:
                timed("bare write", lambda: client.post(WRITE_PATH, {"note": "x"}))
            page = timed("GET /kiosk/", lambda: client.get("/kiosk/")).content.decode()
            form = checkin_form(
                CSRF.search(page).group(1), IDEMPOTENCY.search(page).group(1), index
            )
            response = timed("POST /kiosk/", lambda: client.post("/kiosk/", form))
            assert response.status_code == 302, response.status_code
            timed("GET slip", lambda: client.get(response["Location"]))

        for index in range(3):
            one(index)
        # The worker's collector settings (center/asgi.py), so that collections land here
        # as often as they do there.
        thresholds = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(*WORKER_GC_THRESHOLD)
        times.clear()
        for index in range(flows):
            one(index)
        bare = median(times["bare write"]) * 1000
        report.note(f"  in process (django.test.Client, median of {flows}):")
        for kind, values in times.items():
            report.note(
                f"    {kind:<14} {median(values) * 1000:6.2f} ms  {queries[kind]:3d} queries"
                f"  ({median(values) * 1000 / bare:4.1f} x bare)"
            )
        with _phases() as phases:
            for index in range(flows):
                one(index, bare=False)
        begin = time.thread_time()
        for index in range(flows):
            client.post(WRITE_PATH, {"note": f"cpu {index}"})
        phases["bare write, whole request"] = time.thread_time() - begin
        # cProfile, for whoever wants to look (its timings mislead on a busy machine).
        profile = cProfile.Profile()
        profile.enable()
        for index in range(flows):
            one(index, bare=False)
        profile.disable()
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    path = context.work_dir / "checkin.prof"
    profile.dump_stats(path)
    _report_phases(context, phases, flows, path)


def _phase_targets() -> list[tuple[str, object, str]]:
    import segno  # noqa: PLC0415 - the project's QR code library
    from django.contrib.sessions.backends import db as session_db  # noqa: PLC0415

    from center import access  # noqa: PLC0415
    from queueing.forms import KioskForm  # noqa: PLC0415
    from queueing.views import kiosk  # noqa: PLC0415

    return [
        ("staff check: staff_center", access, "staff_center"),
        ("staff check: user_roles", access, "user_roles"),
        ("KioskForm(...) built (GET and POST)", KioskForm, "__init__"),
        ("form.is_valid()", KioskForm, "is_valid"),
        ("checkin_issue_ticket (the service)", kiosk, "checkin_issue_ticket"),
        ("kiosk page context (notices, counts)", kiosk, "_context"),
        ("render_page (templates)", kiosk, "render_page"),
        ("QR code: segno.make", segno, "make"),
        ("QR code: svg_inline", segno.QRCode, "svg_inline"),
        ("session save", session_db.SessionStore, "save"),
    ]


@contextlib.contextmanager
def _phases() -> Iterator[dict[str, float]]:
    """Thread CPU seconds spent in each phase, summed over the flows, plus the time in the
    database driver and the whole of each test-client request."""
    totals: dict[str, float] = defaultdict(float)
    patched: list[tuple[object, str, object]] = []

    def timed(label: str, function: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            begin = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                totals[label] += time.thread_time() - begin

        return wrapper

    def sql(execute, sql, params, many, context):
        begin = time.thread_time()
        try:
            return execute(sql, params, many, context)
        finally:
            totals["SQL (in the driver, thread CPU)"] += time.thread_time() - begin

    for label, owner, name in _phase_targets():
        # A class may inherit the method: put back exactly what its own dict held.
        own = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name)
        patched.append((owner, name, own))
        setattr(owner, name, timed(label, getattr(owner, name)))
    request = Client.request
    Client.request = timed("whole request (test client included)", request)  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(sql):
            yield totals
    finally:
        Client.request = request  # type: ignore[method-assign]
        for owner, name, original in reversed(patched):
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def _report_phases(context: Context, totals: dict[str, float], flows: int, path) -> None:
    report = context.report
    whole = totals.get("whole request (test client included)", 0.0)
    report.note(
        f"  where a check-in's CPU goes (thread CPU time, {flows} flows, 3 requests each):"
        f" {1000 * whole / flows:.1f} ms per flow"
    )
    for label, _owner, _name in _phase_targets():
        value = totals.get(label, 0.0)
        report.note(f"    {label:<46} {1000 * value / flows:7.2f} ms  {100 * value / whole:5.1f} %")
    value = totals.get("SQL (in the driver, thread CPU)", 0.0)
    report.note(
        f"    {'of all these, SQL (in the driver)':<46} {1000 * value / flows:7.2f} ms"
        f"  {100 * value / whole:5.1f} %"
    )
    steps = sum(totals.get(label, 0.0) for label, _owner, _name in _phase_targets())
    rest = whole - steps
    report.note(
        f"    {'the rest (middleware, URL, response, client)':<46} {1000 * rest / flows:7.2f} ms"
        f"  {100 * rest / whole:5.1f} %"
    )
    bare = totals.get("bare write, whole request", 0.0)
    report.note(
        f"    {'(the bare write: its whole request)':<46} {1000 * bare / flows:7.2f} ms"
        f"  = {whole / 3 / bare if bare else float('nan'):.1f} x less than a check-in request"
    )
    report.note(f"  cProfile of as many flows: {path}")
