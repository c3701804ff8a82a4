"""Every screen reads the floor in a fixed number of SQL queries: as many with 500 waiting
visitors as with 5. A count that grows with the queue is an N+1 query.

The floor is built once for the module through the real services (check-ins, desks, calls,
decisions), inside one transaction that is rolled back at the end; each screen is then
requested with 5 waiting tickets, 495 more are checked in, and each is requested again."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from center.models import Role
from queueing.models import Ticket
from queueing.services import (
    desk_open,
    ticket_call_next,
    ticket_no_show,
    ticket_resolve,
    ticket_start_serving,
)
from tests.center.factories import CaseTypeFactory, CenterFactory, staff_user
from tests.queueing.factories import DeskFactory, ServiceFactory, issue

# Marks the module as using the database, so that the test database is set up for it.
pytestmark = pytest.mark.django_db

SMALL = 5
LARGE = 500

#: The counts measured when this test was last changed: a screen that needs more queries
#: than this has grown a query (maybe per row), even if it does not grow with the queue.
#: Every staff screen reads the session, the user and the staff profile with its roles.
MAX_QUERIES = {
    "kiosk": 6,
    "reception": 12,
    "desk": 11,  # two of them: the case's identity checks, the specialists
    "board": 10,
    "supervisor": 18,  # three of them: overdue callbacks marked, listed, today's share
    "supervisor_day": 6,  # one of them: the satisfaction ratings by case type and desk
    # Two of them: who was called first, and why; the visitors of lines that share the
    # line's desks ranked ahead (the wait estimate, docs/simulation.md). Two more read the
    # lines' latest outcomes: each line's bound, then the outcomes since it.
    "visitor": 9,
}


@dataclass
class Screen:
    """One screen: who opens it, and what its page must show once the queue is long."""

    name: str
    url: str
    user: object | None
    counts: dict[int, int] = field(default_factory=dict)
    queries: dict[int, list[str]] = field(default_factory=dict)
    bodies: dict[int, str] = field(default_factory=dict)


@dataclass
class Floor:
    screens: dict[str, Screen]
    first_waiting_code: str
    last_waiting_code: str
    called_code: str


def _measure(screens: dict[str, Screen], size: int) -> None:
    for screen in screens.values():
        client = Client()
        if screen.user is not None:
            client.force_login(screen.user)
        client.get(screen.url)  # warm: template loading, translations, lazy settings
        with CaptureQueriesContext(connection) as captured:
            response = client.get(screen.url)
        assert response.status_code == 200, (screen.name, response.status_code)
        screen.counts[size] = len(captured.captured_queries)
        screen.queries[size] = [query["sql"] for query in captured.captured_queries]
        screen.bodies[size] = response.content.decode()


def _resolve_one(desk, rep) -> None:
    ticket_call_next(desk=desk, by=rep)
    ticket_start_serving(desk=desk, by=rep)
    ticket_resolve(
        desk=desk, outcome="GUIDANCE_GIVEN", reason_code="", explanation="Explained.", by=rep
    )


@pytest.fixture(scope="module")
def floor(django_db_setup, django_db_blocker) -> Floor:
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=hashers),
        transaction.atomic(),
    ):
        try:
            yield _build_and_measure()
        finally:
            transaction.set_rollback(True)


def _build_and_measure() -> Floor:
    center = CenterFactory(slug="query-counts", name="Query Counts")
    accounts = ServiceFactory(center=center, code="ACCOUNTS", name="Accounts", prefix="A")
    wallet = ServiceFactory(center=center, code="WALLET", name="Wallet", prefix="W")
    account_case = CaseTypeFactory()
    wallet_case = CaseTypeFactory(
        code="WALLET_FROZEN", name="Wallet frozen", skill="WALLET", intake_fields=[]
    )
    reception = staff_user(center, Role.RECEPTION, "qc-reception")
    rep = staff_user(center, Role.REPRESENTATIVE, "qc-rep1")
    rep2 = staff_user(center, Role.REPRESENTATIVE, "qc-rep2")
    supervisor = staff_user(center, Role.SUPERVISOR, "qc-supervisor")
    desk = DeskFactory(center=center, number=1, services=[accounts, wallet])
    desk2 = DeskFactory(center=center, number=2, services=[accounts])
    desk_open(desk=desk, by=rep)
    desk_open(desk=desk2, by=rep2)

    def check_in(index: int):
        case_type = account_case if index % 2 == 0 else wallet_case
        return issue(center, case_type, by=reception, name=f"Visitor {index}")

    # A little history: served visitors and a no-show, on both services.
    for index in range(4):
        check_in(index)
    _resolve_one(desk, rep)
    _resolve_one(desk, rep)
    _resolve_one(desk2, rep2)
    ticket_call_next(desk=desk, by=rep)
    ticket_no_show(desk=desk, by=rep)

    # Desk 1 has a called visitor; SMALL visitors wait behind, on both services.
    called = check_in(4).ticket
    assert ticket_call_next(desk=desk, by=rep) == called
    waiting = [check_in(5 + index) for index in range(SMALL)]
    watched = waiting[-1]
    assert Ticket.objects.waiting().filter(center=center).count() == SMALL

    screens = {
        "kiosk": Screen("kiosk", "/kiosk/", reception),
        "reception": Screen("reception", "/reception/", reception),
        "desk": Screen("desk", "/desk/", rep),
        "board": Screen("board", f"/board/?center={center.slug}", None),
        "supervisor": Screen("supervisor", "/supervisor/", supervisor),
        "supervisor_day": Screen("supervisor_day", "/supervisor/day/", supervisor),
        "visitor": Screen("visitor", f"/t/{watched.token}/", None),
    }
    _measure(screens, SMALL)
    last = None
    for index in range(SMALL, LARGE):
        last = check_in(5 + index)
    assert Ticket.objects.waiting().filter(center=center).count() == LARGE
    assert Ticket.objects.waiting().filter(service=wallet).count() == LARGE // 2
    _measure(screens, LARGE)
    return Floor(
        screens=screens,
        first_waiting_code=waiting[0].ticket.code,
        last_waiting_code=last.ticket.code,
        called_code=called.code,
    )


def _diff(screen: Screen) -> str:
    small, large = screen.queries[SMALL], screen.queries[LARGE]
    extra = [sql for sql in large if large.count(sql) > small.count(sql)]
    return "\n".join(extra[:10])


@pytest.mark.parametrize("name", list(MAX_QUERIES))
def test_screen_reads_the_floor_in_as_many_queries_with_500_waiting_as_with_5(floor, name):
    screen = floor.screens[name]
    assert screen.counts[LARGE] == screen.counts[SMALL], (
        f"{screen.url}: {screen.counts[SMALL]} queries with {SMALL} waiting, "
        f"{screen.counts[LARGE]} with {LARGE}; the extra ones:\n{_diff(screen)}"
    )


@pytest.mark.parametrize("name", list(MAX_QUERIES))
def test_screen_needs_no_more_queries_than_it_does_today(floor, name):
    screen = floor.screens[name]
    assert screen.counts[LARGE] <= MAX_QUERIES[name], (
        f"{screen.url}: {screen.counts[LARGE]} queries, at most {MAX_QUERIES[name]} expected:\n"
        + "\n".join(screen.queries[LARGE])
    )


def test_the_screens_show_the_long_queue(floor):
    bodies = {name: screen.bodies[LARGE] for name, screen in floor.screens.items()}
    # Reception lists every waiting visitor, the last one checked in too.
    assert floor.last_waiting_code in bodies["reception"]
    assert floor.first_waiting_code in bodies["reception"]
    # The board and the desk show who was called and who comes next.
    assert floor.called_code in bodies["board"]
    assert floor.first_waiting_code in bodies["board"]
    assert floor.called_code in bodies["desk"]
    assert floor.first_waiting_code in bodies["desk"]
    assert str(LARGE) in bodies["supervisor"]
    # The watched visitor (the last of the first five) has four people ahead.
    assert str(SMALL - 1) in bodies["visitor"]
