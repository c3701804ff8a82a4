"""Daphne workers on 127.0.0.1 for the benchmarks, and the small HTTP client that drives
their ``/__bench__/`` endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.apps.common import PREFIX

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1

try:  # looked up here: the child of a fork should only call it
    _prctl = ctypes.CDLL(None).prctl
except (OSError, AttributeError):
    _prctl = None


class Worker:
    """One Daphne process serving ``app`` on a socket this process bound to 127.0.0.1,
    so the port is known before Daphne starts and no other process can take it."""

    def __init__(
        self, app: str, *, env: dict[str, str], log: Path, args: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        #: More Daphne options, e.g. ``("--websocket_connect_timeout", "60")``.
        self.args = args
        self.env = env
        self.log_path = log
        self.listener = socket.create_server((HOST, 0), backlog=2048)
        self.port: int = self.listener.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        return f"ws://{HOST}:{self.port}{path}"

    def cpu_seconds(self) -> float:
        """User and system CPU time the worker has used so far (Linux /proc)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def start(self) -> None:
        fd = self.listener.fileno()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "daphne", "-v", "0", *self.args, "--fd", str(fd), self.app],
                env=self.env,
                pass_fds=(fd,),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.env.get("PYTHONPATH"),
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - one C call, resolved before the fork
            )

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.app} exited; see {self.log_path}")
            try:
                await request(self.port, "ping", timeout=2.0)
            except (OSError, TimeoutError, ValueError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.app} did not start; see {self.log_path}") from None
                await asyncio.sleep(0.2)
            else:
                return

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.listener.close()


def _die_with_parent() -> None:
    """A benchmark killed outright must not leave its workers behind (Linux only)."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.asynccontextmanager
async def workers(
    app: str,
    count: int,
    *,
    name: str,
    env: dict[str, str],
    log_dir: Path,
    args: tuple[str, ...] = (),
):
    """Starts ``count`` workers of ``app``, logging to ``<log_dir>/<name>-<index>.log``."""
    started = [
        Worker(app, env=env, log=log_dir / f"{name}-{index}.log", args=args)
        for index in range(count)
    ]
    try:
        for worker in started:
            worker.start()
        await asyncio.gather(*(worker.wait_ready() for worker in started))
        yield started
    finally:
        for worker in started:
            worker.stop()


async def request(
    port: int, name: str, *, timeout: float = REQUEST_TIMEOUT_S, **params: Any
) -> dict[str, Any]:
    """``POST /__bench__/<name>?params``; returns the JSON the app answers."""
    query = "&".join(f"{key}={value}" for key, value in params.items())
    target = f"{PREFIX}{name}" + (f"?{query}" if query else "")
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(
                f"POST {target} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            response = await reader.read()
        finally:
            writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1] if head else b""
    if status != b"200":
        raise ValueError(f"{target}: HTTP {status.decode() or 'no answer'}: {body[:200]!r}")
    return json.loads(body)
