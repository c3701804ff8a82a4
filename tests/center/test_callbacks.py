"""A referral promises a callback (owner, window, channel, phone); every attempt is
logged; a promise past its deadline is BREACHED and alarms the specialist and the
supervisor; the visitor sees the promise. A returning visitor is recognised."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from center import clock
from center.errors import DomainError
from center.models import AuditEvent, Callback, CallbackAttempt, Case, Resolution, Role
from center.services import callback_attempt_log, callbacks_mark_breached, case_resolve
from queueing import analytics
from queueing.services import (
    CheckIn,
    checkin_issue_ticket,
    desk_open,
    ticket_resolve,
    ticket_walkout,
)
from tests.center.factories import CaseTypeFactory, staff_user
from tests.queueing.factories import DeskFactory, ServiceFactory, serve_next
from tests.queueing.web import text

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# 15:00 in Shanghai: the promise is for the next day, 09:00 to 12:00.
DECIDED_AT = dt.datetime(2026, 11, 20, 15, 0, tzinfo=SHANGHAI)
WINDOW_START = dt.datetime(2026, 11, 21, 9, 0, tzinfo=SHANGHAI)
DUE = dt.datetime(2026, 11, 21, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture
def at_decision():
    with clock.use_clock(clock.FixedClock(DECIDED_AT)) as fixed:
        yield fixed


@pytest.fixture
def specialist(center):
    return staff_user(center, Role.SPECIALIST, "specialist")


@pytest.fixture
def minors_case_type(center):
    ServiceFactory(center=center, code="MINORS", name="Specialist: minors", prefix="S")
    return CaseTypeFactory(
        code="MINOR_SPENDING", name="Spending by a minor", skill="MINORS", intake_fields=[]
    )


def check_in(center, case_type, *, phone="", handle="", name="Mother", by=None):
    return checkin_issue_ticket(
        center=center,
        checkin=CheckIn(
            full_name=name,
            phone=phone,
            purpose="CASE",
            screening_passed=True,
            items_stored=False,
            recording_rule_acknowledged=True,
            case_type=case_type,
            complaint={"registration_year": "2011"} if case_type.intake_fields else {},
            complaint_text="My son spent our savings in a game.",
            account_handle=handle,
        ),
        by=by,
    )


def refer(case: Case, by, **extra) -> Resolution:
    return case_resolve(
        case=case,
        outcome="REFERRED",
        reason_code="",
        explanation="A specialist for underage users will call you tomorrow.",
        by=by,
        **extra,
    )


@pytest.fixture
def referred(center, minors_case_type, rep, specialist, at_decision) -> Callback:
    case = check_in(
        center, minors_case_type, phone="+86 138 0000 1111", handle="chen.hao"
    ).ticket.case
    refer(case, rep, callback_owner=specialist)
    return case.callbacks.get()


def test_a_referral_promises_a_callback_next_morning(referred, specialist):
    assert referred.reason == Callback.Reason.REFERRAL
    assert referred.status == Callback.Status.PROMISED
    assert referred.owner == specialist
    assert referred.phone == "+86 138 0000 1111"
    assert referred.channel == Callback.Channel.PHONE
    assert referred.window_starts_at == WINDOW_START
    assert referred.due_at == DUE
    assert referred.case.status == Case.Status.REFERRED
    assert AuditEvent.objects.filter(action="callback.promised").count() == 1


def test_the_specialist_queue_may_own_it_and_another_number_and_channel_be_given(
    center, minors_case_type, rep, at_decision
):
    case = check_in(center, minors_case_type, phone="+86 1").ticket.case

    refer(case, rep, callback_phone="+86 139 2222 3333", callback_channel="VIDEO")

    callback = case.callbacks.get()
    assert callback.owner is None
    assert (callback.phone, callback.channel) == ("+86 139 2222 3333", "VIDEO")


def test_a_referral_without_a_phone_is_refused_whole(center, minors_case_type, rep, at_decision):
    case = check_in(center, minors_case_type).ticket.case

    with pytest.raises(DomainError, match="phone number"):
        refer(case, rep)

    assert not Resolution.objects.exists()
    assert not Callback.objects.exists()
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN


def test_only_a_specialist_may_own_the_callback(center, minors_case_type, rep, at_decision):
    case = check_in(center, minors_case_type, phone="+86 1").ticket.case

    with pytest.raises(DomainError, match="specialist"):
        refer(case, rep, callback_owner=rep)
    assert not Resolution.objects.exists()


def test_an_unanswered_call_is_logged_and_the_promise_stays_open(referred, specialist):
    callback_attempt_log(callback=referred, result="NO_ANSWER", note="Rang 10 times", by=specialist)

    referred.refresh_from_db()
    assert referred.status == Callback.Status.ATTEMPTED
    attempt = referred.attempts.get()
    assert (attempt.result, attempt.note, attempt.by) == ("NO_ANSWER", "Rang 10 times", specialist)


def test_reaching_the_visitor_keeps_the_promise(referred, specialist, at_decision):
    callback_attempt_log(callback=referred, result="NO_ANSWER", by=specialist)
    at_decision.at = WINDOW_START + dt.timedelta(minutes=30)
    callback_attempt_log(callback=referred, result="REACHED", by=specialist)

    referred.refresh_from_db()
    assert referred.status == Callback.Status.DONE
    assert referred.done_at == WINDOW_START + dt.timedelta(minutes=30)
    assert referred.attempts.count() == 2
    with pytest.raises(DomainError, match="already made"):
        callback_attempt_log(callback=referred, result="REACHED", by=specialist)


def test_attempts_are_append_only(referred, specialist):
    attempt = callback_attempt_log(callback=referred, result="NO_ANSWER", by=specialist)
    attempt.note = "rewritten"
    with pytest.raises(PermissionError):
        attempt.save()
    with pytest.raises(PermissionError):
        CallbackAttempt.objects.all().delete()


def test_another_specialists_callback_is_not_yours(center, referred):
    other = staff_user(center, Role.SPECIALIST, "other-specialist")

    with pytest.raises(DomainError, match="another specialist"):
        callback_attempt_log(callback=referred, result="REACHED", by=other)


def test_a_representative_cannot_log_a_callback(referred, rep):
    with pytest.raises(DomainError):
        callback_attempt_log(callback=referred, result="REACHED", by=rep)


def test_whoever_calls_first_takes_an_unassigned_callback(
    center, minors_case_type, rep, specialist, at_decision
):
    case = check_in(center, minors_case_type, phone="+86 1").ticket.case
    refer(case, rep)

    callback_attempt_log(callback=case.callbacks.get(), result="LEFT_MESSAGE", by=specialist)

    assert case.callbacks.get().owner == specialist


def test_a_promise_past_its_deadline_is_breached(center, referred, specialist, at_decision):
    at_decision.at = DUE
    assert callbacks_mark_breached(center=center) == 0  # due at 12:00 means by 12:00

    at_decision.at = DUE + dt.timedelta(minutes=1)
    assert callbacks_mark_breached(center=center) == 1
    referred.refresh_from_db()
    assert referred.status == Callback.Status.BREACHED
    assert AuditEvent.objects.filter(action="callback.breached").count() == 1
    assert callbacks_mark_breached(center=center) == 0

    # A late unsuccessful attempt leaves it breached; reaching the visitor late is DONE,
    # and counted as late, not kept.
    callback_attempt_log(callback=referred, result="NO_ANSWER", by=specialist)
    referred.refresh_from_db()
    assert referred.status == Callback.Status.BREACHED
    callback_attempt_log(callback=referred, result="REACHED", by=specialist)
    figures = analytics.callbacks_today(center)
    assert (figures.due, figures.kept, figures.late) == (1, 0, 1)


def test_an_unanswered_call_after_the_deadline_is_a_breach(referred, specialist, at_decision):
    at_decision.at = DUE + dt.timedelta(hours=1)

    callback_attempt_log(callback=referred, result="NO_ANSWER", by=specialist)

    referred.refresh_from_db()
    assert referred.status == Callback.Status.BREACHED


def test_the_callbacks_check_command(referred, at_decision, capsys):
    at_decision.at = DUE + dt.timedelta(hours=2)

    call_command("callbacks_check")

    referred.refresh_from_db()
    assert referred.status == Callback.Status.BREACHED
    assert "1 callback(s) marked as breached." in capsys.readouterr().out


def test_the_kept_on_time_share(center, minors_case_type, rep, specialist, referred, at_decision):
    second = check_in(center, minors_case_type, phone="+86 2", name="Father").ticket.case
    refer(second, rep, callback_owner=specialist)
    at_decision.at = WINDOW_START + dt.timedelta(minutes=5)
    callback_attempt_log(callback=referred, result="REACHED", by=specialist)
    at_decision.at = DUE + dt.timedelta(hours=1)
    callbacks_mark_breached(center=center)

    figures = analytics.callbacks_today(center)

    assert (figures.due, figures.kept, figures.late, figures.not_done) == (2, 1, 0, 1)
    assert figures.kept_percent == 50


# --- screens ------------------------------------------------------------------------------


def test_the_specialists_page_lists_the_promise_then_alarms_when_overdue(
    client, specialist, referred, at_decision
):
    client.force_login(specialist)

    body = text(client.get("/desk/callbacks/"))
    assert referred.case.reference in body
    assert "+86 138 0000 1111" in body
    assert "2026-11-21 09:00\N{EN DASH}12:00" in body
    assert 'role="alert"' not in body.split("<main", 1)[1].replace(
        'id="connection-lost" class="connection-lost" role="alert"', ""
    )

    at_decision.at = DUE + dt.timedelta(minutes=5)
    body = text(client.get("/desk/callbacks/"))
    assert 'class="error banner callbacks-overdue" role="alert"' in body
    assert "1 callback is overdue" in body
    referred.refresh_from_db()
    assert referred.status == Callback.Status.BREACHED


def test_the_specialist_logs_an_attempt_from_the_page(client, specialist, referred):
    client.force_login(specialist)

    response = client.post(
        f"/desk/callbacks/{referred.pk}/attempt/",
        {"result": "NO_ANSWER", "note": "voicemail full"},
        follow=True,
    )

    assert response.status_code == 200
    assert f"Logged for {referred.case.reference}: No answer." in text(response)
    assert "voicemail full" in text(response)
    referred.refresh_from_db()
    assert referred.status == Callback.Status.ATTEMPTED


def test_a_representative_may_not_open_the_callbacks(client, rep):
    client.force_login(rep)
    assert client.get("/desk/callbacks/").status_code == 403


def test_the_supervisor_sees_overdue_callbacks_and_the_share(
    client, supervisor, referred, at_decision
):
    client.force_login(supervisor)
    at_decision.at = DUE + dt.timedelta(minutes=1)

    body = text(client.get("/supervisor/"))

    assert "1 callback overdue" in body
    assert referred.case.reference in body
    assert "Kept on time today: 0 of 1 due (0%)." in body


def test_the_visitor_sees_the_promise_and_its_state(
    client, center, minors_case_type, rep, at_decision
):
    issued = check_in(center, minors_case_type, phone="+86 138 0000 1111")
    desk = DeskFactory(center=center, number=9, services=[issued.ticket.service])
    desk_open(desk=desk, by=rep)
    serve_next(desk, rep)
    ticket_resolve(
        desk=desk,
        outcome="REFERRED",
        reason_code="",
        explanation="A specialist will call you.",
        by=rep,
    )

    body = text(client.get(f"/t/{issued.token}/"))
    assert "Promised callback" in body
    assert "Promised" in body
    assert "Phone call to +86 138 0000 1111 on 2026-11-21 between 09:00 and 12:00." in body

    at_decision.at = DUE + dt.timedelta(minutes=1)
    body = text(client.get(f"/t/{issued.token}/"))
    assert "We did not call you back in time." in body


# --- returning visitors -------------------------------------------------------------------


def test_a_returning_visitor_follows_the_referred_case_to_the_specialists_line(
    center, minors_case_type, referred, case_type, accounts_service
):
    again = check_in(center, case_type, handle="chen.hao", name="Mother again")

    assert again.ticket.case.follows == referred.case
    assert again.ticket.service.code == "MINORS"
    opened = AuditEvent.objects.filter(action="case.opened").last()
    assert opened.details["follows"] == referred.case.reference


def test_a_returning_visitor_is_recognised_by_phone(center, referred, case_type, accounts_service):
    again = check_in(center, case_type, phone="+86 138 0000 1111", name="Mother")

    assert again.ticket.case.follows == referred.case


def test_a_resolved_case_without_a_pending_callback_is_not_followed(
    center, case_type, accounts_service, rep
):
    first = check_in(center, case_type, handle="done.account", phone="+86 5").ticket.case
    case_resolve(case=first, outcome="DENIED", reason_code="", explanation="No.", by=rep)

    again = check_in(center, case_type, handle="done.account", phone="+86 5")

    assert again.ticket.case.follows is None


def test_a_kept_promise_still_leaves_a_referral_to_follow(
    center, referred, specialist, case_type, accounts_service
):
    callback_attempt_log(callback=referred, result="REACHED", by=specialist)

    again = check_in(center, case_type, handle="chen.hao")

    assert again.ticket.case.follows == referred.case  # the case is still REFERRED


def test_the_desk_shows_the_history_of_a_returning_visitor(
    client, center, referred, specialist, case_type, accounts_service
):
    callback_attempt_log(callback=referred, result="NO_ANSWER", by=specialist)
    # The first visit's ticket (decided without the queue here) leaves the floor.
    ticket_walkout(ticket=referred.case.tickets.get(), by=specialist)
    check_in(center, case_type, handle="chen.hao", name="Mother again")
    desk = DeskFactory(center=center, number=6, services=[_minors(center)])
    desk_open(desk=desk, by=specialist)
    serve_next(desk, specialist)
    client.force_login(specialist)

    body = text(client.get("/desk/"))

    assert "Returning visitor: earlier cases" in body
    assert referred.case.reference in body
    assert "Referred to a specialist" in body
    assert "1 attempt" in body


def _minors(center):
    return ServiceFactory(center=center, code="MINORS", prefix="S")
