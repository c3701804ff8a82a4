"""Faults of the production shape: real Daphne workers over Redis, screens on real sockets.

1. A worker is killed (SIGKILL) while a board is connected to it. A call is made through
   the other worker meanwhile. The board reconnects to the surviving worker: its first
   push equals a fresh load (same sequence number, same content, the page's regions) and
   shows the call exactly once; a board that stayed on the survivor saw the call live.
2. Redis is restarted under two workers. The shared Redis at 6379 is left alone: these
   workers get a private ``redis-server --save ''`` on a free port. A call made while
   Redis is down still succeeds and reaches the screens of its worker through the hub's
   watchdog; after the restart the other worker (its watchdog turned down, so Redis is its
   only news) hears the next call, and both boards end on every call, none missed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from queueing.models import EventSequence, TicketEvent
from tests.e2e.daphne import DaphneServer, free_port, server_env, session_cookie
from tests.queueing.factories import issue
from tests.queueing.test_consumers import (
    Push,
    assert_regions_equal_page,
    call_seqs,
    comparable,
    parse,
    serving,
)
from tests.test_two_workers import Browser

SHARED_REDIS = os.environ.get("WALKIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
REQUIRED = os.environ.get("WALKIN_REQUIRE_SERVICES") == "1"
PUSH_S = 10.0
DELIVERY_S = 10.0
WATCHDOG_GRACE_S = 4.0
NO_WATCHDOG_S = 3600.0

pytestmark = pytest.mark.django_db(transaction=True)


def _unavailable(message: str) -> None:
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


# --- screens ----------------------------------------------------------------------------


def board(worker: DaphneServer, slug: str) -> ClientConnection:
    return connect(
        f"{worker.ws_url}/ws/board/{slug}/", origin=worker.url, proxy=None, open_timeout=10
    )


def next_push(socket: ClientConnection, within_s: float = PUSH_S) -> Push:
    return parse(str(socket.recv(timeout=within_s)))


def push_showing(socket: ClientConnection, seq: int, within_s: float) -> Push:
    """Pushes until one shows the floor at ``seq`` or later."""
    deadline = time.monotonic() + within_s
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            push = next_push(socket, left)
        except TimeoutError:
            break
        seen.append(push.seq)
        if push.seq >= seq:
            return push
    pytest.fail(f"no push at seq {seq} within {within_s} s (saw {seen})")


def last_seq(center) -> int:
    return EventSequence.objects.get(center=center).last_seq


def called_seq(code: str) -> int:
    return TicketEvent.objects.get(ticket__code=code, kind="CALLED").seq


def fresh_page(slug: str) -> str:
    return Client().get(f"/board/?center={slug}").content.decode()


def assert_whole(push: Push, center, other: Push) -> None:
    """``push`` is what a fresh load shows: the same as another new socket's first push
    and the page's own regions, at the floor's current sequence number."""
    assert push.seq == other.seq == last_seq(center)
    assert comparable(push.text) == comparable(other.text)
    assert_regions_equal_page(push, fresh_page(center.slug))


# --- 1. a worker killed -----------------------------------------------------------------


@pytest.fixture
def shared_redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(SHARED_REDIS, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        _unavailable(f"Redis is not reachable at {SHARED_REDIS}: {error}")
    prefix = f"walkin-proof-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def test_screens_of_a_killed_worker_reconnect_to_the_other_whole(
    shared_redis_prefix, tmp_path, center, desk, rep, case_type, reception
):
    first = issue(center, case_type, by=reception, name="Ahmad Karimi")
    issue(center, case_type, by=reception, name="Bai Lan")
    env = server_env(
        REDIS_URL=SHARED_REDIS,
        CHANNEL_LAYER_PREFIX=shared_redis_prefix,
        CACHE_KEY_PREFIX=shared_redis_prefix,
    )
    worker_a = DaphneServer(port=free_port(), env=env, log=tmp_path / "a.log")
    worker_b = DaphneServer(port=free_port(), env=env, log=tmp_path / "b.log")
    try:
        for worker in (worker_a.launch(), worker_b.launch()):
            worker.wait_until_ready()
        representative = Browser(worker_b, session_cookie(rep.username))
        assert representative.request("GET", "/desk/") == 200
        assert representative.post(f"/desk/{desk.number}/open/") == 302

        with board(worker_a, center.slug) as on_a, board(worker_b, center.slug) as on_b:
            before = next_push(on_a)
            assert next_push(on_b).seq == before.seq
            worker_a.stop(kill=True)
            with pytest.raises(ConnectionClosed):
                _read_until_closed(on_a)

            # Meanwhile, through the surviving worker.
            assert representative.post("/desk/call-next/") == 302
            call = called_seq(first.ticket.code)
            live = push_showing(on_b, call, DELIVERY_S)
            assert serving(live.regions) == [(first.ticket.code, str(desk.number))]

            with board(worker_b, center.slug) as back, board(worker_b, center.slug) as new:
                reconnected, fresh = next_push(back), next_push(new)

        assert reconnected.seq > before.seq
        assert_whole(reconnected, center, fresh)
        assert serving(reconnected.regions) == [(first.ticket.code, str(desk.number))]
        assert call_seqs(reconnected.regions).count(call) == 1
        assert call not in call_seqs(before.regions)
    finally:
        worker_a.stop()
        worker_b.stop()


# --- 2. Redis restarted -----------------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test alone, without persistence: a restart empties it."""

    def __init__(self, log: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _unavailable("redis-server is not installed")
        self.binary = binary
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - the installed redis-server
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        with redis.Redis.from_url(self.url, socket_connect_timeout=0.5) as client:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def floor_subscribers(self, prefix: str) -> int:
        with redis.Redis.from_url(self.url) as client:
            return sum(client.zcard(key) for key in client.scan_iter(match=f"{prefix}:group:*"))


@pytest.mark.slow
def test_screens_recover_from_a_redis_restart_without_missing_a_call(
    tmp_path, center, desk, rep, case_type, reception
):
    tickets = [issue(center, case_type, by=reception, name=f"Visitor {n}").ticket for n in range(3)]
    server = PrivateRedis(tmp_path / "redis.log").start()
    prefix = "walkin-restart"
    env = server_env(REDIS_URL=server.url, CHANNEL_LAYER_PREFIX=prefix, CACHE_KEY_PREFIX=prefix)
    watchful = DaphneServer(port=free_port(), env=env, log=tmp_path / "a.log")
    deaf = DaphneServer(
        port=free_port(), env=env, log=tmp_path / "b.log", hub_watchdog_s=NO_WATCHDOG_S
    )
    try:
        for worker in (watchful.launch(), deaf.launch()):
            worker.wait_until_ready()
        representative = Browser(watchful, session_cookie(rep.username))
        assert representative.request("GET", "/desk/") == 200
        assert representative.post(f"/desk/{desk.number}/open/") == 302

        def call_and_release(ticket) -> int:
            assert representative.post("/desk/call-next/") == 302
            seq = called_seq(ticket.code)
            assert representative.post("/desk/no-show/") == 302
            return seq

        with board(watchful, center.slug) as on_a, board(deaf, center.slug) as on_b:
            next_push(on_a), next_push(on_b)
            _wait_for(lambda: server.floor_subscribers(prefix) == 2, "both hubs subscribed")
            calls = [call_and_release(tickets[0])]
            push_showing(on_a, last_seq(center), DELIVERY_S)
            push_showing(on_b, last_seq(center), DELIVERY_S)

            server.stop()
            calls.append(call_and_release(tickets[1]))  # the request succeeds without Redis
            down = push_showing(on_a, last_seq(center), WATCHDOG_GRACE_S)
            assert calls[1] in call_seqs(down.regions)

            server.start()
            _wait_for(lambda: server.floor_subscribers(prefix) == 2, "both hubs subscribed again")
            calls.append(call_and_release(tickets[2]))
            final = last_seq(center)
            end_a = push_showing(on_a, final, DELIVERY_S)
            end_b = push_showing(on_b, final, DELIVERY_S)
            with board(deaf, center.slug) as new:
                fresh = next_push(new)

        for end in (end_a, end_b):
            assert sorted(call_seqs(end.regions)) == calls, "a board missed a call"
            assert_whole(end, center, fresh)
    finally:
        watchful.stop()
        deaf.stop()
        server.stop()


def _read_until_closed(socket: ClientConnection) -> None:
    while True:
        socket.recv(timeout=PUSH_S)


def _wait_for(condition, what: str, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within_s} s: {what}")
        time.sleep(0.05)
