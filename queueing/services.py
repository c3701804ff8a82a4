"""Writes of the queue: every function is one transaction and appends to the event log.

Claiming a ticket is the heart of it: two desks that call at the same instant never get
the same visitor. The claim is one UPDATE whose subquery picks the candidate: on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so desks pass over each other's candidates
instead of waiting; on SQLite every transaction is ``BEGIN IMMEDIATE`` (settings), which
serialises writers. The database's one active ticket per desk backs it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from center import clock
from center.db import literal, prepared_cursor
from center.errors import DomainError
from center.models import (
    AssistanceNeed,
    AuditEvent,
    Callback,
    Case,
    CaseType,
    Center,
    Resolution,
    Visit,
)
from center.services import (
    audit_record,
    case_open,
    case_resolve,
    visit_check_in,
    visit_turn_away,
)
from queueing import engine
from queueing.events import (
    SEQUENCE_LOCK_CTE,
    new_event_payload,
    ticket_event_append,
    ticket_event_written,
)
from queueing.messaging import text_consent_give, texts_after_transition
from queueing.models import (
    MAX_CALLS,
    DailyCounter,
    Desk,
    Feedback,
    Notice,
    PriorityClass,
    Service,
    Ticket,
    TicketEvent,
)

PRIORITY_NEEDS = frozenset(
    {AssistanceNeed.ELDERLY, AssistanceNeed.DISABILITY, AssistanceNeed.MINOR_WITH_GUARDIAN}
)


@dataclass(frozen=True)
class IssuedTicket:
    """A ticket and the raw token of its status page. The token is None when a retried
    submission got the ticket of the first one: the token was handed out then, and only
    its hash is kept."""

    ticket: Ticket
    token: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def service_date(center: Center, at: dt.datetime | None = None) -> dt.date:
    return (at or clock.now()).astimezone(center.tzinfo).date()


def _end_of_service_day(center: Center, at: dt.datetime) -> dt.datetime:
    local = at.astimezone(center.tzinfo)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), center.tzinfo)
    return midnight


_NEXT_NUMBER_SQL = (
    f"UPDATE {DailyCounter._meta.db_table} SET last_number = last_number + 1"  # noqa: S608 - a table name, no input
    " WHERE center_id = %s AND service_id = %s AND service_date = %s RETURNING last_number"
)


def _next_number(center: Center, service: Service, day: dt.date) -> int:
    """The day's next number of the service: the counter moved and read in one statement,
    under its row lock until commit."""
    params = [center.pk, service.pk, day]
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_NUMBER_SQL, params)
        row = cursor.fetchone()
        if row is None:
            DailyCounter.objects.get_or_create(center=center, service=service, service_date=day)
            cursor.execute(_NEXT_NUMBER_SQL, params)
            row = cursor.fetchone()
    return row[0]


def service_for_case_type(center: Center, case_type: CaseType) -> Service:
    service = Service.objects.filter(center=center, code=case_type.skill).first()
    if service is None:
        raise DomainError(_("No service of this center handles that case type."))
    return service


def priority_for(visit: Visit) -> int:
    if PRIORITY_NEEDS.intersection(visit.assistance_needs):
        return PriorityClass.PRIORITY
    return PriorityClass.STANDARD


def _create_ticket(
    *,
    case: Case,
    service: Service,
    priority: int,
    language: str,
    by: Any,
    transferred_from: Ticket | None = None,
    token_hash: str | None = None,
    token_expires_at: dt.datetime | None = None,
) -> Ticket:
    center = case.center
    now = clock.now()
    day = service_date(center, now)
    number = _next_number(center, service, day)
    ticket = Ticket.objects.create(
        center=center,
        service=service,
        case=case,
        service_date=day,
        number=number,
        code=engine.ticket_code(service.prefix, number),
        priority=priority,
        # A transferred visitor keeps the rank (head start included) of their first ticket.
        rank_at=transferred_from.rank_at if transferred_from else engine.rank_at(now, priority),
        issued_at=now,
        language=language,
        token_hash=token_hash,
        token_expires_at=token_expires_at,
        transferred_from=transferred_from,
    )
    # The check-in and the case opening are audited by the front desk's own services.
    _transition(ticket, "ISSUED", by=by, audited=False, service=service.code, priority=priority)
    return ticket


def ticket_issue(
    *, case: Case, priority: int = PriorityClass.STANDARD, language: str = "en", by: Any
) -> IssuedTicket:
    """Issues the queue ticket of a case, with the secret token of its status page."""
    token = secrets.token_urlsafe(24)
    # A returning visitor goes back to the line of the case they continue.
    service = service_for_case_type(
        case.center, case.follows.case_type if case.follows_id else case.case_type
    )
    # Nested in a check-in, no savepoint: the refusal above comes before it, and no caller
    # goes on with a transaction that failed in here.
    with transaction.atomic(savepoint=False):
        ticket = _create_ticket(
            case=case,
            service=service,
            priority=priority,
            language=language,
            by=by,
            token_hash=hash_token(token),
            token_expires_at=_end_of_service_day(case.center, clock.now()),
        )
    return IssuedTicket(ticket=ticket, token=token)


@dataclass(frozen=True)
class CheckIn:
    """Everything the kiosk collects at the door for a visitor with a case."""

    full_name: str
    purpose: str
    screening_passed: bool
    items_stored: bool
    recording_rule_acknowledged: bool
    case_type: CaseType
    complaint: dict[str, Any]
    complaint_text: str
    phone: str = ""
    language: str = "en"
    locker_tag: str = ""
    account_handle: str = ""
    assistance_needs: tuple[str, ...] = ()
    assisted_by_staff: bool = False
    # Explicit agreement to texts on ``phone`` when away and it is almost the turn.
    texts_consent: bool = False
    idempotency_key: str | None = None


def checkin_issue_ticket(*, center: Center, checkin: CheckIn, by: Any) -> IssuedTicket:
    """The kiosk's one write: visit, case and ticket together, or none of them.

    A retried or double-clicked submission with the same idempotency key gets the ticket
    of the first one, without a token.
    """
    if checkin.idempotency_key:
        earlier = _ticket_for_idempotency_key(checkin.idempotency_key)
        if earlier is not None:
            return earlier
    try:
        with transaction.atomic():
            visit = visit_check_in(
                center=center,
                full_name=checkin.full_name,
                phone=checkin.phone,
                language=checkin.language,
                purpose=checkin.purpose,
                screening_passed=checkin.screening_passed,
                items_stored=checkin.items_stored,
                locker_tag=checkin.locker_tag,
                recording_rule_acknowledged=checkin.recording_rule_acknowledged,
                assistance_needs=checkin.assistance_needs,
                assisted_by_staff=checkin.assisted_by_staff,
                idempotency_key=checkin.idempotency_key,
                by=by,
            )
            case = case_open(
                visit=visit,
                case_type=checkin.case_type,
                complaint=checkin.complaint,
                complaint_text=checkin.complaint_text,
                account_handle=checkin.account_handle,
                by=by,
            )
            if checkin.texts_consent:
                text_consent_give(
                    case=case, phone=checkin.phone, assisted_by_staff=checkin.assisted_by_staff
                )
            return ticket_issue(
                case=case, priority=priority_for(visit), language=checkin.language, by=by
            )
    except IntegrityError:
        earlier = (
            _ticket_for_idempotency_key(checkin.idempotency_key)
            if checkin.idempotency_key
            else None
        )
        if earlier is None:
            raise
        return earlier


def door_turn_away(*, center: Center, reason: str, note: str = "", by: Any) -> Visit:
    """Logs a person turned away at the door; the floor screens count them."""
    with transaction.atomic():
        visit = visit_turn_away(center=center, reason=reason, note=note, by=by)
        ticket_event_append(center=center, kind="TURNED_AWAY", actor=by, data={"reason": reason})
    return visit


def _ticket_for_idempotency_key(key: str) -> IssuedTicket | None:
    ticket = (
        Ticket.objects.filter(case__visit__idempotency_key=key, transferred_from__isnull=True)
        .select_related("service", "case")
        .first()
    )
    return IssuedTicket(ticket=ticket, token=None) if ticket else None


def _desk_for_update(desk: Desk) -> Desk:
    return Desk.objects.select_for_update(of=("self",)).select_related("center").get(pk=desk.pk)


def _active_ticket(desk: Desk) -> Ticket | None:
    return Ticket.objects.active().filter(desk=desk).select_related("case").first()


def _require_operator(desk: Desk, by: AbstractBaseUser) -> None:
    if desk.operator_id != by.pk:
        raise DomainError(_("You are not operating this desk."))


def desk_open(*, desk: Desk, by: AbstractBaseUser) -> Desk:
    with transaction.atomic():
        desk = _desk_for_update(desk)
        if desk.operator_id not in (None, by.pk) and desk.status != Desk.Status.CLOSED:
            raise DomainError(_("Another representative is operating this desk."))
        other = Desk.objects.filter(operator=by).exclude(pk=desk.pk).first()
        if other is not None and (other.status != Desk.Status.CLOSED or _active_ticket(other)):
            raise DomainError(_("Close your other desk first."))
        Desk.objects.filter(operator=by).exclude(pk=desk.pk).update(operator=None)
        return _desk_set_status(desk, Desk.Status.OPEN, by)


def desk_pause(*, desk: Desk, by: AbstractBaseUser) -> Desk:
    with transaction.atomic():
        desk = _desk_for_update(desk)
        _require_operator(desk, by)
        return _desk_set_status(desk, Desk.Status.PAUSED, by)


def desk_close(*, desk: Desk, by: AbstractBaseUser) -> Desk:
    with transaction.atomic():
        desk = _desk_for_update(desk)
        _require_operator(desk, by)
        if _active_ticket(desk) is not None:
            raise DomainError(_("Finish or transfer the current visitor before closing."))
        desk = _desk_set_status(desk, Desk.Status.CLOSED, by)
        desk.operator = None
        desk.save(update_fields=["operator"])
        return desk


def _desk_set_status(desk: Desk, status: str, by: AbstractBaseUser) -> Desk:
    desk.status = status
    desk.operator = by
    desk.status_changed_at = clock.now()
    desk.save(update_fields=["status", "operator", "status_changed_at"])
    ticket_event_append(
        center=desk.center, kind="DESK_CHANGED", desk=desk, actor=by, data={"status": status}
    )
    audit_record(
        center=desk.center, actor=by, action=f"desk.{status.lower()}", subject=f"desk:{desk.number}"
    )
    return desk


def ticket_call_next(*, desk: Desk, by: AbstractBaseUser) -> Ticket | None:
    """Claims the next waiting ticket for an open desk; None when nobody waits for it.

    The claim is one statement: the next waiting ticket of the desk's services, locked
    with ``SKIP LOCKED`` (another desk's candidate is passed over, never waited for), set
    to CALLED at this desk, provided the desk is open, operated by ``by`` and has nobody
    at it. Only when it claims nothing do further queries say why. Two calls of one desk
    at the same instant both pass the "nobody at it" test; the database's one active
    ticket per desk refuses the second.
    """
    claim = _claim_logged if connection.vendor == "postgresql" else _claim_then_log
    try:
        with transaction.atomic():
            ticket = claim(desk, by, clock.now())
            if ticket is None:
                _require_callable(desk, by)
            return ticket
    except IntegrityError:
        if not Ticket.objects.active().filter(desk=desk).exists():
            raise
        raise DomainError(_("Finish the current visitor before calling the next one.")) from None


@functools.cache
def _claim_sql(vendor: str) -> str:
    """The claim, one statement: the desk's next waiting visitor (the order of
    ``TicketQuerySet.in_queue_order``) becomes CALLED at the desk, if the desk is open,
    operated by the caller and has nobody at it."""
    ticket = Ticket._meta.db_table
    columns = ", ".join(field.column for field in Ticket._meta.concrete_fields)
    # SQLite has no row locks: its writers are already serialised (BEGIN IMMEDIATE).
    skip_locked = " FOR UPDATE SKIP LOCKED" if vendor == "postgresql" else ""
    # The statuses are written in (code constants): the plan PostgreSQL keeps for the
    # prepared statement then reads the waiting line from its partial index.
    called, serving = literal(Ticket.Status.CALLED), literal(Ticket.Status.SERVING)
    return (
        f"UPDATE {ticket} SET status = {called}, desk_id = %(desk)s, called_at = %(now)s,"  # noqa: S608 - table and column names, code constants, no input
        " call_count = 1"
        f" WHERE id = (SELECT id FROM {ticket} WHERE center_id = %(center)s"
        f" AND status = {literal(Ticket.Status.WAITING)}"
        f" AND service_id IN (SELECT service_id FROM {Desk.services.through._meta.db_table}"
        " WHERE desk_id = %(desk)s)"
        " AND (away_since IS NULL OR away_since <= %(away_until)s)"
        f" AND EXISTS (SELECT 1 FROM {Desk._meta.db_table} WHERE id = %(desk)s"
        f" AND operator_id = %(by)s AND status = {literal(Desk.Status.OPEN)})"
        f" AND NOT EXISTS (SELECT 1 FROM {ticket} WHERE desk_id = %(desk)s"
        f" AND status IN ({called}, {serving}))"
        f" ORDER BY rank_at, id LIMIT 1{skip_locked})"
        f" RETURNING {columns}"
    )


def _claim_params(desk: Desk, by: AbstractBaseUser, now: dt.datetime) -> dict[str, Any]:
    # A visitor who stepped away keeps the place but is not called until back, or until
    # the center's grace period is over.
    grace = dt.timedelta(minutes=desk.center.step_away_grace_minutes)
    return {
        "desk": desk.pk,
        "by": by.pk,
        "center": desk.center_id,
        "now": now,
        "away_until": now - grace,
    }


def _claim_then_log(desk: Desk, by: AbstractBaseUser, now: dt.datetime) -> Ticket | None:
    """The claim, then its audit entry, texts and event as every other step writes them."""
    claimed = Ticket.objects.raw(_claim_sql(connection.vendor), _claim_params(desk, by, now))
    ticket = next(iter(claimed), None)
    if ticket is not None:
        ticket.center = desk.center
        _transition(ticket, "CALLED", desk=desk, by=by)
    return ticket


@functools.cache
def _claim_logged_sql() -> str:
    """PostgreSQL: the claim with the rows ``_transition`` would write for it, in one
    statement. It inserts the audit entry and the CALLED event (without a number), tries
    the event-number lock and looks whether anybody in the line stepped away."""
    ticket = Ticket._meta.db_table
    waiting = literal(Ticket.Status.WAITING)
    return (
        f"WITH claimed AS ({_claim_sql('postgresql')}),"  # noqa: S608 - table names, no input
        f" audit AS (INSERT INTO {AuditEvent._meta.db_table}"
        " (center_id, actor_id, action, subject, details, at)"
        " SELECT center_id, %(by)s, %(action)s, %(subject)s::text || code, %(details)s::jsonb,"
        " %(now)s"
        " FROM claimed),"
        f" event AS (INSERT INTO {TicketEvent._meta.db_table}"
        " (center_id, seq, kind, ticket_id, desk_id, actor_id, at, data)"
        " SELECT center_id, NULL, %(kind)s, id, %(desk)s, %(by)s, %(now)s, '{}'::jsonb"
        f" FROM claimed RETURNING id), {SEQUENCE_LOCK_CTE}"
        " SELECT claimed.*, event.id AS event_id,"
        f" EXISTS (SELECT 1 FROM {ticket} AS line WHERE line.center_id = claimed.center_id"
        f" AND line.service_id = claimed.service_id AND line.status = {waiting}"
        " AND line.away_since IS NOT NULL) AS anyone_away,"
        " EXISTS (SELECT 1 FROM sequence_lock) AS sequence_row,"
        " (SELECT last_seq FROM sequence_lock) AS last_seq"
        " FROM claimed, event"
    )


def _claim_logged(desk: Desk, by: AbstractBaseUser, now: dt.datetime) -> Ticket | None:
    """The claim and its logging in one statement (PostgreSQL): the same rows as
    :func:`_claim_then_log`, three round trips fewer per call."""
    params = {
        **_claim_params(desk, by, now),
        "action": "ticket.called",
        "subject": "ticket:",
        "details": json.dumps({"desk": desk.number}),
        "kind": TicketEvent.Kind.CALLED,
    }
    with prepared_cursor() as cursor:
        cursor.execute(_claim_logged_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    # The ticket's columns come first, in field order, as PostgreSQL returns them typed:
    # built directly (a raw queryset would work out columns and converters on every call).
    fields = len(Ticket._meta.concrete_fields)
    ticket = Ticket.from_db(connection.alias, None, row[:fields])
    event_id, anyone_away, sequence_row, last_seq = row[fields:]
    ticket.center = desk.center
    texts_after_transition(ticket, "CALLED", anyone_away=anyone_away)
    payload = new_event_payload(
        center_id=desk.center_id,
        seq=None,
        kind=TicketEvent.Kind.CALLED,
        at=now,
        ticket=ticket,
        desk=desk,
        data={},
    )
    ticket_event_written(payload, event_id=event_id, sequence_row=sequence_row, last_seq=last_seq)
    return ticket


def _require_callable(desk: Desk, by: AbstractBaseUser) -> None:
    """Says why a desk that claimed nobody could not call, if it could not."""
    desk = Desk.objects.get(pk=desk.pk)
    _require_operator(desk, by)
    if desk.status != Desk.Status.OPEN:
        raise DomainError(_("Open the desk before calling the next visitor."))
    if _active_ticket(desk) is not None:
        raise DomainError(_("Finish the current visitor before calling the next one."))


def _desk_ticket(desk: Desk, by: AbstractBaseUser, *statuses: str) -> tuple[Desk, Ticket]:
    desk = _desk_for_update(desk)
    _require_operator(desk, by)
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .filter(desk=desk, status__in=statuses or Ticket.ACTIVE_STATUSES)
        .select_related("case", "service")
        .first()
    )
    if ticket is None:
        raise DomainError(_("This desk has no visitor to act on."))
    return desk, ticket


def _transition(
    ticket: Ticket,
    kind: str,
    *,
    desk: Desk | None = None,
    by: Any = None,
    audited: bool = True,
    **data: Any,
) -> None:
    """Logs one step of a ticket: the event the screens follow and, when staff took it,
    the audit entry (``audited=False`` where another entry already says it).

    The event comes last: numbering it takes the center's sequence row lock, held until
    commit, which every desk of the center waits for."""
    if audited and by is not None and by.is_authenticated:
        audit_record(
            center=ticket.center,
            actor=by,
            action=f"ticket.{kind.lower()}",
            subject=f"ticket:{ticket.code}",
            details={**data, "desk": desk.number} if desk else data,
        )
    texts_after_transition(ticket, kind)
    ticket_event_append(
        center=ticket.center, kind=kind, ticket=ticket, desk=desk, actor=by, data=data
    )


def _finish(
    ticket: Ticket, status: str, desk: Desk | None, by: Any, *, audited: bool = True, **data: Any
) -> Ticket:
    ticket.status = status
    ticket.finished_at = clock.now()
    ticket.save(update_fields=["status", "finished_at"])
    _transition(ticket, status, desk=desk, by=by, audited=audited, **data)
    return ticket


def ticket_recall(*, desk: Desk, by: AbstractBaseUser) -> Ticket:
    """Calls the visitor again; after the third call the ticket becomes a no-show."""
    with transaction.atomic():
        desk, ticket = _desk_ticket(desk, by, Ticket.Status.CALLED)
        if ticket.call_count >= MAX_CALLS:
            return _finish(ticket, Ticket.Status.NO_SHOW, desk, by, calls=ticket.call_count)
        ticket.call_count += 1
        ticket.called_at = clock.now()
        ticket.save(update_fields=["call_count", "called_at"])
        _transition(ticket, "RECALLED", desk=desk, by=by, call=ticket.call_count)
        return ticket


def ticket_no_show(*, desk: Desk, by: AbstractBaseUser) -> Ticket:
    with transaction.atomic():
        desk, ticket = _desk_ticket(desk, by, Ticket.Status.CALLED)
        return _finish(ticket, Ticket.Status.NO_SHOW, desk, by, calls=ticket.call_count)


def ticket_start_serving(*, desk: Desk, by: AbstractBaseUser) -> Ticket:
    with transaction.atomic():
        desk, ticket = _desk_ticket(desk, by, Ticket.Status.CALLED)
        ticket.status = Ticket.Status.SERVING
        ticket.serving_at = clock.now()
        ticket.save(update_fields=["status", "serving_at"])
        _transition(ticket, "SERVING", desk=desk, by=by)
        return ticket


def ticket_transfer(*, desk: Desk, service: Service, by: AbstractBaseUser) -> Ticket:
    """Sends the visitor to another service; they keep their place in time and their
    status page (the token moves to the new ticket)."""
    with transaction.atomic():
        desk, ticket = _desk_ticket(desk, by)
        if service.center_id != desk.center_id:
            raise DomainError(_("That service belongs to another center."))
        if service.pk == ticket.service_id:
            raise DomainError(_("The visitor is already in that service."))
        token_hash, expires = ticket.token_hash, ticket.token_expires_at
        ticket.token_hash = None
        ticket.save(update_fields=["token_hash"])
        new_ticket = _create_ticket(
            case=ticket.case,
            service=service,
            priority=ticket.priority,
            language=ticket.language,
            by=by,
            transferred_from=ticket,
            token_hash=token_hash,
            token_expires_at=expires,
        )
        _finish(ticket, Ticket.Status.TRANSFERRED, desk, by, to=new_ticket.code)
        return new_ticket


def ticket_resolve(
    *,
    desk: Desk,
    outcome: str,
    reason_code: str,
    explanation: str,
    by: AbstractBaseUser,
    **decision: Any,
) -> Resolution:
    """Records the decision on the case of the visitor at the desk and ends the ticket.

    Only once service has started: a decision is made with the visitor present.
    ``decision`` holds the rest of :func:`center.services.case_resolve`'s arguments (a
    supervisor's override, a referral's callback)."""
    with transaction.atomic():
        desk, ticket = _desk_ticket(desk, by)
        if ticket.status != Ticket.Status.SERVING:
            raise DomainError(_("Start the service when the visitor is at the desk."))
        resolution = case_resolve(
            case=ticket.case,
            outcome=outcome,
            reason_code=reason_code,
            explanation=explanation,
            by=by,
            **decision,
        )
        # The statement of reasons, and any callback promised, stay readable on the status
        # page until the decision can no longer be contested.
        if ticket.token_hash and resolution.contest_until:
            readable_until = _end_of_service_day(
                desk.center,
                dt.datetime.combine(resolution.contest_until, dt.time(12), desk.center.tzinfo),
            )
            if ticket.token_expires_at is None or ticket.token_expires_at < readable_until:
                ticket.token_expires_at = readable_until
                ticket.save(update_fields=["token_expires_at"])
        # The decision itself is audited as case.resolved.
        _finish(ticket, Ticket.Status.DONE, desk, by, audited=False, outcome=outcome)
        return resolution


def ticket_cancel(*, ticket: Ticket, by: Any = None) -> Ticket:
    """The visitor gives up their place from the status page."""
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",)).select_related("case").get(pk=ticket.pk)
        )
        if ticket.status != Ticket.Status.WAITING:
            raise DomainError(_("Only a waiting ticket can be cancelled."))
        ticket.case.status = Case.Status.CANCELLED
        ticket.case.save(update_fields=["status"])
        return _finish(ticket, Ticket.Status.CANCELLED, None, by)


def ticket_walkout(*, ticket: Ticket, by: AbstractBaseUser) -> Ticket:
    """Reception records that a waiting visitor left the building."""
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",)).select_related("case").get(pk=ticket.pk)
        )
        if ticket.status != Ticket.Status.WAITING:
            raise DomainError(_("Only a waiting visitor can be marked as gone."))
        _finish(ticket, Ticket.Status.WALKOUT, None, by)
        return ticket


def ticket_step_away(*, ticket: Ticket) -> Ticket:
    """The visitor steps out for a moment; the place is kept for the grace period."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status != Ticket.Status.WAITING:
            raise DomainError(_("Only a waiting visitor can step away."))
        ticket.away_since = clock.now()
        ticket.save(update_fields=["away_since"])
        _transition(ticket, "STEPPED_AWAY")
        return ticket


def ticket_back(*, ticket: Ticket) -> Ticket:
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.away_since is None:
            return ticket
        ticket.away_since = None
        ticket.save(update_fields=["away_since"])
        _transition(ticket, "BACK")
        return ticket


INCIDENT_CALLBACK_WITHIN = dt.timedelta(days=1)


def ticket_incident_choice(*, ticket: Ticket, choice: str, phone: str = "") -> Ticket:
    """During an incident that affects the visitor's case type, the visitor keeps the
    place or leaves the queue for a promised callback, in one tap."""
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("case__visit__visitor", "center")
            .get(pk=ticket.pk)
        )
        if ticket.status != Ticket.Status.WAITING:
            raise DomainError(_("Only a waiting visitor can choose this."))
        if choice not in {"KEEP", "CALLBACK"}:
            raise DomainError(_("Choose to keep your place or to be called back."))
        ticket.incident_choice = choice
        ticket.save(update_fields=["incident_choice"])
        if choice == "CALLBACK":
            phone = (phone or ticket.case.visit.visitor.phone).strip()
            if not phone:
                raise DomainError(_("Enter a phone number we can call you on."))
            Callback.objects.create(
                case=ticket.case,
                reason=Callback.Reason.INCIDENT,
                phone=phone[:32],
                due_at=clock.now() + INCIDENT_CALLBACK_WITHIN,
                created_at=clock.now(),
            )
            _finish(ticket, Ticket.Status.CANCELLED, None, None, callback=True)
        return ticket


def notice_post(
    *,
    center: Center,
    what: str,
    case_types: list[CaseType],
    since_at: dt.datetime,
    next_update_at: dt.datetime,
    by: AbstractBaseUser,
) -> Notice:
    """A structured incident notice: it reaches every screen of the center at once."""
    what = what.strip()
    if not what:
        raise DomainError(_("Say what happened."))
    if next_update_at <= since_at:
        raise DomainError(_("The next update must come after the start of the incident."))
    with transaction.atomic():
        notice = Notice.objects.create(
            center=center,
            what=what[:300],
            since_at=since_at,
            next_update_at=next_update_at,
            posted_by=by,
            posted_at=clock.now(),
        )
        notice.case_types.set(case_types)
        ticket_event_append(center=center, kind="NOTICE", actor=by, data={"notice": notice.pk})
        audit_record(
            center=center,
            actor=by,
            action="notice.posted",
            subject=f"notice:{notice.pk}",
            details={"case_types": [c.code for c in case_types]},
        )
        return notice


def notice_end(*, notice: Notice, by: AbstractBaseUser) -> Notice:
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice.pk)
        if notice.ended_at is None:
            notice.ended_at = clock.now()
            notice.save(update_fields=["ended_at"])
            ticket_event_append(
                center=notice.center, kind="NOTICE", actor=by, data={"notice": notice.pk}
            )
            audit_record(
                center=notice.center,
                actor=by,
                action="notice.ended",
                subject=f"notice:{notice.pk}",
            )
        return notice


def feedback_give(
    *, ticket: Ticket, rating: int, comment: str = "", language: str = "en"
) -> Feedback:
    """The visitor's one answer after the decision: a rating from 1 to 5 and an optional
    comment. A second answer for the same ticket is refused (the database holds it)."""
    if ticket.status != Ticket.Status.DONE:
        raise DomainError(_("You can rate your visit once your case has been decided."))
    if rating not in Feedback.RATINGS:
        raise DomainError(_("Choose from 1 (very dissatisfied) to 5 (very satisfied)."))
    try:
        with transaction.atomic():
            return Feedback.objects.create(
                ticket=ticket,
                rating=rating,
                comment=comment.strip()[:1000],
                language=language,
                given_at=clock.now(),
            )
    except IntegrityError:
        raise DomainError(_("You already answered for this visit. Thank you.")) from None
