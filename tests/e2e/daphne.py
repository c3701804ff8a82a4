"""Real Daphne servers for tests that need WebSockets: pytest-django's live_server is WSGI.

A server is a subprocess started exactly as in production (``python -m daphne``) on a free
port, serving the database of the running test. That database must be one other processes
can open: a transactional test's SQLite file (settings) or PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 5
ASGI_APPLICATION = "center.asgi:application"

# Daphne with the hubs' watchdog slowed down: a screen then learns of a change only through
# the channel layer, which is what a test of cross-worker delivery has to prove.
_DAPHNE_WITH_WATCHDOG = """
import sys
import django
django.setup()
from queueing import live
live.WATCHDOG_S = float(sys.argv.pop(1))
from daphne.cli import CommandLineInterface
CommandLineInterface.entrypoint()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def served_database_url() -> str:
    """The URL of the running test's database, for a server in another process."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{database['NAME']}").geturl()


def server_env(*, static_root: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment for a server of the test's database.

    With ``DATABASE_URL`` set the settings serve static files from ``STATIC_ROOT`` only,
    so a server whose pages need their JavaScript gets a collected ``static_root``.
    """
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(DATABASE_URL=served_database_url(), PYTHONUNBUFFERED="1", **extra)
    if static_root is not None:
        env["STATIC_ROOT"] = str(static_root)
    return env


def collect_static(root: Path) -> Path:
    with override_settings(STATIC_ROOT=str(root)):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


def session_cookie(username: str) -> str:
    """A signed-in session of a staff member, as their browser would hold it after login.

    The tests hash passwords with MD5, which a server with the real settings refuses."""
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _accepts_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class DaphneServer:
    """One Daphne process on 127.0.0.1:``port``; it can be killed and started again there."""

    def __init__(
        self,
        *,
        port: int,
        env: Mapping[str, str],
        log: Path,
        hub_watchdog_s: float | None = None,
    ) -> None:
        self.port = port
        self.env = dict(env)
        self.log = log
        self.hub_watchdog_s = hub_watchdog_s
        self.process: subprocess.Popen[bytes] | None = None
        self.ready = False

    @property
    def url(self) -> str:
        """The server's address, once it answers: a server that was only launched
        starts up while the test prepares its data, and is waited for here."""
        if not self.ready:
            self.wait_until_ready()
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        if not self.ready:
            self.wait_until_ready()
        return f"ws://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        serve = ["-b", "127.0.0.1", "-p", str(self.port), ASGI_APPLICATION]
        if self.hub_watchdog_s is None:
            return [sys.executable, "-m", "daphne", *serve]
        return [sys.executable, "-c", _DAPHNE_WITH_WATCHDOG, str(self.hub_watchdog_s), *serve]

    def launch(self) -> DaphneServer:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait_until_ready(self) -> DaphneServer:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _accepts_connections(self.port):
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"Daphne on port {self.port} exited:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Daphne on port {self.port} never answered:\n{self.log_tail()}")
            time.sleep(0.05)
        self.ready = True
        return self

    def start(self) -> DaphneServer:
        return self.launch().wait_until_ready()

    def stop(self, *, kill: bool = False) -> None:
        """Terminates the server (SIGTERM), or with ``kill`` crashes it (SIGKILL)."""
        self.ready = False
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def daphne_static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return collect_static(tmp_path_factory.mktemp("static"))


@pytest.fixture
def daphne_server(
    transactional_db, daphne_static_root: Path, tmp_path: Path
) -> Iterator[DaphneServer]:
    """A Daphne server of this test's database, its pages with their JavaScript.

    Launched, not waited for: it starts while the test loads its data, and its ``url``
    waits until it answers."""
    server = DaphneServer(
        port=free_port(),
        env=server_env(static_root=daphne_static_root),
        log=tmp_path / "daphne.log",
    ).launch()
    yield server
    server.stop()
