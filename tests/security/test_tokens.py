"""A visitor's token opens that visitor's ticket and nothing else, and only on the day the
ticket was issued (the center's day, on the center's clock). Every URL with a ``token``
parameter is checked, straight from the resolver."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from center.clock import FixedClock, use_clock
from queueing.models import Ticket
from queueing.services import IssuedTicket
from tests.center.factories import CaseTypeFactory, CenterFactory, staff_user
from tests.queueing.factories import ServiceFactory, issue
from tests.queueing.test_consumers import (
    CLOSE_NOT_FOUND,
    _hubs_stop_with_the_test,  # noqa: F401 - autouse: no hub outlives its test
    close_code,
    next_push,
    watching,
)
from tests.queueing.web import text
from tests.security.urls import site_routes

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TOKEN_ROUTES = [route for route in site_routes() if route.takes_token]
NOT_FOUND = "We could not find this ticket"


def test_the_visitor_pages_are_found():
    assert {route.name for route in TOKEN_ROUTES} >= {"visitor-status", "visitor-cancel"}


def _request(client, route, token: str):
    path = route.path(token=token)
    # The status page is a GET; every other visitor URL acts on a POST.
    if route.name == "visitor-status":
        return client.get(path)
    return client.post(path, {"complaint_text": "Changed by someone else", "choice": "KEEP"})


def _unchanged(issued: IssuedTicket, complaint_text: str) -> None:
    ticket = Ticket.objects.select_related("case").get(pk=issued.ticket.pk)
    assert ticket.status == Ticket.Status.WAITING
    assert ticket.away_since is None
    assert ticket.incident_choice == ""
    assert ticket.case.complaint_text == complaint_text


@pytest.fixture
def two_visitors(center, case_type, reception) -> tuple[IssuedTicket, IssuedTicket]:
    return (
        issue(center, case_type, by=reception, name="Ada Wang"),
        issue(center, case_type, by=reception, name="Bo Li"),
    )


@pytest.fixture
def elsewhere(db) -> IssuedTicket:
    other = CenterFactory(slug="other-center", name="Other Center")
    ServiceFactory(center=other, code="ACCOUNTS", name="Accounts", prefix="A")
    return issue(
        other, CaseTypeFactory(), by=staff_user(other, "reception", "far"), name="Far Away"
    )


@pytest.mark.parametrize("route", TOKEN_ROUTES, ids=lambda route: route.name)
def test_a_token_acts_on_its_own_ticket_only(client, two_visitors, elsewhere, route):
    mine, theirs = two_visitors
    before = Ticket.objects.get(pk=theirs.ticket.pk).case.complaint_text

    response = _request(client, route, mine.token)

    assert response.status_code in {200, 302, 400, 404, 405}
    if response.status_code == 200:
        page = text(response)
        assert mine.ticket.code in page
        assert theirs.ticket.code not in page
        for other, name in ((theirs, "Bo Li"), (elsewhere, "Far Away")):
            assert other.ticket.case.reference not in page
            assert name not in page
    _unchanged(theirs, before)
    _unchanged(elsewhere, elsewhere.ticket.case.complaint_text)


@pytest.mark.parametrize("route", TOKEN_ROUTES, ids=lambda route: route.name)
def test_a_token_that_is_almost_right_opens_nothing(client, two_visitors, route):
    mine, _ = two_visitors
    flipped = mine.token[:-1] + ("A" if mine.token[-1] != "A" else "B")
    before = mine.ticket.case.complaint_text

    for token in (flipped, mine.token[:-1], mine.token.upper(), "x" * 65, str(mine.ticket.pk)):
        response = _request(client, route, token)
        assert response.status_code in {404, 405}, (route.name, token)
    _unchanged(mine, before)


@pytest.mark.parametrize("route", TOKEN_ROUTES, ids=lambda route: route.name)
def test_a_token_expires_when_the_centers_day_ends(client, center, case_type, reception, route):
    evening = dt.datetime(2025, 3, 10, 21, 0, tzinfo=SHANGHAI)
    with use_clock(FixedClock(evening)) as clock:
        issued = issue(center, case_type, by=reception, name="Late Visitor")
        before = issued.ticket.case.complaint_text
        clock.advance(hours=3, seconds=1)  # 00:00:01 the next day in Shanghai

        response = _request(client, route, issued.token)

    assert response.status_code in {404, 405}
    if response.status_code == 404:
        assert NOT_FOUND in text(response)
    _unchanged(issued, before)


def test_a_token_still_works_at_the_last_minute_of_the_day(client, center, case_type, reception):
    evening = dt.datetime(2025, 3, 10, 21, 0, tzinfo=SHANGHAI)
    with use_clock(FixedClock(evening)) as clock:
        issued = issue(center, case_type, by=reception, name="Late Visitor")
        clock.advance(hours=2, minutes=59)

        assert client.get(f"/t/{issued.token}/").status_code == 200


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_visitor_socket_shows_its_own_ticket_and_expires_with_the_day(
    center, case_type, reception
):
    mine = await database_sync_to_async(issue)(center, case_type, by=reception, name="Ada")
    theirs = await database_sync_to_async(issue)(center, case_type, by=reception, name="Bo")

    async with watching(f"/ws/t/{mine.token}/") as socket:
        push = await next_push(socket, timeout=3.0)

    assert mine.ticket.code in push.regions
    assert theirs.ticket.code not in push.regions
    assert theirs.ticket.case.reference not in push.regions
    # The day is over (the socket reads the real clock: its expiry is moved instead).
    await database_sync_to_async(Ticket.objects.filter(pk=mine.ticket.pk).update)(
        token_expires_at=timezone.now()
    )
    assert await close_code(f"/ws/t/{mine.token}/") == CLOSE_NOT_FOUND
