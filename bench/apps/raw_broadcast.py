"""The floor: a raw ASGI app, no channel layer, that writes one message to every socket.

``daphne bench.apps.raw_broadcast:application``; ``POST /__bench__/send?seq=N`` takes the
time and then sends ``message(N)`` to each connected socket in turn.
"""

from __future__ import annotations

import time
from typing import Any

from bench.apps.common import Receive, Send, action, drain, message, query, respond

sockets: set[Send] = set()


async def application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await _socket(receive, send)
    elif scope["type"] == "http":
        await drain(receive)
        if action(scope) == "send":
            seq = int(query(scope)["seq"])
            started = time.monotonic()
            text = message(seq)
            for socket_send in list(sockets):
                await socket_send({"type": "websocket.send", "text": text})
            await respond(send, {"t0": started, "seq": seq, "sockets": len(sockets)})
        else:
            await respond(send, {"ok": True})


async def _socket(receive: Receive, send: Send) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": message(0)})
    sockets.add(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        sockets.discard(send)
