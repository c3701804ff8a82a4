"""Acceptance: a desk acting through worker A updates a visitor page connected to worker B.

Two real Daphne processes share the test's database and the real Redis at 127.0.0.1:6379.
Worker B's hub watchdog is turned down, so its visitor can only hear of the call through
the channel layer: without that, B would also find the change by polling the database.
"""

from __future__ import annotations

import http.client
import os
import time
import uuid
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from django.conf import settings
from websockets.sync.client import ClientConnection, connect

from queueing import groups
from queueing.models import Ticket
from queueing.services import IssuedTicket
from tests.e2e.daphne import DaphneServer, free_port, server_env, session_cookie

REDIS_URL = os.environ.get("WALKIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
# A wait, not a measure: cross-worker latency is measured by `python -m bench fanout`.
DELIVERY_S = 10.0
NO_WATCHDOG_S = 3600.0

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A channel-layer prefix of this run alone; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"Redis is not reachable at {REDIS_URL}: {error}"
        if os.environ.get("WALKIN_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    prefix = f"walkin-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def workers(redis_prefix: str, tmp_path: Path) -> Iterator[tuple[DaphneServer, DaphneServer]]:
    env = server_env(REDIS_URL=REDIS_URL, CHANNEL_LAYER_PREFIX=redis_prefix)
    worker_a = DaphneServer(port=free_port(), env=env, log=tmp_path / "worker-a.log")
    worker_b = DaphneServer(
        port=free_port(), env=env, log=tmp_path / "worker-b.log", hub_watchdog_s=NO_WATCHDOG_S
    )
    try:
        for worker in (worker_a.launch(), worker_b.launch()):
            worker.wait_until_ready()
        yield worker_a, worker_b
    finally:
        worker_a.stop()
        worker_b.stop()


class Browser:
    """A staff member's browser against one worker: session and CSRF cookies, form posts."""

    def __init__(self, worker: DaphneServer, session: str) -> None:
        self.worker = worker
        self.cookies = {settings.SESSION_COOKIE_NAME: session}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> int:
        headers = {
            "Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items()),
            "Origin": self.worker.url,
        }
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.worker.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update({name: m.value for name, m in SimpleCookie(header).items()})
        return response.status

    def post(self, path: str) -> int:
        token = self.cookies[settings.CSRF_COOKIE_NAME]
        return self.request("POST", path, {"csrfmiddlewaretoken": token})


def wait_for_subscriber(prefix: str, center_id: int, *, within_s: float = 5.0) -> None:
    """Worker B's hub joins the floor group beside its first push: a call made before it
    has joined would reach B only through the watchdog this test turned down."""
    group = f"{prefix}:group:{groups.center_floor(center_id)}"
    deadline = time.monotonic() + within_s
    with redis.Redis.from_url(REDIS_URL) as client:
        while (members := client.zcard(group)) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert members == 1, f"the floor group should hold worker B's hub alone, not {members}"


def receive_status(visitor: ClientConnection, status: str, *, within_s: float) -> str:
    """The first push that shows the visitor's #status with ``status``."""
    deadline = time.monotonic() + within_s
    marker = f'data-status="{status}"'
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = str(visitor.recv(timeout=left))
        except TimeoutError:
            break
        if marker in message:
            return message
    pytest.fail(f"the visitor's socket got no {marker} within {within_s} s")


def test_desk_on_worker_a_updates_visitor_on_worker_b(
    workers: tuple[DaphneServer, DaphneServer],
    redis_prefix: str,
    desk,
    rep,
    issued: IssuedTicket,
) -> None:
    worker_a, worker_b = workers
    representative = Browser(worker_a, session_cookie(rep.username))
    visitor_url = f"{worker_b.ws_url}/ws/t/{issued.token}/"

    with connect(visitor_url, origin=worker_b.url, proxy=None, open_timeout=10) as visitor:
        receive_status(visitor, "WAITING", within_s=10)
        wait_for_subscriber(redis_prefix, issued.ticket.center_id)

        assert representative.request("GET", "/desk/") == 200
        assert representative.post(f"/desk/{desk.number}/open/") == 302
        assert representative.post("/desk/call-next/") == 302
        pushed = receive_status(visitor, "CALLED", within_s=DELIVERY_S)

    assert f"Go to desk {desk.number} now" in pushed
    called = Ticket.objects.get(pk=issued.ticket.pk)
    assert (called.status, called.desk_id) == (Ticket.Status.CALLED, desk.pk)
