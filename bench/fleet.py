"""Many WebSocket clients in one asyncio process, and when each saw a given broadcast.

Every message the benchmark apps send starts with the live pages' sequence marker
(``data-seq="N"``). A *round* waits for one sequence number: it is delivered to a socket
by the first message whose marker is at least that number, and complete when every socket
has one; its latency is the last arrival minus the round's start, taken by whoever caused
the broadcast on the same monotonic clock (same machine, ``CLOCK_MONOTONIC``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect

SEQ = re.compile(r'data-seq="(\d+)"')
AHEAD = re.compile(r"(\d+) (?:person|people) ahead of you|(You are next)")
CONNECT_CONCURRENCY = 50
OPEN_TIMEOUT_S = 120.0
HISTORY = 256


@dataclass
class Round:
    seq: int
    started: float
    remaining: int
    #: Sockets the server closed before they got the round; they never will.
    lost: int = 0
    last_arrival: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def _settle(self) -> None:
        if self.remaining == self.lost:
            self.done.set()

    @property
    def delivered(self) -> bool:
        return self.done.is_set() and self.remaining == 0

    @property
    def latency_s(self) -> float:
        return self.last_arrival - self.started


@dataclass
class Client:
    seq: int = -1
    #: The last message with a sequence marker: parsed only when a benchmark asks.
    last_text: str = ""
    messages: int = 0
    closed: bool = False

    @property
    def ahead(self) -> int | None:
        """How many people the last message said were ahead of this visitor."""
        place = AHEAD.search(self.last_text)
        if place is None:
            return None
        return 0 if place.group(2) else int(place.group(1))

    #: (sequence number, arrival) of each message that raised the sequence.
    history: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=HISTORY))


class Fleet:
    def __init__(self) -> None:
        self.clients: list[Client] = []
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.pending: list[Round] = []

    async def connect(
        self, urls: list[tuple[str, str]], *, concurrency: int = CONNECT_CONCURRENCY
    ) -> None:
        """Opens a socket to each ``(url, origin)``, a few at a time, and starts reading.
        Daphne drops a handshake the application has not accepted within 5 s: on a busy
        machine, open fewer at a time."""
        gate = asyncio.Semaphore(concurrency)

        async def open_one(url: str, origin: str) -> ClientConnection:
            async with gate:
                return await connect(
                    url,
                    origin=origin,  # type: ignore[arg-type]
                    compression=None,
                    proxy=None,
                    open_timeout=OPEN_TIMEOUT_S,
                    ping_interval=None,
                    max_size=None,
                )

        self.sockets = list(await asyncio.gather(*(open_one(u, o) for u, o in urls)))
        self.clients = [Client() for _ in self.sockets]
        self.readers = [
            asyncio.create_task(self._read(index, socket))
            for index, socket in enumerate(self.sockets)
        ]

    async def _read(self, index: int, socket: ClientConnection) -> None:
        client = self.clients[index]
        with contextlib.suppress(Exception):
            async for text in socket:
                arrived = time.monotonic()
                client.messages += 1
                # The marker leads every message: search only its start.
                if not isinstance(text, str) or (marker := SEQ.search(text, 0, 80)) is None:
                    continue
                seq = int(marker.group(1))
                if seq <= client.seq:
                    continue
                client.last_text = text
                previous, client.seq = client.seq, seq
                client.history.append((seq, arrived))
                for pending in self.pending:
                    if previous < pending.seq <= seq:
                        pending.remaining -= 1
                        pending.last_arrival = max(pending.last_arrival, arrived)
                        pending._settle()
                self._forget_done()
        client.closed = True
        for pending in self.pending:
            if client.seq < pending.seq:
                pending.lost += 1
                pending._settle()
        self._forget_done()

    def _forget_done(self) -> None:
        if any(pending.done.is_set() for pending in self.pending):
            self.pending = [p for p in self.pending if not p.done.is_set()]

    def start_round(self, seq: int, started: float) -> Round:
        """Counts sockets that already have ``seq`` (the round may start after the fact)."""
        waiting = Round(seq=seq, started=started, remaining=0)
        for client in self.clients:
            if client.seq >= seq:
                arrival = next(at for s, at in client.history if s >= seq)
                waiting.last_arrival = max(waiting.last_arrival, arrival)
            else:
                waiting.remaining += 1
                waiting.lost += client.closed
        waiting._settle()
        if not waiting.done.is_set():
            self.pending.append(waiting)
        return waiting

    async def wait(self, waiting: Round, timeout: float) -> bool:
        """True when every open socket got the round in time."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiting.done.wait(), timeout)
        if waiting in self.pending:
            self.pending.remove(waiting)
        return waiting.done.is_set()

    @property
    def closed(self) -> int:
        """Sockets the server has closed."""
        return sum(client.closed for client in self.clients)

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await asyncio.gather(
                    *(socket.close() for socket in self.sockets), return_exceptions=True
                )
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
