"""Incident notices, the keep-place-or-callback choice, and stepping away."""

import datetime as dt

import pytest

from center.clock import FixedClock, use_clock
from center.errors import DomainError
from center.models import Callback, Case
from queueing.models import Notice, Ticket, TicketEvent
from queueing.selectors import floor_snapshot
from queueing.services import (
    notice_end,
    notice_post,
    ticket_back,
    ticket_call_next,
    ticket_incident_choice,
    ticket_step_away,
)
from tests.queueing.factories import issue
from tests.queueing.web import assert_in_page, text

SHANGHAI_MORNING = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai


def _post(center, supervisor, case_types, **overrides):
    now = SHANGHAI_MORNING
    fields = {
        "what": "Wallet payments fail for many users",
        "case_types": case_types,
        "since_at": now - dt.timedelta(minutes=20),
        "next_update_at": now + dt.timedelta(minutes=30),
    }
    return notice_post(center=center, by=supervisor, **{**fields, **overrides})


def test_a_notice_is_a_floor_event_and_shows_on_the_floor(center, supervisor, wallet_case_type):
    notice = _post(center, supervisor, [wallet_case_type])
    floor = floor_snapshot(center)
    assert floor.notices == [notice]
    assert wallet_case_type.pk in floor.affected_case_type_ids
    assert TicketEvent.objects.filter(kind="NOTICE").count() == 1
    assert floor.seq == TicketEvent.objects.latest("seq").seq
    notice_end(notice=notice, by=supervisor)
    assert floor_snapshot(center).notices == []
    assert TicketEvent.objects.filter(kind="NOTICE").count() == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"what": "   "}, "Say what happened."),
        (
            {"next_update_at": SHANGHAI_MORNING - dt.timedelta(hours=1)},
            "The next update must come after the start of the incident.",
        ),
    ],
)
def test_a_notice_needs_what_and_a_later_update(center, supervisor, overrides, message):
    with pytest.raises(DomainError, match=message):
        _post(center, supervisor, [], **overrides)
    assert not Notice.objects.exists()
    assert not TicketEvent.objects.filter(kind="NOTICE").exists()


def test_affected_visitor_can_keep_the_place(center, supervisor, wallet_case_type):
    issued = issue(center, wallet_case_type)
    _post(center, supervisor, [wallet_case_type])
    ticket = ticket_incident_choice(ticket=issued.ticket, choice="KEEP")
    assert ticket.status == Ticket.Status.WAITING
    assert ticket.incident_choice == "KEEP"
    assert not Callback.objects.exists()


def test_affected_visitor_can_leave_for_a_promised_callback(center, supervisor, wallet_case_type):
    issued = issue(center, wallet_case_type)
    _post(center, supervisor, [wallet_case_type])
    with use_clock(FixedClock(SHANGHAI_MORNING)):
        ticket = ticket_incident_choice(ticket=issued.ticket, choice="CALLBACK", phone="138 0000")
    assert ticket.status == Ticket.Status.CANCELLED
    callback = Callback.objects.get()
    assert callback.case == issued.ticket.case
    assert callback.phone == "138 0000"
    assert callback.status == Callback.Status.PROMISED
    assert callback.due_at == SHANGHAI_MORNING + dt.timedelta(days=1)


def test_a_callback_needs_a_phone_number_and_changes_nothing_without(
    center, supervisor, wallet_case_type
):
    issued = issue(center, wallet_case_type)
    with pytest.raises(DomainError, match="phone number"):
        ticket_incident_choice(ticket=issued.ticket, choice="CALLBACK")
    issued.ticket.refresh_from_db()
    assert issued.ticket.status == Ticket.Status.WAITING
    assert issued.ticket.incident_choice == ""
    assert not Callback.objects.exists()


def test_unknown_choice_is_refused(issued):
    with pytest.raises(DomainError):
        ticket_incident_choice(ticket=issued.ticket, choice="TELEPORT")


def test_a_visitor_who_stepped_away_keeps_the_place_and_is_skipped_until_back(
    center, case_type, open_desk, rep
):
    with use_clock(FixedClock(SHANGHAI_MORNING)) as clock:
        first = issue(center, case_type, name="First")
        clock.advance(minutes=1)
        second = issue(center, case_type, name="Second")
        ticket_step_away(ticket=first.ticket)
        # Still first in line on everyone's screen...
        assert floor_snapshot(center).waiting_place(first.ticket.pk)[1] == 0
        # ...but the desk calls the next one present.
        assert ticket_call_next(desk=open_desk, by=rep) == second.ticket


def test_the_place_is_kept_only_for_the_grace_period(center, case_type, open_desk, rep):
    grace = center.step_away_grace_minutes
    with use_clock(FixedClock(SHANGHAI_MORNING)) as clock:
        away = issue(center, case_type, name="Away")
        ticket_step_away(ticket=away.ticket)
        clock.advance(minutes=grace + 1)
        assert ticket_call_next(desk=open_desk, by=rep) == away.ticket


def test_back_makes_the_visitor_callable_again(center, case_type, open_desk, rep):
    away = issue(center, case_type, name="Away")
    ticket_step_away(ticket=away.ticket)
    ticket_back(ticket=away.ticket)
    assert ticket_call_next(desk=open_desk, by=rep) == away.ticket
    kinds = list(TicketEvent.objects.filter(ticket=away.ticket).values_list("kind", flat=True))
    assert kinds == ["ISSUED", "STEPPED_AWAY", "BACK", "CALLED"]


def test_only_a_waiting_visitor_steps_away(issued, open_desk, rep):
    ticket_call_next(desk=open_desk, by=rep)
    with pytest.raises(DomainError):
        ticket_step_away(ticket=issued.ticket)


# Pages ------------------------------------------------------------------------------


def test_every_screen_shows_the_notice(client, center, supervisor, wallet_case_type, issued):
    _post(center, supervisor, [wallet_case_type])
    client.force_login(supervisor)
    for path in ("/kiosk/", "/reception/", "/supervisor/", "/board/?center=test-center"):
        response = client.get(path)
        assert_in_page(response, "Wallet payments fail for many users")
    client.logout()
    assert_in_page(client.get(f"/t/{issued.token}/"), "Wallet payments fail for many users")


def test_only_affected_visitors_get_the_offer(client, center, supervisor, wallet_case_type, issued):
    wallet = issue(center, wallet_case_type, name="Wallet owner")
    _post(center, supervisor, [wallet_case_type])
    offer = "Call me back instead"
    assert offer in text(client.get(f"/t/{wallet.token}/"))
    assert offer not in text(client.get(f"/t/{issued.token}/"))


def test_the_offer_is_one_tap_on_the_status_page(client, center, supervisor, wallet_case_type):
    wallet = issue(center, wallet_case_type, name="Wallet owner")
    _post(center, supervisor, [wallet_case_type])
    response = client.post(
        f"/t/{wallet.token}/incident/", {"choice": "CALLBACK", "phone": "+86 139 0000 4410"}
    )
    assert response.status_code == 302
    page = client.get(f"/t/{wallet.token}/")
    assert_in_page(page, "We will call you back. You can leave the center.")
    assert Case.objects.get(pk=wallet.ticket.case_id).callbacks.count() == 1


def test_supervisor_posts_and_ends_a_notice_through_the_page(client, supervisor, wallet_case_type):
    client.force_login(supervisor)
    response = client.post(
        "/supervisor/notices/",
        {
            "what": "Login codes are delayed",
            "case_types": [wallet_case_type.pk],
            "since_at": "2026-11-23T08:40",
            "next_update_at": "2026-11-23T09:30",
        },
    )
    assert response.status_code == 302
    notice = Notice.objects.get()
    # Entered on the center's clock (Shanghai, UTC+8).
    assert notice.since_at == dt.datetime(2026, 11, 23, 0, 40, tzinfo=dt.UTC)
    assert client.post(f"/supervisor/notices/{notice.pk}/end/").status_code == 302
    notice.refresh_from_db()
    assert notice.ended_at is not None


def test_a_bad_notice_gets_a_clear_message(client, supervisor):
    client.force_login(supervisor)
    response = client.post(
        "/supervisor/notices/",
        {"what": "x", "since_at": "2026-11-23T09:40", "next_update_at": "2026-11-23T09:30"},
    )
    assert response.status_code == 400
    assert_in_page(response, "The next update must come after the start of the incident.")
    assert not Notice.objects.exists()


def test_step_away_and_back_through_the_status_page(client, issued):
    assert client.post(f"/t/{issued.token}/away/").status_code == 302
    page = client.get(f"/t/{issued.token}/")
    assert_in_page(page, "I'm back")
    client.post(f"/t/{issued.token}/back/")
    issued.ticket.refresh_from_db()
    assert issued.ticket.away_since is None
