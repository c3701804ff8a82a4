"""Who may open which screen: every staff URL against every role, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group

from center.models import Role, StaffProfile, Visit
from center.selectors import staff_center, user_roles
from queueing.models import Desk, Ticket
from tests.center.factories import CaseTypeFactory, CenterFactory, UserFactory, staff_user
from tests.queueing.factories import DeskFactory, ServiceFactory, issue
from tests.queueing.web import assert_in_page, text

FORBIDDEN = "This screen is not for your role"
NO_CENTER = "Your login is not attached to a support center"
RECEPTION_ROLES = {Role.RECEPTION, Role.SUPERVISOR}
DESK_ROLES = {Role.REPRESENTATIVE, Role.SPECIALIST, Role.SUPERVISOR}


@dataclass(frozen=True)
class StaffPage:
    """One staff URL: how to request it, who may, and what an allowed request does."""

    name: str
    method: str
    path: str
    allowed: set[str]
    data: dict[str, str] | None = None


@dataclass(frozen=True)
class Site:
    """A waiting visitor, a closed desk and the staff URLs that reach them."""

    ticket: Ticket
    desk: Desk
    pages: dict[str, StaffPage]


PAGE_NAMES = [
    "kiosk",
    "turn-away",
    "slip",
    "reception",
    "walkout",
    "desk",
    "desk-open",
    "desk-act",
    "supervisor",
]


@pytest.fixture
def site(issued, desk) -> Site:
    ticket = issued.ticket
    pages = [
        StaffPage("kiosk", "get", "/kiosk/", RECEPTION_ROLES),
        StaffPage(
            "turn-away", "post", "/kiosk/turn-away/", RECEPTION_ROLES, {"reason": "NOT_A_VISITOR"}
        ),
        StaffPage("slip", "get", f"/kiosk/tickets/{ticket.pk}/", RECEPTION_ROLES),
        StaffPage("reception", "get", "/reception/", RECEPTION_ROLES),
        StaffPage("walkout", "post", "/reception/walkout/", RECEPTION_ROLES, {"ticket": ticket.pk}),
        StaffPage("desk", "get", "/desk/", DESK_ROLES),
        StaffPage("desk-open", "post", f"/desk/{desk.number}/open/", DESK_ROLES),
        StaffPage("desk-act", "post", "/desk/call-next/", DESK_ROLES),
        StaffPage("supervisor", "get", "/supervisor/", {Role.SUPERVISOR}),
    ]
    assert [page.name for page in pages] == PAGE_NAMES
    return Site(ticket=ticket, desk=desk, pages={page.name: page for page in pages})


def _request(client, page: StaffPage):
    send = getattr(client, page.method)
    return send(page.path, page.data or {})


def _nothing_happened(site: Site) -> None:
    ticket, desk = site.ticket, site.desk
    ticket.refresh_from_db()
    desk.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING
    assert desk.operator_id is None
    assert desk.status == Desk.Status.CLOSED
    assert not Visit.objects.filter(status=Visit.Status.TURNED_AWAY).exists()


# What an allowed request does, page by page: (response, user, ticket, desk, client).
def _kiosk_ok(response, user, ticket, desk, client) -> None:
    assert response.status_code == 200
    assert "Security check-in" in text(response)


def _turn_away_ok(response, user, ticket, desk, client) -> None:
    assert response.status_code == 302
    assert response["Location"] == "/kiosk/"
    visit = Visit.objects.get(status=Visit.Status.TURNED_AWAY)
    assert visit.recorded_by == user


def _slip_ok(response, user, ticket, desk, client) -> None:
    assert response.status_code == 200
    assert ticket.code in text(response)


def _reception_ok(response, user, ticket, desk, client) -> None:
    assert response.status_code == 200
    assert ticket.code in text(response)


def _walkout_ok(response, user, ticket, desk, client) -> None:
    assert response.status_code == 302
    assert response["Location"] == "/reception/"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WALKOUT


def _desk_ok(response, user, ticket, desk, client) -> None:
    assert response.status_code == 200
    assert "Take a desk" in text(response)


def _desk_open_ok(response, user, ticket, desk, client) -> None:
    assert response.status_code == 302
    assert response["Location"] == "/desk/"
    desk.refresh_from_db()
    assert desk.operator == user
    assert desk.status == Desk.Status.OPEN


def _desk_act_ok(response, user, ticket, desk, client) -> None:
    # Allowed, but this user has no desk yet: sent to take one, with a message.
    assert response.status_code == 302
    assert response["Location"] == "/desk/"
    assert_in_page(client.get("/desk/"), "Take a desk first.")


def _supervisor_ok(response, user, ticket, desk, client) -> None:
    assert response.status_code == 200
    assert "Today" in text(response)


ALLOWED_CHECKS: dict[str, Callable[..., None]] = {
    "kiosk": _kiosk_ok,
    "turn-away": _turn_away_ok,
    "slip": _slip_ok,
    "reception": _reception_ok,
    "walkout": _walkout_ok,
    "desk": _desk_ok,
    "desk-open": _desk_open_ok,
    "desk-act": _desk_act_ok,
    "supervisor": _supervisor_ok,
}


@pytest.mark.parametrize("page_name", PAGE_NAMES)
def test_anonymous_visitor_is_sent_to_sign_in(client, site, page_name):
    page = site.pages[page_name]

    response = _request(client, page)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={quote(page.path)}"
    _nothing_happened(site)


@pytest.mark.parametrize("role", [role.value for role in Role])
@pytest.mark.parametrize("page_name", PAGE_NAMES)
def test_each_role_opens_exactly_its_screens(client, center, site, page_name, role):
    page = site.pages[page_name]
    user = staff_user(center, role, f"user-{role}")
    client.force_login(user)

    response = _request(client, page)

    if role in page.allowed:
        ALLOWED_CHECKS[page_name](response, user, site.ticket, site.desk, client)
    else:
        assert response.status_code == 403
        assert_in_page(response, FORBIDDEN)
        for needed in page.allowed:
            assert str(Role(needed).label) in text(response)
        _nothing_happened(site)


def test_supervisors_may_open_every_staff_page(client, center, site):
    pages = site.pages
    supervisor = staff_user(center, Role.SUPERVISOR, "boss")
    client.force_login(supervisor)
    for name in PAGE_NAMES:
        if pages[name].method == "get":
            response = client.get(pages[name].path)
            assert response.status_code == 200, name
            assert FORBIDDEN not in text(response)


@pytest.mark.parametrize("page_name", PAGE_NAMES)
def test_logged_in_user_without_a_role_gets_a_clear_403(client, center, site, page_name):
    user = UserFactory(username="no-role")
    StaffProfile.objects.create(user=user, center=center)
    client.force_login(user)

    response = _request(client, site.pages[page_name])

    assert response.status_code == 403
    assert_in_page(response, FORBIDDEN)
    assert "It needs one of these roles:" in text(response)
    _nothing_happened(site)


@pytest.mark.parametrize("page_name", PAGE_NAMES)
def test_role_without_a_staff_profile_gets_a_clear_403(client, site, page_name):
    # A supervisor group member whose login was never tied to a center.
    user = UserFactory(username="no-profile")
    user.groups.add(Group.objects.get_or_create(name=Role.SUPERVISOR)[0])
    client.force_login(user)

    response = _request(client, site.pages[page_name])

    assert response.status_code == 403
    assert_in_page(response, NO_CENTER)
    _nothing_happened(site)


def test_user_with_neither_role_nor_profile_gets_a_403(client, site):
    client.force_login(UserFactory(username="stranger"))

    response = client.get(site.pages["kiosk"].path)

    assert response.status_code == 403
    assert_in_page(response, NO_CENTER)


def test_post_only_staff_urls_refuse_get_from_an_allowed_role(client, reception, rep, site):
    pages = site.pages
    client.force_login(reception)
    assert client.get(pages["turn-away"].path).status_code == 405
    assert client.get(pages["walkout"].path).status_code == 405
    client.force_login(rep)
    assert client.get(pages["desk-open"].path).status_code == 405
    assert client.get(pages["desk-act"].path).status_code == 405


HOME_SCREENS = {
    Role.RECEPTION: {"/kiosk/", "/reception/"},
    Role.REPRESENTATIVE: {"/desk/"},
    Role.SPECIALIST: {"/desk/"},
    Role.SUPERVISOR: {"/kiosk/", "/reception/", "/desk/", "/supervisor/"},
}


@pytest.mark.parametrize("role", list(HOME_SCREENS))
def test_home_offers_exactly_the_screens_of_the_role(client, center, role):
    client.force_login(staff_user(center, role, f"home-{role}"))

    page = text(client.get("/"))

    for path in ("/kiosk/", "/reception/", "/desk/", "/supervisor/"):
        assert (f'class="tile" href="{path}"' in page) == (path in HOME_SCREENS[role]), path
    assert 'class="tile" href="/board/"' in page


def test_home_and_sign_in_page_work_without_login(client, db):
    home = client.get("/")
    login = client.get("/accounts/login/?next=/desk/")

    assert home.status_code == 200
    assert 'href="/accounts/login/"' in text(home)
    assert 'class="tile" href="/kiosk/"' not in text(home)
    assert login.status_code == 200
    assert 'value="/desk/"' in text(login)


def test_board_and_visitor_page_need_no_login(client, center, issued):
    board = client.get(f"/board/?center={center.slug}")
    assert board.status_code == 200
    assert "Now serving" in text(board)

    status = client.get(f"/t/{issued.token}/")
    assert status.status_code == 200
    assert issued.ticket.code in text(status)


@pytest.fixture
def other_center_ticket(db):
    other = CenterFactory(slug="other-center", name="Other Center")
    ServiceFactory(center=other, code="ACCOUNTS", name="Accounts", prefix="A")
    reception = staff_user(other, Role.RECEPTION, "other-reception")
    return issue(other, CaseTypeFactory(), by=reception, name="Other Visitor").ticket


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.SUPERVISOR])
def test_staff_cannot_see_the_slip_of_another_center(client, center, other_center_ticket, role):
    client.force_login(staff_user(center, role, f"here-{role}"))

    response = client.get(f"/kiosk/tickets/{other_center_ticket.pk}/")

    assert response.status_code == 404
    assert other_center_ticket.code not in text(response)
    assert "Other Visitor" not in text(response)


def test_staff_cannot_mark_a_visitor_of_another_center_as_gone(
    client, reception, other_center_ticket
):
    client.force_login(reception)

    response = client.post("/reception/walkout/", {"ticket": other_center_ticket.pk})

    assert response.status_code == 404
    other_center_ticket.refresh_from_db()
    assert other_center_ticket.status == Ticket.Status.WAITING


def test_staff_cannot_open_a_desk_of_another_center(client, rep, desk):
    other = CenterFactory(slug="far-away")
    far_desk = DeskFactory(center=other, number=7)
    client.force_login(rep)

    response = client.post("/desk/7/open/")

    assert response.status_code == 404
    far_desk.refresh_from_db()
    assert far_desk.operator_id is None


def test_slip_of_an_unknown_ticket_is_404_not_500(client, reception):
    client.force_login(reception)
    assert client.get("/kiosk/tickets/999999/").status_code == 404
    assert client.get(f"/kiosk/tickets/{2**70}/").status_code == 404


@pytest.mark.django_db
def test_the_center_and_every_role_are_read_in_one_query(django_assert_num_queries):
    center = CenterFactory()
    user = staff_user(center, Role.RECEPTION, username="two-roles")
    user.groups.add(Group.objects.get_or_create(name=Role.SPECIALIST)[0])
    user.groups.add(Group.objects.get_or_create(name="Not a role")[0])
    plain = UserFactory()
    StaffProfile.objects.create(user=plain, center=center)

    with django_assert_num_queries(2):
        assert staff_center(user) == center
        assert user_roles(user) == {Role.RECEPTION, Role.SPECIALIST}
        assert staff_center(plain) == center
        assert user_roles(plain) == set()
    # A user object not read through its staff profile asks the database.
    fresh = type(user).objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        assert user_roles(fresh) == {Role.RECEPTION, Role.SPECIALIST}
