"""Every URL of the site x every role (and no login), straight from the URL resolver.

A URL is public (explicit allow-list), a visitor's page (its ``token`` parameter is the
only key, tested in test_tokens.py) or a staff page listed in ``STAFF`` with the roles
that may open it. A new URL that is none of these fails ``test_every_url_is_classified``
until someone decides who may open it; and before that decision it is already checked
to turn away anyone not signed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group

from center.models import Role, StaffProfile
from tests.center.factories import UserFactory, staff_user
from tests.security.urls import Route, site_routes

PUBLIC = {
    "home": "the start page: sign-in link, and the screens of a signed-in role",
    "login": "staff sign-in (rate limited by django-axes)",
    "logout": "sign-out",
    "set_language": "the visitor's language choice",
    "board": "the waiting-room display: ticket numbers and desks only",
    "favicon": "an empty answer for browsers that ask for /favicon.ico",
}

RECEPTION = frozenset({Role.RECEPTION, Role.SUPERVISOR})
DESK = frozenset({Role.REPRESENTATIVE, Role.SPECIALIST, Role.SUPERVISOR})
SUPERVISOR = frozenset({Role.SUPERVISOR})
SPECIALIST = frozenset({Role.SPECIALIST, Role.SUPERVISOR})
NO_ROLE = "none"
ROLES = [*(role.value for role in Role), NO_ROLE]


@dataclass(frozen=True)
class Staff:
    """Who may open a staff URL, and what a GET by one of them returns (405: POST only)."""

    roles: frozenset[str]
    get_status: int


STAFF = {
    "kiosk": Staff(RECEPTION, 200),
    "kiosk-turn-away": Staff(RECEPTION, 405),
    "kiosk-slip": Staff(RECEPTION, 200),
    "kiosk-text-size": Staff(RECEPTION, 405),
    "reception": Staff(RECEPTION, 200),
    "reception-walkout": Staff(RECEPTION, 405),
    "desk": Staff(DESK, 200),
    "desk-open": Staff(DESK, 405),
    "desk-act": Staff(DESK, 405),
    "desk-callbacks": Staff(SPECIALIST, 200),
    "desk-callback-attempt": Staff(SPECIALIST, 405),
    "desk-identity": Staff(DESK, 200),
    "desk-identity-knowledge": Staff(DESK, 405),
    "desk-identity-face": Staff(DESK, 405),
    "desk-identity-face-decide": Staff(DESK, 405),
    "desk-identity-document": Staff(DESK, 405),
    "desk-identity-guardian": Staff(DESK, 405),
    # No such media or photo here: found only within the staff member's center.
    "identity-media": Staff(DESK, 404),
    "identity-reference-photo": Staff(DESK, 404),
    "supervisor": Staff(SUPERVISOR, 200),
    "supervisor-notice": Staff(SUPERVISOR, 405),
    "supervisor-notice-end": Staff(SUPERVISOR, 405),
    "supervisor-day": Staff(SUPERVISOR, 200),
    "supervisor-staffing": Staff(SUPERVISOR, 200),
    "supervisor-export-tickets": Staff(SUPERVISOR, 200),
    "supervisor-export-events": Staff(SUPERVISOR, 200),
}

ROUTES = site_routes()
NOT_PUBLIC = [route for route in ROUTES if route.name not in PUBLIC and not route.takes_token]
STAFF_ROUTES = [route for route in ROUTES if route.name in STAFF]


def test_every_url_is_classified():
    unclassified = sorted(
        route.name or route.pattern
        for route in ROUTES
        if route.name not in PUBLIC and route.name not in STAFF and not route.takes_token
    )
    assert not unclassified, (
        f"New URLs {unclassified}: add each to STAFF (with the roles that may open it) or, "
        "if it really needs no login, to PUBLIC in tests/security/test_url_matrix.py"
    )
    assert set(PUBLIC) | set(STAFF) <= {route.name for route in ROUTES}, (
        "a classified URL no longer exists: remove it here"
    )


@pytest.fixture
def values(center, issued, desk) -> dict[str, object]:
    """Real objects for the URL parameters, so that an allowed request finds them."""
    return {"ticket_id": issued.ticket.pk, "number": desk.number, "action": "call-next"}


def user_with(center, role: str):
    if role == NO_ROLE:  # signed in and attached to the center, but with no role
        user = UserFactory(username="no-role")
        StaffProfile.objects.create(user=user, center=center)
        return user
    return staff_user(center, role, f"matrix-{role}")


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("route", NOT_PUBLIC, ids=lambda route: route.name or route.pattern)
def test_without_sign_in_every_staff_url_sends_to_sign_in(client, values, route: Route, method):
    path = route.path(**values)

    response = getattr(client, method)(path)

    assert response.status_code == 302, (path, response.status_code)
    assert response["Location"] == f"/accounts/login/?next={quote(path)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", STAFF_ROUTES, ids=lambda route: route.name)
def test_each_role_gets_exactly_its_staff_urls(client, center, values, route: Route, role):
    staff = STAFF[route.name]
    client.force_login(user_with(center, role))
    path = route.path(**values)

    got = client.get(path)
    posted = client.post(path)

    if role in staff.roles:
        assert got.status_code == staff.get_status, (path, got.status_code)
        assert posted.status_code != 403, (path, posted.status_code)
        assert not posted.get("Location", "").startswith("/accounts/login/"), path
    else:
        assert got.status_code == 403, (path, got.status_code)
        assert posted.status_code == 403, (path, posted.status_code)


@pytest.mark.parametrize("route", STAFF_ROUTES, ids=lambda route: route.name)
def test_a_role_without_a_center_is_refused_everywhere(client, values, route: Route):
    user = UserFactory(username="no-center")
    user.groups.add(Group.objects.get_or_create(name=Role.SUPERVISOR)[0])
    client.force_login(user)
    path = route.path(**values)

    assert client.get(path).status_code == 403
    assert client.post(path).status_code == 403


ADMIN_PAGES = ["/admin/", "/admin/center/auditevent/", "/admin/auth/user/"]


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_is_for_django_staff_only(client, center, role):
    """Roles do not open the admin; only a login marked as Django staff does."""
    client.force_login(user_with(center, role))

    for page in ADMIN_PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/admin/login/"), page
