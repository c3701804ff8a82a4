"""The live screens over real WebSockets: ``center.asgi.application`` with its origin check
and session auth, the real services in worker threads, the in-memory channel layer.

A push is ``<div id="live-seq" data-seq="N" hidden></div>`` followed by the screen's
complete regions (its own, then ``#notices``). A push is compared with a fresh HTTP load
region by region: each pushed element must equal the element with the same id in the full
page, and the first one the htmx partial of the page. Two normalisations are applied and
nothing else: CSRF token values are blanked (a page masks the secret afresh on every
render; a push carries the cookie's secret), and the board's ``HH:MM`` clock is blanked,
because the hub and the page read the floor at two instants that may straddle a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string

from center import clock
from center.asgi import application
from center.models import Role
from queueing import events, live
from queueing.models import EventSequence, TicketEvent
from queueing.services import (
    IssuedTicket,
    desk_open,
    ticket_call_next,
    ticket_no_show,
    ticket_recall,
)
from tests.center.factories import UserFactory, staff_user
from tests.queueing.factories import issue

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = b"http://127.0.0.1"
# How long a test waits for a push: generous, so that a loaded machine cannot fail a test
# that works. How soon screens update is measured by `python -m bench fanout`, not here.
SNAPSHOT_S = 10.0
UPDATE_S = 10.0
WATCHDOG_GRACE_S = 10.0
CLOSE_NOT_SIGNED_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

SEQ_MARKER = re.compile(r'<div id="live-seq" data-seq="(\d+)" hidden></div>')
BOARD_CLOCK = re.compile(r'(<span class="board-clock">)\d\d:\d\d(</span>)')
SERVING_ROW = re.compile(r'<td class="code">([^<]+)</td><td class="desk-no">(\d+)</td>')
CALL_SEQ = re.compile(r'data-call-seq="(\d+)"')
CALLS = re.compile(r'data-calls="(\d+)"')
AHEAD = re.compile(r"(\d+) (?:person|people) ahead of you")
CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')


# --- pushes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Push:
    seq: int
    regions: str
    text: str


def parse(text: str) -> Push:
    marker = SEQ_MARKER.match(text)
    assert marker, f"a push starts with the sequence marker, got {text[:120]!r}"
    return Push(seq=int(marker[1]), regions=text[marker.end() :], text=text)


VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class Elements(HTMLParser):
    """The outer HTML of every element with an id, and the ids of the top-level ones."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html = html
        self.by_id: dict[str, str] = {}
        self.top_level: list[str] = []
        self._open: list[tuple[str, str | None, int]] = []
        self._line_starts = [0]
        for line in html.split("\n")[:-1]:
            self._line_starts.append(self._line_starts[-1] + len(line) + 1)
        self.feed(html)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _element(self, element_id: str | None, start: int, end: int) -> None:
        if element_id is not None:
            assert element_id not in self.by_id, f"two elements with id {element_id!r}"
            self.by_id[element_id] = self.html[start:end]
        if not self._open:
            self.top_level.append(element_id or "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        if tag in VOID_ELEMENTS:
            self.handle_startendtag(tag, attrs)
        else:
            self._open.append((tag, dict(attrs).get("id"), start))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        self._element(dict(attrs).get("id"), start, start + len(self.get_starttag_text() or ""))

    def handle_endtag(self, tag: str) -> None:
        if not any(open_tag == tag for open_tag, _id, _start in self._open):
            return
        end = self.html.index(">", self._offset()) + 1
        while True:
            open_tag, element_id, start = self._open.pop()
            if open_tag == tag:
                self._element(element_id, start, end)
                return


def region_ids(regions: str) -> list[str]:
    """The ids of the pushed regions, in order; fails on anything else at the top level."""
    ids = Elements(regions).top_level
    assert all(ids), f"a pushed element without an id in {regions[:200]!r}"
    return ids


def comparable(html: str) -> str:
    html = CSRF_VALUE.sub(r"\1…\2", html)
    return BOARD_CLOCK.sub(r"\1--:--\2", html)


def assert_regions_equal_page(push: Push, page: str) -> None:
    """Every pushed region equals the element with its id in the full page."""
    pushed, loaded = Elements(push.regions).by_id, Elements(page).by_id
    for region in region_ids(push.regions):
        assert region in loaded, f"the page has no #{region}"
        assert comparable(pushed[region]) == comparable(loaded[region]), region


def serving(regions: str) -> list[tuple[str, str]]:
    return SERVING_ROW.findall(regions)


def call_seqs(regions: str) -> list[int]:
    return [int(seq) for seq in CALL_SEQ.findall(regions)]


def people_ahead(regions: str) -> int:
    if "You are next." in regions:
        return 0
    ahead = AHEAD.search(regions)
    assert ahead, f"no position in {regions[:200]!r}"
    return int(ahead[1])


def showing_anew(status: str, earlier: list[Push]) -> Callable[[Push], bool]:
    """A push that shows ``status`` and, for a call, a call not shown before (a recall)."""
    calls = {CALLS.search(push.regions)[1] for push in earlier if CALLS.search(push.regions)}

    def shows(push: Push) -> bool:
        if attribute(push.regions, "data-status") != status:
            return False
        return status != "CALLED" or attribute(push.regions, "data-calls") not in calls

    return shows


def attribute(regions: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', regions)
    assert found, f"no {name} in {regions[:200]!r}"
    return found[1]


# --- sockets ------------------------------------------------------------------------------


def screen(
    path: str,
    *,
    cookies: dict[str, str] | None = None,
    origin: bytes = ORIGIN,
    accept_language: str = "",
    client: str = "127.0.0.1",
) -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"127.0.0.1")]
    if cookies:
        headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    if accept_language:
        headers.append((b"accept-language", accept_language.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    communicator.scope["client"] = (client, 50000)
    return communicator


async def hang_up(communicator: WebsocketCommunicator) -> None:
    # A receive that timed out has cancelled the consumer already (it never left its hub:
    # the autouse fixture below takes care of that).
    if not communicator.future.done():
        await communicator.disconnect()


@contextlib.asynccontextmanager
async def watching(path: str, **options: Any) -> AsyncIterator[WebsocketCommunicator]:
    communicator = screen(path, **options)
    try:
        connected, code = await communicator.connect()
        assert connected, f"{path} was refused ({code})"
        yield communicator
    finally:
        await hang_up(communicator)


async def next_push(communicator: WebsocketCommunicator, timeout: float = UPDATE_S) -> Push:
    return parse(await communicator.receive_from(timeout=timeout))


async def pushes_until(
    communicator: WebsocketCommunicator, done: Callable[[Push], bool], *, within: float
) -> list[Push]:
    """Every push up to the first that satisfies ``done``; fails after ``within`` seconds."""
    received: list[Push] = []
    deadline = time.monotonic() + within
    while (remaining := deadline - time.monotonic()) > 0:
        if await communicator.receive_nothing(timeout=remaining):
            break
        received.append(parse(await communicator.receive_from()))
        if done(received[-1]):
            return received
    pytest.fail(f"no such push within {within}s; got {[p.text[:300] for p in received]}")


async def drain(communicator: WebsocketCommunicator, quiet: float = 0.3) -> list[Push]:
    """Every push until the socket has been quiet for ``quiet`` seconds."""
    received = []
    while not await communicator.receive_nothing(timeout=quiet):
        received.append(parse(await communicator.receive_from()))
    return received


async def close_code(path: str, **options: Any) -> int:
    """A refused screen is accepted, then closed at once with the reason."""
    communicator = screen(path, **options)
    try:
        connected, _ = await communicator.connect()
        assert connected
        message = await communicator.receive_output(timeout=SNAPSHOT_S)
        assert message["type"] == "websocket.close", message
        assert await communicator.receive_nothing(timeout=0.1), "a refused screen got data"
        return message["code"]
    finally:
        await hang_up(communicator)


# --- sync helpers (worker threads) --------------------------------------------------------


async def in_thread(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Runs a service as a request does: in a worker thread with its own connection, while
    the hub keeps reading and rendering in its own."""
    return await database_sync_to_async(function, thread_sensitive=False)(*args, **kwargs)


def sign_in(user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {name: client.cookies[name].value}


def load(
    path: str,
    cookies: dict[str, str] | None = None,
    *,
    htmx: bool = False,
    accept_language: str = "",
) -> str:
    """The full page at ``path``, or with ``htmx`` the partial htmx swaps in."""
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    if htmx:
        headers["HTTP_HX_REQUEST"] = "true"
    client = Client(HTTP_HOST="127.0.0.1", **headers)
    client.cookies.load(cookies or {})
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def last_seq(center) -> int:
    return EventSequence.objects.get(center=center).last_seq


def calls_after(center, seq: int) -> list[int]:
    return list(
        TicketEvent.objects.filter(
            center=center,
            seq__gt=seq,
            kind__in=[TicketEvent.Kind.CALLED, TicketEvent.Kind.RECALLED],
        ).values_list("seq", flat=True)
    )


# --- fixtures -----------------------------------------------------------------------------


@pytest_asyncio.fixture(autouse=True)
async def _hubs_stop_with_the_test() -> AsyncIterator[None]:
    """Each test starts on an empty channel layer and leaves no hub running: hubs are per
    event loop, and every test has its own loop."""
    events.publisher_close()
    await get_channel_layer().flush()
    yield
    loop_id = id(asyncio.get_running_loop())
    for (hub_loop, _center), hub in list(live._HUBS.items()):
        if hub_loop == loop_id:
            for left_behind in list(hub.screens):  # by a consumer a failed receive cancelled
                hub.leave(left_behind)
    async with asyncio.timeout(5):
        while any(hub_loop == loop_id for hub_loop, _center in live._HUBS):
            await asyncio.sleep(0.01)


@pytest.fixture
def waiting(center, case_type, reception) -> list[IssuedTicket]:
    names = ("Ada Wang", "Bo Li", "Chen Mei")
    return [issue(center, case_type, by=reception, name=name) for name in names]


@pytest.fixture
def open_desk2(desk2, rep2):
    return desk_open(desk=desk2, by=rep2)


def board_path(center) -> str:
    return f"/ws/board/{center.slug}/"


def visitor_path(issued: IssuedTicket) -> str:
    return f"/ws/t/{issued.token}/"


class ScreenCase(NamedTuple):
    socket: str
    page: str
    cookies: dict[str, str]
    #: The screen's own region, and the htmx partial of its page that contains it.
    region: str
    partial: str


@pytest.fixture
def every_screen(
    *, center, reception, rep, supervisor, open_desk, waiting
) -> dict[str, ScreenCase]:
    board = f"/board/?center={center.slug}"
    return {
        "board": ScreenCase(board_path(center), board, {}, "now-serving", "now-serving"),
        "reception": ScreenCase(
            "/ws/reception/", "/reception/", sign_in(reception), "floor", "floor"
        ),
        "desk": ScreenCase("/ws/desk/", "/desk/", sign_in(rep), "desk-queue", "workspace"),
        "supervisor": ScreenCase(
            "/ws/supervisor/", "/supervisor/", sign_in(supervisor), "kpis", "kpis"
        ),
        "visitor": ScreenCase(
            visitor_path(waiting[1]), f"/t/{waiting[1].token}/", {}, "status", "status"
        ),
    }


# --- 1. snapshot --------------------------------------------------------------------------


#: How a browser asks for a language: (language cookie, Accept-Language header).
LOCALES = {
    "en": ("en", ""),
    "zh-hans": ("zh-hans", ""),
    "zh-by-browser": ("", "zh-CN,zh;q=0.9,en;q=0.5"),
}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", ["board", "reception", "desk", "supervisor", "visitor"])
async def test_a_screen_first_receives_the_snapshot_a_page_load_shows(
    name, locale, every_screen, center
):
    case = every_screen[name]
    language, accept_language = LOCALES[locale]
    csrf_secret = get_random_string(32)
    cookies = {**case.cookies, settings.CSRF_COOKIE_NAME: csrf_secret}
    if language:
        cookies[settings.LANGUAGE_COOKIE_NAME] = language
    browser = {"accept_language": accept_language}
    async with watching(case.socket, cookies=cookies, **browser) as communicator:
        snapshot = await next_push(communicator, timeout=SNAPSHOT_S)
        assert await communicator.receive_nothing(timeout=0.2), "one snapshot, then quiet"

    assert snapshot.seq == await database_sync_to_async(last_seq)(center) > 0
    assert region_ids(snapshot.regions) == [case.region, "notices"]
    page = await database_sync_to_async(load)(case.page, cookies, **browser)
    # The visitor's page follows its cookie, else the language chosen at the kiosk.
    chinese = language == "zh-hans" or (accept_language and name != "visitor")
    assert f'<html lang="{"zh-hans" if chinese else "en"}">' in page
    assert_regions_equal_page(snapshot, page)
    partial = await database_sync_to_async(load)(case.page, cookies, htmx=True, **browser)
    assert region_ids(partial) == [case.partial]
    assert comparable(Elements(partial).by_id[case.region]) == comparable(
        Elements(snapshot.regions).by_id[case.region]
    )
    if case.region in {"now-serving", "floor", "kpis"}:  # pages rendered from a floor
        assert int(SEQ_MARKER.search(page)[1]) == snapshot.seq
    # Forms in a push post with the CSRF cookie of the page (the walkout buttons at least).
    tokens = CSRF_TOKEN.findall(snapshot.regions)
    assert all(token == csrf_secret for token in tokens)
    assert tokens or name != "reception"


async def test_screens_in_two_languages_share_a_floor_not_a_rendering(
    *, center, reception, supervisor, rep, open_desk, waiting
):
    """One hub pass renders every screen from one floor; the fragments it shares between
    screens (the numbers, the notices, the position lines) are per language."""
    pages = {
        "/ws/reception/": ("/reception/", await database_sync_to_async(sign_in)(reception)),
        "/ws/supervisor/": ("/supervisor/", await database_sync_to_async(sign_in)(supervisor)),
        board_path(center): (f"/board/?center={center.slug}", {}),
        visitor_path(waiting[2]): (f"/t/{waiting[2].token}/", {}),
    }
    csrf = {settings.CSRF_COOKIE_NAME: get_random_string(32)}
    browsers = [
        (socket, page, {**cookies, **csrf, settings.LANGUAGE_COOKIE_NAME: language})
        for socket, (page, cookies) in pages.items()
        for language in ("en", "zh-hans")
    ]
    async with contextlib.AsyncExitStack() as stack:
        screens = [
            await stack.enter_async_context(watching(socket, cookies=cookies))
            for socket, _page, cookies in browsers
        ]
        for communicator in screens:
            await next_push(communicator, timeout=SNAPSHOT_S)
        await in_thread(ticket_call_next, desk=open_desk, by=rep)
        updates = await asyncio.gather(*(next_push(s, timeout=UPDATE_S) for s in screens))

    assert len({update.seq for update in updates}) == 1
    for (_socket, page, cookies), update in zip(browsers, updates, strict=True):
        assert_regions_equal_page(update, await database_sync_to_async(load)(page, cookies))


# --- 2. updates ---------------------------------------------------------------------------


async def test_a_call_reaches_every_screen(
    *, center, reception, rep, supervisor, open_desk, waiting
):
    first, _second, third = waiting
    paths = {
        "board": (board_path(center), {}),
        "reception": ("/ws/reception/", await database_sync_to_async(sign_in)(reception)),
        "desk": ("/ws/desk/", await database_sync_to_async(sign_in)(rep)),
        "supervisor": ("/ws/supervisor/", await database_sync_to_async(sign_in)(supervisor)),
        "called visitor": (visitor_path(first), {}),
        "waiting visitor": (visitor_path(third), {}),
    }
    async with contextlib.AsyncExitStack() as stack:
        screens = {
            name: await stack.enter_async_context(watching(path, cookies=cookies))
            for name, (path, cookies) in paths.items()
        }
        before = {name: await next_push(s, timeout=SNAPSHOT_S) for name, s in screens.items()}
        assert people_ahead(before["waiting visitor"].regions) == 2
        assert "3 visitors waiting for this desk" in before["desk"].regions

        called = await in_thread(ticket_call_next, desk=open_desk, by=rep)
        pushes = await asyncio.gather(*(next_push(s, timeout=UPDATE_S) for s in screens.values()))
        after = dict(zip(screens, pushes, strict=True))

    assert called.pk == first.ticket.pk
    seq = await database_sync_to_async(last_seq)(center)
    for name, push in after.items():
        assert push.seq == seq > before[name].seq, name
    assert serving(after["board"].regions) == [(called.code, "1")]
    assert f'data-code="{called.code}" data-desk="1"' in after["board"].regions
    assert f'<span class="code">{called.code}</span> (Called)' in after["reception"].regions
    assert '<div class="stat"><span>2</span>waiting</div>' in after["reception"].regions
    assert "2 visitors waiting for this desk" in after["desk"].regions
    assert called.code not in after["desk"].regions
    assert '<div class="stat"><span>1</span>at a desk</div>' in after["supervisor"].regions
    visitor = after["called visitor"].regions
    assert region_ids(visitor) == ["status", "notices"]
    assert attribute(visitor, "data-status") == "CALLED"
    assert attribute(visitor, "data-ticket") == called.code
    assert "desk 1" in visitor
    assert region_ids(after["waiting visitor"].regions) == ["position"]
    assert people_ahead(after["waiting visitor"].regions) == 1


# --- 3. refusals --------------------------------------------------------------------------


@pytest.fixture
def cookies(request, center) -> dict[str, str]:
    """The session of who ``request.param`` names; none for an anonymous visitor."""
    match request.param:
        case "anonymous":
            return {}
        case "representative":
            return sign_in(staff_user(center, Role.REPRESENTATIVE, "rep-without-desk"))
        case "supervisor":
            return sign_in(staff_user(center, Role.SUPERVISOR, "supervisor-without-desk"))
        case "no staff profile":
            return sign_in(UserFactory(username="not-staff"))
    raise AssertionError(request.param)


@pytest.mark.parametrize(
    ("path", "cookies", "code"),
    [
        ("/ws/reception/", "anonymous", CLOSE_NOT_SIGNED_IN),
        ("/ws/desk/", "anonymous", CLOSE_NOT_SIGNED_IN),
        ("/ws/supervisor/", "anonymous", CLOSE_NOT_SIGNED_IN),
        ("/ws/supervisor/", "representative", CLOSE_FORBIDDEN),
        ("/ws/reception/", "representative", CLOSE_FORBIDDEN),
        ("/ws/reception/", "no staff profile", CLOSE_FORBIDDEN),
        ("/ws/desk/", "no staff profile", CLOSE_FORBIDDEN),
        ("/ws/supervisor/", "no staff profile", CLOSE_FORBIDDEN),
        ("/ws/desk/", "representative", CLOSE_NOT_FOUND),
        ("/ws/desk/", "supervisor", CLOSE_NOT_FOUND),
        ("/ws/board/no-such-center/", "anonymous", CLOSE_NOT_FOUND),
        # Well formed, and no ticket has it (a constant: every worker collects the same).
        (f"/ws/t/{'N' * 32}/", "anonymous", CLOSE_NOT_FOUND),
        (f"/ws/t/{'x' * 65}/", "anonymous", CLOSE_NOT_FOUND),
    ],
    indirect=["cookies"],
)
async def test_a_screen_is_refused_with_the_reason(path, cookies, code, center):
    assert await close_code(path, cookies=cookies) == code


@pytest.fixture
def issued_yesterday(center, case_type, reception) -> IssuedTicket:
    with clock.use_clock(clock.FixedClock(timezone.now() - timedelta(days=1))):
        return issue(center, case_type, by=reception, name="Fang Yu")


async def test_a_token_expires_at_the_centers_midnight(issued_yesterday, waiting):
    expires_at = issued_yesterday.ticket.token_expires_at
    local = expires_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert expires_at <= timezone.now()
    assert await close_code(visitor_path(issued_yesterday)) == CLOSE_NOT_FOUND
    # Today's ticket, same center, same route: accepted.
    async with watching(visitor_path(waiting[0])) as communicator:
        snapshot = await next_push(communicator, timeout=SNAPSHOT_S)
    assert region_ids(snapshot.regions)[0] == "status"


@pytest.mark.parametrize("origin", [b"http://evil.example", b"http://127.0.0.1.evil.example"])
@pytest.mark.parametrize("target", ["board", "reception", "visitor"])
async def test_a_foreign_origin_is_refused_before_the_handshake(
    origin, target, center, reception, waiting
):
    path, cookies = {
        "board": (board_path(center), {}),
        "reception": ("/ws/reception/", await database_sync_to_async(sign_in)(reception)),
        "visitor": (visitor_path(waiting[0]), {}),
    }[target]
    communicator = screen(path, cookies=cookies, origin=origin)
    try:
        connected, _code = await communicator.connect()
        assert connected is False
    finally:
        await hang_up(communicator)


# --- 4. a visitor sees only its own ticket --------------------------------------------------


async def test_a_visitor_socket_never_carries_another_visitors_ticket(
    center, case_type, reception, rep, open_desk
):
    def check_in() -> tuple[IssuedTicket, IssuedTicket, IssuedTicket]:
        b = issue(center, case_type, by=reception, name="Bai Lan")
        a = issue(center, case_type, by=reception, name="Ahmad Karimi")
        c = issue(center, case_type, by=reception, name="Cui Hua")
        return a, b, c

    a, b, c = await database_sync_to_async(check_in)()
    # B is first in line: called, called again, a no-show; then A is called, called again.
    # Each step waits for the push it causes: steps that came faster than the hub refreshes
    # would fold into one push (as they should), and the test would see fewer.
    steps = [
        (ticket_call_next, "b", "CALLED"),
        (ticket_recall, "b", "CALLED"),
        (ticket_no_show, "b", "NO_SHOW"),
        (ticket_call_next, "a", "CALLED"),
        (ticket_recall, "a", "CALLED"),
    ]
    seen: dict[str, list[Push]] = {"a": [], "b": []}
    async with watching(visitor_path(a)) as screen_a, watching(visitor_path(b)) as screen_b:
        screens = {"a": screen_a, "b": screen_b}
        seen["a"].append(await next_push(screen_a, timeout=SNAPSHOT_S))
        seen["b"].append(await next_push(screen_b, timeout=SNAPSHOT_S))
        for step, who, status in steps:
            await in_thread(step, desk=open_desk, by=rep)
            seen[who] += await pushes_until(
                screens[who], showing_anew(status, seen[who]), within=UPDATE_S
            )
            other = "b" if who == "a" else "a"
            seen[other] += await drain(screens[other])

    text_a = "".join(push.text for push in seen["a"])
    text_b = "".join(push.text for push in seen["b"])
    for secret in (b.ticket.code, b.token, "Bai Lan", c.ticket.code, c.token, "Cui Hua"):
        assert secret not in text_a
    for secret in (a.ticket.code, a.token, "Ahmad Karimi", c.ticket.code, c.token, "Cui Hua"):
        assert secret not in text_b
    # Not vacuous: A heard its own turn coming and its call; B its call, recall and no-show.
    assert [people_ahead(p.regions) for p in seen["a"][:2]] == [1, 0]
    assert attribute(seen["a"][-1].regions, "data-status") == "CALLED"
    assert attribute(seen["a"][-1].regions, "data-ticket") == a.ticket.code
    assert [attribute(p.regions, "data-status") for p in seen["b"]] == [
        "WAITING",
        "CALLED",
        "CALLED",
        "NO_SHOW",
    ]


# --- 5. reconnect -------------------------------------------------------------------------


@pytest.mark.parametrize("hub_kept_alive", [False, True], ids=["hub-stopped", "hub-running"])
async def test_a_reconnected_screen_equals_a_fresh_load_and_misses_no_call(
    *, hub_kept_alive, center, case_type, reception, rep, rep2, open_desk, open_desk2, waiting
):
    first, second, third = waiting
    board, visitor = board_path(center), visitor_path(third)
    async with contextlib.AsyncExitStack() as witnesses:
        if hub_kept_alive:  # another board keeps this center's hub and its floor in memory
            witness = await witnesses.enter_async_context(watching(board))
            await next_push(witness, timeout=SNAPSHOT_S)

        async with watching(board) as board_screen, watching(visitor) as visitor_screen:
            await next_push(board_screen, timeout=SNAPSHOT_S)
            await next_push(visitor_screen, timeout=SNAPSHOT_S)
            await in_thread(ticket_call_next, desk=open_desk, by=rep)
            board_before = await next_push(board_screen)
            assert people_ahead((await next_push(visitor_screen)).regions) == 1
        assert serving(board_before.regions) == [(first.ticket.code, "1")]

        # Offline: a recall, a no-show, two check-ins, two calls and a recall.
        await in_thread(ticket_recall, desk=open_desk, by=rep)
        await in_thread(ticket_no_show, desk=open_desk, by=rep)
        await in_thread(issue, center, case_type, by=reception, name="Dong Jie")
        await in_thread(issue, center, case_type, by=reception, name="Er Ping")
        assert (await in_thread(ticket_call_next, desk=open_desk, by=rep)).pk == second.ticket.pk
        assert (await in_thread(ticket_call_next, desk=open_desk2, by=rep2)).pk == third.ticket.pk
        await in_thread(ticket_recall, desk=open_desk2, by=rep2)

        async with watching(board) as board_again, watching(visitor) as visitor_again:
            board_back = await next_push(board_again, timeout=SNAPSHOT_S)
            visitor_back = await next_push(visitor_again, timeout=SNAPSHOT_S)
            async with watching(board) as board_new, watching(visitor) as visitor_new:
                board_fresh = await next_push(board_new, timeout=SNAPSHOT_S)
                visitor_fresh = await next_push(visitor_new, timeout=SNAPSHOT_S)

    assert board_back.text == board_fresh.text
    assert visitor_back.text == visitor_fresh.text
    assert board_back.seq == visitor_back.seq == await database_sync_to_async(last_seq)(center)
    board_page = f"/board/?center={center.slug}"
    for back, page in ((board_back, board_page), (visitor_back, f"/t/{third.token}/")):
        assert_regions_equal_page(back, await database_sync_to_async(load)(page))
        partial = await database_sync_to_async(load)(page, htmx=True)
        (region,) = region_ids(partial)
        assert comparable(partial.strip()) == comparable(Elements(back.regions).by_id[region])

    assert sorted(serving(board_back.regions)) == [
        (second.ticket.code, "1"),
        (third.ticket.code, "2"),
    ]
    shown = call_seqs(board_back.regions)
    missed = await database_sync_to_async(calls_after)(center, board_before.seq)
    assert len(missed) == 4
    assert len(shown) == len(set(shown)) == 5
    assert shown == sorted(shown, reverse=True)
    assert set(missed) | set(call_seqs(board_before.regions)) == set(shown)
    assert attribute(visitor_back.regions, "data-status") == "CALLED"
    assert attribute(visitor_back.regions, "data-calls") == "2"
    assert "desk 2" in visitor_back.regions


# --- 6. lost messages ---------------------------------------------------------------------


async def test_a_lost_event_is_made_good_by_the_watchdog(
    monkeypatch, center, rep, open_desk, waiting
):
    first = waiting[0]
    lost: list[dict[str, Any]] = []
    deliver = events.publish_all

    def lose_the_first(payloads: list[dict[str, Any]]) -> None:
        if not lost:
            lost.append(payloads[0])
            payloads = payloads[1:]
        deliver(payloads)

    async with watching(board_path(center)) as board, watching(visitor_path(first)) as visitor:
        await next_push(board, timeout=SNAPSHOT_S)
        await next_push(visitor, timeout=SNAPSHOT_S)
        monkeypatch.setattr(events, "publish_all", lose_the_first)
        await in_thread(ticket_call_next, desk=open_desk, by=rep)
        assert [payload["kind"] for payload in lost] == ["CALLED"]
        board_pushes, visitor_pushes = await asyncio.gather(
            pushes_until(
                board,
                lambda push: serving(push.regions) == [(first.ticket.code, "1")],
                within=WATCHDOG_GRACE_S,
            ),
            pushes_until(
                visitor,
                lambda push: 'data-status="CALLED"' in push.regions,
                within=WATCHDOG_GRACE_S,
            ),
        )

    assert board_pushes[-1].seq == lost[0]["seq"]
    assert visitor_pushes[-1].seq == lost[0]["seq"]


# --- 7. bursts ----------------------------------------------------------------------------


async def test_a_burst_of_calls_ends_on_the_final_floor(
    *, center, case_type, reception, rep, rep2, open_desk, open_desk2
):
    tickets = await in_thread(
        lambda: [issue(center, case_type, by=reception, name=f"Visitor {n}") for n in range(8)]
    )
    # Per desk: call, recall, recall, recall (the fourth call is a no-show), call, ...
    cycle = [ticket_call_next, ticket_recall, ticket_recall, ticket_recall]
    steps = [
        (cycle[n % len(cycle)], desk, user)
        for n in range(10)
        for desk, user in ((open_desk, rep), (open_desk2, rep2))
    ]

    def burst() -> None:
        for step, desk, user in steps:
            step(desk=desk, by=user)

    board_socket = board_path(center)
    no_show, last_called = tickets[0], tickets[5]
    async with (
        watching(board_socket) as board,
        watching(visitor_path(no_show)) as gone,
        watching(visitor_path(last_called)) as called,
    ):
        pushes = {
            "board": [await next_push(board, timeout=SNAPSHOT_S)],
            "gone": [await next_push(gone, timeout=SNAPSHOT_S)],
            "called": [await next_push(called, timeout=SNAPSHOT_S)],
        }
        await in_thread(burst)
        final_seq = await database_sync_to_async(last_seq)(center)
        pushes["board"] += await pushes_until(
            board, lambda push: push.seq == final_seq, within=SNAPSHOT_S
        )
        for name, communicator in (("board", board), ("gone", gone), ("called", called)):
            pushes[name] += await drain(communicator)
        async with watching(board_socket) as fresh_board:
            fresh = await next_push(fresh_board, timeout=SNAPSHOT_S)

    for received in pushes.values():
        seqs = [push.seq for push in received]
        assert seqs == sorted(seqs)
    final = pushes["board"][-1]
    assert final.seq == final_seq
    assert final.text == fresh.text
    assert sorted(serving(final.regions)) == [
        (tickets[4].ticket.code, "1"),
        (tickets[5].ticket.code, "2"),
    ]
    recent = await database_sync_to_async(calls_after)(center, 0)
    assert call_seqs(final.regions) == sorted(recent, reverse=True)[:8]
    assert attribute(pushes["gone"][-1].regions, "data-status") == "NO_SHOW"
    assert attribute(pushes["called"][-1].regions, "data-status") == "CALLED"
    assert attribute(pushes["called"][-1].regions, "data-calls") == "2"
    assert "desk 2" in pushes["called"][-1].regions
