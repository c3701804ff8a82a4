"""The live screens over HTTP: reception floor, waiting-room board, supervisor KPIs."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from center.clock import FixedClock, use_clock
from center.models import Center
from center.services import visit_turn_away
from queueing.models import Ticket
from queueing.services import (
    desk_open,
    ticket_call_next,
    ticket_no_show,
    ticket_resolve,
    ticket_start_serving,
)
from tests.center.factories import CenterFactory
from tests.queueing.factories import ServiceFactory, issue
from tests.queueing.web import (
    HTMX,
    another_visitor,
    assert_full_page,
    assert_in_page,
    assert_partial,
    text,
)

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _stat(value: object, label: str) -> str:
    return f'<div class="stat"><span>{value}</span>{label}</div>'


# Reception floor


def test_reception_floor_shows_who_waits_and_who_is_at_a_desk(client, reception, open_desk, issued):
    second = another_visitor(issued, "Second Visitor")
    ticket_call_next(desk=open_desk, by=open_desk.operator)
    visit_turn_away(center=open_desk.center, reason="NOT_A_VISITOR", by=reception)
    client.force_login(reception)

    response = client.get("/reception/")

    assert response.status_code == 200
    assert_full_page(response)
    body = text(response)
    assert _stat(1, "waiting") in body
    assert _stat(1, "at a desk") in body
    assert _stat(2, "checked in today") in body
    assert _stat(1, "turned away today") in body
    assert second.ticket.code in body
    assert "A001" in body
    assert "Desk 1" in body
    assert 'action="/reception/walkout/"' in body
    assert f'name="ticket" value="{second.ticket.pk}"' in body


def test_reception_htmx_returns_only_the_floor(client, reception, issued):
    client.force_login(reception)

    response = client.get("/reception/", headers=HTMX)

    assert_partial(response, "floor")
    assert "A001" in text(response)


def test_reception_marks_a_waiting_visitor_as_gone_once(client, reception, issued):
    client.force_login(reception)
    gone = {"ticket": issued.ticket.pk}

    first = client.post("/reception/walkout/", gone, follow=True)
    second = client.post("/reception/walkout/", gone, follow=True)

    assert_in_page(first, "A001 marked as gone.")
    assert_in_page(second, "Only a waiting visitor can be marked as gone.")
    assert Ticket.objects.get(pk=issued.ticket.pk).status == Ticket.Status.WALKOUT
    assert "Nobody waiting." in text(second)


@pytest.mark.parametrize("ticket", ["424242", "", "A001", "-1", "1.0", "\u0661"])
def test_walkout_of_an_unknown_ticket_is_404(client, reception, issued, ticket):
    client.force_login(reception)

    assert client.post("/reception/walkout/", {"ticket": ticket}).status_code == 404
    assert Ticket.objects.get(pk=issued.ticket.pk).status == Ticket.Status.WAITING


def test_walkout_without_a_ticket_is_404(client, reception):
    client.force_login(reception)
    assert client.post("/reception/walkout/").status_code == 404


# Waiting-room board


def test_board_needs_no_login_and_shows_the_called_ticket_and_desk(
    client, center, open_desk, issued
):
    waiting = another_visitor(issued, "Still Waiting")
    ticket_call_next(desk=open_desk, by=open_desk.operator)

    response = client.get(f"/board/?center={center.slug}")

    assert response.status_code == 200
    body = text(response)
    assert '<tr class="called"><td class="code">A001</td><td class="desk-no">1</td></tr>' in body
    assert f'<li class="code">{waiting.ticket.code}</li>' in body
    assert "1 waiting" in body
    # A public screen: ticket numbers and desks only, never a name.
    assert "Lin Xiaoyu" not in body
    assert "Still Waiting" not in body


def test_board_without_a_center_parameter_shows_the_first_center(client, center, issued):
    response = client.get("/board/")

    assert response.status_code == 200
    assert f'<li class="code">{issued.ticket.code}</li>' in text(response)


def test_board_shows_only_its_own_center(client, center, issued):
    other = CenterFactory(slug="other-center")
    ServiceFactory(center=other, code="ACCOUNTS", prefix="A")

    response = client.get(f"/board/?center={other.slug}")

    assert response.status_code == 200
    assert "A001" not in text(response)


@pytest.mark.parametrize("slug", ["no-such-center", "x" * 400, "test-center'--"])
def test_board_of_an_unknown_center_is_a_404_page(client, center, slug):
    response = client.get("/board/", {"center": slug})

    assert response.status_code == 404
    assert_full_page(response)
    assert "No such center" in text(response)


def test_board_with_no_center_at_all_is_a_404_page(client, db):
    assert not Center.objects.exists()

    response = client.get("/board/")

    assert response.status_code == 404
    assert "No such center" in text(response)


def test_board_htmx_returns_only_now_serving(client, center, rep, open_desk, issued):
    ticket_call_next(desk=open_desk, by=rep)

    response = client.get(f"/board/?center={center.slug}", headers=HTMX)

    assert response.status_code == 200
    assert_partial(response, "now-serving")
    assert "A001" in text(response)


# Supervisor


@pytest.fixture
def staffed_desks(rep, rep2, desk, desk2):
    return desk_open(desk=desk, by=rep), desk_open(desk=desk2, by=rep2)


@pytest.fixture
def busy_morning(case_type, wallet_case_type, reception, staffed_desks):
    """A morning at a pinned clock: one served, one no-show, one at a desk, one waiting,
    one turned away; waits of 10, 30 and 30 minutes before the first calls."""
    desk, desk2 = staffed_desks
    rep, rep2 = desk.operator, desk2.operator
    center = desk.center
    clock = FixedClock(dt.datetime(2025, 3, 10, 9, 0, tzinfo=SHANGHAI))
    with use_clock(clock):
        first = issue(center, case_type, by=reception, name="First")
        second = issue(center, case_type, by=reception, name="Second")
        third = issue(center, case_type, by=reception, name="Third")
        issue(center, wallet_case_type, by=reception, name="Wallet")
        visit_turn_away(center=center, reason="NOT_A_VISITOR", by=reception)
        clock.advance(minutes=10)
        assert ticket_call_next(desk=desk, by=rep) == first.ticket
        ticket_start_serving(desk=desk, by=rep)
        clock.advance(minutes=20)
        ticket_resolve(desk=desk, outcome="DENIED", reason_code="", explanation="No.", by=rep)
        assert ticket_call_next(desk=desk2, by=rep2) == second.ticket
        ticket_no_show(desk=desk2, by=rep2)
        assert ticket_call_next(desk=desk2, by=rep2) == third.ticket
    return clock


def test_supervisor_kpis_after_some_activity(client, supervisor, busy_morning):
    client.force_login(supervisor)
    with use_clock(busy_morning):
        response = client.get("/supervisor/")

    assert response.status_code == 200
    assert_full_page(response)
    body = text(response)
    assert _stat(1, "waiting") in body
    assert _stat(1, "at a desk") in body
    assert _stat(1, "served") in body
    assert _stat(1, "no-shows") in body
    assert _stat(0, "walkouts") in body
    assert _stat(1, "turned away") in body
    assert _stat(2, "desks open") in body
    # Waits to the first call: 10, 30 and 30 minutes.
    assert _stat("23 min", "average wait") in body
    assert _stat("30 min", "90th-percentile wait") in body
    assert "W · Wallet" in body
    assert "A · Accounts" in body


def test_supervisor_kpis_of_a_quiet_day_show_dashes_not_errors(client, supervisor, center):
    client.force_login(supervisor)

    response = client.get("/supervisor/")

    assert response.status_code == 200
    assert _stat(0, "served") in text(response)
    assert _stat("—", "average wait") in text(response)


def test_supervisor_htmx_returns_only_the_kpis(client, supervisor, busy_morning):
    client.force_login(supervisor)
    with use_clock(busy_morning):
        response = client.get("/supervisor/", headers=HTMX)

    assert response.status_code == 200
    assert_partial(response, "kpis")
    assert _stat(1, "served") in text(response)
