"""Rate limits on the two doors that need no password or are cheap to hammer, counted in
the cache (Redis when ``REDIS_URL`` is set, so every worker shares the counts):

- ``kiosk-checkin``: check-in submissions (POST to the kiosk) per kiosk login;
- ``visitor-token``: lookups of an unknown or expired token (any URL with a ``token``
  parameter: the visitor's status page and its actions; and the status page's socket)
  per client address. Only misses count, so a phone opening its own valid link never
  uses the budget; once it is spent, every status-page request and socket from that
  address is refused until the window ends.

Limits are ``settings.RATE_LIMITS``: name -> (requests, window in seconds), read on each
request. A refused request gets 429, a ``Retry-After`` header and a translated page.
Sign-in attempts are limited by django-axes (settings ``AXES_*``), which asks
:func:`client_ip` for the address too.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

KIOSK_CHECKIN = "kiosk-checkin"
STATUS_LOOKUP = "visitor-token"
KIOSK_URL_NAMES = frozenset({"kiosk"})


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind ``TRUSTED_PROXY_COUNT`` proxies
    that each append the address they saw to X-Forwarded-For, the one the outermost proxy
    saw. Entries left of it were written by the client and are never trusted; anything
    that is not an IP address counts as none (None)."""
    return _address(
        request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", "")
    )


def scope_client_ip(scope: dict[str, Any]) -> str | None:
    """The same for a WebSocket's ASGI scope."""
    client = scope.get("client") or ("",)
    headers = dict(scope.get("headers") or ())
    return _address(client[0] or "", headers.get(b"x-forwarded-for", b"").decode("latin-1"))


def _address(address: str, forwarded_for: str) -> str | None:
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def token_lookups(address: str | None) -> Window | None:
    """The window of an address's lookups of unknown tokens; None when not limited."""
    if STATUS_LOOKUP not in settings.RATE_LIMITS:
        return None
    return Window(STATUS_LOOKUP, f"ip-{address}")


class Window:
    """A fixed-window counter in the cache: ``limit`` hits per ``seconds``."""

    def __init__(self, name: str, subject: str) -> None:
        self.limit, self.seconds = settings.RATE_LIMITS[name]
        start = int(time.time()) // self.seconds * self.seconds
        self.retry_after = start + self.seconds - int(time.time())
        self.key = f"ratelimit:{name}:{subject}:{start}"

    def spent(self) -> bool:
        return (cache.get(self.key) or 0) >= self.limit

    def hit(self) -> int:
        # add() creates the counter with its expiry only if it is missing; incr() is atomic
        # in Redis, so workers counting at once lose no hit.
        cache.add(self.key, 0, timeout=self.seconds + 1)
        try:
            return cache.incr(self.key)
        except ValueError:  # expired between the two calls
            cache.add(self.key, 1, timeout=self.seconds + 1)
            return 1


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    response = render(
        request,
        "center/too_many_requests.html",
        {"retry_minutes": max(1, -(-retry_after // 60))},
        status=429,
    )
    response["Retry-After"] = str(max(1, retry_after))
    return response


class RateLimitMiddleware:
    """Applies the limits above by URL name, so the views stay unaware of them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 404 and _takes_token(request):
            window = token_lookups(client_ip(request))
            if window is not None:
                window.hit()
        return response

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., HttpResponse],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        name = _url_name(request)
        limits = settings.RATE_LIMITS
        if name in KIOSK_URL_NAMES and request.method == "POST" and KIOSK_CHECKIN in limits:
            subject = (
                f"user-{request.user.pk}"
                if request.user.is_authenticated
                else f"ip-{client_ip(request)}"
            )
            window = Window(KIOSK_CHECKIN, subject)
            if window.spent():
                return too_many_requests(request, window.retry_after)
            window.hit()
        elif "token" in kwargs:
            window = token_lookups(client_ip(request))
            if window is not None and window.spent():
                return too_many_requests(request, window.retry_after)
        return None


def _url_name(request: HttpRequest) -> str | None:
    match = getattr(request, "resolver_match", None)
    return match.url_name if match else None


def _takes_token(request: HttpRequest) -> bool:
    """A visitor's page: every URL with a ``token`` parameter is a token lookup."""
    match = getattr(request, "resolver_match", None)
    return bool(match and "token" in match.kwargs)


def sign_in_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """django-axes' lockout response (``AXES_LOCKOUT_CALLABLE``): a page, in the page's
    language, that says for how long, with status 429."""
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = max(1, int(cooloff.total_seconds() // 60)) if cooloff else None
    response = render(
        request,
        "registration/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes},
        status=429,
    )
    if cooloff:
        response["Retry-After"] = str(int(cooloff.total_seconds()))
    return response
