"""ASGI entry point: HTTP through Django, the live screens' WebSockets through Channels."""

import asyncio
import gc
import os
import weakref
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler


class RequestThreads:
    """A fixed set of threads for the synchronous part of HTTP requests: each request
    takes one for its whole length (its middleware, view, signals and the response's
    close all run in it), and one waiting its turn waits on the event loop.

    Django's handler starts a thread for every request (asgiref's
    ``ThreadSensitiveContext``) and joins it at the end: a thread's start and end on every
    request, and every database connection opened in it closed with it, however long the
    settings say to keep it. Here threads outlive their requests, so a connection does too
    (SQLite's, with ``CONN_MAX_AGE``: one per thread, warm, not reopened on every request;
    PostgreSQL's come from the pool either way), and a worker never runs more requests'
    sync code at once than it has threads (``REQUEST_THREADS``): the rest wait for a thread
    rather than for a database connection inside one.

    A request whose client went away is cancelled on the loop while its thread runs on;
    the thread goes back to the set, and the next request given it waits for the last one
    to end (each thread runs one call at a time, in order).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("REQUEST_THREADS must be at least 1")
        self.size = size
        # One set per event loop (a server has one; tests run several in one process).
        self._free: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Queue[ThreadPoolExecutor]
        ] = weakref.WeakKeyDictionary()

    def _queue(self) -> asyncio.Queue[ThreadPoolExecutor]:
        loop = asyncio.get_running_loop()
        queue = self._free.get(loop)
        if queue is None:
            queue = self._free[loop] = asyncio.Queue()
            for index in range(self.size):
                # A thread is started on its first request.
                queue.put_nowait(
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-{index}")
                )
        return queue

    async def run(self, handle, *args) -> None:
        """Awaits ``handle(*args)`` with its thread-sensitive calls on one thread of the set."""
        queue = self._queue()
        executor = await queue.get()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await handle(*args)
        finally:
            queue.put_nowait(executor)


class OneThreadASGIHandler(ASGIHandler):
    """Django's ASGI handler, its middleware chain built as under WSGI and entered from the
    event loop once per request, in a thread of a fixed set (:class:`RequestThreads`).

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

    def __init__(self) -> None:
        super().__init__()
        self.threads = RequestThreads(settings.REQUEST_THREADS)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # Django's own __call__, with a thread of the set instead of a new one.
        await self.threads.run(self.handle, scope, receive, send)


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
