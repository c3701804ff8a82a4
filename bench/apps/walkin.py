"""The real application (``center.asgi``), plus the benchmark's desk.

``daphne bench.apps.walkin:application`` serves Walk-in Center unchanged and answers
``POST /__bench__/call?desk=ID&rep=ID[&no_show=1]``: it calls the next visitor with the
real service, in the thread Django runs a view in, takes the time right after the service
returns and reads the event sequence; with ``no_show=1`` it then marks that visitor a
no-show, as a desk would (``POST /__bench__/no_show?desk=ID&rep=ID`` does only that). On
the in-memory channel layer the call has to happen in this process: the event reaches this
worker's hub only through its own layer.

With ``BENCH_PROFILE`` set to a folder, the hub's refreshes are timed by phase, and with
``BENCH_PROFILE_MODE=cprofile`` also profiled; ``POST /__bench__/profile`` returns the
phase timings and writes the profile to ``worker-<pid>.prof`` there (``?reset=1`` starts
over).
"""

from __future__ import annotations

import cProfile
import gc
import os
import time
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async

from center.asgi import application as walkin_application  # sets Django up: import it first

# isort: split
from bench.apps.common import Receive, Send, action, drain, query, respond
from bench.scenario import call_next, no_show
from queueing import live


def _call(desk_id: int, rep_id: int, *, then_no_show: bool) -> dict[str, Any]:
    called_at, seq = call_next(desk_id=desk_id, rep_id=rep_id)
    if then_no_show:
        no_show(desk_id=desk_id, rep_id=rep_id)
    return {"t0": called_at, "seq": seq}


async def application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    name = action(scope) if scope["type"] == "http" else None
    if name is None:
        await walkin_application(scope, receive, send)
        return
    await drain(receive)
    if name == "call":
        params = query(scope)
        result = await database_sync_to_async(_call)(
            int(params["desk"]), int(params["rep"]), then_no_show=params.get("no_show") == "1"
        )
        await respond(send, result)
    elif name == "no_show":
        params = query(scope)
        await database_sync_to_async(no_show)(
            desk_id=int(params["desk"]), rep_id=int(params["rep"])
        )
        await respond(send, {"ok": True})
    elif name == "profile" and PROFILER is not None:
        await respond(send, PROFILER.reset() if query(scope).get("reset") else PROFILER.dump())
    else:
        await respond(send, {"ok": True})


class HubProfiler:
    """Wraps the hub's steps, in this worker only, to see where a refresh spends its time.

    Phase timings cost a few clock reads per refresh. cProfile (``BENCH_PROFILE_MODE=
    cprofile``) slows everything down; on Python 3.12 it sees every thread while enabled,
    and it is enabled only while a refresh runs, when the event loop waits for the render
    thread and then writes to the sockets."""

    def __init__(self, folder: Path, *, with_cprofile: bool) -> None:
        self.folder = folder
        self.with_cprofile = with_cprofile
        self.profile = cProfile.Profile()
        self.refreshes: list[dict[str, float]] = []
        self._current: dict[str, float] = {}
        self._notified: float | None = None
        self._gc_started = 0.0

    def install(self) -> None:
        hub, profiler = live.FloorHub, self
        notify, update = hub.notify, hub._update
        read_and_render, snapshot, render_all = (
            hub._read_and_render,
            live.floor_snapshot,
            live._render_all,
        )

        def timed_notify(self: live.FloorHub, seq: int) -> None:
            if profiler._notified is None:
                profiler._notified = time.monotonic()
            notify(self, seq)

        async def timed_update(self: live.FloorHub) -> None:
            record = profiler._current = {"start": time.monotonic(), "gc_s": 0.0}
            notified, profiler._notified = profiler._notified, None
            if profiler.with_cprofile:
                profiler.profile.enable()
            try:
                await update(self)
            finally:
                if profiler.with_cprofile:
                    profiler.profile.disable()
                record["end"] = time.monotonic()
                if "read_s" in record:
                    record["notified"] = notified or record["start"]
                    profiler.refreshes.append(record)

        def timed_read_and_render(self: live.FloorHub, screens: list) -> Any:
            profiler._current["thread_start"] = time.monotonic()
            result = read_and_render(self, screens)
            profiler._current["thread_end"] = time.monotonic()
            profiler._current["screens"] = len(screens)
            profiler._current["payloads"] = len(result[1])
            return result

        def timed_snapshot(center: Any) -> Any:
            started = time.monotonic()
            floor = snapshot(center)
            profiler._current["read_s"] = time.monotonic() - started
            return floor

        def timed_render_all(floor: Any, screens: list) -> Any:
            started = time.monotonic()
            payloads = render_all(floor, screens)
            profiler._current["render_s"] = time.monotonic() - started
            return payloads

        def timed_collection(phase: str, _info: dict[str, int]) -> None:
            if phase == "start":
                profiler._gc_started = time.monotonic()
            elif "gc_s" in profiler._current:
                profiler._current["gc_s"] += time.monotonic() - profiler._gc_started

        gc.callbacks.append(timed_collection)
        hub.notify = timed_notify
        hub._update = timed_update
        hub._read_and_render = timed_read_and_render
        live.floor_snapshot = timed_snapshot
        live._render_all = timed_render_all

    def reset(self) -> dict[str, Any]:
        """Forget what connecting the sockets cost: measure the events only."""
        self.profile = cProfile.Profile()
        self.refreshes = []
        return {"ok": True}

    def dump(self) -> dict[str, Any]:
        path = None
        if self.with_cprofile:
            path = self.folder / f"worker-{os.getpid()}.prof"
            self.profile.dump_stats(path)
        return {"profile": str(path) if path else None, "refreshes": self.refreshes}


PROFILER = (
    HubProfiler(
        Path(os.environ["BENCH_PROFILE"]),
        with_cprofile=os.environ.get("BENCH_PROFILE_MODE") == "cprofile",
    )
    if os.environ.get("BENCH_PROFILE")
    else None
)
if PROFILER is not None:
    PROFILER.install()
