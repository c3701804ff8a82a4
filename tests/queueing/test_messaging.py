"""Texts to a visitor who stepped away: only with consent, when almost their turn and when
called, once per kind and ticket, handed to the configured sender after commit."""

import dataclasses
import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from center.clock import FixedClock, use_clock
from center.errors import DomainError
from queueing.forms import KioskForm
from queueing.models import TextConsent, TextMessage
from queueing.services import (
    CheckIn,
    checkin_issue_ticket,
    ticket_call_next,
    ticket_cancel,
    ticket_no_show,
    ticket_step_away,
)

SENT: list[dict[str, str]] = []


class RecordingSender:
    """A gateway that remembers what it was asked to send."""

    def send(self, *, phone: str, body: str) -> None:
        SENT.append({"phone": phone, "body": body})


class BrokenSender:
    def send(self, *, phone: str, body: str) -> None:
        raise ConnectionError("gateway down")


@pytest.fixture(autouse=True)
def recording_sender(settings):
    settings.WALKIN_SMS_SENDER = "tests.queueing.test_messaging.RecordingSender"
    SENT.clear()
    yield SENT
    SENT.clear()


def check_in(center, case_type, reception, *, name, consent=True, phone="+86 138 0000 1234"):
    return checkin_issue_ticket(
        center=center,
        checkin=CheckIn(
            full_name=name,
            purpose="CASE",
            screening_passed=True,
            items_stored=False,
            recording_rule_acknowledged=True,
            case_type=case_type,
            complaint={"registration_year": "2011"},
            complaint_text="My account was suspended.",
            phone=phone,
            texts_consent=consent,
        ),
        by=reception,
    ).ticket


@pytest.fixture
def line(center, case_type, reception):
    """Six visitors in line for accounts, the fifth of them with consent to texts."""
    return [
        check_in(center, case_type, reception, name=f"Visitor {n}", consent=n == 5)
        for n in range(1, 7)
    ]


def call(open_desk, rep, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_call_next(desk=open_desk, by=rep)
    ticket_no_show(desk=open_desk, by=rep)
    return ticket


def test_away_visitor_is_texted_once_when_almost_their_turn(
    line, open_desk, rep, django_capture_on_commit_callbacks
):
    fifth = line[4]
    ticket_step_away(ticket=fifth)
    assert SENT == []  # four ahead
    call(open_desk, rep, django_capture_on_commit_callbacks)  # three ahead now
    assert len(SENT) == 1
    assert SENT[0]["phone"] == "+86 138 0000 1234"
    assert fifth.code in SENT[0]["body"]
    assert "3 people ahead" in SENT[0]["body"]
    message = TextMessage.objects.get()
    assert (message.ticket, message.kind, message.status) == (
        fifth,
        TextMessage.Kind.ALMOST_TURN,
        TextMessage.Status.SENT,
    )
    assert message.sender.endswith("RecordingSender")
    call(open_desk, rep, django_capture_on_commit_callbacks)  # two ahead: no second text
    assert len(SENT) == 1


def test_away_visitor_is_texted_when_called_after_the_grace_period(
    center, line, open_desk, rep, django_capture_on_commit_callbacks
):
    fifth = ticket_step_away(ticket=line[4])
    for _ in range(4):
        call(open_desk, rep, django_capture_on_commit_callbacks)
    # The grace period is over: the desk calls the visitor, who is still away.
    later = FixedClock(fifth.away_since + center_grace(center))
    with use_clock(later), django_capture_on_commit_callbacks(execute=True):
        called = ticket_call_next(desk=open_desk, by=rep)
    assert called == fifth
    kinds = list(TextMessage.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == [TextMessage.Kind.ALMOST_TURN, TextMessage.Kind.CALLED]
    assert "please go to desk 1 now" in SENT[-1]["body"]


def center_grace(center):
    return dt.timedelta(minutes=center.step_away_grace_minutes, seconds=1)


def test_stepping_away_when_already_near_sends_the_text_at_once(
    line, django_capture_on_commit_callbacks
):
    near = check_in(line[0].center, line[0].case.case_type, None, name="Near", consent=True)
    ticket_cancel(ticket=line[0])
    ticket_cancel(ticket=line[1])
    ticket_cancel(ticket=line[2])
    # ``near`` is last of four waiting: 3 ahead (line[3], line[4], line[5]).
    with django_capture_on_commit_callbacks(execute=True):
        ticket_step_away(ticket=near)
    assert [m.ticket for m in TextMessage.objects.all()] == [near]


def test_no_text_without_consent_or_while_present(
    center, case_type, reception, open_desk, rep, django_capture_on_commit_callbacks
):
    without = check_in(center, case_type, reception, name="No consent", consent=False)
    present = check_in(center, case_type, reception, name="Present", consent=True)
    ticket_step_away(ticket=without)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_call_next(desk=open_desk, by=rep)
    assert SENT == []
    assert not TextMessage.objects.exists()
    assert TextConsent.objects.get().case == present.case


def test_nothing_is_sent_when_the_call_rolls_back(line, open_desk, rep):
    ticket_step_away(ticket=line[4])

    def call_then_fail() -> None:
        with transaction.atomic():
            ticket_call_next(desk=open_desk, by=rep)
            raise RuntimeError("the request failed after the call")

    with pytest.raises(RuntimeError):
        call_then_fail()
    assert SENT == []
    assert not TextMessage.objects.exists()


def test_the_database_refuses_a_second_text_of_a_kind(line):
    values = {
        "center": line[0].center,
        "ticket": line[0],
        "kind": TextMessage.Kind.CALLED,
        "phone": "123456",
        "language": "en",
        "body": "x",
        "created_at": line[0].issued_at,
    }
    TextMessage.objects.create(**values)
    with pytest.raises(IntegrityError), transaction.atomic():
        TextMessage.objects.create(**values)


def test_a_failing_gateway_marks_the_text_and_the_call_stands(
    settings, line, open_desk, rep, django_capture_on_commit_callbacks
):
    settings.WALKIN_SMS_SENDER = "tests.queueing.test_messaging.BrokenSender"
    ticket_step_away(ticket=line[4])
    call(open_desk, rep, django_capture_on_commit_callbacks)
    message = TextMessage.objects.get()
    assert message.status == TextMessage.Status.FAILED
    assert "gateway down" in message.error


def test_default_sender_keeps_the_text_in_the_outbox_in_the_visitors_language(
    settings, center, case_type, reception, open_desk, rep, django_capture_on_commit_callbacks
):
    settings.WALKIN_SMS_SENDER = "queueing.messaging.OutboxSender"
    ticket = checkin_issue_ticket(
        center=center,
        checkin=dataclasses.replace(
            CheckIn(
                full_name="Wang Fang",
                purpose="CASE",
                screening_passed=True,
                items_stored=False,
                recording_rule_acknowledged=True,
                case_type=case_type,
                complaint={"registration_year": "2011"},
                complaint_text="x",
            ),
            phone="13800001234",
            texts_consent=True,
            language="zh-hans",
        ),
        by=reception,
    ).ticket
    ticket_step_away(ticket=ticket)
    message = TextMessage.objects.get()
    assert message.status == TextMessage.Status.PENDING  # not committed yet in this test
    assert message.language == "zh-hans"
    assert ticket.code in message.body


def test_consent_needs_a_phone(center, case_type, reception):
    with pytest.raises(DomainError):
        check_in(center, case_type, reception, name="No phone", consent=True, phone="")
    assert not TextConsent.objects.exists()


def test_kiosk_form_consent_is_off_by_default_and_needs_a_phone(case_type):
    form = KioskForm()
    assert form["texts_consent"].value() in (None, False)
    data = {
        "full_name": "Li",
        "language": "en",
        "purpose": "CASE",
        "screening_passed": "on",
        "recording_rule_acknowledged": "on",
        "case_type": case_type.code,
        "complaint_registration_year": "2011",
        "complaint_text": "x",
        "texts_consent": "on",
    }
    form = KioskForm(data)
    assert not form.is_valid()
    assert "phone" in form.errors
    form = KioskForm({**data, "phone": "13800001234", "assisted_by_staff": "on"})
    assert form.is_valid(), form.errors
    checkin = form.to_checkin()
    assert checkin.texts_consent
    assert checkin.assisted_by_staff
