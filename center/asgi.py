"""ASGI entry point: HTTP through Django, the live screens' WebSockets through Channels."""

import gc
import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class OneThreadASGIHandler(ASGIHandler):
    """Django's ASGI handler, its middleware chain built as under WSGI and entered from the
    event loop once per request.

    For ASGI Django builds the chain around an asynchronous core. With synchronous
    middleware in it (WhiteNoise's, ours), a request crossed from the loop into its thread
    for that middleware, back out to the loop for the core (and django-axes', asynchronous
    when it can be), and into the thread again for each synchronous ``process_view`` (the
    CSRF check's, the rate limits') and for the view: four hand-offs into the thread and one
    out, each through futures and the loop, on every request. Every view here is
    synchronous: built as for WSGI, the whole chain runs in the request's thread, the view
    included (an asynchronous one would be handed back to the loop from there).
    ``tests/center/test_asgi.py`` counts the crossings: it fails if a Django upgrade
    changes how the chain is built.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "center.settings")
django.setup(set_prefix=False)  # what get_asgi_application() does before its handler
django_application = OneThreadASGIHandler()

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
