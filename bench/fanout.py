"""Fan-out: from the commit of "call next" to the moment the last of N visitor sockets
shows its new place in the queue.

Each visitor socket is a real WebSocket client on its own ticket's status page
(``/ws/t/<token>/``) of a real Daphne process serving the project's ASGI application. A
repetition calls the next visitor with the real service, takes the time right after it
returns, and waits until every socket has a message whose sequence marker is at least the
call's event sequence; then the desk marks that visitor a no-show (no one's place moves)
and the floor settles before the next call.

Variants, on the same N sockets:

- ``hub_memory_1w``: one worker, in-memory channel layer. The call runs inside the worker
  (``bench.apps.walkin``): in memory, an event reaches only the hub of the process that
  committed it.
- ``hub_redis_2w``: two workers on Redis, sockets split across them; the call runs in
  this process, so the event goes through the database and Redis. Afterwards the workers
  stand idle for a while, and the run counts the sockets they close meanwhile.
- ``channels_group`` (baseline): a bare Channels consumer per socket in one group, one
  ``group_send`` of one message, in memory.
- ``raw_floor`` (baseline): a raw ASGI app with no channel layer writing to each socket.

Then a sustained load on the single worker: calls (each with its no-show) at a steady
rate, and whether the delivery lag grows.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import pstats
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis
from django.test import override_settings

from bench.fleet import Fleet, Round
from bench.report import median, percentile
from bench.runner import REPO_DIR, Context
from bench.scenario import Scenario, call_next, no_show, scenario_create
from bench.servers import Worker, request, workers

NAME = "fanout"
TITLE = "one call moves N visitors; commit to the last socket's new position"

WARMUP = 2
DELIVERY_TIMEOUT_S = 5.0
#: Pause after a repetition: twice its latency, within these bounds, so that the worker
#: is done with the event and its no-show before the next call.
SETTLE_S = (0.1, 1.0)
READY_TIMEOUT_S = 180.0
TARGET_SIZE = 1000
TARGET_P99_MS = 150.0
#: The lag grows if the last events' median exceeds the first events' by both of these.
GROWTH_FACTOR = 1.5
GROWTH_MS = 50.0

WALKIN_APP = "bench.apps.walkin:application"
CHANNELS_APP = "bench.apps.channels_group:application"
RAW_APP = "bench.apps.raw_broadcast:application"

VARIANTS = {
    "raw_floor": "raw ASGI broadcast (floor)",
    "channels_group": "bare Channels group_send",
    "hub_memory_1w": "hub, in memory, 1 worker",
    "hub_redis_2w": "hub, Redis, 2 workers",
}


@dataclass
class Series:
    latencies_s: list[float] = field(default_factory=list)
    timeouts: int = 0
    #: Sockets the server closed during the measurement (their rounds count without them).
    closed: int = 0
    #: Sockets the server closed while the floor stood still afterwards (Redis only).
    closed_idle: int | None = None
    #: (start, last arrival) of each measured round delivered in time.
    rounds: list[tuple[float, float]] = field(default_factory=list)
    #: What each worker's profiler recorded (``--profile``).
    profiles: list[dict[str, Any]] = field(default_factory=list)

    @property
    def p50_ms(self) -> float:
        return median(self.latencies_s) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_s, 0.99) * 1000


@dataclass
class Sustained:
    size: int
    rate: float
    #: (event sequence, lag in seconds) of each call, in the order the calls were made.
    lags: list[tuple[int, float]]
    achieved_rate: float
    timeouts: int
    #: The worker's CPU time over the load's wall time (1.0 = one core busy throughout).
    worker_cpu: float
    #: How long each call's HTTP request took: it runs in the thread the hub renders in.
    responses_s: list[float]
    profiles: list[dict[str, Any]] = field(default_factory=list)


def run(context: Context) -> None:
    sizes = sorted(set(context.sizes))
    sustained_size = max(sizes)
    sustained_calls = round(context.sustained_s * context.sustained_rate)
    calls = WARMUP + context.repetitions
    redis_url = context.redis_url if _redis_reachable(context.redis_url, context) else ""

    started = time.monotonic()
    scenarios: dict[tuple[str, int], Scenario] = {}
    for size in sizes:
        extra = sustained_calls if size == sustained_size else 0
        scenarios["hub_memory_1w", size] = scenario_create(
            label=f"mem{size}", sockets=size, front=calls + extra + 2
        )
        if redis_url:
            scenarios["hub_redis_2w", size] = scenario_create(
                label=f"redis{size}", sockets=size, front=calls + 2
            )
    tickets = sum(s.front + len(s.tokens) for s in scenarios.values())
    context.report.note(
        f"  set up {len(scenarios)} centers, {tickets} tickets issued through "
        f"checkin_issue_ticket ({time.monotonic() - started:.0f} s)"
    )
    asyncio.run(_run(context, sizes, scenarios, redis_url, sustained_calls))


async def _run(
    context: Context,
    sizes: list[int],
    scenarios: dict[tuple[str, int], Scenario],
    redis_url: str,
    sustained_calls: int,
) -> None:
    report = context.report
    results: dict[tuple[str, int], Series] = {}
    sustained: Sustained | None = None
    bench = Bench(context)
    try:
        for size in sizes:
            report.note(f"\n  N = {size}")
            results["raw_floor", size] = await bench.baseline(RAW_APP, "raw_floor", size)
            _report_series(context, "raw_floor", size, results, baseline=None)
            results["channels_group", size] = await bench.baseline(
                CHANNELS_APP, "channels_group", size
            )
            _report_series(context, "channels_group", size, results, baseline="raw_floor")
            results["hub_memory_1w", size], sustained_at_size = await bench.hub_memory(
                scenarios["hub_memory_1w", size],
                sustained_calls=sustained_calls if size == max(sizes) else 0,
            )
            _report_series(context, "hub_memory_1w", size, results, baseline="channels_group")
            sustained = sustained_at_size or sustained
            if redis_url:
                results["hub_redis_2w", size] = await bench.hub_redis(
                    scenarios["hub_redis_2w", size], redis_url
                )
                _report_series(context, "hub_redis_2w", size, results, baseline="channels_group")
    finally:
        bench.close()
    if sustained is not None:
        _report_sustained(context, sustained)
    _summary(context, sizes, results, sustained, redis_url)
    for (variant, size), series in results.items():
        for index, profile in enumerate(series.profiles):
            label = VARIANTS[variant]
            if len(series.profiles) > 1:
                label += f", worker {index + 1}"
            _report_profile(context, label, size, profile, series.rounds)


class Bench:
    """Runs the variants; all database work of this process goes through one thread."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-db")

    def close(self) -> None:
        self.db.shutdown(wait=True)

    async def in_db(self, function: Callable[..., Any], **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(
            self.db, functools.partial(function, **kwargs)
        )

    def note(self, text: str) -> None:
        self.context.report.note(text)

    async def baseline(self, app: str, variant: str, size: int) -> Series:
        async with workers(
            app, 1, name=f"{variant}-n{size}", env=self.context.env, log_dir=self.context.work_dir
        ) as (worker,):
            fleet = await self._connect(variant, size, [(worker, "/")] * size)
            try:
                counter = iter(range(1, 1_000_000))

                async def trigger() -> tuple[float, int]:
                    answer = await request(worker.port, "send", seq=next(counter))
                    return answer["t0"], answer["seq"]

                return await self._repeat(fleet, trigger)
            finally:
                await fleet.close()

    def _worker_env(self, **extra: str) -> dict[str, str]:
        env = {**self.context.env, **extra}
        if self.context.profile:
            env["BENCH_PROFILE"] = str(self.context.work_dir)
            env["BENCH_PROFILE_MODE"] = self.context.profile
        return env

    async def _profiles_reset(self, started: list[Worker]) -> None:
        if self.context.profile:
            for worker in started:
                await request(worker.port, "profile", reset=1)

    async def _profiles(self, started: list[Worker]) -> list[dict[str, Any]]:
        if not self.context.profile:
            return []
        return [await request(worker.port, "profile") for worker in started]

    async def hub_memory(
        self, scenario: Scenario, *, sustained_calls: int
    ) -> tuple[Series, Sustained | None]:
        size = len(scenario.tokens)
        env = self._worker_env()
        async with workers(
            WALKIN_APP, 1, name=f"hub_memory_1w-n{size}", env=env, log_dir=self.context.work_dir
        ) as started:
            worker = started[0]
            paths = [(worker, f"/ws/t/{token}/") for token in scenario.tokens]
            fleet = await self._connect("hub_memory_1w", size, paths)
            try:
                await self._profiles_reset(started)
                desk = {"desk": scenario.desk_id, "rep": scenario.rep_id}

                async def trigger() -> tuple[float, int]:
                    answer = await request(worker.port, "call", **desk)
                    return answer["t0"], answer["seq"]

                async def after() -> None:
                    await request(worker.port, "no_show", **desk)

                series = await self._repeat(fleet, trigger, after)
                self._check_places(fleet, scenario, WARMUP + self.context.repetitions)
                series.profiles = await self._profiles(started)
                sustained = None
                if sustained_calls:
                    await self._profiles_reset(started)
                    sustained = await self._sustained(fleet, worker, scenario, sustained_calls)
                    self._check_places(
                        fleet, scenario, WARMUP + self.context.repetitions + sustained_calls
                    )
                    sustained.profiles = await self._profiles(started)
                return series, sustained
            finally:
                await fleet.close()

    async def hub_redis(self, scenario: Scenario, redis_url: str) -> Series:
        _redis_clear(redis_url)
        env = self._worker_env(REDIS_URL=redis_url)
        size = len(scenario.tokens)
        try:
            with override_settings(CHANNEL_LAYERS=_redis_layers(redis_url)):
                async with workers(
                    WALKIN_APP,
                    2,
                    name=f"hub_redis_2w-n{size}",
                    env=env,
                    log_dir=self.context.work_dir,
                ) as pair:
                    paths = [
                        (pair[index % 2], f"/ws/t/{token}/")
                        for index, token in enumerate(scenario.tokens)
                    ]
                    fleet = await self._connect("hub_redis_2w", size, paths)
                    try:
                        await self._profiles_reset(pair)
                        desk = {"desk_id": scenario.desk_id, "rep_id": scenario.rep_id}

                        async def trigger() -> tuple[float, int]:
                            return await self.in_db(call_next, **desk)

                        async def after() -> None:
                            await self.in_db(no_show, **desk)

                        series = await self._repeat(fleet, trigger, after)
                        self._check_places(fleet, scenario, WARMUP + self.context.repetitions)
                        series.profiles = await self._profiles(pair)
                        series.closed_idle = await self._idle(fleet)
                        return series
                    finally:
                        await fleet.close()
        finally:
            _redis_clear(redis_url)

    async def _idle(self, fleet: Fleet) -> int:
        """Sockets lost while nothing happens: the layer's blocking reads time out then."""
        idle_s = self.context.redis_idle_s
        if not idle_s:
            return 0
        closed_before = fleet.closed
        await asyncio.sleep(idle_s)
        lost = fleet.closed - closed_before
        self.note(
            f"    idle for {idle_s:g} s after the calls: the server closed "
            f"{lost} of {len(fleet.clients)} sockets"
        )
        return lost

    async def _connect(self, variant: str, size: int, paths: list[tuple[Worker, str]]) -> Fleet:
        started = time.monotonic()
        fleet = Fleet()
        await fleet.connect([(worker.url(path), worker.origin) for worker, path in paths])
        ready = fleet.start_round(0, started)
        if not await fleet.wait(ready, READY_TIMEOUT_S):
            await fleet.close()
            raise RuntimeError(
                f"{variant}: {ready.remaining} of {size} sockets got no first message"
            )
        self.note(
            f"    {VARIANTS[variant]}: {size} sockets open and shown "
            f"({time.monotonic() - started:.1f} s)"
        )
        return fleet

    async def _repeat(
        self,
        fleet: Fleet,
        trigger: Callable[[], Awaitable[tuple[float, int]]],
        after: Callable[[], Awaitable[None]] | None = None,
    ) -> Series:
        series = Series()
        for repetition in range(WARMUP + self.context.repetitions):
            started, seq = await trigger()
            waiting = fleet.start_round(seq, started)
            in_time = await fleet.wait(waiting, DELIVERY_TIMEOUT_S)
            latency = waiting.latency_s if in_time else DELIVERY_TIMEOUT_S
            if repetition >= WARMUP:
                series.latencies_s.append(latency)
                series.timeouts += not in_time
                if in_time:
                    series.rounds.append((waiting.started, waiting.last_arrival))
            if not in_time:
                self.note(f"    ! seq {seq}: {waiting.remaining} sockets still waiting")
            if after is not None:
                await after()
            await asyncio.sleep(min(max(SETTLE_S[0], 2 * latency), SETTLE_S[1]))
        series.closed = fleet.closed
        if series.closed:
            self.note(
                f"    ! the server closed {series.closed} of {len(fleet.clients)} sockets "
                "(see the worker log); the figures count the others"
            )
        return series

    async def _sustained(
        self, fleet: Fleet, worker: Worker, scenario: Scenario, calls: int
    ) -> Sustained:
        rate = self.context.sustained_rate
        self.note(f"    sustained: {calls} calls at {rate:g}/s, each with its no-show")
        desk = {"desk": scenario.desk_id, "rep": scenario.rep_id, "no_show": 1}

        responses: list[float] = []

        async def one_call() -> Round:
            sent = time.monotonic()
            answer = await request(worker.port, "call", **desk)
            responses.append(time.monotonic() - sent)
            return fleet.start_round(answer["seq"], answer["t0"])

        cpu_before = worker.cpu_seconds()
        begin = time.monotonic()
        tasks = []
        for index in range(calls):
            await asyncio.sleep(max(0.0, begin + index / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one_call()))
        rounds = await asyncio.gather(*tasks)
        delivered = await asyncio.gather(
            *(fleet.wait(waiting, DELIVERY_TIMEOUT_S) for waiting in rounds)
        )
        lags = [
            (waiting.seq, waiting.latency_s if ok else DELIVERY_TIMEOUT_S)
            for waiting, ok in zip(rounds, delivered, strict=True)
        ]
        worker_cpu = (worker.cpu_seconds() - cpu_before) / (time.monotonic() - begin)
        span = rounds[-1].started - rounds[0].started
        return Sustained(
            size=len(fleet.clients),
            rate=rate,
            lags=lags,
            achieved_rate=(calls - 1) / span if span > 0 else float("nan"),
            timeouts=delivered.count(False),
            worker_cpu=worker_cpu,
            responses_s=responses,
        )

    def _check_places(self, fleet: Fleet, scenario: Scenario, calls: int) -> None:
        """Every socket must show its true place: no update lost, none out of order."""
        wrong = sum(
            client.ahead != scenario.expected_ahead(index, calls)
            for index, client in enumerate(fleet.clients)
            if not client.closed
        )
        open_sockets = len(fleet.clients) - fleet.closed
        if wrong:
            self.note(f"    ! {wrong} of {open_sockets} open sockets show a wrong place")
        else:
            self.note(
                f"    each of {open_sockets} open sockets shows its true place ({calls} calls)"
            )


def _report_series(
    context: Context,
    variant: str,
    size: int,
    results: dict[tuple[str, int], Series],
    baseline: str | None,
) -> None:
    series = results[variant, size]
    compared = results.get((baseline, size)) if baseline else None
    for stat in ("p50", "p99"):
        context.report.figure(
            f"fanout.{variant}.n{size}.{stat}",
            getattr(series, f"{stat}_ms"),
            "ms",
            baseline=getattr(compared, f"{stat}_ms") if compared else None,
        )
    context.report.figure(f"fanout.{variant}.n{size}.closed", series.closed, "sockets")
    if series.closed_idle is not None:
        context.report.figure(
            f"fanout.{variant}.n{size}.closed_idle", series.closed_idle, "sockets"
        )
    if series.timeouts:
        context.report.note(
            f"    ! {series.timeouts} repetitions timed out (counted as {DELIVERY_TIMEOUT_S:g} s)"
        )


def _report_sustained(context: Context, sustained: Sustained) -> None:
    report = context.report
    lags_ms = [lag * 1000 for _seq, lag in sustained.lags]
    head, tail = _head_tail(lags_ms)
    prefix = f"fanout.sustained.hub_memory_1w.n{sustained.size}"
    report.note(f"\n  sustained load, N = {sustained.size}, one worker in memory")
    report.figure(f"{prefix}.rate", sustained.achieved_rate, "ev/s", baseline=sustained.rate)
    report.figure(f"{prefix}.lag_p50", median(lags_ms), "ms")
    report.figure(f"{prefix}.lag_max", max(lags_ms), "ms")
    report.figure(f"{prefix}.lag_last", lags_ms[-1], "ms", baseline=lags_ms[0])
    report.figure(f"{prefix}.lag_tail", tail, "ms", baseline=head)
    report.figure(f"{prefix}.lag_slope", _slope(sustained), "ms/s")
    report.figure(f"{prefix}.worker_cpu", sustained.worker_cpu * 100, "%")
    responses_ms = [response * 1000 for response in sustained.responses_s]
    report.figure(f"{prefix}.call_request_p50", median(responses_ms), "ms")
    report.figure(f"{prefix}.call_request_p99", percentile(responses_ms, 0.99), "ms")
    if sustained.timeouts:
        report.note(f"    ! {sustained.timeouts} events not delivered everywhere in time")
    for profile in sustained.profiles:
        refreshes = profile["refreshes"]
        pushed = sum(r["payloads"] > 0 for r in refreshes)
        report.note(
            f"    the hub refreshed {len(refreshes)} times for {len(sustained.lags)} calls and "
            f"their no-shows ({pushed} refreshes pushed; median refresh "
            f"{median([r['end'] - r['start'] for r in refreshes]) * 1000:.0f} ms)"
        )


def _head_tail(lags_ms: list[float]) -> tuple[float, float]:
    """Medians of the first and the last fifth of the events (at least 3 each)."""
    count = max(3, len(lags_ms) // 5)
    return median(lags_ms[:count]), median(lags_ms[-count:])


def _slope(sustained: Sustained) -> float:
    """Least-squares growth of the lag over the run, in ms per second of load."""
    times = [index / sustained.rate for index in range(len(sustained.lags))]
    lags = [lag * 1000 for _seq, lag in sustained.lags]
    mean_t, mean_lag = sum(times) / len(times), sum(lags) / len(lags)
    spread = sum((t - mean_t) ** 2 for t in times)
    if not spread:
        return 0.0
    return sum((t - mean_t) * (lag - mean_lag) for t, lag in zip(times, lags, strict=True)) / (
        spread
    )


def _summary(
    context: Context,
    sizes: list[int],
    results: dict[tuple[str, int], Series],
    sustained: Sustained | None,
    redis_url: str,
) -> None:
    note = context.report.note
    note("\n  summary: commit to the last socket, p50 / p99 in ms")
    note("    " + f"{'':<30}" + "".join(f"{f'N = {size}':>20}" for size in sizes))
    for variant, label in VARIANTS.items():
        cells = [
            f"{series.p50_ms:8.1f} / {series.p99_ms:7.1f}"
            if (series := results.get((variant, size)))
            else f"{'skipped':>18}"
            for size in sizes
        ]
        note(f"    {label:<30}" + "".join(f"{cell:>20}" for cell in cells))
    if not redis_url:
        note("    (Redis variant skipped: no Redis at the given URL, or --redis-url none)")
    hub = results.get(("hub_memory_1w", TARGET_SIZE))
    if hub is not None:
        verdict = "met" if hub.p99_ms <= TARGET_P99_MS else "MISSED"
        note(
            f"  target p99 <= {TARGET_P99_MS:g} ms at N = {TARGET_SIZE}, one worker: "
            f"{verdict} ({hub.p99_ms:.1f} ms)"
        )
    if sustained is not None:
        lags_ms = [lag * 1000 for _seq, lag in sustained.lags]
        head, tail = _head_tail(lags_ms)
        grows = tail > head * GROWTH_FACTOR and tail - head > GROWTH_MS
        note(
            f"  sustained {sustained.rate:g} events/s at N = {sustained.size}: lag first "
            f"{lags_ms[0]:.0f} ms, last {lags_ms[-1]:.0f} ms, first/last fifth medians "
            f"{head:.0f}/{tail:.0f} ms, slope {_slope(sustained):+.1f} ms/s, worker CPU "
            f"{sustained.worker_cpu:.0%} of a core: "
            + ("the backlog GROWS" if grows else "no growing backlog")
        )


def _report_profile(
    context: Context,
    label: str,
    size: int,
    profile: dict[str, Any],
    rounds: list[tuple[float, float]],
) -> None:
    """Where a worker's refreshes spent their time, from the commit to the last socket."""
    note = context.report.note
    pushes = [r for r in profile["refreshes"] if r["payloads"] >= r["screens"] // 2 > 0]
    note(
        f"\n  where the time goes, {label}, N = {size}: medians over the {len(pushes)} "
        "refreshes that pushed"
        + (" (under cProfile: about twice as slow)" if profile["profile"] else "")
    )
    if not pushes:
        return
    for record in pushes:
        # The call this refresh served: the last one that started before it ended.
        started = [(t0, last) for t0, last in rounds if t0 <= record["end"]]
        if started and record["end"] - started[-1][0] < DELIVERY_TIMEOUT_S:
            record["t0"], record["last_arrival"] = started[-1]
    served = [r for r in pushes if "t0" in r]
    phases: list[tuple[str, Callable[[dict[str, float]], float], list[dict[str, float]]]] = [
        ("commit -> hub notified", lambda r: r["notified"] - r["t0"], served),
        ("notified -> refresh starts", lambda r: r["start"] - r["notified"], pushes),
        ("refresh -> its thread starts", lambda r: r["thread_start"] - r["start"], pushes),
        ("floor read (floor_snapshot)", lambda r: r["read_s"], pushes),
        (f"render {pushes[0]['screens']} screens (_render_all)", lambda r: r["render_s"], pushes),
        (
            "rest of the thread (connection, Center)",
            lambda r: r["thread_end"] - r["thread_start"] - r["read_s"] - r["render_s"],
            pushes,
        ),
        ("garbage collection, in any of the above", lambda r: r["gc_s"], pushes),
        ("write to the sockets", lambda r: r["end"] - r["thread_end"], pushes),
        ("last write -> last socket has it", lambda r: r["last_arrival"] - r["end"], served),
        ("commit -> last socket has it", lambda r: r["last_arrival"] - r["t0"], served),
    ]
    for name, phase, records in phases:
        if records:
            note(f"    {name:<42} {median([phase(r) for r in records]) * 1000:8.1f} ms")
    if profile["profile"]:
        _report_functions(context, pstats.Stats(profile["profile"]))


def _report_functions(context: Context, stats: pstats.Stats, count: int = 20) -> None:
    """The profile's top functions, by own time and by cumulative time."""
    rows = stats.stats  # type: ignore[attr-defined]
    total = sum(tottime for _cc, _nc, tottime, _ct, _callers in rows.values())
    for title, column in (("own time", 2), ("cumulative time", 3)):
        context.report.note(f"    top functions by {title} (profile total {total:.1f} s):")
        ranked = sorted(rows.items(), key=lambda item: item[1][column], reverse=True)[:count]
        for (path, line, function), (_cc, calls, tottime, cumtime, _callers) in ranked:
            where = path.split("site-packages/")[-1].replace(str(REPO_DIR) + "/", "")
            context.report.note(
                f"      {tottime:7.2f} {cumtime:7.2f} s {calls:>9}x  {where}:{line} {function}"
            )


def _redis_layers(url: str) -> dict[str, Any]:
    """The same layer center/settings.py configures when REDIS_URL is set."""
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "max_connections": 2000}]},
        }
    }


def _redis_reachable(url: str, context: Context) -> bool:
    if not url:
        context.report.note("  Redis variant skipped: --redis-url none")
        return False
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except (redis.RedisError, OSError) as error:
        context.report.note(f"  Redis variant skipped: {url} unreachable ({error})")
        return False
    return True


def _redis_clear(url: str) -> None:
    """Only the channel layer's keys (prefix ``asgi``) of the benchmark's database."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    with contextlib.closing(client):
        for key in client.scan_iter("asgi*", count=1000):
            client.delete(key)
