"""Every staff WebSocket x every role (and no login), through ``center.asgi.application``
with its origin check and session auth. The sockets are listed from the routing, so a new
one fails ``test_every_socket_is_classified`` until someone decides who may watch it."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from center.models import Role, StaffProfile
from queueing.routing import websocket_urlpatterns
from queueing.services import desk_open
from tests.center.factories import UserFactory, staff_user
from tests.queueing.test_consumers import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_SIGNED_IN,
    _hubs_stop_with_the_test,  # noqa: F401 - autouse: no hub outlives its test
    close_code,
    next_push,
    sign_in,
    watching,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PUBLIC_SOCKETS = {"ws/board/<slug:center>/", "ws/t/<str:token>/"}
STAFF_SOCKETS = {
    "ws/reception/": {Role.RECEPTION, Role.SUPERVISOR},
    "ws/desk/": {Role.REPRESENTATIVE, Role.SPECIALIST, Role.SUPERVISOR},
    "ws/supervisor/": {Role.SUPERVISOR},
}
NO_ROLE = "none"
ROLES = [*(role.value for role in Role), NO_ROLE]


async def test_every_socket_is_classified():
    routes = {str(route.pattern) for route in websocket_urlpatterns}
    assert routes == PUBLIC_SOCKETS | set(STAFF_SOCKETS), (
        "a socket was added or removed: classify it in tests/security/test_socket_matrix.py"
    )


def _login(center, desk, role: str) -> dict[str, str]:
    if role == NO_ROLE:
        user = UserFactory(username="socket-no-role")
        StaffProfile.objects.create(user=user, center=center)
    else:
        user = staff_user(center, role, f"socket-{role}")
        if role in STAFF_SOCKETS["ws/desk/"]:
            desk_open(desk=desk, by=user)  # a desk screen needs the user's open desk
    return sign_in(user)


@pytest.mark.parametrize("path", sorted(STAFF_SOCKETS))
async def test_a_staff_socket_refuses_a_visitor_who_is_not_signed_in(center, path):
    assert await close_code(f"/{path}") == CLOSE_NOT_SIGNED_IN


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(STAFF_SOCKETS))
async def test_each_role_watches_exactly_its_staff_sockets(center, desk, path, role):
    cookies = await database_sync_to_async(_login)(center, desk, role)

    if role in STAFF_SOCKETS[path]:
        async with watching(f"/{path}", cookies=cookies) as socket:
            push = await next_push(socket, timeout=3.0)
        assert push.regions
    else:
        assert await close_code(f"/{path}", cookies=cookies) == CLOSE_FORBIDDEN
