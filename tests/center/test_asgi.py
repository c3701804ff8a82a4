"""HTTP through ``center.asgi``: the middleware chain and the view run in the request's one
thread, entered once from the event loop; the threads are a fixed set that outlives the
requests."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync, sync_to_async
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from center.asgi import RequestThreads, application, django_application
from queueing import analytics
from tests.e2e.daphne import session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

#: Django's own, around the chain: request_started's receivers (synchronous: they close
#: stale database connections) and the response's close, which sends request_finished.
SIGNAL_CROSSINGS = 2
HOST = (b"host", b"testserver")
RESPONSE_S = 10.0


async def fetch(method: str, path: str, body: bytes = b"", headers=()) -> dict[str, Any]:
    """The response, once the application has finished with the request (closed it).

    Read here, not with ``HttpCommunicator.get_response()``, which requires a body in
    every message: a streamed response ends with one that has none (ASGI allows it)."""
    communicator = HttpCommunicator(application, method, path, body=body, headers=[HOST, *headers])
    await communicator.send_input({"type": "http.request", "body": body})
    start = await communicator.receive_output(RESPONSE_S)
    content = b""
    while True:
        message = await communicator.receive_output(RESPONSE_S)
        content += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await communicator.wait(RESPONSE_S)
    return {"status": start["status"], "headers": start["headers"], "body": content}


@pytest.fixture
def crossings(monkeypatch) -> Counter:
    """Counts the hand-offs between the event loop and threads."""
    counted: Counter = Counter()
    to_thread, to_loop = SyncToAsync.__call__, AsyncToSync.__call__

    async def counting_to_thread(self, *args, **kwargs):
        counted["loop to thread"] += 1
        return await to_thread(self, *args, **kwargs)

    def counting_to_loop(self, *args, **kwargs):
        counted["thread to loop"] += 1
        return to_loop(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting_to_thread)
    monkeypatch.setattr(AsyncToSync, "__call__", counting_to_loop)
    return counted


async def test_a_page_is_one_crossing_into_a_thread_for_the_middleware_and_the_view(crossings):
    response = await fetch("GET", "/accounts/login/")
    assert response["status"] == 200
    # Before: in for the synchronous middleware, out to the loop for the asynchronous
    # handler inside it, in again for each synchronous process_view and for the view.
    assert crossings == {"loop to thread": 1 + SIGNAL_CROSSINGS}


async def test_a_form_post_goes_through_the_whole_chain(crossings):
    """The CSRF check (a process_view), the session and the view, all in that thread."""
    page = await fetch("GET", "/accounts/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page["body"]).group(1)
    cookie = next(
        value.split(b";")[0] for name, value in page["headers"] if name.lower() == b"set-cookie"
    )
    form = urlencode(
        {"csrfmiddlewaretoken": token.decode(), "username": "nobody", "password": "wrong"}
    )
    refused = await fetch(
        "POST",
        "/accounts/login/",
        body=form.encode(),
        headers=[(b"content-type", b"application/x-www-form-urlencoded"), (b"cookie", cookie)],
    )
    # Past the CSRF check (403 without it), the form refuses the login and shows itself again.
    assert refused["status"] == 200
    assert b"csrfmiddlewaretoken" in refused["body"]
    missing_token = await fetch(
        "POST",
        "/accounts/login/",
        body=b"username=nobody&password=wrong",
        headers=[(b"content-type", b"application/x-www-form-urlencoded")],
    )
    assert missing_token["status"] == 403
    assert crossings["thread to loop"] == 0


async def test_an_export_streams_its_rows_from_the_loop(supervisor, issued):
    """The view returns in the thread; the file's rows are read a batch at a time as the
    handler sends them (``queueing/views/supervisor.py``), the database still from a thread."""
    cookie = await database_sync_to_async(session_cookie)(supervisor.username)
    response = await fetch(
        "GET",
        "/supervisor/export/tickets.csv",
        headers=[(b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode())],
    )
    assert response["status"] == 200
    header, first, *_ = response["body"].decode().splitlines()
    assert header.split(",") == list(analytics.TICKET_COLUMNS)
    assert first.startswith(issued.ticket.code + ",")


async def test_requests_take_turns_on_a_fixed_set_of_threads():
    threads = RequestThreads(2)
    running, peak = 0, 0
    counted = threading.Lock()
    ran_in: dict[int, set[int]] = {}

    def view_part(request: int) -> None:
        nonlocal running, peak
        with counted:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        ran_in.setdefault(request, set()).add(threading.get_ident())
        with counted:
            running -= 1

    async def handle(request: int) -> None:
        # Two thread-sensitive calls, as Django makes (the signals, then the chain).
        await sync_to_async(view_part)(request)
        await sync_to_async(view_part)(request)

    await asyncio.gather(*(threads.run(handle, request) for request in range(8)))

    assert peak == 2
    # Each request ran whole in one thread, and the eight shared the set's two.
    assert all(len(idents) == 1 for idents in ran_in.values())
    assert len(set().union(*ran_in.values())) == 2


async def test_a_request_waiting_for_a_thread_waits_on_the_loop():
    threads = RequestThreads(1)
    release = threading.Event()
    order: list[str] = []

    async def slow() -> None:
        await sync_to_async(release.wait)(5)
        order.append("slow")

    async def quick() -> None:
        await sync_to_async(order.append)("quick")

    first = asyncio.ensure_future(threads.run(slow))
    second = asyncio.ensure_future(threads.run(quick))
    await asyncio.sleep(0.1)
    # The loop is free (this test runs on it) while the second request waits its turn.
    assert order == []
    release.set()
    await asyncio.gather(first, second)
    assert order == ["slow", "quick"]


async def test_no_request_threads_is_refused():
    with pytest.raises(ValueError, match="REQUEST_THREADS"):
        RequestThreads(0)


async def test_requests_reuse_their_threads_database_connections(monkeypatch, supervisor):
    """SQLite: a thread keeps its connection from request to request (CONN_MAX_AGE), where
    a thread per request opened one on every request. PostgreSQL's come from the pool."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's connections come from its pool on every request")
    opened: list[int] = []
    open_connection = BaseDatabaseWrapper.connect

    def counting_connect(self):
        opened.append(threading.get_ident())
        return open_connection(self)

    monkeypatch.setattr(BaseDatabaseWrapper, "connect", counting_connect)
    cookie = await database_sync_to_async(session_cookie)(supervisor.username)
    headers = [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode())]
    for _ in range(3 * django_application.threads.size):
        # A signed-in page: its session, its user and the floor come from the database.
        response = await fetch("GET", "/supervisor/", headers=headers)
        assert response["status"] == 200
    assert 1 <= len(opened) <= django_application.threads.size


async def test_a_thread_whose_client_went_away_serves_the_next_request_after_its_view():
    """A request cancelled on the loop (its client disconnected) gives its thread back while
    its view still runs there: the next request given that thread runs after it, never
    beside it in the same thread."""
    threads = RequestThreads(1)
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow_view() -> None:
        started.set()
        release.wait(5)
        order.append("the abandoned view ended")

    async def abandoned() -> None:
        await sync_to_async(slow_view)()

    async def next_request() -> None:
        await sync_to_async(order.append)("the next request ran")

    first = asyncio.ensure_future(threads.run(abandoned))
    await asyncio.to_thread(started.wait, 5)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    second = asyncio.ensure_future(threads.run(next_request))
    await asyncio.sleep(0.1)
    assert order == []
    release.set()
    await asyncio.wait_for(second, 5)
    assert order == ["the abandoned view ended", "the next request ran"]
