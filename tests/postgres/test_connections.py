"""A Daphne worker reuses its PostgreSQL connections across requests.

Under Django's own ASGI handler every request ran in a thread of its own: connections kept
per thread (``CONN_MAX_AGE``) were never reused and piled up until the server refused more
("too many clients already", seen under the check-in benchmark's load). Each worker keeps a
pool, from which its request threads (``center.asgi.RequestThreads``) and the live
screens take connections."""

from __future__ import annotations

import http.client
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.e2e.daphne import DaphneServer, free_port, server_env

REQUESTS = 40
STATS_FLUSH_S = 1.5
#: The worker's connections say who they are (libpq reads PGAPPNAME): this test's own
#: process keeps a pool of its own, as full as its earlier tests left it.
WORKER_APP = "walkin-pool-test"

pytestmark = pytest.mark.django_db(transaction=True)


def sessions_and_open_connections() -> tuple[int, int]:
    """Sessions ever opened to this database, and the worker's open now."""
    time.sleep(STATS_FLUSH_S)  # backends report their statistics at most once a second
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        sessions = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [WORKER_APP],
        )
        return sessions, cursor.fetchone()[0]


def test_a_worker_serves_many_requests_on_a_few_pooled_connections(center, tmp_path: Path):
    env = server_env(PGAPPNAME=WORKER_APP)
    server = DaphneServer(port=free_port(), env=env, log=tmp_path / "worker.log")
    server.start()
    try:
        before, _ = sessions_and_open_connections()
        for _ in range(REQUESTS):
            client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            client.request("GET", f"/board/?center={center.slug}")
            response = client.getresponse()
            response.read()
            client.close()
            assert response.status == 200
        after, open_now = sessions_and_open_connections()
    finally:
        server.stop()

    # One connection per request would be 40 sessions; kept per thread, 40 left open.
    assert after - before <= 5, server.log_tail()
    assert 1 <= open_now <= 5
