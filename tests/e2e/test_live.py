"""The live screens over real WebSockets, served by Daphne: a desk calls a visitor and the
board, reception and the visitor's phone change by themselves, without a reload; a phone
that lost its server says so and recovers by itself."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from playwright.sync_api import Browser, Page, expect

from center import clock
from center.models import CaseType, Center
from queueing.models import Desk, Ticket
from queueing.services import CheckIn, checkin_issue_ticket, desk_open, ticket_call_next
from tests.e2e.conftest import DESKTOP, TIMEOUT_MS
from tests.e2e.daphne import DaphneServer, session_cookie

PHONE = {"width": 390, "height": 844}
BOARD_SCREEN = {"width": 1920, "height": 1080}
LIVE_UPDATE_MS = 5_000
#: static/js/app.js: the longest wait between two tries to reconnect a live screen
#: (random below 0.5, 1, 2, 4, then 5 s; htmx's default goes on to 64 s).
RECONNECT_CAP_MS = 5_000
# A try within the cap, its connection and the first push on a busy machine.
RECONNECT_MS = 15_000

# Counts the pushes a page has swapped in; set before any script of the page runs.
COUNT_PUSHES = """
window.__pushes = 0;
document.addEventListener("htmx:wsAfterMessage", () => { window.__pushes += 1; });
"""

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class Morning:
    status_path: str
    code: str
    sessions: dict[str, str]


def in_own_thread[T](work: Callable[[], T]) -> T:
    """Runs ORM work off the test's thread: Playwright's event loop runs there, and the
    services push their events with async_to_sync, which refuses to run beside a loop."""

    def run() -> T:
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _a_busy_morning(center: Center) -> Morning:
    """Mid-morning at the demo center: desks 2 and 3 serve the first two visitors, then a
    new visitor checks in, and one more after her. Desk 1 is still closed."""
    staff = {user.username: user for user in get_user_model().objects.all()}
    for number, username in ((2, "rep2"), (3, "rep3")):
        desk = Desk.objects.get(center=center, number=number)
        desk_open(desk=desk, by=staff[username])
        ticket_call_next(desk=desk, by=staff[username])
    visitor = checkin_issue_ticket(
        center=center,
        checkin=CheckIn(
            full_name="Zhou Min",
            purpose="CASE",
            language="en",
            screening_passed=True,
            items_stored=True,
            locker_tag="L08",
            recording_rule_acknowledged=True,
            case_type=CaseType.objects.get(code="ACCOUNT_SUSPENDED"),
            account_handle="mass.case.07",
            complaint={"registration_year": "2020"},
            complaint_text="My account was suspended with thousands of others last night.",
        ),
        by=staff["reception"],
    )
    checkin_issue_ticket(
        center=center,
        checkin=CheckIn(
            full_name="Wang Fang",
            purpose="CASE",
            language="zh-hans",
            screening_passed=True,
            items_stored=False,
            recording_rule_acknowledged=True,
            case_type=CaseType.objects.get(code="SOFTWARE_CONFLICT"),
            complaint={"other_software": "Guard360", "operating_system": "Windows"},
            complaint_text="The program closes when my antivirus runs.",
        ),
        by=staff["reception"],
    )
    return Morning(
        status_path=f"/t/{visitor.token}/",
        code=visitor.ticket.code,
        sessions={name: session_cookie(name) for name in ("reception", "rep1")},
    )


@pytest.fixture
def morning(demo_center: Center) -> Morning:
    return in_own_thread(lambda: _a_busy_morning(demo_center))


@pytest.fixture
def open_screen(browser: Browser, daphne_server: DaphneServer) -> Iterator[Callable[..., Page]]:
    """Opens a page in a new browser context (a person's own device) on the Daphne server,
    optionally signed in with a session; all are closed before the server stops."""
    contexts = []

    def open_page(
        path: str, *, viewport: dict[str, int] = DESKTOP, session: str | None = None
    ) -> Page:
        context = browser.new_context(base_url=daphne_server.url, viewport=viewport, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        if session:
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": daphne_server.url}]
            )
        context.add_init_script(COUNT_PUSHES)
        page = context.new_page()
        page.goto(path)
        return page

    yield open_page
    for context in contexts:
        context.close()


def wait_until_live(page: Page) -> None:
    """The page's socket is open and has its first push; marks the loaded document, so that
    a later reload or navigation would show as a missing mark."""
    # Polled with evaluate: wait_for_function compiles its expression in the page, which
    # the Content Security Policy (no eval) refuses.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not page.evaluate("window.__pushes > 0"):
        assert time.monotonic() < deadline, "the page's socket never pushed"
        page.wait_for_timeout(50)
    page.evaluate("window.__unreloaded = true")


def pushes(page: Page) -> int:
    return page.evaluate("window.__pushes")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__unreloaded === true"), f"{page.url} was reloaded"


@pytest.mark.slow
def test_call_next_reaches_every_screen_live(
    morning: Morning, open_screen: Callable[..., Page], screenshot: Callable[..., Any]
) -> None:
    board = open_screen("/board/", viewport=BOARD_SCREEN)
    reception = open_screen("/reception/", session=morning.sessions["reception"])
    phone = open_screen(morning.status_path, viewport=PHONE)
    desk = open_screen("/desk/", session=morning.sessions["rep1"])
    desk.get_by_role("button", name="Open desk 1", exact=True).click()
    expect(desk.get_by_role("heading", name="Desk 1")).to_contain_text("Open")
    screens = {"board": board, "reception": reception, "visitor": phone, "desk": desk}
    for page in screens.values():
        wait_until_live(page)
    expect(phone.locator("#status")).to_have_attribute("data-status", "WAITING")
    expect(board.locator("ol.next")).to_contain_text(morning.code)
    before = {name: pushes(page) for name, page in screens.items()}

    desk.get_by_role("button", name="Call next").click()

    expect(desk.locator("#visitor-title")).to_contain_text(morning.code)
    expect(desk.locator("#visitor-title")).to_contain_text("Called")
    serving = board.locator("table.serving tbody tr", has_text=morning.code)
    expect(serving.locator(".desk-no")).to_have_text("1", timeout=LIVE_UPDATE_MS)
    expect(board.locator("ol.next")).not_to_contain_text(morning.code)
    desk_row = reception.locator(".desk", has_text=re.compile(r"^\s*Desk 1\b"))
    expect(desk_row).to_contain_text(f"{morning.code} (Called)", timeout=LIVE_UPDATE_MS)
    expect(phone.get_by_text("Go to desk 1 now")).to_be_visible(timeout=LIVE_UPDATE_MS)
    expect(phone.locator("#status")).to_have_attribute("data-status", "CALLED")
    for name in ("board", "reception", "visitor"):
        assert pushes(screens[name]) > before[name], f"the {name} was not updated by a push"
    for page in screens.values():
        assert_not_reloaded(page)

    screenshot(board, "live-board-called", full_page=False)
    screenshot(reception, "live-reception-called")
    screenshot(desk, "live-desk-called")
    screenshot(phone, "live-visitor-called")


def test_visitor_page_reconnects_after_the_server_restarts(
    morning: Morning,
    demo_center: Center,
    open_screen: Callable[..., Page],
    daphne_server: DaphneServer,
) -> None:
    phone = open_screen(morning.status_path, viewport=PHONE)
    wait_until_live(phone)
    lost = phone.locator("#connection-lost")
    expect(lost).to_be_hidden()
    # However many tries failed, the next comes within 5 s (htmx's own default: 64 s).
    longest = phone.evaluate(
        "() => Math.max(...Array.from({length: 200}, () => htmx.config.wsReconnectDelay(12)))"
    )
    assert 0 < longest <= RECONNECT_CAP_MS

    daphne_server.stop(kill=True)
    expect(lost).to_be_visible()
    expect(lost.locator("[data-lost]")).to_have_text("Connection lost: reconnecting…")
    expect(lost.locator("[data-refused]")).to_be_hidden()

    def call_while_the_server_is_down() -> None:
        rep = get_user_model().objects.get(username="rep1")
        desk = Desk.objects.get(center=demo_center, number=1)
        desk_open(desk=desk, by=rep)
        ticket_call_next(desk=desk, by=rep)

    in_own_thread(call_while_the_server_is_down)
    daphne_server.start()

    expect(lost).to_be_hidden(timeout=RECONNECT_MS)
    # The reconnected socket's first push is the whole, current status.
    expect(phone.get_by_text("Go to desk 1 now")).to_be_visible(timeout=LIVE_UPDATE_MS)
    assert_not_reloaded(phone)


def test_a_refused_reconnect_says_the_page_stopped_updating(
    morning: Morning,
    open_screen: Callable[..., Page],
    daphne_server: DaphneServer,
) -> None:
    phone = open_screen(morning.status_path, viewport=PHONE)
    wait_until_live(phone)
    daphne_server.stop(kill=True)

    def expire_the_token() -> None:
        Ticket.objects.filter(code=morning.code).update(token_expires_at=clock.now())

    in_own_thread(expire_the_token)
    daphne_server.start()

    lost = phone.locator("#connection-lost")
    expect(lost.locator("[data-refused]")).to_be_visible(timeout=RECONNECT_MS)
    expect(lost.locator("[data-lost]")).to_be_hidden()
