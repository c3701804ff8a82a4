"""The supervisor's reports: the day in numbers, the CSV exports and staffing, from a day
played through the real services on a pinned clock."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from center.clock import FixedClock, use_clock
from center.models import Callback, Role
from queueing import analytics
from queueing.erlang import desks_for_service_level
from queueing.models import Ticket, TicketEvent
from queueing.services import (
    CheckIn,
    checkin_issue_ticket,
    desk_open,
    ticket_call_next,
    ticket_cancel,
    ticket_recall,
    ticket_resolve,
    ticket_start_serving,
    ticket_transfer,
    ticket_walkout,
)
from queueing.simulator import Break, DeskPlan
from tests.center.factories import CenterFactory, staff_user
from tests.queueing.factories import issue
from tests.queueing.web import HTMX, assert_in_page, assert_partial, text

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NAME = "Lin Xiaoyu"
PHONE = "+86 138 0000 0921"
MINUTE = 60.0


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, 10, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Day:
    clock: FixedClock
    tickets: dict[str, Ticket]


@dataclass
class Staff:
    reception: object
    rep: object
    rep2: object
    desk: object
    desk2: object


@pytest.fixture
def staff(reception, rep, rep2, desk, desk2):
    return Staff(reception, rep, rep2, desk, desk2)


@pytest.fixture
def known_day(center, case_type, wallet_case_type, accounts_service, staff):
    """A morning with known waits (to the first call), in the center's local time:

    09:00 A001, A002 (accounts) and W001 (wallet) get tickets; desks 1 and 2 open.
    A001 is called at 09:05 (wait 5 min), served 09:06-09:21 (15 min): done.
    A002 is called at 09:20 (wait 20 min), recalled at 09:21 and 09:22, a no-show at 09:23.
    W001 is called at 09:22 (wait 22 min), transferred at 09:30 to accounts as A003,
    called again at 09:31 and served 09:32-09:42 (10 min): done.
    10:00 A004, A005 and A006 get tickets. A005 cancels at 10:10 (within the target),
    reception records A004 as gone at 10:30, A006 still waits at 10:40 ("now").
    """
    reception, rep, rep2, desk, desk2 = (
        staff.reception,
        staff.rep,
        staff.rep2,
        staff.desk,
        staff.desk2,
    )
    clock = FixedClock(at(9))
    tickets = {}
    with use_clock(clock):
        tickets["A001"] = checkin_issue_ticket(
            center=center,
            checkin=CheckIn(
                full_name=NAME,
                phone=PHONE,
                purpose="CASE",
                screening_passed=True,
                items_stored=False,
                recording_rule_acknowledged=True,
                case_type=case_type,
                complaint={"registration_year": "2011"},
                complaint_text="My account was suspended.",
            ),
            by=reception,
        ).ticket
        tickets["A002"] = issue(center, case_type, by=reception, name="Second Visitor").ticket
        tickets["W001"] = issue(center, wallet_case_type, by=reception, name="Wallet Owner").ticket
        desk_open(desk=desk, by=rep)
        desk_open(desk=desk2, by=rep2)
        clock.advance(minutes=5)  # 09:05
        assert ticket_call_next(desk=desk, by=rep) == tickets["A001"]
        clock.advance(minutes=1)  # 09:06
        ticket_start_serving(desk=desk, by=rep)
        clock.advance(minutes=14)  # 09:20
        assert ticket_call_next(desk=desk2, by=rep2) == tickets["A002"]
        clock.advance(minutes=1)  # 09:21
        ticket_resolve(desk=desk, outcome="DENIED", reason_code="", explanation="No.", by=rep)
        ticket_recall(desk=desk2, by=rep2)
        clock.advance(minutes=1)  # 09:22
        assert ticket_call_next(desk=desk, by=rep) == tickets["W001"]
        ticket_recall(desk=desk2, by=rep2)
        clock.advance(minutes=1)  # 09:23
        assert ticket_recall(desk=desk2, by=rep2).status == Ticket.Status.NO_SHOW
        clock.advance(minutes=1)  # 09:24
        ticket_start_serving(desk=desk, by=rep)
        clock.advance(minutes=6)  # 09:30
        tickets["A003"] = ticket_transfer(desk=desk, service=accounts_service, by=rep)
        clock.advance(minutes=1)  # 09:31
        assert ticket_call_next(desk=desk2, by=rep2) == tickets["A003"]
        clock.advance(minutes=1)  # 09:32
        ticket_start_serving(desk=desk2, by=rep2)
        clock.advance(minutes=10)  # 09:42
        ticket_resolve(
            desk=desk2, outcome="GUIDANCE_GIVEN", reason_code="", explanation="OK.", by=rep2
        )
        clock.at = at(10)
        for code in ("A004", "A005", "A006"):
            tickets[code] = issue(center, case_type, by=reception, name=f"Visitor {code}").ticket
        clock.at = at(10, 10)
        ticket_cancel(ticket=tickets["A005"])
        clock.at = at(10, 30)
        ticket_walkout(ticket=tickets["A004"], by=reception)
        clock.at = at(10, 40)
    for ticket in tickets.values():
        ticket.refresh_from_db()
    assert [t.code for t in tickets.values()] == list(tickets)
    return Day(clock=clock, tickets=tickets)


def _callback(ticket: Ticket, due: dt.datetime, status: str = "PROMISED", done=None) -> Callback:
    return Callback.objects.create(
        case=ticket.case,
        reason=Callback.Reason.REFERRAL,
        phone=PHONE,
        status=status,
        due_at=due,
        done_at=done,
        created_at=at(8),
    )


@pytest.fixture
def callbacks(known_day):
    """Due so far at 10:40: one kept, one done late, one not done; one is due later
    today and one was due yesterday."""
    ticket = known_day.tickets["A001"]
    _callback(ticket, at(9, 30), "DONE", done=at(9, 25))
    _callback(ticket, at(10), "DONE", done=at(10, 15))
    _callback(ticket, at(10, 30), "ATTEMPTED")
    _callback(ticket, at(12))
    _callback(ticket, at(9) - dt.timedelta(days=1), "BREACHED")


def _numbers(day: Day, **kwargs) -> analytics.DayInNumbers:
    with use_clock(day.clock):
        return analytics.day_in_numbers(center=day.tickets["A001"].center, **kwargs)


# The day in numbers ---------------------------------------------------------------------


def test_a_recall_does_not_move_the_wait(known_day):
    """The ticket keeps its last call; the wait ends at the first."""
    assert known_day.tickets["A002"].called_at == at(9, 22)
    waits = {hour.hour: hour.figures.mean_wait_s for hour in _numbers(known_day).by_hour}
    assert waits[9] == pytest.approx((5 + 20 + 22) / 3 * MINUTE)


def test_the_day_by_hour(known_day):
    numbers = _numbers(known_day)

    assert numbers.day == dt.date(2025, 3, 10)
    assert [row.hour for row in numbers.by_hour] == [9, 10]
    # An en dash, and a word joiner so that a narrow column does not break the label.
    assert numbers.by_hour[0].label == "09:00\N{EN DASH}\N{WORD JOINER}10:00"
    nine, ten = (row.figures for row in numbers.by_hour)
    assert nine.visitors == 3  # A003 is W001's second ticket, not a new visitor
    assert nine.served == 2
    assert nine.p90_wait_s == 22 * MINUTE
    assert (nine.within_target, nine.settled) == (1, 3)
    assert nine.service_level_percent == 33
    assert nine.meets_target is False
    assert nine.mean_service_s == pytest.approx((15 + 10) / 2 * MINUTE)
    assert (nine.no_shows, nine.walkouts, nine.cancelled) == (1, 0, 0)

    assert ten.visitors == 3
    assert ten.mean_wait_s is None
    assert ten.p90_wait_s is None
    # A004 left after 30 min and A006 has waited 40: both missed the 15-minute target.
    # A005 cancelled after 10 min: not counted either way.
    assert (ten.within_target, ten.settled) == (0, 2)
    assert (ten.no_shows, ten.walkouts, ten.cancelled) == (0, 1, 1)
    assert ten.mean_service_s is None


def test_the_day_by_case_type_and_in_total(known_day):
    numbers = _numbers(known_day)

    rows = {row.code: row.figures for row in numbers.by_case_type}
    assert list(rows) == ["ACCOUNT_SUSPENDED", "WALLET_FROZEN"]
    accounts, wallet = rows["ACCOUNT_SUSPENDED"], rows["WALLET_FROZEN"]
    assert accounts.visitors == 5
    assert accounts.mean_wait_s == pytest.approx(12.5 * MINUTE)
    assert accounts.mean_service_s == 15 * MINUTE
    assert (accounts.within_target, accounts.settled) == (1, 4)
    # The transferred visitor stays a wallet case, with the wait before the first call
    # and the service of the second ticket.
    assert wallet.visitors == 1
    assert wallet.mean_wait_s == 22 * MINUTE
    assert wallet.mean_service_s == 10 * MINUTE
    assert wallet.served == 1

    total = numbers.total
    assert total.visitors == 6
    assert total.served == 2
    assert (total.within_target, total.settled) == (1, 5)
    assert total.service_level_percent == 20
    assert (total.no_shows, total.walkouts, total.cancelled) == (1, 1, 1)


def test_the_target_is_the_centers_published_one(known_day):
    center = known_day.tickets["A001"].center
    center.target_wait_minutes = 25
    center.target_share = "0.60"
    center.save()

    numbers = _numbers(known_day)

    assert numbers.target_share_label == "60%"
    nine = numbers.by_hour[0].figures
    assert (nine.within_target, nine.settled) == (3, 3)
    assert nine.meets_target is True
    # A006 has waited 40 minutes, A004 left after 30: still past 25.
    assert (numbers.by_hour[1].figures.within_target, numbers.by_hour[1].figures.settled) == (0, 2)


def test_callbacks_kept_on_time_among_those_due_so_far(known_day, callbacks):
    numbers = _numbers(known_day)

    assert (numbers.callbacks.due, numbers.callbacks.kept) == (3, 1)
    assert (numbers.callbacks.late, numbers.callbacks.not_done) == (1, 1)
    assert numbers.callbacks.kept_percent == 33
    assert [row.name for row in numbers.callbacks_by_case_type] == ["Account suspended"]


def test_a_done_callback_has_a_done_time(known_day):
    with pytest.raises(IntegrityError), transaction.atomic():
        _callback(known_day.tickets["A001"], at(11), "DONE")


def test_a_quiet_day_has_no_rows_and_no_errors(center):
    with use_clock(FixedClock(at(9))):
        numbers = analytics.day_in_numbers(center=center)

    assert numbers.by_hour == []
    assert numbers.by_case_type == []
    assert numbers.total.visitors == 0
    assert numbers.total.service_level is None
    assert numbers.callbacks.due == 0


def test_the_day_in_numbers_reads_in_two_queries_however_busy(
    known_day, callbacks, case_type, reception, django_assert_max_num_queries
):
    center = known_day.tickets["A001"].center
    with django_assert_max_num_queries(2):
        _numbers(known_day)
    with use_clock(known_day.clock):
        for number in range(20):
            issue(center, case_type, by=reception, name=f"Later {number}")
    with django_assert_max_num_queries(2):
        assert _numbers(known_day).total.visitors == 26


@pytest.mark.usefixtures("callbacks")
def test_the_day_page_does_not_grow_queries_with_the_day(
    client, supervisor, known_day, case_type, reception
):
    client.force_login(supervisor)
    center = known_day.tickets["A001"].center

    def queries() -> int:
        with use_clock(known_day.clock), CaptureQueriesContext(connection) as captured:
            assert client.get("/supervisor/day/").status_code == 200
        return len(captured)

    before = queries()
    with use_clock(known_day.clock):
        for number in range(10):
            issue(center, case_type, by=reception, name=f"Later {number}")
    assert queries() == before


# The pages ------------------------------------------------------------------------------


def test_the_day_page_shows_the_tables_and_the_rules(client, supervisor, known_day, callbacks):
    client.force_login(supervisor)
    with use_clock(known_day.clock):
        response = client.get("/supervisor/day/")

    assert response.status_code == 200
    body = text(response)
    assert analytics.hour_label(9) in body
    assert analytics.hour_label(10) in body
    assert "Account suspended" in body
    assert "Wallet frozen" in body
    assert "33%" in body  # 09:00 within target
    assert "(1/5)" in body  # the whole day
    assert "16 min" in body  # the mean wait of 09:00
    assert "2025-03-10, as of 10:40 (center time)" in body
    assert_in_page(response, "Published target: 85% of visitors called within 15 minutes")
    assert_in_page(response, "Called to a desk (up to three times) and did not come to it.")
    assert_in_page(response, "Left while waiting, before being called, as recorded by reception.")
    assert 'href="/supervisor/export/tickets.csv"' in body
    assert NAME not in body
    assert PHONE not in body


def test_the_day_page_speaks_chinese(client, supervisor, known_day, settings):
    client.force_login(supervisor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with use_clock(known_day.clock):
        response = client.get("/supervisor/day/")

    assert response.status_code == 200
    assert '<html lang="zh-hans">' in text(response)
    assert "当日数据一览" in text(response)
    assert "统计口径说明" in text(response)
    assert "The day in numbers" not in text(response)


def test_the_dashboard_links_the_reports_and_keeps_its_live_region(client, supervisor, known_day):
    client.force_login(supervisor)
    with use_clock(known_day.clock):
        page = client.get("/supervisor/")
        partial = client.get("/supervisor/", headers=HTMX)

    assert page.status_code == 200
    for path in ("/supervisor/day/", "/supervisor/staffing/", "/supervisor/export/events.csv"):
        assert f'href="{path}"' in text(page)
    assert 'id="kpis"' in text(page)
    assert_partial(partial, "kpis")
    assert "/supervisor/day/" not in text(partial)


PAGES = (
    "/supervisor/day/",
    "/supervisor/staffing/",
    "/supervisor/export/tickets.csv",
    "/supervisor/export/events.csv",
)


@pytest.mark.parametrize("path", PAGES)
def test_a_representative_may_not_open_the_reports(client, rep, center, path):
    client.force_login(rep)

    response = client.get(path)

    assert response.status_code == 403
    assert NAME not in text(response)


@pytest.mark.parametrize("path", PAGES)
def test_the_reports_need_a_login(client, center, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# CSV exports ----------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    assert NAME not in body
    assert PHONE not in body
    assert "0000 0921" not in body
    return list(csv.reader(io.StringIO(body)))


def test_the_tickets_export(client, supervisor, known_day):
    client.force_login(supervisor)
    with use_clock(known_day.clock):
        response = client.get("/supervisor/export/tickets.csv")

    assert response["Content-Disposition"] == (
        'attachment; filename="tickets-test-center-2025-03-10.csv"'
    )
    header, *rows = _csv(response)
    assert tuple(header) == analytics.TICKET_COLUMNS
    by_code = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_code) == ["A001", "A002", "W001", "A003", "A004", "A005", "A006"]
    assert by_code["A002"] == {
        "ticket": "A002",
        "case_type": "ACCOUNT_SUSPENDED",
        "service": "ACCOUNTS",
        "status": "NO_SHOW",
        "issued_at": "2025-03-10T09:00:00+08:00",
        "first_called_at": "2025-03-10T09:20:00+08:00",
        "last_called_at": "2025-03-10T09:22:00+08:00",
        "serving_at": "",
        "finished_at": "2025-03-10T09:23:00+08:00",
        "calls": "3",
        "desk": "2",
        "transferred_from": "",
    }
    assert by_code["A003"]["transferred_from"] == "W001"
    assert by_code["A003"]["case_type"] == "WALLET_FROZEN"
    assert by_code["W001"]["status"] == "TRANSFERRED"
    assert by_code["A006"]["status"] == "WAITING"
    assert by_code["A006"]["first_called_at"] == ""


def test_the_events_export(client, supervisor, known_day, rep):
    client.force_login(supervisor)
    with use_clock(known_day.clock):
        response = client.get("/supervisor/export/events.csv")

    assert response["Content-Disposition"] == (
        'attachment; filename="events-test-center-2025-03-10.csv"'
    )
    header, *rows = _csv(response)
    assert tuple(header) == analytics.EVENT_COLUMNS
    assert len(rows) == TicketEvent.objects.count()
    assert [int(row[0]) for row in rows] == sorted(int(row[0]) for row in rows)
    events = [dict(zip(header, row, strict=True)) for row in rows]
    a002 = [(e["kind"], e["at"], e["desk"], e["detail"]) for e in events if e["ticket"] == "A002"]
    assert a002 == [
        ("ISSUED", "2025-03-10T09:00:00+08:00", "", ""),
        ("CALLED", "2025-03-10T09:20:00+08:00", "2", ""),
        ("RECALLED", "2025-03-10T09:21:00+08:00", "2", "call=2"),
        ("RECALLED", "2025-03-10T09:22:00+08:00", "2", "call=3"),
        ("NO_SHOW", "2025-03-10T09:23:00+08:00", "2", "calls=3"),
    ]
    desk_opened = next(e for e in events if e["kind"] == "DESK_CHANGED")
    assert (desk_opened["ticket"], desk_opened["detail"]) == ("", "status=OPEN")
    assert all(rep.username not in row for row in map(",".join, rows))
    assert not any("priority" in e["detail"] for e in events)


def test_the_exports_hold_only_today(client, supervisor, known_day):
    client.force_login(supervisor)
    known_day.clock.advance(days=1)
    with use_clock(known_day.clock):
        tickets = _csv(client.get("/supervisor/export/tickets.csv"))
        events = _csv(client.get("/supervisor/export/events.csv"))

    assert tickets == [list(analytics.TICKET_COLUMNS)]
    assert events == [list(analytics.EVENT_COLUMNS)]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_export_streams_in_batches_under_asgi(async_client, center, supervisor):
    """Daphne serves the app: the rows are read a batch at a time off the event loop."""
    await async_client.aforce_login(supervisor)

    response = await async_client.get("/supervisor/export/events.csv")

    assert response.status_code == 200
    assert response.is_async
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    assert body.splitlines()[0] == ",".join(analytics.EVENT_COLUMNS)


# Staffing -------------------------------------------------------------------------------

HOURS = range(9, 17)


def _forecast(handle: str = "10", **arrivals: str) -> dict[str, str]:
    data = {f"arrivals_{hour:02d}": "0" for hour in HOURS}
    data.update(arrivals)
    return {"handle_time_minutes": handle, **data}


def test_the_staffing_form_starts_from_today(client, supervisor, known_day):
    client.force_login(supervisor)
    with use_clock(known_day.clock):
        response = client.get("/supervisor/staffing/")

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["arrivals_09"] == 3
    assert form.initial["arrivals_10"] == 3
    assert form.initial["arrivals_16"] == 0
    assert form.initial["handle_time_minutes"] == 12.5  # today's mean service time
    assert 'name="arrivals_09"' in text(response)
    assert 'name="arrivals_16"' in text(response)
    assert response.context["plan"] is None


def test_before_anyone_is_served_the_handle_time_is_the_case_types(
    client, supervisor, center, case_type, wallet_case_type
):
    wallet_case_type.expected_service_s = 1200
    wallet_case_type.save()
    client.force_login(supervisor)
    with use_clock(FixedClock(at(9))):
        issue(center, case_type)
        issue(center, case_type)
        issue(center, wallet_case_type)
        response = client.get("/supervisor/staffing/")

    # (2 x 600 s + 1 x 1200 s) / 3 = 800 s
    assert response.context["form"].initial["handle_time_minutes"] == 13.3
    assert response.context["defaults"].handle_time_from_today is False


def test_staffing_gives_erlang_cs_desks_and_a_simulation_check(client, supervisor, center):
    client.force_login(supervisor)
    forecast = {9: 6.0, 10: 14.0, 11: 9.5}
    data = _forecast("10", **{f"arrivals_{hour:02d}": str(rate) for hour, rate in forecast.items()})

    with use_clock(FixedClock(at(8))):
        response = client.get("/supervisor/staffing/", data)

    assert response.status_code == 200
    plan = response.context["plan"]
    for hour in plan.hours:
        rate = forecast.get(hour.hour, 0)
        if rate:
            expected = desks_for_service_level(
                arrival_rate_per_hour=rate,
                handle_time_s=600,
                target_s=15 * 60,
                service_level=0.85,
            )
            assert (hour.desks, hour.erlang_share) == (expected.desks, expected.service_level)
            assert hour.simulated_visitors > 0
            assert 0 <= hour.simulated_share <= 1
        else:
            assert hour.desks == 0
            assert hour.simulated_share is None
    assert [hour.desks for hour in plan.hours[:3]] == [2, 4, 3]
    check = plan.check
    assert check.replications == analytics.SIMULATION_MAX_REPLICATIONS
    assert check.reduced is False
    assert check.visitors == sum(hour.simulated_visitors for hour in plan.hours)
    body = text(response)
    assert "Simulation check" in body
    assert f"{plan.erlang_percent}%" in body
    # Nothing the simulation wrote is kept.
    assert Ticket.objects.count() == 0
    assert TicketEvent.objects.count() == 0


def test_a_large_forecast_gets_a_reduced_check_in_page_time(client, supervisor, center):
    client.force_login(supervisor)
    data = _forecast("8", **{f"arrivals_{hour:02d}": "60" for hour in HOURS})

    with use_clock(FixedClock(at(8))):
        response = client.get("/supervisor/staffing/", data)

    assert response.status_code == 200
    check = response.context["plan"].check
    assert check.reduced
    assert check.replications == 1
    assert len(check.hours) == analytics.SIMULATION_VISITOR_BUDGET // 60
    assert_in_page(response, "Reduced check:")


def test_a_forecast_too_large_to_simulate_still_gets_desks(client, supervisor, center):
    client.force_login(supervisor)
    data = _forecast("5", arrivals_10="450")

    with use_clock(FixedClock(at(8))):
        response = client.get("/supervisor/staffing/", data)

    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.check.too_large
    assert (
        plan.peak_desks
        == desks_for_service_level(
            arrival_rate_per_hour=450, handle_time_s=300, target_s=900, service_level=0.85
        ).desks
    )
    assert_in_page(response, "The simulation check was skipped")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_forecast(arrivals_10="-3"), "Ensure this value is greater than or equal to 0."),
        (_forecast(arrivals_10="many"), "Enter a number."),
        (_forecast(arrivals_10=""), "This field is required."),
        (_forecast(arrivals_10="1e9"), "Ensure this value is less than or equal to 500."),
        (_forecast(arrivals_10="nan"), "Enter a number."),
        (_forecast(arrivals_10="inf"), "Enter a number."),
        (_forecast(handle="0"), "Ensure this value is greater than or equal to 0.5."),
        (_forecast(handle="99999"), "Ensure this value is less than or equal to 240."),
        (_forecast(handle=""), "This field is required."),
        ({"arrivals_09": "5"}, "This field is required."),
    ],
)
def test_bad_staffing_input_is_a_message_not_an_error(client, supervisor, center, data, message):
    client.force_login(supervisor)
    with use_clock(FixedClock(at(8))):
        response = client.get("/supervisor/staffing/", data)

    assert response.status_code == 400
    assert_in_page(response, message)
    assert_in_page(response, "Some figures cannot be used. Correct the fields marked below.")
    assert response.context["plan"] is None


def test_a_forecast_of_nobody_needs_no_desk_and_no_simulation(client, supervisor, center):
    client.force_login(supervisor)
    with use_clock(FixedClock(at(8))):
        response = client.get("/supervisor/staffing/", _forecast())

    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.peak_desks == 0
    assert plan.check is None
    assert_in_page(response, "Nobody is expected: there was nothing to simulate.")


# The plan's parts -----------------------------------------------------------------------


def test_desks_follow_the_hours_that_need_them():
    plans = analytics._desk_plans([1, 3, 2, 0, 3], "ACCOUNTS")

    assert plans == (
        DeskPlan(number=1, skills=("ACCOUNTS",)),
        DeskPlan(number=2, skills=("ACCOUNTS",), opens_h=1, breaks=(Break(start_h=3, minutes=60),)),
        DeskPlan(
            number=3, skills=("ACCOUNTS",), opens_h=1, breaks=(Break(start_h=2, minutes=120),)
        ),
    )
    assert analytics._desk_plans([2, 1, 0], "ACCOUNTS")[1] == DeskPlan(
        number=2, skills=("ACCOUNTS",), opens_h=0, closes_h=1
    )


@pytest.mark.parametrize(
    ("rates", "hours"),
    [
        ([5, 50, 100, 60, 10], range(2, 5)),
        ([10, 20, 30], range(3)),
        ([100, 150, 300], None),
    ],
)
def test_the_simulated_hours_fit_the_budget_around_the_peak(rates, hours):
    assert analytics._hours_to_simulate(rates, 200) == hours


def test_a_supervisor_of_another_center_sees_only_their_own(client, known_day):
    other = staff_user(CenterFactory(slug="elsewhere"), Role.SUPERVISOR, "elsewhere-boss")
    client.force_login(other)
    with use_clock(known_day.clock):
        day = client.get("/supervisor/day/")
        tickets = _csv(client.get("/supervisor/export/tickets.csv"))

    assert day.context["numbers"].total.visitors == 0
    assert tickets == [list(analytics.TICKET_COLUMNS)]
