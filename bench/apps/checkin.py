"""The real application (``center.asgi``) plus a bare Django view that writes one row, in
one Daphne process, with the project's settings and middleware.

``daphne bench.apps.checkin:application`` serves Walk-in Center unchanged, and:

- ``POST /__bench__/ping``: answered before Django (the worker is up);
- ``POST /bench/write/``: the baseline (``bench.apps.checkin_urls``), a plain Django view
  writing one row, through the same middleware as every page of the project.

Nothing here is part of the project's own application.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from bench.apps.common import UNLIMITED

# Before Django builds its handler: the project's URLs plus the baseline view, and the
# kiosk's rate limit (a human's pace per login) out of reach. Its counting still runs.
settings.ROOT_URLCONF = "bench.apps.checkin_urls"
settings.RATE_LIMITS = {**getattr(settings, "RATE_LIMITS", {}), **UNLIMITED}

from center.asgi import application as walkin_application  # noqa: E402 - sets Django up

# isort: split
from bench.apps.common import Receive, Send, action, drain, respond  # noqa: E402


async def application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "http" and action(scope) is not None:
        await drain(receive)
        await respond(send, {"ok": True})
        return
    await walkin_application(scope, receive, send)
