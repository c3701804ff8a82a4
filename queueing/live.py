"""Live screens: every change of the floor reaches every connected screen within a second.

One hub per center and worker process. The hub is this process's only member of the
center's floor group. When an event arrives, or when its watchdog sees that the event
sequence moved without one (channel-layer delivery is at-most-once, and Redis may
restart), it reads the floor once, renders every connected screen's regions in one worker
thread and writes them straight to the sockets: no channel-layer hop and no thread hop per
socket. Refreshes coalesce: events that arrive while one is being rendered fold into the
next one, so a burst never builds a backlog.

Every message holds the complete live regions of its screen and the sequence number of the
floor they show, so a screen that missed a message, or reconnects, is whole again with the
next one, and equals a fresh page load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections

from center.models import Center
from queueing import groups
from queueing.events import events_number_pending
from queueing.models import EventSequence
from queueing.selectors import Floor, floor_snapshot

logger = logging.getLogger(__name__)

#: How often a hub checks the event sequence for changes it was not told about.
WATCHDOG_S = 1.0
#: After a channel-layer failure (e.g. Redis restarting), wait this long to resubscribe.
RESUBSCRIBE_S = 1.0


class Screen(Protocol):
    """A connected screen: renders its live regions from a floor, or None if unchanged."""

    def render(self, floor: Floor) -> str | None: ...

    async def send(self, text_data: str) -> None: ...


def seq_marker(seq: int) -> str:
    """Sent with every update; the page drops any message older than what it shows."""
    return f'<div id="live-seq" data-seq="{seq}" hidden></div>'


class FloorHub:
    def __init__(self, center_id: int) -> None:
        self.center_id = center_id
        self.screens: set[Screen] = set()
        self.floor: Floor | None = None
        self._joined: set[Screen] = set()
        self._stale = True
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def join(self, screen: Screen) -> None:
        self.screens.add(screen)
        self._joined.add(screen)
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    def leave(self, screen: Screen) -> None:
        self.screens.discard(screen)
        self._joined.discard(screen)
        if not self.screens:
            self._wake.set()

    def notify(self, seq: int) -> None:
        """An event with this sequence number was committed."""
        if self.floor is None or seq > self.floor.seq:
            self._stale = True
            self._wake.set()

    async def _run(self) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            while self.screens:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=WATCHDOG_S)
                self._wake.clear()
                if not self.screens:
                    break
                await self._update()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            if self.screens:  # a screen joined while this loop was closing down
                self._task = asyncio.create_task(self._run())
            elif _HUBS.get(_hub_key(self.center_id)) is self:
                del _HUBS[_hub_key(self.center_id)]

    async def _update(self) -> None:
        try:
            if not self._stale and self.floor is not None:
                self._stale = await database_sync_to_async(_current_seq)(self.center_id) > (
                    self.floor.seq
                )
            if self._stale or self.floor is None:
                self._stale = False
                self._joined.clear()
                screens = list(self.screens)
                self.floor, payloads = await database_sync_to_async(self._read_and_render)(screens)
            elif self._joined:
                screens, self._joined = list(self._joined), set()
                payloads = await database_sync_to_async(_render_all)(self.floor, screens)
            else:
                return
        except Exception:
            # The database may be restarting: keep the sockets, try again on the next tick.
            logger.exception("live update of center %s failed", self.center_id)
            self._stale = True
            return
        for screen, text in payloads:
            if screen in self.screens:
                with contextlib.suppress(Exception):
                    await screen.send(text_data=text)

    def _read_and_render(self, screens: list[Screen]) -> tuple[Floor, list[tuple[Screen, str]]]:
        close_old_connections()
        floor = floor_snapshot(Center.objects.get(pk=self.center_id))
        return floor, _render_all(floor, screens)

    async def _listen(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        group = groups.center_floor(self.center_id)
        while True:
            channel = None
            try:
                channel = await layer.new_channel()
                await layer.group_add(group, channel)
                while True:
                    message = await layer.receive(channel)
                    self.notify(int(message.get("seq", 0)))
            except asyncio.CancelledError:
                if channel is not None:
                    with contextlib.suppress(Exception):
                        await layer.group_discard(group, channel)
                raise
            except Exception:
                # The watchdog keeps the screens right until the layer is back.
                logger.warning("floor subscription of center %s lost", self.center_id)
                self._stale = True
                await asyncio.sleep(RESUBSCRIBE_S)


def _current_seq(center_id: int) -> int:
    # A process that died between its commit and numbering its event left it unnumbered:
    # number it here, or the screens would not hear of that change until the next event.
    events_number_pending(center_id)
    return (
        EventSequence.objects.filter(center_id=center_id).values_list("last_seq", flat=True).first()
        or 0
    )


def _render_all(floor: Floor, screens: list[Screen]) -> list[tuple[Screen, str]]:
    payloads = []
    for screen in screens:
        try:
            regions = screen.render(floor)
        except Exception:
            logger.exception("rendering a live screen failed")
            continue
        if regions is not None:
            payloads.append((screen, seq_marker(floor.seq) + regions))
    return payloads


_HUBS: dict[tuple[int, int], FloorHub] = {}


def _hub_key(center_id: int) -> tuple[int, int]:
    # One hub per event loop: tests run several loops in one process.
    return (id(asyncio.get_running_loop()), center_id)


def hub_for(center_id: int) -> FloorHub:
    key = _hub_key(center_id)
    hub = _HUBS.get(key)
    if hub is None:
        hub = _HUBS[key] = FloorHub(center_id)
    return hub
