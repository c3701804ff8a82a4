"""Publication from outside the server: every send of the process through one event loop
kept for that, in order, instead of a new thread and loop per send."""

from __future__ import annotations

import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from queueing import events, groups

CENTER = 987_654


def test_sends_outside_the_server_share_one_loop_and_keep_their_order():
    layer = get_channel_layer()
    channel = f"probe-{threading.get_ident()}"
    async_to_sync(layer.group_add)(groups.center_floor(CENTER), channel)
    try:
        before = {thread.ident for thread in threading.enumerate()}
        for seq in (1, 2, 3):
            events.publish({"type": "floor.event", "center": CENTER, "seq": seq})
        started = [thread.name for thread in threading.enumerate() if thread.ident not in before]
        # At most the publisher's own thread, started by the first send of the process.
        assert set(started) <= {"walkin-publisher"}
        assert [async_to_sync(layer.receive)(channel)["seq"] for _ in range(3)] == [1, 2, 3]
    finally:
        async_to_sync(layer.group_discard)(groups.center_floor(CENTER), channel)
        events.publisher_close()
    assert "walkin-publisher" not in {thread.name for thread in threading.enumerate()}
