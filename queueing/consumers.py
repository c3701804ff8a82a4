"""WebSocket consumers of the live screens. Thin: each checks who may watch what, joins
its center's hub and renders its own regions; actions stay HTTP POSTs.

A refused socket is accepted and closed at once with a code that says why:
4401 not signed in, 4403 wrong role or center, 4404 unknown or expired ticket or center,
4429 too many unknown tickets from the client's address (``center.ratelimit``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from center.models import Center, Role
from center.ratelimit import scope_client_ip, token_lookups
from center.selectors import staff_center, user_roles
from queueing.engine import WaitEstimate, why_called_first
from queueing.live import FloorHub, hub_for
from queueing.models import Desk, Ticket
from queueing.selectors import Floor, day_kpis, desk_of, ticket_by_token
from queueing.views.visitor import (
    ALMOST_YOUR_TURN,
    status_context,
    visitor_language,
    visitor_locale,
)

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429

BOARD_NEXT_UP = 6
DESK_NEXT_UP = 5


class LiveScreen(AsyncWebsocketConsumer):
    # Screens do not subscribe to the channel layer themselves: their center's hub is the
    # process's only subscriber (an unconfigured alias makes Channels skip the layer).
    channel_layer_alias = "live-screens-use-the-hub"
    hub: FloorHub | None = None
    center: Center
    language: str = settings.LANGUAGE_CODE
    last_regions: str | None = None

    async def connect(self) -> None:
        await self.accept()
        self.language = page_language(self.scope)
        refusal = await database_sync_to_async(self.authorise)()
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.hub = hub_for(self.center.pk)
        self.hub.join(self)

    async def disconnect(self, code: int) -> None:
        if self.hub is not None:
            self.hub.leave(self)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        """Screens only listen: actions are HTTP POSTs with CSRF and forms."""

    def authorise(self) -> int | None:
        """Sets ``self.center``; returns a close code to refuse the socket."""
        raise NotImplementedError

    def regions(self, floor: Floor) -> str:
        raise NotImplementedError

    @property
    def csrf_token(self) -> str:
        """Forms in pushed regions post with the page's own CSRF cookie secret."""
        return self.scope.get("cookies", {}).get(settings.CSRF_COOKIE_NAME, "")

    def render(self, floor: Floor) -> str | None:
        with timezone.override(self.center.tzinfo), translation.override(self.language):
            html = self.regions(floor) + notices_region(floor)
        if html == self.last_regions:
            return None
        self.last_regions = html
        return html


def page_language(scope: dict[str, Any]) -> str:
    """The language the screen's page is in, chosen as LocaleMiddleware chooses it: the
    language cookie, else the browser's Accept-Language, else the default."""
    request = HttpRequest()
    request.COOKIES = scope.get("cookies", {})
    accept = dict(scope.get("headers", [])).get(b"accept-language", b"")
    request.META["HTTP_ACCEPT_LANGUAGE"] = accept.decode("latin-1")
    return translation.get_language_from_request(request)


_POSITIONS: dict[tuple[Any, ...], str] = {}
_POSITIONS_KEPT = 20_000


def position_region(language: str, ahead: int, estimate: WaitEstimate | None) -> str:
    """A waiting visitor's place in line. It depends only on these values, so it is rendered
    once per process and shared: after a call, nearly every visitor's new line is one that
    the visitor behind them showed a moment ago."""
    key = (
        language,
        ahead,
        estimate.low_minutes if estimate else None,
        estimate.high_minutes if estimate else None,
    )
    html = _POSITIONS.get(key)
    if html is None:
        if len(_POSITIONS) >= _POSITIONS_KEPT:
            _POSITIONS.clear()
        with translation.override(language):
            html = _POSITIONS[key] = render_to_string(
                "queueing/visitor/status.html#position",
                {"ahead": ahead, "estimate": estimate, "almost": ahead <= ALMOST_YOUR_TURN},
            )
    return html


def notices_region(floor: Floor) -> str:
    """The incident banner every screen shows, rendered once per floor and language."""
    key = ("notices", translation.get_language())
    if key not in floor.rendered:
        floor.rendered[key] = render_to_string("queueing/notices.html", {"notices": floor.notices})
    return floor.rendered[key]


class StaffScreen(LiveScreen):
    roles: ClassVar[frozenset[str]]

    def authorise(self) -> int | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return CLOSE_NOT_SIGNED_IN
        center = staff_center(user)
        if center is None or not (user_roles(user) & (self.roles | {Role.SUPERVISOR})):
            return CLOSE_FORBIDDEN
        self.center = center
        return None


class ReceptionScreen(StaffScreen):
    roles = frozenset({Role.RECEPTION})

    def regions(self, floor: Floor) -> str:
        return render_to_string(
            "queueing/reception/floor.html#floor",
            {"floor": floor, "csrf_token": self.csrf_token},
        )


class SupervisorScreen(StaffScreen):
    roles = frozenset({Role.SUPERVISOR})

    def regions(self, floor: Floor) -> str:
        key = ("kpis", self.language)
        if key not in floor.rendered:
            floor.rendered[key] = render_to_string(
                "queueing/supervisor/dashboard.html#kpis",
                {"kpis": day_kpis(floor.center, floor), "floor": floor},
            )
        return floor.rendered[key]


class DeskScreen(StaffScreen):
    roles = frozenset({Role.REPRESENTATIVE, Role.SPECIALIST})
    desk: Desk
    service_ids: frozenset[int]

    def authorise(self) -> int | None:
        refusal = super().authorise()
        if refusal is not None:
            return refusal
        desk = desk_of(self.scope["user"])
        if desk is None:
            return CLOSE_NOT_FOUND
        self.desk = desk
        self.service_ids = frozenset(desk.services.values_list("pk", flat=True))
        return None

    def regions(self, floor: Floor) -> str:
        waiting = floor.waiting_for(self.service_ids)
        return render_to_string(
            "queueing/desk/dashboard.html#desk-queue",
            {"waiting_count": len(waiting), "next_up": waiting[:DESK_NEXT_UP]},
        )


class BoardScreen(LiveScreen):
    """The waiting-room display: public, it shows ticket numbers and desks only."""

    def authorise(self) -> int | None:
        center = Center.objects.filter(slug=self.scope["url_route"]["kwargs"]["center"]).first()
        if center is None:
            return CLOSE_NOT_FOUND
        self.center = center
        return None

    def regions(self, floor: Floor) -> str:
        return render_to_string(
            "queueing/board/board.html#now-serving",
            {"floor": floor, "next_up": floor.next_up(BOARD_NEXT_UP), "center": self.center},
        )


class VisitorScreen(LiveScreen):
    """One visitor's phone: only ever its own ticket."""

    ticket: Ticket
    token: str
    shown_state: tuple[Any, ...] = ()

    def authorise(self) -> int | None:
        self.token = self.scope["url_route"]["kwargs"]["token"]
        # Guessing tokens through the socket spends the same budget as through the page.
        lookups = token_lookups(scope_client_ip(self.scope))
        if lookups is not None and lookups.spent():
            return CLOSE_TOO_MANY
        ticket = ticket_by_token(self.token)
        if ticket is None:
            if lookups is not None:
                lookups.hit()
            return CLOSE_NOT_FOUND
        self.ticket = ticket
        self.center = ticket.center
        self.cookies = self.scope.get("cookies", {})
        self.language = visitor_language(self.cookies, ticket)
        return None

    def render(self, floor: Floor) -> str | None:
        place = floor.waiting_place(self.ticket.pk)
        active = floor.active_ticket(self.ticket.pk)
        notices = tuple(notice.pk for notice in floor.notices)
        if place is not None:
            line, ahead = place
            waiting = line.waiting[ahead]
            state: tuple[Any, ...] = (
                Ticket.Status.WAITING,
                waiting.away_since,
                waiting.incident_choice,
                notices,
                self._overtaken_by(floor),
            )
        elif active is not None:
            state = (active.status, active.desk_id, active.call_count)
        else:
            state = ("GONE",)
        if state != self.shown_state:
            if state == ("GONE",) and self.shown_state and self.shown_state[0] == "GONE":
                return None
            self.shown_state = state
            with visitor_locale(self.cookies, self.ticket):
                return self._status_region() + notices_region(floor)
        if place is None:
            return None
        estimate = floor.estimate(line, ahead, waiting.expected_service_s)
        html = position_region(self.language, ahead, estimate)
        if html == self.last_regions:
            return None
        self.last_regions = html
        return html

    def _overtaken_by(self, floor: Floor) -> int | None:
        """The sequence number of the latest call of a ticket issued after this one: the
        status region then says who was called first, and why."""
        for call in floor.recent_calls:
            if why_called_first(
                issued_at=self.ticket.issued_at,
                service_id=self.ticket.service_id,
                priority=self.ticket.priority,
                other=call.overtaker,
            ):
                return call.seq
        return None

    def _status_region(self) -> str:
        ticket = ticket_by_token(self.token) or self.ticket
        self.ticket = ticket
        html = render_to_string(
            "queueing/visitor/status.html#status",
            {**status_context(ticket), "token": self.token, "csrf_token": self.csrf_token},
        )
        self.last_regions = None
        return html
