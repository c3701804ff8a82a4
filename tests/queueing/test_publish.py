"""Publication from outside the server: every send of the process through one event loop
kept for that, in order, instead of a new thread and loop per send."""

from __future__ import annotations

import asyncio
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from queueing import events, groups

CENTER = 987_654
RECEIVE_S = 10.0


def received(layer, channel: str) -> dict:
    """The channel's next message; fails, instead of waiting for ever, if none comes."""

    async def receive() -> dict:
        return await asyncio.wait_for(layer.receive(channel), RECEIVE_S)

    return async_to_sync(receive)()


def test_sends_outside_the_server_share_one_loop_and_keep_their_order():
    layer = get_channel_layer()
    channel = f"probe-{threading.get_ident()}"
    async_to_sync(layer.group_add)(groups.center_floor(CENTER), channel)
    try:
        before = {thread.ident for thread in threading.enumerate()}
        for seq in (1, 2, 3):
            events.publish_all([{"type": "floor.event", "center": CENTER, "seq": seq}])
        started = [thread.name for thread in threading.enumerate() if thread.ident not in before]
        # At most the publisher's own thread, started by the first send of the process.
        assert set(started) <= {"walkin-publisher"}
        assert [received(layer, channel)["seq"] for _ in range(3)] == [1, 2, 3]
    finally:
        async_to_sync(layer.group_discard)(groups.center_floor(CENTER), channel)
        events.publisher_close()
    assert "walkin-publisher" not in {thread.name for thread in threading.enumerate()}


class _StuckLayer:
    """A channel layer whose sends never finish, as one whose Redis stopped answering."""

    async def group_send(self, group, message):
        await asyncio.Event().wait()


def test_a_send_that_never_finishes_is_given_up_and_logged(monkeypatch, caplog):
    monkeypatch.setattr(events, "get_channel_layer", _StuckLayer)
    monkeypatch.setattr(events, "PUBLISH_TIMEOUT_S", 0.2)
    started = time.monotonic()
    try:
        events.publish_all([{"type": "floor.event", "center": CENTER, "seq": 7}])
    finally:
        events.publisher_close()
    # The request that committed the change goes on; the screens resynchronise from the log.
    assert time.monotonic() - started < 5
    assert "could not publish floor event 7" in caplog.text
