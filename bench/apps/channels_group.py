"""Bare Channels: each socket's consumer joins one group and forwards what the group gets.

``daphne bench.apps.channels_group:application``, on the in-memory channel layer;
``POST /__bench__/send?seq=N`` takes the time and then makes one ``group_send``.
"""

from __future__ import annotations

import time
from typing import Any

import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["channels"],
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
)
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402 - after setup
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter  # noqa: E402

from bench.apps.common import Receive, Send, action, drain, message, query, respond  # noqa: E402

GROUP = "bench"


class GroupConsumer(AsyncWebsocketConsumer):
    groups = [GROUP]

    async def connect(self) -> None:
        await self.accept()
        await self.send(text_data=message(0))

    async def bench_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


async def trigger(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await drain(receive)
    if action(scope) != "send":
        await respond(send, {"ok": True})
        return
    seq = int(query(scope)["seq"])
    layer = get_channel_layer()
    started = time.monotonic()
    await layer.group_send(GROUP, {"type": "bench.message", "text": message(seq)})
    await respond(send, {"t0": started, "seq": seq})


application = ProtocolTypeRouter({"websocket": GroupConsumer.as_asgi(), "http": trigger})
