"""Reads of the queue for the screens: one function per question a screen asks."""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Avg, Count, F, OuterRef, Q, Subquery, Sum, Window
from django.db.models.functions import RowNumber

from center import clock
from center.languages import in_language
from center.models import Center, Visit
from queueing import engine
from queueing.models import (
    Desk,
    EventSequence,
    Feedback,
    Notice,
    Service,
    Ticket,
    TicketEvent,
)
from queueing.services import hash_token, service_date

RECENT_SERVICE_SAMPLE = 20
#: How many of a line's latest outcomes say what share of its visitors stay for the call.
RECENT_OUTCOME_SAMPLE = 40
#: Outcomes of a ticket whose visitor gave up the place before a desk reached them.
LEFT_BEFORE_CALL = frozenset({Ticket.Status.WALKOUT, Ticket.Status.CANCELLED})


def ticket_by_token(token: str) -> Ticket | None:
    """The ticket a status-page token opens, unless the token is wrong or expired."""
    if not token or len(token) > 64:
        return None
    ticket = (
        Ticket.objects.filter(token_hash=hash_token(token))
        .select_related("center", "service", "desk", "case__case_type", "case__platform_account")
        .first()
    )
    if ticket is None or (ticket.token_expires_at and ticket.token_expires_at <= clock.now()):
        return None
    return ticket


def tickets_ahead(ticket: Ticket) -> int:
    if ticket.status != Ticket.Status.WAITING:
        return 0
    return (
        Ticket.objects.waiting()
        .filter(center_id=ticket.center_id, service_id=ticket.service_id)
        .filter(Q(rank_at__lt=ticket.rank_at) | Q(rank_at=ticket.rank_at, id__lt=ticket.id))
        .count()
    )


def open_desks_for(service: Service) -> int:
    return service.desks.filter(status=Desk.Status.OPEN).count()


def recent_service_times(service: Service) -> list[float]:
    return _service_times_of(service.pk)


def _service_times_of(service_id: int) -> list[float]:
    finished = list(
        Ticket.objects.filter(
            service_id=service_id,
            status=Ticket.Status.DONE,
            serving_at__isnull=False,
            # Always true of a DONE ticket; stated so that the index of finished tickets
            # can serve the query.
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("serving_at", "finished_at")[:RECENT_SERVICE_SAMPLE]
    )
    return [(end - start).total_seconds() for start, end in reversed(finished)]


#: Desks that serve a line now or after their break (a closed desk is gone for the day).
SERVING_STATUSES = (Desk.Status.OPEN, Desk.Status.PAUSED)


def _serving_desks_by_line(center_id: int) -> tuple[dict[int, frozenset[int]], dict[int, float]]:
    """The open and paused desks of each line of a center (service id -> desk ids), and
    when each paused desk is expected back (desk id -> seconds from now)."""
    rows = Desk.services.through.objects.filter(
        desk__center_id=center_id, desk__status__in=SERVING_STATUSES
    ).values_list(
        "service_id",
        "desk_id",
        "desk__status",
        "desk__status_changed_at",
        "desk__center__desk_pause_minutes",
    )
    now = clock.now()
    back_in = {
        desk_id: desk_back_in_s(changed_at, pause_minutes, now)
        for _service_id, desk_id, status, changed_at, pause_minutes in rows
        if status == Desk.Status.PAUSED
    }
    return _desks_by_line((service_id, desk_id) for service_id, desk_id, *_ in rows), back_in


def desk_back_in_s(paused_at: dt.datetime | None, pause_minutes: int, now: dt.datetime) -> float:
    """Seconds until a paused desk is expected back: the center's usual pause, less what
    has passed of it (an overrunning pause counts as ending now)."""
    if paused_at is None:
        return 60.0 * pause_minutes
    return max(0.0, 60.0 * pause_minutes - (now - paused_at).total_seconds())


def _desks_by_line(pairs: Iterable[tuple[int, int]]) -> dict[int, frozenset[int]]:
    desks: dict[int, set[int]] = {}
    for service_id, desk_id in pairs:
        desks.setdefault(service_id, set()).add(desk_id)
    return {service_id: frozenset(ids) for service_id, ids in desks.items()}


def _connected_lines(
    desks_by_line: dict[int, frozenset[int]], service_id: int
) -> dict[int, frozenset[int]]:
    """The other lines linked to ours through shared open desks, with their desks."""
    mine = desks_by_line.get(service_id, frozenset())
    covered, found = set(mine), {}
    changed = bool(mine)
    while changed:
        changed = False
        for other, desks in desks_by_line.items():
            if other != service_id and other not in found and covered & desks:
                found[other] = desks
                covered |= desks
                changed = True
    return found


def ticket_wait_estimate(ticket: Ticket, ahead: int) -> engine.WaitEstimate | None:
    """What the status page shows (see ``engine.estimate_from``): visitors of lines
    sharing desks with ours and ranked ahead of us count too."""
    if ticket.status != Ticket.Status.WAITING:
        return None
    desks_by_line, back_in_s = _serving_desks_by_line(ticket.center_id)
    mine = desks_by_line.get(ticket.service_id, frozenset())
    others = {
        service_id: desks
        for service_id, desks in _connected_lines(desks_by_line, ticket.service_id).items()
        if desks & mine
    }
    history = line_histories([ticket.service_id, *others])
    shared = []
    if others:
        ahead_by_line = (
            Ticket.objects.waiting()
            .filter(center_id=ticket.center_id, service_id__in=others)
            .filter(Q(rank_at__lt=ticket.rank_at) | Q(rank_at=ticket.rank_at, id__lt=ticket.id))
            .values("service_id")
            .annotate(n=Count("id"), expected=Avg("case__case_type__expected_service_s"))
            .values_list("service_id", "n", "expected")
        )
        shared = [
            engine.SharedLine(
                ahead=count,
                desks=others[service_id],
                times=history[service_id].times(float(expected)),
            )
            for service_id, count, expected in ahead_by_line
        ]
    return engine.estimate_from(
        ahead=ahead,
        open_desks=len(mine - back_in_s.keys()),
        times=history[ticket.service_id].times(ticket.case.case_type.expected_service_s),
        desks=mine,
        shared=shared,
        back_in_s=back_in_s,
    )


@dataclass(frozen=True)
class LineHistory:
    """What a line's latest visitors say about the next ones: the service times of the
    latest served (newest last, at most ``RECENT_SERVICE_SAMPLE``) and the share of the
    latest outcomes (``RECENT_OUTCOME_SAMPLE``) whose visitor was still there when a desk
    reached them (served, transferred or called in vain) rather than gone before (walked
    out, cancelled): ``engine.stay_share``."""

    service_times_s: list[float]
    stay_share: float

    def times(self, default_s: float) -> engine.ServiceTimes:
        return engine.ServiceTimes.from_samples(self.service_times_s, default_s, self.stay_share)


def line_histories(service_ids: Iterable[int]) -> dict[int, LineHistory]:
    """``LineHistory`` of several lines, in two queries whatever the lines served before.

    The first finds each line's ``RECENT_OUTCOME_SAMPLE``-th latest finish (a walk of that
    many entries of the index of finished tickets by line); the second reads each line's
    outcomes from that finish on (all of them for a line with fewer). Every visitor's
    status page asks this: read in one query, it read and sorted every ticket the lines
    ever finished. The bounds go to the second query as values, so that PostgreSQL sees
    how few rows they leave and reads them through the index."""
    service_ids = list(service_ids)
    if not service_ids:
        return {}
    finished = Ticket.objects.filter(finished_at__isnull=False)
    bounds = dict(
        Service.objects.filter(pk__in=service_ids)
        .annotate(
            bound=Subquery(
                finished.filter(service_id=OuterRef("pk"))
                .order_by("-finished_at")
                .values("finished_at")[RECENT_OUTCOME_SAMPLE - 1 : RECENT_OUTCOME_SAMPLE]
            )
        )
        .values_list("pk", "bound")
    )
    latest = Q()
    for service_id in service_ids:
        bound = bounds.get(service_id)
        latest |= Q(service_id=service_id, **({"finished_at__gte": bound} if bound else {}))
    recent = (
        finished.filter(latest)
        .annotate(
            recency=Window(
                RowNumber(), partition_by=F("service_id"), order_by=F("finished_at").desc()
            )
        )
        .filter(recency__lte=RECENT_OUTCOME_SAMPLE)
        .values_list("service_id", "status", "serving_at", "finished_at", "recency")
    )
    rows: dict[int, list[tuple[int, str, dt.datetime | None, dt.datetime]]] = {
        service_id: [] for service_id in service_ids
    }
    for service_id, status, start, end, recency in recent:
        rows[service_id].append((recency, status, start, end))
    histories = {}
    for service_id, outcomes in rows.items():
        outcomes.sort()  # newest first
        served = [
            (end - start).total_seconds()
            for _recency, status, start, end in outcomes
            if status == Ticket.Status.DONE and start is not None
        ][:RECENT_SERVICE_SAMPLE]
        histories[service_id] = LineHistory(
            service_times_s=served[::-1],
            stay_share=engine.stay_share(
                [status not in LEFT_BEFORE_CALL for _recency, status, _start, _end in outcomes]
            ),
        )
    return histories


def desk_of(user: AbstractBaseUser) -> Desk | None:
    return Desk.objects.filter(operator=user).select_related("center").first()


def desk_current_ticket(desk: Desk) -> Ticket | None:
    return (
        Ticket.objects.active()
        .filter(desk=desk)
        .select_related(
            "service", "case__case_type", "case__platform_account", "case__visit__visitor"
        )
        .first()
    )


@dataclass(slots=True)
class WaitingTicket:
    """A waiting ticket as the floor screens show it: a busy floor holds hundreds, and the
    live screens re-read it on every change, so it is a plain row, not a model object."""

    pk: int
    code: str
    service_id: int
    priority: int
    rank_at: dt.datetime
    issued_at: dt.datetime
    away_since: dt.datetime | None
    incident_choice: str
    expected_service_s: int

    FIELDS: ClassVar[tuple[str, ...]] = (
        "pk",
        "code",
        "service_id",
        "priority",
        "rank_at",
        "issued_at",
        "away_since",
        "incident_choice",
        "case__case_type__expected_service_s",
    )


@dataclass
class ServiceLine:
    service: Service
    waiting: list[WaitingTicket] = field(default_factory=list)
    open_desks: int = 0

    @property
    def longest_wait_s(self) -> float:
        if not self.waiting:
            return 0
        now = clock.now()
        return max((now - t.issued_at).total_seconds() for t in self.waiting)


@dataclass(frozen=True)
class RecentCall:
    seq: int
    code: str
    desk: int
    language: str
    recall: bool
    overtaker: engine.Overtaker


@dataclass
class Floor:
    """One consistent read of a center's floor: what every live screen is rendered from.

    ``seq`` is the event sequence the read reflects; a screen showing a floor with a
    higher ``seq`` is up to date with every change before it."""

    center: Center
    seq: int
    lines: list[ServiceLine]
    called: list[Ticket]
    desks: list[Desk]
    turned_away_today: int
    checked_in_today: int
    recent_calls: list[RecentCall]
    now: dt.datetime
    notices: list[Notice] = field(default_factory=list)
    _service_times_cache: dict[tuple[int, float], engine.ServiceTimes] = field(
        default_factory=dict, repr=False
    )
    #: Fragments rendered from this floor, shared by the screens that show the same thing.
    rendered: dict[tuple, str] = field(default_factory=dict, repr=False)

    @property
    def waiting_total(self) -> int:
        return sum(len(line.waiting) for line in self.lines)

    @property
    def desk_rows(self) -> list[tuple[Desk, Ticket | None]]:
        by_desk = {ticket.desk_id: ticket for ticket in self.called}
        return [(desk, by_desk.get(desk.pk)) for desk in self.desks]

    @cached_property
    def _places(self) -> dict[int, tuple[ServiceLine, int]]:
        return {
            ticket.pk: (line, ahead)
            for line in self.lines
            for ahead, ticket in enumerate(line.waiting)
        }

    @cached_property
    def _called_by_id(self) -> dict[int, Ticket]:
        return {ticket.pk: ticket for ticket in self.called}

    @cached_property
    def affected_case_type_ids(self) -> frozenset[int]:
        return frozenset(ct.pk for notice in self.notices for ct in notice.case_types.all())

    def waiting_place(self, ticket_id: int) -> tuple[ServiceLine, int] | None:
        """The line a waiting ticket stands in and how many stand ahead of it."""
        return self._places.get(ticket_id)

    def active_ticket(self, ticket_id: int) -> Ticket | None:
        return self._called_by_id.get(ticket_id)

    def waiting_for(self, service_ids: set[int] | frozenset[int]) -> list[WaitingTicket]:
        """Waiting tickets of these services in the order a desk would call them."""
        return sorted(
            (t for line in self.lines if line.service.pk in service_ids for t in line.waiting),
            key=lambda ticket: (ticket.rank_at, ticket.pk),
        )

    def next_up(self, count: int) -> list[WaitingTicket]:
        return self.waiting_for({line.service.pk for line in self.lines})[:count]

    def estimate(
        self, line: ServiceLine, ahead: int, default_service_s: float
    ) -> engine.WaitEstimate | None:
        """The estimate for the ticket with ``ahead`` visitors ahead in ``line``, as
        ``ticket_wait_estimate`` makes it, from this one read of the floor."""
        desks, shared = self._shared(line, ahead)
        return engine.estimate_from(
            ahead=ahead,
            open_desks=line.open_desks,
            times=self._service_times(line.service.pk, default_service_s),
            desks=desks,
            shared=shared,
            back_in_s=self._back_in_s,
        )

    @cached_property
    def _desks_by_line(self) -> dict[int, frozenset[int]]:
        return _desks_by_line(
            (service.pk, desk.pk)
            for desk in self.desks
            if desk.status in SERVING_STATUSES
            for service in desk.services.all()
        )

    @cached_property
    def _back_in_s(self) -> dict[int, float]:
        return {
            desk.pk: desk_back_in_s(
                desk.status_changed_at, self.center.desk_pause_minutes, self.now
            )
            for desk in self.desks
            if desk.status == Desk.Status.PAUSED
        }

    @cached_property
    def _histories(self) -> dict[int, LineHistory]:
        return line_histories(line.service.pk for line in self.lines)

    @cached_property
    def _queue_keys(self) -> dict[int, list[tuple[dt.datetime, int]]]:
        return {
            line.service.pk: [(ticket.rank_at, ticket.pk) for ticket in line.waiting]
            for line in self.lines
        }

    def _shared(
        self, line: ServiceLine, ahead: int
    ) -> tuple[frozenset[int], list[engine.SharedLine]]:
        mine = self._desks_by_line.get(line.service.pk, frozenset())
        if ahead >= len(line.waiting):
            return mine, []
        me = line.waiting[ahead]
        by_id = {other.service.pk: other for other in self.lines}
        shared = []
        for service_id, desks in _connected_lines(self._desks_by_line, line.service.pk).items():
            other = by_id.get(service_id)
            if other is None:
                continue
            count = bisect.bisect_left(self._queue_keys[service_id], (me.rank_at, me.pk))
            if not count:
                continue
            default_s = statistics.fmean(t.expected_service_s for t in other.waiting[:count])
            shared.append(
                engine.SharedLine(
                    ahead=count, desks=desks, times=self._service_times(service_id, default_s)
                )
            )
        return mine, shared

    def _service_times(self, service_id: int, default_s: float) -> engine.ServiceTimes:
        key = (service_id, default_s)
        if key not in self._service_times_cache:
            self._service_times_cache[key] = self._histories[service_id].times(default_s)
        return self._service_times_cache[key]


RECENT_CALLS_SHOWN = 8


def _day_bounds(center: Center) -> tuple[dt.datetime, dt.datetime]:
    day = service_date(center)
    start = dt.datetime.combine(day, dt.time(), center.tzinfo)
    return start, start + dt.timedelta(days=1)


def visit_counts_today(center: Center) -> dict[str, int]:
    start, end = _day_bounds(center)
    return Visit.objects.filter(center=center, at__gte=start, at__lt=end).aggregate(
        turned_away=Count("id", filter=Q(status=Visit.Status.TURNED_AWAY)),
        checked_in=Count("id", filter=Q(status=Visit.Status.CHECKED_IN)),
    )


@contextlib.contextmanager
def _consistent_read() -> Iterator[None]:
    """A read that sees one moment of the floor, without taking a writer's lock.

    PostgreSQL: one REPEATABLE READ transaction, so every part and the sequence number
    agree. SQLite: Django's transactions here are BEGIN IMMEDIATE, a writer's lock, and a
    screen's read must not queue behind the desks' writes; so the read is a plain deferred
    transaction, which in WAL mode is a snapshot taken at its first SELECT and never blocks
    a writer (nor waits for one)."""
    if connection.in_atomic_block:
        # Inside a caller's transaction its isolation applies.
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield
        return
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")


def _overtaker(ticket: Ticket) -> engine.Overtaker:
    return engine.Overtaker(
        issued_at=ticket.issued_at,
        service_id=ticket.service_id,
        priority=ticket.priority,
        transferred=ticket.transferred_from_id is not None,
    )


@dataclass(frozen=True)
class CalledFirst:
    code: str
    reason: str


def called_first(ticket: Ticket) -> CalledFirst | None:
    """The latest ticket issued after this waiting one but called before it, and why."""
    if ticket.status != Ticket.Status.WAITING:
        return None
    calls = (
        TicketEvent.objects.filter(
            center_id=ticket.center_id,
            kind=TicketEvent.Kind.CALLED,
            at__gte=ticket.issued_at,
            ticket__issued_at__gt=ticket.issued_at,
            # Implied by the time of issue, and served by an index: the tickets of this
            # service day on, not every ticket of every center ever issued.
            ticket__center_id=ticket.center_id,
            ticket__service_date__gte=ticket.service_date,
        )
        .select_related("ticket")
        .order_by("-seq")[:RECENT_CALLS_SHOWN]
    )
    for event in calls:
        reason = engine.why_called_first(
            issued_at=ticket.issued_at,
            service_id=ticket.service_id,
            priority=ticket.priority,
            other=_overtaker(event.ticket),
        )
        if reason:
            return CalledFirst(code=event.ticket.code, reason=reason)
    return None


def floor_snapshot(center: Center) -> Floor:
    """Everything reception, the board, the desks and the supervisor show about the floor,
    read as one moment (see ``_consistent_read``) with its event sequence number."""
    with _consistent_read():
        seq = (
            EventSequence.objects.filter(center=center).values_list("last_seq", flat=True).first()
            or 0
        )
        services = list(Service.objects.filter(center=center))
        desks = list(Desk.objects.filter(center=center).prefetch_related("services"))
        open_counts: dict[int, int] = {}
        for desk in desks:
            if desk.status == Desk.Status.OPEN:
                for service in desk.services.all():
                    open_counts[service.pk] = open_counts.get(service.pk, 0) + 1
        lines = {
            s.pk: ServiceLine(service=s, open_desks=open_counts.get(s.pk, 0)) for s in services
        }
        waiting = (
            Ticket.objects.waiting()
            .filter(center=center)
            .in_queue_order()
            .values_list(*WaitingTicket.FIELDS)
        )
        for row in waiting:
            ticket = WaitingTicket(*row)
            lines[ticket.service_id].waiting.append(ticket)
        called = list(
            Ticket.objects.active()
            .filter(center=center)
            .select_related("service", "desk")
            .order_by("-called_at")
        )
        visit_counts = visit_counts_today(center)
        recent_calls = _recent_calls(center, up_to_seq=seq)
        notices = active_notices(center)
    return Floor(
        center=center,
        seq=seq,
        lines=list(lines.values()),
        called=called,
        desks=desks,
        turned_away_today=visit_counts["turned_away"],
        checked_in_today=visit_counts["checked_in"],
        recent_calls=recent_calls,
        now=clock.now(),
        notices=notices,
    )


def active_notices(center: Center) -> list[Notice]:
    return list(
        Notice.objects.filter(center=center, ended_at__isnull=True).prefetch_related("case_types")
    )


def _recent_calls(center: Center, *, up_to_seq: int) -> list[RecentCall]:
    """The last calls up to the floor's sequence number: a call committed but not yet
    numbered (see queueing.events) joins the list with its number, so the board speaks it
    once, with the number it keeps."""
    start, _end = _day_bounds(center)
    events = (
        TicketEvent.objects.filter(
            center=center,
            kind__in=[TicketEvent.Kind.CALLED, TicketEvent.Kind.RECALLED],
            at__gte=start,
            seq__lte=up_to_seq,
        )
        .select_related("ticket", "desk")
        .order_by("-seq")[:RECENT_CALLS_SHOWN]
    )
    return [
        RecentCall(
            seq=event.seq,
            code=event.ticket.code,
            desk=event.desk.number,
            language=event.ticket.language,
            recall=event.kind == TicketEvent.Kind.RECALLED,
            overtaker=_overtaker(event.ticket),
        )
        for event in events
        if event.ticket and event.desk
    ]


@dataclass(frozen=True)
class DayKpis:
    waiting: int
    called_or_serving: int
    served: int
    mean_wait_s: float | None
    p90_wait_s: float | None
    no_shows: int
    walkouts: int
    cancelled: int
    turned_away: int
    checked_in: int
    desks_open: int


def day_kpis(center: Center, floor: Floor | None = None) -> DayKpis:
    """Today's numbers; a wait is the time from issue to the first call (the transfer of a
    visitor keeps the first ticket's wait). A screen that read the ``floor`` already passes
    it: its visit counts and desks are not read a second time."""
    day = service_date(center)
    today = Ticket.objects.filter(center=center, service_date=day)
    counts = today.aggregate(
        waiting=Count("id", filter=Q(status=Ticket.Status.WAITING)),
        active=Count("id", filter=Q(status__in=Ticket.ACTIVE_STATUSES)),
        served=Count("id", filter=Q(status=Ticket.Status.DONE)),
        no_shows=Count("id", filter=Q(status=Ticket.Status.NO_SHOW)),
        walkouts=Count("id", filter=Q(status=Ticket.Status.WALKOUT)),
        cancelled=Count("id", filter=Q(status=Ticket.Status.CANCELLED)),
    )
    waits = [
        (called - issued).total_seconds()
        for issued, called in today.filter(transferred_from__isnull=True)
        .with_first_call()
        .filter(first_called_at__isnull=False)
        .values_list("issued_at", "first_called_at")
    ]
    if floor is None:
        visits = visit_counts_today(center)
        desks_open = Desk.objects.filter(center=center, status=Desk.Status.OPEN).count()
    else:
        visits = {"turned_away": floor.turned_away_today, "checked_in": floor.checked_in_today}
        desks_open = sum(desk.status == Desk.Status.OPEN for desk in floor.desks)
    return DayKpis(
        waiting=counts["waiting"],
        called_or_serving=counts["active"],
        served=counts["served"],
        mean_wait_s=sum(waits) / len(waits) if waits else None,
        p90_wait_s=engine.percentile(waits, 0.9),
        no_shows=counts["no_shows"],
        walkouts=counts["walkouts"],
        cancelled=counts["cancelled"],
        turned_away=visits["turned_away"],
        checked_in=visits["checked_in"],
        desks_open=desks_open,
    )


@dataclass(frozen=True)
class RatingRow:
    label: str
    answers: int
    total: int

    @property
    def mean(self) -> float:
        return self.total / self.answers


@dataclass(frozen=True)
class Ratings:
    """Today's satisfaction answers, by the visitor's case type and by the deciding desk."""

    overall: RatingRow | None
    by_case_type: list[RatingRow]
    by_desk: list[RatingRow]


def ratings_today(center: Center, language: str = "en") -> Ratings:
    """One query, grouped by case type and desk; both breakdowns are summed from it."""
    rows = (
        Feedback.objects.filter(ticket__center=center, ticket__service_date=service_date(center))
        .values(
            "ticket__case__case_type__name",
            "ticket__case__case_type__name_zh",
            "ticket__desk__number",
        )
        .annotate(answers=Count("id"), total=Sum("rating"))
        .order_by()
    )
    by_case_type: dict[str, list[int]] = {}
    by_desk: dict[int | None, list[int]] = {}
    for row in rows:
        name = in_language(
            language,
            row["ticket__case__case_type__name"],
            row["ticket__case__case_type__name_zh"],
        )
        for groups, key in ((by_case_type, name), (by_desk, row["ticket__desk__number"])):
            sums = groups.setdefault(key, [0, 0])
            sums[0] += row["answers"]
            sums[1] += row["total"]
    answers = sum(sums[0] for sums in by_case_type.values())
    return Ratings(
        overall=RatingRow("", answers, sum(s[1] for s in by_case_type.values()))
        if answers
        else None,
        by_case_type=[RatingRow(name, *sums) for name, sums in sorted(by_case_type.items())],
        by_desk=[
            RatingRow(str(number), *sums)
            for number, sums in sorted(by_desk.items(), key=lambda item: item[0] or 0)
        ],
    )
