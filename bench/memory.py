"""Memory: peak resident memory of one Daphne worker holding N visitor sockets.

One worker serves the project's ASGI application (``bench.apps.walkin``: the real
``center.asgi`` plus the benchmark's desk endpoint), on the in-memory channel layer. N
waiting visitors are checked in through the real kiosk service; each socket is a real
WebSocket client on its own ticket's status page ``/ws/t/<token>/`` and counts only once
it has received its first snapshot. The worker's memory is read from
``/proc/<pid>/status``: ``VmRSS`` (now) and ``VmHWM`` (the peak so far).

In each run, on a fresh worker:

1. *idle*: the worker has started, served one status page and one socket (so the code a
   socket needs is imported and its templates compiled), and that socket has closed;
2. *holding*: N sockets are open and every one has shown its snapshot;
3. *after a call*: a desk calls the next visitor (and marks the no-show), every socket
   gets its new place, and the peak is read again (a refresh renders N screens at once).

Baseline for the cost per socket: the raw ASGI app of the fan-out benchmark
(``bench.apps.raw_broadcast``, no Django, no channel layer) holding as many sockets in
the same run. Figures are medians over the runs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from bench.fleet import Fleet
from bench.report import median
from bench.runner import Context
from bench.scenario import Scenario, scenario_create
from bench.servers import HOST, Worker, request, workers

NAME = "memory"
TITLE = "peak memory of one worker holding N visitor sockets"

WALKIN_APP = "bench.apps.walkin:application"
RAW_APP = "bench.apps.raw_broadcast:application"
#: Sockets opening at once (the fan-out benchmark opens 50): the figure is the memory
#: once all are open, and a busy machine must not make Daphne drop handshakes.
CONNECT_CONCURRENCY = 10
#: Daphne drops a WebSocket handshake the application has not accepted within 5 s by
#: default; a busy shared machine, with the worker rendering the sockets already open,
#: can take longer, and only the memory once all are open is measured here.
DAPHNE_ARGS = ("--websocket_connect_timeout", "120")
RUNS = 2
QUICK_RUNS = 1
READY_TIMEOUT_S = 180.0
DELIVERY_TIMEOUT_S = 30.0
#: Time for the worker to finish with a closed socket before "idle" is read.
SETTLE_S = 0.5


@dataclass
class Reading:
    idle_rss: float
    idle_hwm: float
    holding_rss: float
    holding_hwm: float
    #: Peak after one call reached every socket (the walk-in app only).
    called_hwm: float | None = None

    def per_socket_kib(self, size: int) -> float:
        return (self.holding_hwm - self.idle_hwm) * 1024 / size


def memory_mib(pid: int) -> tuple[float, float]:
    """``(VmRSS, VmHWM)`` of a process, in MiB (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def run(context: Context) -> None:
    size = max(context.sizes)
    runs = QUICK_RUNS if context.quick else RUNS
    started = time.monotonic()
    scenario = scenario_create(label=f"memory{size}", sockets=size, front=runs + 2)
    context.report.note(
        f"  {size + scenario.front} tickets issued through checkin_issue_ticket"
        f" ({time.monotonic() - started:.0f} s)"
    )
    asyncio.run(_run(context, scenario, size, runs))
    context.report.note(f"  memory done in {time.monotonic() - started:.0f} s")


async def _run(context: Context, scenario: Scenario, size: int, runs: int) -> None:
    report = context.report
    ours: list[Reading] = []
    raw: list[Reading] = []
    for index in range(runs):
        raw.append(await _raw(context, size, index))
        ours.append(await _walkin(context, scenario, size, index))
        report.note(
            f"  run {index + 1}: walk-in idle {ours[-1].idle_hwm:.1f} MiB, holding"
            f" {ours[-1].holding_hwm:.1f} MiB, after a call {ours[-1].called_hwm:.1f} MiB;"
            f" raw app idle {raw[-1].idle_hwm:.1f} MiB, holding {raw[-1].holding_hwm:.1f} MiB"
        )
    idle = median([reading.idle_hwm for reading in ours])
    report.figure("memory.idle", idle, "MiB")
    report.figure(
        f"memory.holding.n{size}", median([r.holding_hwm for r in ours]), "MiB", baseline=idle
    )
    report.figure(
        f"memory.after_call.n{size}",
        median([r.called_hwm or float("nan") for r in ours]),
        "MiB",
        baseline=idle,
    )
    raw_per_socket = median([r.per_socket_kib(size) for r in raw])
    report.figure(f"memory.raw_floor.per_socket.n{size}", raw_per_socket, "KiB")
    report.figure(
        f"memory.per_socket.n{size}",
        median([r.per_socket_kib(size) for r in ours]),
        "KiB",
        baseline=raw_per_socket,
    )
    report.note(
        f"  the raw app: idle {median([r.idle_hwm for r in raw]):.1f} MiB, holding"
        f" {median([r.holding_hwm for r in raw]):.1f} MiB (no Django loaded)"
    )


async def _connect(worker: Worker, paths: list[str]) -> Fleet:
    fleet = Fleet()
    started = time.monotonic()
    await fleet.connect(
        [(worker.url(path), worker.origin) for path in paths], concurrency=CONNECT_CONCURRENCY
    )
    ready = fleet.start_round(0, started)
    if not await fleet.wait(ready, READY_TIMEOUT_S):
        await fleet.close()
        raise RuntimeError(f"{ready.remaining} of {len(paths)} sockets got no first message")
    return fleet


async def _walkin(context: Context, scenario: Scenario, size: int, index: int) -> Reading:
    async with workers(
        WALKIN_APP,
        1,
        name=f"memory-walkin-{index}",
        env=context.env,
        log_dir=context.work_dir,
        args=DAPHNE_ARGS,
    ) as (worker,):
        pid = worker.process.pid  # type: ignore[union-attr]
        paths = [f"/ws/t/{token}/" for token in scenario.tokens]
        await _page(worker, f"/t/{scenario.tokens[0]}/")
        one = await _connect(worker, paths[:1])
        await one.close()
        await asyncio.sleep(SETTLE_S)
        idle_rss, idle_hwm = memory_mib(pid)
        fleet = await _connect(worker, paths)
        try:
            holding_rss, holding_hwm = memory_mib(pid)
            answer = await request(
                worker.port, "call", desk=scenario.desk_id, rep=scenario.rep_id, no_show=1
            )
            delivered = fleet.start_round(int(answer["seq"]), float(answer["t0"]))
            if not await fleet.wait(delivered, DELIVERY_TIMEOUT_S):
                context.report.note(f"  ! {delivered.remaining} sockets missed the call")
            _rss, called_hwm = memory_mib(pid)
            if fleet.closed:
                context.report.note(f"  ! the worker closed {fleet.closed} sockets")
        finally:
            await fleet.close()
    return Reading(idle_rss, idle_hwm, holding_rss, holding_hwm, called_hwm)


async def _raw(context: Context, size: int, index: int) -> Reading:
    async with workers(
        RAW_APP,
        1,
        name=f"memory-raw-{index}",
        env=context.env,
        log_dir=context.work_dir,
        args=DAPHNE_ARGS,
    ) as (worker,):
        pid = worker.process.pid  # type: ignore[union-attr]
        one = await _connect(worker, ["/"])
        await one.close()
        await asyncio.sleep(SETTLE_S)
        idle_rss, idle_hwm = memory_mib(pid)
        fleet = await _connect(worker, ["/"] * size)
        try:
            holding_rss, holding_hwm = memory_mib(pid)
        finally:
            await fleet.close()
    return Reading(idle_rss, idle_hwm, holding_rss, holding_hwm)


async def _page(worker: Worker, path: str) -> None:
    """One GET of a page, so its code and templates are loaded before "idle" is read."""
    reader, writer = await asyncio.open_connection(HOST, worker.port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{worker.port}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        response = await reader.read()
    finally:
        writer.close()
    status = response.split(b" ", 2)[1] if response else b""
    if status != b"200":
        raise RuntimeError(f"GET {path}: HTTP {status.decode() or 'no answer'}")
