"""ASGI entry point: HTTP through Django, the live screens' WebSockets through Channels."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "center.settings")
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from queueing.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# A worker holds a thousand sockets and renders them on every change: the collector's
# default thresholds ran young collections every few hundred allocations during a
# refresh, and full ones over every object Django loaded, which set the 99th percentile
# of a push to a thousand phones (measured in bench/: p99 from 197-269 ms to 100 ms).
# Everything loaded so far lives as long as the process, so it is frozen out of the
# collector's walks, and young collections run less often.
gc.freeze()
gc.set_threshold(50_000, 50, 100)
