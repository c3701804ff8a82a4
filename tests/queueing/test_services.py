"""Queue services against the real database: every transition, its refusals, the event
log and its publication, the audit trail and the visitor's status-page token."""

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.db import transaction

from center.clock import FixedClock, use_clock
from center.errors import DomainError
from center.models import (
    AuditEvent,
    Case,
    CaseType,
    Center,
    PlatformAccount,
    Resolution,
    Visit,
    Visitor,
)
from queueing import events
from queueing.models import DailyCounter, Desk, PriorityClass, Service, Ticket, TicketEvent
from queueing.selectors import day_kpis, ticket_by_token
from queueing.services import (
    CheckIn,
    checkin_issue_ticket,
    desk_close,
    desk_open,
    desk_pause,
    ticket_call_next,
    ticket_cancel,
    ticket_no_show,
    ticket_recall,
    ticket_resolve,
    ticket_start_serving,
    ticket_transfer,
    ticket_walkout,
)
from tests.center.factories import CaseTypeFactory, CenterFactory
from tests.queueing.factories import ServiceFactory, issue, serve_next

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def shanghai(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A local time in the center's zone, as the system clock gives it: in UTC."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


MORNING = shanghai(2, 10)  # a Monday


def checkin(case_type, **overrides) -> CheckIn:
    values = {
        "full_name": "Wang Fang",
        "purpose": "CASE",
        "screening_passed": True,
        "items_stored": False,
        "recording_rule_acknowledged": True,
        "case_type": case_type,
        "complaint": {"registration_year": "2012"},
        "complaint_text": "My account was locked after I changed phones.",
    }
    return CheckIn(**(values | overrides))


def ticket_state(ticket: Ticket) -> Ticket:
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def published():
    """Payloads handed to the event listeners, i.e. published after a commit."""
    received: list[dict] = []
    listener = received.append
    events.listeners.append(listener)
    yield received
    events.listeners.remove(listener)


@dataclass
class Floor:
    """The test center with its open desk 1 (accounts and wallet) and its operator."""

    center: Center
    case_type: CaseType
    wallet_case_type: CaseType
    wallet_service: Service
    desk: Desk

    @property
    def rep(self):
        return self.desk.operator


@pytest.fixture
def floor(center, case_type, wallet_case_type, wallet_service, open_desk) -> Floor:
    return Floor(center, case_type, wallet_case_type, wallet_service, open_desk)


@pytest.fixture
def called(issued, open_desk, rep):
    """The issued ticket, called to the open desk."""
    return ticket_call_next(desk=open_desk, by=rep)


@pytest.fixture
def serving(called, open_desk, rep):
    """The called visitor, at the desk: service started, so a decision can be made."""
    return ticket_start_serving(desk=open_desk, by=rep)


# Numbering -------------------------------------------------------------------------


def test_numbers_count_up_per_service(center, case_type, wallet_case_type):
    codes = [issue(center, case_type).ticket.code for _ in range(2)]
    codes.append(issue(center, wallet_case_type).ticket.code)
    codes.append(issue(center, case_type).ticket.code)
    assert codes == ["A001", "A002", "W001", "A003"]


def test_numbering_follows_the_center_service_day_not_utc(center, case_type, accounts_service):
    # 01:00 and 17:00 in Shanghai on 3 March are different UTC days but one service day.
    with use_clock(FixedClock(shanghai(3, 1))) as clock:
        first = issue(center, case_type).ticket
        clock.advance(hours=16)
        second = issue(center, case_type).ticket
    assert (first.code, second.code) == ("A001", "A002")
    assert first.service_date == second.service_date == dt.date(2026, 3, 3)


def test_numbering_restarts_at_local_midnight(center, case_type, accounts_service):
    # 23:50 on 2 March and 00:10 on 3 March in Shanghai fall on the same UTC day.
    with use_clock(FixedClock(shanghai(2, 23, 50))) as clock:
        evening = [issue(center, case_type).ticket for _ in range(2)]
        clock.advance(minutes=20)
        after_midnight = issue(center, case_type).ticket
    assert [t.code for t in evening] == ["A001", "A002"]
    assert after_midnight.code == "A001"
    assert after_midnight.service_date == dt.date(2026, 3, 3)
    assert DailyCounter.objects.filter(service=accounts_service).count() == 2


# Calling ---------------------------------------------------------------------------


def test_call_next_claims_the_ticket_for_the_desk(issued, open_desk, rep):
    with use_clock(FixedClock(MORNING)):
        ticket = ticket_call_next(desk=open_desk, by=rep)
    assert ticket == issued.ticket
    ticket = ticket_state(ticket)
    assert ticket.status == Ticket.Status.CALLED
    assert ticket.desk == open_desk
    assert ticket.called_at == MORNING
    assert ticket.call_count == 1


def test_call_next_logs_the_call_as_every_step_is_logged(
    issued, open_desk, rep, published, django_capture_on_commit_callbacks
):
    """On PostgreSQL the claim writes its audit entry and event itself, in one statement:
    the rows and the publication are those any other step writes through ``_transition``."""
    last_seq = TicketEvent.objects.filter(center=open_desk.center).latest("seq").seq
    with use_clock(FixedClock(MORNING)), django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_call_next(desk=open_desk, by=rep)
    audit = AuditEvent.objects.get(action="ticket.called")
    assert (audit.center, audit.actor, audit.subject, audit.details, audit.at) == (
        open_desk.center,
        rep,
        f"ticket:{ticket.code}",
        {"desk": open_desk.number},
        MORNING,
    )
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.CALLED)
    assert (event.seq, event.desk, event.actor, event.at, event.data) == (
        last_seq + 1,
        open_desk,
        rep,
        MORNING,
        {},
    )
    called = next(payload for payload in published if payload["kind"] == "CALLED")
    assert called == events.event_payload(event)
    assert (called["status"], called["desk"], called["ticket"]) == (
        Ticket.Status.CALLED,
        open_desk.number,
        ticket.code,
    )


def test_call_next_only_takes_tickets_the_desk_has_the_skill_for(
    center, case_type, wallet_case_type, desk2, rep2
):
    wallet = issue(center, wallet_case_type).ticket
    accounts = issue(center, case_type).ticket
    desk = desk_open(desk=desk2, by=rep2)  # accounts only
    assert ticket_call_next(desk=desk, by=rep2) == accounts
    ticket_no_show(desk=desk, by=rep2)
    assert ticket_call_next(desk=desk, by=rep2) is None
    assert ticket_state(wallet).status == Ticket.Status.WAITING


def test_priority_goes_ahead_of_a_standard_visitor_who_came_shortly_before(
    center, case_type, open_desk, rep
):
    with use_clock(FixedClock(MORNING)) as clock:
        standard = issue(center, case_type, name="Standard").ticket
        clock.advance(minutes=5)
        priority = issue(center, case_type, name="Elderly", needs=("ELDERLY",)).ticket
    assert priority.priority == PriorityClass.PRIORITY
    assert standard.priority == PriorityClass.STANDARD
    assert ticket_call_next(desk=open_desk, by=rep) == priority


def test_priority_never_goes_ahead_of_a_standard_visitor_who_waited_longer(
    center, case_type, open_desk, rep
):
    with use_clock(FixedClock(MORNING)) as clock:
        standard = issue(center, case_type, name="Standard").ticket
        clock.advance(minutes=11)
        issue(center, case_type, name="Guardian", needs=("MINOR_WITH_GUARDIAN",))
    assert ticket_call_next(desk=open_desk, by=rep) == standard


def test_language_help_alone_is_not_a_priority(center, case_type):
    ticket = issue(center, case_type, needs=("LANGUAGE",)).ticket
    assert ticket.priority == PriorityClass.STANDARD


def test_nothing_waiting_returns_none(open_desk, rep):
    assert ticket_call_next(desk=open_desk, by=rep) is None


def test_paused_desk_cannot_call(issued, open_desk, rep):
    desk_pause(desk=open_desk, by=rep)
    with pytest.raises(DomainError, match="Open the desk"):
        ticket_call_next(desk=open_desk, by=rep)
    assert ticket_state(issued.ticket).status == Ticket.Status.WAITING


def test_closed_desk_cannot_call(issued, desk, rep):
    with pytest.raises(DomainError):
        ticket_call_next(desk=desk, by=rep)
    assert ticket_state(issued.ticket).status == Ticket.Status.WAITING


def test_only_the_operator_can_call_at_a_desk(issued, open_desk, rep2):
    with pytest.raises(DomainError, match="not operating"):
        ticket_call_next(desk=open_desk, by=rep2)
    assert ticket_state(issued.ticket).status == Ticket.Status.WAITING


def test_desk_with_an_active_ticket_cannot_call_another(center, case_type, called, open_desk, rep):
    waiting = issue(center, case_type, name="Next").ticket
    with pytest.raises(DomainError, match="Finish the current visitor"):
        ticket_call_next(desk=open_desk, by=rep)
    ticket_start_serving(desk=open_desk, by=rep)
    with pytest.raises(DomainError, match="Finish the current visitor"):
        ticket_call_next(desk=open_desk, by=rep)
    assert ticket_state(waiting).status == Ticket.Status.WAITING


def test_call_next_ignores_other_centers(case_type, accounts_service, open_desk, rep):
    other = CenterFactory(slug="other-center")
    ServiceFactory(center=other, code="ACCOUNTS", prefix="A")
    foreign = issue(other, case_type).ticket
    assert ticket_call_next(desk=open_desk, by=rep) is None
    assert ticket_state(foreign).status == Ticket.Status.WAITING


# Recall, no-show, serving ------------------------------------------------------------


def test_recall_up_to_three_calls_then_no_show(called, open_desk, rep):
    assert ticket_recall(desk=open_desk, by=rep).call_count == 2
    assert ticket_recall(desk=open_desk, by=rep).call_count == 3
    assert ticket_state(called).status == Ticket.Status.CALLED
    ticket = ticket_recall(desk=open_desk, by=rep)
    assert ticket.status == Ticket.Status.NO_SHOW
    ticket = ticket_state(called)
    assert ticket.status == Ticket.Status.NO_SHOW
    assert ticket.call_count == 3
    assert ticket.finished_at is not None
    kinds = list(TicketEvent.objects.filter(ticket=called).values_list("kind", flat=True))
    assert kinds == ["ISSUED", "CALLED", "RECALLED", "RECALLED", "NO_SHOW"]
    with pytest.raises(DomainError, match="no visitor"):
        ticket_recall(desk=open_desk, by=rep)


def test_recall_refused_once_service_started(called, open_desk, rep):
    ticket_start_serving(desk=open_desk, by=rep)
    with pytest.raises(DomainError):
        ticket_recall(desk=open_desk, by=rep)
    assert ticket_state(called).call_count == 1


def test_no_show_frees_the_desk(center, case_type, called, open_desk, rep):
    following = issue(center, case_type, name="Next").ticket
    ticket_no_show(desk=open_desk, by=rep)
    assert ticket_state(called).status == Ticket.Status.NO_SHOW
    assert ticket_call_next(desk=open_desk, by=rep) == following


def test_no_show_needs_a_called_visitor(open_desk, rep):
    with pytest.raises(DomainError):
        ticket_no_show(desk=open_desk, by=rep)


def test_start_serving(called, open_desk, rep):
    with use_clock(FixedClock(MORNING)):
        ticket_start_serving(desk=open_desk, by=rep)
    ticket = ticket_state(called)
    assert ticket.status == Ticket.Status.SERVING
    assert ticket.serving_at == MORNING
    with pytest.raises(DomainError):
        ticket_start_serving(desk=open_desk, by=rep)


def test_another_representative_cannot_act_on_my_visitor(called, open_desk, rep2):
    for action in (ticket_recall, ticket_no_show, ticket_start_serving):
        with pytest.raises(DomainError, match="not operating"):
            action(desk=open_desk, by=rep2)
    assert ticket_state(called).status == Ticket.Status.CALLED


# Transfer --------------------------------------------------------------------------


def test_transfer_moves_the_visitor_and_the_status_page(
    issued, called, open_desk, rep, wallet_service
):
    ticket_start_serving(desk=open_desk, by=rep)
    new = ticket_transfer(desk=open_desk, service=wallet_service, by=rep)
    old = ticket_state(called)
    assert old.status == Ticket.Status.TRANSFERRED
    assert old.finished_at is not None
    assert old.token_hash is None
    assert new.status == Ticket.Status.WAITING
    assert new.service == wallet_service
    assert new.code == "W001"
    assert new.case == old.case
    assert new.transferred_from == old
    assert new.rank_at == old.rank_at
    assert ticket_by_token(issued.token) == new


def test_transferred_priority_visitor_keeps_their_place_not_a_second_head_start(floor, desk2, rep2):
    accounts_desk = desk_open(desk=desk2, by=rep2)
    with use_clock(FixedClock(MORNING)) as clock:
        clock.advance(minutes=2)
        standard = issue(floor.center, floor.wallet_case_type, name="Wallet visitor").ticket
        clock.advance(minutes=13)
        elderly = issue(floor.center, floor.case_type, name="Elderly", needs=("ELDERLY",)).ticket
        assert ticket_call_next(desk=accounts_desk, by=rep2) == elderly
        clock.advance(minutes=3)
        transferred = ticket_transfer(desk=accounts_desk, service=floor.wallet_service, by=rep2)
    assert transferred.rank_at == elderly.rank_at == MORNING + dt.timedelta(minutes=5)
    # The standard visitor came 13 minutes before the elderly one: more than the head start.
    assert ticket_call_next(desk=floor.desk, by=floor.rep) == standard


def test_transfer_to_the_same_service_is_refused(called, open_desk, rep, accounts_service):
    with pytest.raises(DomainError, match="already in that service"):
        ticket_transfer(desk=open_desk, service=accounts_service, by=rep)
    assert ticket_state(called).status == Ticket.Status.CALLED


def test_transfer_to_another_centers_service_is_refused(called, open_desk, rep):
    other = CenterFactory(slug="elsewhere")
    foreign = ServiceFactory(center=other, code="WALLET", prefix="W")
    with pytest.raises(DomainError, match="another center"):
        ticket_transfer(desk=open_desk, service=foreign, by=rep)
    assert ticket_state(called).status == Ticket.Status.CALLED
    assert Ticket.objects.count() == 1


# Resolve ---------------------------------------------------------------------------


def test_resolve_restores_the_account_and_records_why_it_was_suspended(
    center, case_type, account, open_desk, rep
):
    ticket = issue(center, case_type, account_handle=account.handle).ticket
    ticket_call_next(desk=open_desk, by=rep)
    ticket_start_serving(desk=open_desk, by=rep)
    resolution = ticket_resolve(
        desk=open_desk,
        outcome="RESTORED",
        reason_code="",
        explanation="  Ownership confirmed with the ID card.  ",
        by=rep,
    )
    ticket = ticket_state(ticket)
    account.refresh_from_db()
    assert ticket.status == Ticket.Status.DONE
    assert ticket.finished_at is not None
    assert ticket.case.status == Case.Status.RESOLVED
    assert resolution.case == ticket.case
    assert resolution.reason_code == "UNVERIFIED_OWNERSHIP"
    assert resolution.explanation == "Ownership confirmed with the ID card."
    assert resolution.decided_by == rep
    assert (resolution.account_status_before, resolution.account_status_after) == (
        "SUSPENDED",
        "ACTIVE",
    )
    assert account.status == PlatformAccount.Status.ACTIVE
    assert account.suspension_reason == "NONE"
    assert account.suspended_at is None


def test_resolving_a_merely_called_visitor_is_refused_and_writes_nothing(
    center, case_type, account, open_desk, rep
):
    ticket = issue(center, case_type, account_handle=account.handle).ticket
    ticket_call_next(desk=open_desk, by=rep)
    audits, events = AuditEvent.objects.count(), TicketEvent.objects.count()

    with pytest.raises(
        DomainError, match=re.escape("Start the service when the visitor is at the desk.")
    ):
        ticket_resolve(
            desk=open_desk, outcome="RESTORED", reason_code="", explanation="Ok.", by=rep
        )

    ticket = ticket_state(ticket)
    account.refresh_from_db()
    assert not Resolution.objects.exists()
    assert ticket.status == Ticket.Status.CALLED
    assert ticket.desk == open_desk
    assert ticket.serving_at is None
    assert ticket.finished_at is None
    assert ticket.case.status == Case.Status.OPEN
    assert account.status == PlatformAccount.Status.SUSPENDED
    assert account.suspension_reason == "UNVERIFIED_OWNERSHIP"
    assert (AuditEvent.objects.count(), TicketEvent.objects.count()) == (audits, events)


def test_denied_leaves_the_account_as_it_was(center, case_type, account, open_desk, rep):
    issue(center, case_type, account_handle=account.handle)
    serve_next(open_desk, rep)
    resolution = ticket_resolve(
        desk=open_desk, outcome="DENIED", reason_code="SPAM", explanation="Policy.", by=rep
    )
    account.refresh_from_db()
    assert account.status == PlatformAccount.Status.SUSPENDED
    assert resolution.reason_code == "SPAM"
    assert resolution.account_status_after == "SUSPENDED"


def test_referral_marks_the_case_referred(serving, open_desk, rep):
    ticket_resolve(
        desk=open_desk,
        outcome="REFERRED",
        reason_code="",
        explanation="Specialist.",
        by=rep,
        callback_phone="+86 138 0000 0000",  # a referral promises a callback
    )
    assert ticket_state(serving).case.status == Case.Status.REFERRED


def test_resolve_refusal_changes_nothing(serving, open_desk, rep):
    with pytest.raises(DomainError, match="Link the visitor's platform account"):
        ticket_resolve(
            desk=open_desk, outcome="RESTORED", reason_code="", explanation="Ok.", by=rep
        )
    ticket = ticket_state(serving)
    assert ticket.status == Ticket.Status.SERVING
    assert ticket.case.status == Case.Status.OPEN
    assert not Resolution.objects.exists()


def test_resolve_needs_a_visitor_at_the_desk(issued, open_desk, rep):
    with pytest.raises(DomainError, match="no visitor"):
        ticket_resolve(desk=open_desk, outcome="DENIED", reason_code="", explanation="No.", by=rep)
    assert not Resolution.objects.exists()


# Cancel and walkout ------------------------------------------------------------------


def test_visitor_cancels_a_waiting_ticket(issued):
    ticket = ticket_cancel(ticket=issued.ticket)
    assert ticket.status == Ticket.Status.CANCELLED
    assert ticket_state(issued.ticket).case.status == Case.Status.CANCELLED


def test_cannot_cancel_once_called(called):
    with pytest.raises(DomainError, match="Only a waiting ticket"):
        ticket_cancel(ticket=called)
    assert ticket_state(called).status == Ticket.Status.CALLED


def test_cannot_cancel_twice(issued):
    ticket_cancel(ticket=issued.ticket)
    with pytest.raises(DomainError):
        ticket_cancel(ticket=issued.ticket)


def test_walkout_of_a_waiting_visitor(issued, reception):
    ticket = ticket_walkout(ticket=issued.ticket, by=reception)
    assert ticket_state(ticket).status == Ticket.Status.WALKOUT
    assert AuditEvent.objects.filter(
        action="ticket.walkout", actor=reception, subject=f"ticket:{ticket.code}"
    ).exists()


def test_walkout_only_while_waiting(called, reception):
    with pytest.raises(DomainError, match="Only a waiting visitor"):
        ticket_walkout(ticket=called, by=reception)
    assert ticket_state(called).status == Ticket.Status.CALLED


# Desks -----------------------------------------------------------------------------


def test_open_pause_close(desk, rep):
    with use_clock(FixedClock(MORNING)):
        desk = desk_open(desk=desk, by=rep)
    assert (desk.status, desk.operator, desk.status_changed_at) == ("OPEN", rep, MORNING)
    assert desk_pause(desk=desk, by=rep).status == Desk.Status.PAUSED
    assert desk_open(desk=desk, by=rep).status == Desk.Status.OPEN
    desk_close(desk=desk, by=rep)
    desk.refresh_from_db()
    assert desk.status == Desk.Status.CLOSED
    assert desk.operator is None
    statuses = [e.data["status"] for e in TicketEvent.objects.filter(kind="DESK_CHANGED")]
    assert statuses == ["OPEN", "PAUSED", "OPEN", "CLOSED"]


def test_cannot_close_with_an_active_ticket(called, open_desk, rep):
    with pytest.raises(DomainError, match="before closing"):
        desk_close(desk=open_desk, by=rep)
    open_desk.refresh_from_db()
    assert open_desk.status == Desk.Status.OPEN


def test_cannot_take_over_or_close_another_representatives_desk(open_desk, rep, rep2):
    with pytest.raises(DomainError, match="Another representative"):
        desk_open(desk=open_desk, by=rep2)
    with pytest.raises(DomainError, match="not operating"):
        desk_pause(desk=open_desk, by=rep2)
    with pytest.raises(DomainError, match="not operating"):
        desk_close(desk=open_desk, by=rep2)
    open_desk.refresh_from_db()
    assert (open_desk.status, open_desk.operator) == (Desk.Status.OPEN, rep)


def test_a_closed_desk_can_be_opened_by_someone_else(open_desk, rep, rep2):
    desk_close(desk=open_desk, by=rep)
    desk = desk_open(desk=open_desk, by=rep2)
    assert (desk.status, desk.operator) == (Desk.Status.OPEN, rep2)


def test_one_open_desk_per_representative(open_desk, desk2, rep):
    with pytest.raises(DomainError, match="Close your other desk"):
        desk_open(desk=desk2, by=rep)
    desk_close(desk=open_desk, by=rep)
    assert desk_open(desk=desk2, by=rep).operator == rep


# Check-in: idempotency and all-or-nothing ------------------------------------------------


def test_same_idempotency_key_checks_in_once(center, case_type, reception):
    first = checkin_issue_ticket(
        center=center, checkin=checkin(case_type, idempotency_key="kiosk-1-abc"), by=reception
    )
    again = checkin_issue_ticket(
        center=center, checkin=checkin(case_type, idempotency_key="kiosk-1-abc"), by=reception
    )
    assert first.token
    assert again.token is None
    assert again.ticket == first.ticket
    assert Visitor.objects.count() == Visit.objects.count() == 1
    assert Case.objects.count() == Ticket.objects.count() == 1


def test_different_idempotency_keys_are_different_visitors(center, case_type):
    for key in ("kiosk-1-abc", "kiosk-1-abd"):
        checkin_issue_ticket(
            center=center, checkin=checkin(case_type, idempotency_key=key), by=None
        )
    assert Ticket.objects.count() == 2


def _nothing_written() -> None:
    assert not Visitor.objects.exists()
    assert not Visit.objects.exists()
    assert not Case.objects.exists()
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()
    assert not AuditEvent.objects.exists()


def test_invalid_complaint_leaves_no_visit_behind(center, case_type, reception):
    with pytest.raises(DomainError, match="Year registered"):
        checkin_issue_ticket(center=center, checkin=checkin(case_type, complaint={}), by=reception)
    _nothing_written()


def test_failure_at_the_ticket_step_rolls_back_visit_and_case(center, accounts_service):
    orphan_type = CaseTypeFactory(code="NO_DESK", skill="NOBODY", intake_fields=[])
    with pytest.raises(DomainError, match="No service"):
        checkin_issue_ticket(
            center=center, checkin=checkin(orphan_type, idempotency_key="k-1"), by=None
        )
    _nothing_written()
    # The failed attempt did not reserve its key.
    issued = checkin_issue_ticket(
        center=center,
        checkin=checkin(CaseTypeFactory(), idempotency_key="k-1"),
        by=None,
    )
    assert issued.token


def test_refused_security_check_in_issues_nothing(center, case_type):
    with pytest.raises(DomainError, match="security screening"):
        checkin_issue_ticket(
            center=center, checkin=checkin(case_type, screening_passed=False), by=None
        )
    _nothing_written()


# Event log and publication -------------------------------------------------------------


def _run_a_morning(floor: Floor) -> None:
    desk, rep = floor.desk, floor.rep
    issue(floor.center, floor.case_type, name="One")
    issue(floor.center, floor.case_type, name="Two")
    ticket_call_next(desk=desk, by=rep)
    ticket_recall(desk=desk, by=rep)
    with pytest.raises(DomainError):
        ticket_call_next(desk=desk, by=rep)
    ticket_start_serving(desk=desk, by=rep)
    ticket_transfer(desk=desk, service=floor.wallet_service, by=rep)
    serve_next(desk, rep)
    ticket_resolve(desk=desk, outcome="GUIDANCE_GIVEN", reason_code="", explanation="Ok.", by=rep)


def test_event_log_is_gap_free_and_increasing_per_center(floor):
    other = CenterFactory(slug="other-center")
    ServiceFactory(center=other, code="ACCOUNTS", prefix="A")
    issue(other, floor.case_type)
    _run_a_morning(floor)
    issue(other, floor.case_type)
    ours = list(TicketEvent.objects.filter(center=floor.center).order_by("id").values_list("seq"))
    theirs = list(TicketEvent.objects.filter(center=other).order_by("id").values_list("seq"))
    assert [seq for (seq,) in ours] == list(range(1, len(ours) + 1))
    assert [seq for (seq,) in theirs] == [1, 2]
    assert len(ours) >= 10


def test_events_are_published_only_after_commit(
    floor, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _run_a_morning(floor)
        assert published == []
    logged = list(TicketEvent.objects.filter(center=floor.center).order_by("seq"))
    # The desk was opened by a fixture, outside the capture.
    assert [p["seq"] for p in published] == [e.seq for e in logged[1:]]
    assert [p["kind"] for p in published] == [e.kind for e in logged[1:]]
    called = next(p for p in published if p["kind"] == "CALLED")
    assert called["ticket"] == "A001"
    assert called["status"] == "CALLED"
    assert called["desk"] == floor.desk.number
    assert called["center"] == floor.center.pk


def test_a_rolled_back_change_is_never_published(
    issued, open_desk, rep, published, django_capture_on_commit_callbacks
):
    def call_then_fail() -> None:
        with transaction.atomic():
            ticket_call_next(desk=open_desk, by=rep)
            raise RuntimeError("the request failed after the call")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        call_then_fail()
    assert callbacks == []
    assert published == []
    assert ticket_state(issued.ticket).status == Ticket.Status.WAITING


@pytest.mark.django_db(transaction=True)
def test_publication_waits_for_the_real_commit(center, case_type, open_desk, rep, published):
    issue(center, case_type)
    published.clear()
    with transaction.atomic():
        ticket = ticket_call_next(desk=open_desk, by=rep)
        assert published == []
    assert [(p["kind"], p["ticket"], p["status"]) for p in published] == [
        ("CALLED", ticket.code, "CALLED")
    ]
    assert published[0]["seq"] == TicketEvent.objects.get(kind="CALLED").seq


# Audit trail -------------------------------------------------------------------------


def test_staff_actions_are_audited(floor, account):
    open_desk, rep = floor.desk, floor.rep
    issue(floor.center, floor.case_type, account_handle=account.handle)
    ticket_call_next(desk=open_desk, by=rep)
    ticket_recall(desk=open_desk, by=rep)
    ticket_start_serving(desk=open_desk, by=rep)
    ticket_transfer(desk=open_desk, service=floor.wallet_service, by=rep)
    serve_next(open_desk, rep)
    ticket_resolve(
        desk=open_desk, outcome="RESTORED", reason_code="", explanation="Verified.", by=rep
    )
    desk_close(desk=open_desk, by=rep)
    actions = list(AuditEvent.objects.filter(actor=rep).order_by("id").values_list("action"))
    assert [a for (a,) in actions] == [
        "desk.open",
        "ticket.called",
        "ticket.recalled",
        "ticket.serving",
        "ticket.transferred",
        "ticket.called",
        "ticket.serving",
        "case.resolved",
        "desk.closed",
    ]
    resolved = AuditEvent.objects.get(action="case.resolved")
    assert resolved.details["account_before"] == "SUSPENDED"
    assert resolved.details["account_after"] == "ACTIVE"


def test_audit_and_ticket_events_are_append_only(issued, reception):
    audit = AuditEvent.objects.filter(action="visit.checked_in").get()
    event = TicketEvent.objects.get(ticket=issued.ticket)
    for record in (audit, event):
        with pytest.raises(PermissionError):
            record.save()
        with pytest.raises(PermissionError):
            record.delete()
    audit.action = "visit.erased"
    with pytest.raises(PermissionError):
        audit.save()
    assert AuditEvent.objects.filter(action="visit.checked_in").count() == 1
    assert TicketEvent.objects.filter(ticket=issued.ticket, kind="ISSUED").count() == 1


@pytest.mark.parametrize("model", [AuditEvent, TicketEvent])
def test_logs_refuse_bulk_updates_and_deletes(issued, model):
    rows = model.objects.all()
    with pytest.raises(PermissionError):
        rows.update(at=issued.ticket.issued_at)
    with pytest.raises(PermissionError):
        rows.delete()
    assert rows.count() >= 1


# Status-page token -------------------------------------------------------------------


def test_token_opens_the_ticket_until_the_end_of_the_service_day(center, case_type):
    with use_clock(FixedClock(shanghai(2, 9))) as clock:
        issued = issue(center, case_type)
        assert ticket_by_token(issued.token) == issued.ticket
        clock.advance(hours=14, minutes=59)  # 23:59 local
        assert ticket_by_token(issued.token) == issued.ticket
        clock.advance(minutes=1)  # midnight in Shanghai, still 2 March in UTC
        assert ticket_by_token(issued.token) is None


@pytest.mark.parametrize("token", ["", "not-the-token", "x" * 65])
def test_wrong_token_opens_nothing(issued, token):
    assert ticket_by_token(token) is None


def test_token_is_not_stored_in_clear(issued):
    assert issued.token not in ticket_state(issued.ticket).token_hash
    assert Ticket.objects.filter(token_hash=issued.token).count() == 0


def test_the_days_wait_ends_at_the_first_call_not_at_a_recall(center, case_type, open_desk, rep):
    with use_clock(FixedClock(shanghai(2, 9))) as clock:
        issue(center, case_type)
        clock.advance(minutes=5)
        ticket_call_next(desk=open_desk, by=rep)
        clock.advance(minutes=10)
        ticket_recall(desk=open_desk, by=rep)
        kpis = day_kpis(center)
    assert kpis.mean_wait_s == 300
    assert kpis.p90_wait_s == 300
