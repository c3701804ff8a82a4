"""What the benchmark apps share: the trigger endpoints' plumbing and the message sent."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

PREFIX = "/__bench__/"

#: ``settings.RATE_LIMITS`` entries the check-in benchmark lifts: ten kiosks checking a
#: visitor in every few milliseconds exceed a human reception desk's limit at once.
UNLIMITED = {"kiosk-checkin": (10**9, 60)}

#: About the size of a visitor's position update, so the baselines move as many bytes.
FILLER = (
    '<div id="position" role="status" aria-live="polite"><p class="position">'
    "12 people ahead of you</p><p>Estimated wait: 40-60 minutes</p></div>" + " " * 160
)


def message(seq: int) -> str:
    """A broadcast carries the sequence marker the live pages carry."""
    return f'<div id="live-seq" data-seq="{seq}" hidden></div>{FILLER}'


def query(scope: dict[str, Any]) -> dict[str, str]:
    return dict(parse_qsl(scope.get("query_string", b"").decode()))


def action(scope: dict[str, Any]) -> str | None:
    """The endpoint a benchmark request asks for, or None for any other request."""
    path = scope.get("path", "")
    return path.removeprefix(PREFIX) if path.startswith(PREFIX) else None


async def drain(receive: Receive) -> None:
    while True:
        event = await receive()
        if event["type"] != "http.request" or not event.get("more_body"):
            return


async def respond(send: Send, data: Any, status: int = 200) -> None:
    body = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
