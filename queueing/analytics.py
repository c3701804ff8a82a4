"""The supervisor's reports: the day in numbers (by hour and by case type), the CSV
exports, and staffing (desks per hour from Erlang C, checked by simulation).

The rules the figures follow, also stated on the pages:

- A *visitor* is a ticket issued at the kiosk. A transfer gives the visitor a new
  ticket; it stays the same visitor: the arrival hour, case type and wait come from
  the first ticket, the outcome from the last.
- The *wait* runs from the issue of the first ticket to its first call, read from the
  first CALLED event: a recall overwrites ``Ticket.called_at``.
- *Service level*: visitors first called within the center's target wait, out of the
  visitors whose result is known: everyone called, plus those who left, or are still
  waiting, after the target wait had passed. Someone who left, or is still waiting,
  within the target is not counted either way.
- *No-show*: called to a desk (up to three times) and did not come to it.
- *Walkout*: left while waiting, as recorded by reception. A visitor who cancels on the
  status page (also to take a callback during an incident) is counted as *cancelled*.
- A *callback is kept* when it is done by its deadline; the callbacks due so far today
  are the measure.

Everything here reads, except :func:`staffing_check`, which plays the
forecast through the simulator inside a transaction that is always rolled back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from center import clock
from center.languages import in_language
from center.models import Callback, CaseType, Center
from queueing import engine
from queueing.erlang import desks_for_service_level
from queueing.models import Service, Ticket, TicketEvent
from queueing.services import service_date
from queueing.simulator import (
    HOUR,
    Break,
    DeskPlan,
    Scenario,
    ScenarioError,
    mmc_scenario,
    replications_run,
)

#: The doors' usual hours (local time), widened to any hour in which visitors came.
OPENING_HOURS = range(9, 17)


def day_bounds(center: Center, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), center.tzinfo)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), center.tzinfo)


# --- The day in numbers ---------------------------------------------------------------


@dataclass(frozen=True)
class VisitorDay:
    """One visitor's day, from their tickets."""

    hour: int
    case_type_id: int
    status: str
    wait_s: float | None
    #: Time in the queue of a visitor never called: until leaving, or until now.
    uncalled_s: float | None
    service_s: float | None


@dataclass(frozen=True)
class DayFigures:
    visitors: int
    served: int
    mean_wait_s: float | None
    p90_wait_s: float | None
    within_target: int
    settled: int
    mean_service_s: float | None
    no_shows: int
    walkouts: int
    cancelled: int
    target_share: float

    @classmethod
    def of(
        cls, visitors: Sequence[VisitorDay], *, target_s: float, target_share: float
    ) -> DayFigures:
        waits = [v.wait_s for v in visitors if v.wait_s is not None]
        late_uncalled = sum(
            1 for v in visitors if v.uncalled_s is not None and v.uncalled_s > target_s
        )
        services = [v.service_s for v in visitors if v.service_s is not None]
        statuses = [v.status for v in visitors]
        return cls(
            visitors=len(visitors),
            served=statuses.count(Ticket.Status.DONE),
            mean_wait_s=statistics.fmean(waits) if waits else None,
            p90_wait_s=engine.percentile(waits, 0.9),
            within_target=sum(1 for wait in waits if wait <= target_s),
            settled=len(waits) + late_uncalled,
            mean_service_s=statistics.fmean(services) if services else None,
            no_shows=statuses.count(Ticket.Status.NO_SHOW),
            walkouts=statuses.count(Ticket.Status.WALKOUT),
            cancelled=statuses.count(Ticket.Status.CANCELLED),
            target_share=target_share,
        )

    @property
    def service_level(self) -> float | None:
        return self.within_target / self.settled if self.settled else None

    @property
    def service_level_percent(self) -> int | None:
        level = self.service_level
        return None if level is None else round(100 * level)

    @property
    def meets_target(self) -> bool | None:
        level = self.service_level
        return None if level is None else level >= self.target_share


@dataclass(frozen=True)
class HourRow:
    hour: int
    figures: DayFigures

    @property
    def label(self) -> str:
        return hour_label(self.hour)


@dataclass(frozen=True)
class CaseTypeRow:
    code: str
    name: str
    figures: DayFigures


@dataclass(frozen=True)
class CallbackFigures:
    due: int
    kept: int
    late: int

    @property
    def not_done(self) -> int:
        return self.due - self.kept - self.late

    @property
    def kept_percent(self) -> int | None:
        return round(100 * self.kept / self.due) if self.due else None


@dataclass(frozen=True)
class CallbackRow:
    name: str
    figures: CallbackFigures


@dataclass(frozen=True)
class DayInNumbers:
    center: Center
    day: dt.date
    now: dt.datetime
    target_wait_s: float
    target_share: float
    total: DayFigures
    by_hour: list[HourRow]
    by_case_type: list[CaseTypeRow]
    callbacks: CallbackFigures
    callbacks_by_case_type: list[CallbackRow]

    @property
    def target_wait_minutes(self) -> int:
        return round(self.target_wait_s / 60)

    @property
    def target_share_label(self) -> str:
        return f"{round(100 * self.target_share)}%"


def hour_label(hour: int) -> str:
    # The word joiner keeps the label on one line in a narrow column.
    return f"{hour:02d}:00\N{EN DASH}\N{WORD JOINER}{hour + 1:02d}:00"


def _case_type_name(values: dict, language: str) -> str:
    """The case type's name from a row of ``values()`` that followed ``case__case_type``."""
    return in_language(
        language, values["case__case_type__name"], values["case__case_type__name_zh"]
    )


def _tickets_of_day(center: Center, day: dt.date) -> QuerySet[Ticket]:
    return Ticket.objects.filter(center=center, service_date=day).with_first_call()


def _visitor_days(
    center: Center, day: dt.date, now: dt.datetime
) -> tuple[list[VisitorDay], dict[int, dict]]:
    """The day's visitors, and a ticket row of each of their case types by id (for the
    names), in one query."""
    rows = list(
        _tickets_of_day(center, day).values(
            "pk",
            "transferred_from_id",
            "status",
            "issued_at",
            "first_called_at",
            "serving_at",
            "finished_at",
            "case__case_type_id",
            "case__case_type__code",
            "case__case_type__name",
            "case__case_type__name_zh",
        )
    )
    successor = {row["transferred_from_id"]: row for row in rows if row["transferred_from_id"]}
    case_types: dict[int, dict] = {}
    visitors = []
    for first in rows:
        if first["transferred_from_id"] is not None:
            continue
        last = first
        while last["pk"] in successor:
            last = successor[last["pk"]]
        case_types[first["case__case_type_id"]] = first
        issued = first["issued_at"]
        called = first["first_called_at"]
        uncalled_s = None
        if called is None:
            until = last["finished_at"] if last["status"] != Ticket.Status.WAITING else now
            uncalled_s = ((until or now) - issued).total_seconds()
        service_s = None
        if last["status"] == Ticket.Status.DONE and last["serving_at"] and last["finished_at"]:
            service_s = (last["finished_at"] - last["serving_at"]).total_seconds()
        visitors.append(
            VisitorDay(
                hour=issued.astimezone(center.tzinfo).hour,
                case_type_id=first["case__case_type_id"],
                status=last["status"],
                wait_s=None if called is None else (called - issued).total_seconds(),
                uncalled_s=uncalled_s,
                service_s=service_s,
            )
        )
    return visitors, case_types


def _callbacks_due(center: Center, day: dt.date, now: dt.datetime) -> list[dict]:
    start, _end = day_bounds(center, day)
    return list(
        Callback.objects.filter(case__center=center, due_at__gte=start, due_at__lte=now).values(
            "status",
            "due_at",
            "done_at",
            "case__case_type_id",
            "case__case_type__name",
            "case__case_type__name_zh",
        )
    )


def _callback_figures(callbacks: Sequence[dict]) -> CallbackFigures:
    done = [c for c in callbacks if c["status"] == Callback.Status.DONE and c["done_at"]]
    kept = sum(1 for c in done if c["done_at"] <= c["due_at"])
    return CallbackFigures(due=len(callbacks), kept=kept, late=len(done) - kept)


def callbacks_today(center: Center) -> CallbackFigures:
    """The callbacks due so far today: kept on time, made late, or not made (BREACHED or,
    until :func:`center.services.callbacks_mark_breached` runs, still promised)."""
    now = clock.now()
    return _callback_figures(_callbacks_due(center, service_date(center, now), now))


def day_in_numbers(*, center: Center, language: str = "en") -> DayInNumbers:
    """Today so far, by hour of the center's local day and by case type (two queries)."""
    now = clock.now()
    day = service_date(center, now)
    target_s = center.target_wait_minutes * 60.0
    share = float(center.target_share)
    visitors, case_types = _visitor_days(center, day, now)

    def figures(group: Sequence[VisitorDay]) -> DayFigures:
        return DayFigures.of(group, target_s=target_s, target_share=share)

    by_hour: dict[int, list[VisitorDay]] = defaultdict(list)
    by_case_type: dict[int, list[VisitorDay]] = defaultdict(list)
    for visitor in visitors:
        by_hour[visitor.hour].append(visitor)
        by_case_type[visitor.case_type_id].append(visitor)
    hours = range(min(by_hour), max(by_hour) + 1) if by_hour else range(0)
    case_type_rows = [
        CaseTypeRow(
            code=case_types[pk]["case__case_type__code"],
            name=_case_type_name(case_types[pk], language),
            figures=figures(group),
        )
        for pk, group in by_case_type.items()
    ]
    case_type_rows.sort(key=lambda row: (-row.figures.visitors, row.name))

    callbacks = _callbacks_due(center, day, now)
    callbacks_by_type: dict[int, list[dict]] = defaultdict(list)
    for callback in callbacks:
        callbacks_by_type[callback["case__case_type_id"]].append(callback)
    callback_rows = sorted(
        (
            CallbackRow(
                name=_case_type_name(group[0], language),
                figures=_callback_figures(group),
            )
            for group in callbacks_by_type.values()
        ),
        key=lambda row: row.name,
    )
    return DayInNumbers(
        center=center,
        day=day,
        now=now,
        target_wait_s=target_s,
        target_share=share,
        total=figures(visitors),
        by_hour=[HourRow(hour=hour, figures=figures(by_hour.get(hour, []))) for hour in hours],
        by_case_type=case_type_rows,
        callbacks=_callback_figures(callbacks),
        callbacks_by_case_type=callback_rows,
    )


# --- CSV exports ----------------------------------------------------------------------

#: Codes, statuses and times only: never a visitor's name, phone or complaint.
TICKET_COLUMNS = (
    "ticket",
    "case_type",
    "service",
    "status",
    "issued_at",
    "first_called_at",
    "last_called_at",
    "serving_at",
    "finished_at",
    "calls",
    "desk",
    "transferred_from",
)
EVENT_COLUMNS = ("seq", "at", "kind", "ticket", "case_type", "service", "desk", "detail")
#: Event data that may leave the building (no priority: it reveals a visitor's needs).
EXPORTED_EVENT_DATA = ("status", "call", "calls", "outcome", "to", "reason", "callback")
EXPORT_CHUNK = 500


def _cell(value: object, center: Center) -> object:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(center.tzinfo).isoformat(timespec="seconds")
    return value


def tickets_export(*, center: Center, day: dt.date) -> Iterator[tuple[object, ...]]:
    """The day's tickets, in the order of :data:`TICKET_COLUMNS`, read in chunks."""
    rows = (
        _tickets_of_day(center, day)
        .order_by("issued_at", "pk")
        .values_list(
            "code",
            "case__case_type__code",
            "service__code",
            "status",
            "issued_at",
            "first_called_at",
            "called_at",
            "serving_at",
            "finished_at",
            "call_count",
            "desk__number",
            "transferred_from__code",
        )
    )
    return (
        tuple(_cell(value, center) for value in row)
        for row in rows.iterator(chunk_size=EXPORT_CHUNK)
    )


def events_export(*, center: Center, day: dt.date) -> Iterator[tuple[object, ...]]:
    """The day's ticket events in log order, in the order of :data:`EVENT_COLUMNS`."""
    start, end = day_bounds(center, day)
    rows = (
        TicketEvent.objects.filter(center=center, at__gte=start, at__lt=end)
        .order_by("seq")
        .values_list(
            "seq",
            "at",
            "kind",
            "ticket__code",
            "ticket__case__case_type__code",
            "ticket__service__code",
            "desk__number",
            "data",
        )
    )
    return (
        (
            *(_cell(value, center) for value in row[:-1]),
            " ".join(f"{key}={row[-1][key]}" for key in EXPORTED_EVENT_DATA if key in row[-1]),
        )
        for row in rows.iterator(chunk_size=EXPORT_CHUNK)
    )


# --- Staffing -------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffingDefaults:
    """What the staffing form starts from: today's arrivals per hour so far and a mean
    handle time (today's mean service time, else the case types' expected times)."""

    hours: list[int]
    arrivals: dict[int, int]
    handle_time_s: float
    handle_time_from_today: bool


def staffing_defaults(*, center: Center) -> StaffingDefaults:
    now = clock.now()
    visitors, _case_types = _visitor_days(center, service_date(center, now), now)
    arrivals: dict[int, int] = defaultdict(int)
    for visitor in visitors:
        arrivals[visitor.hour] += 1
    hours = sorted(set(OPENING_HOURS) | set(arrivals))
    services = [v.service_s for v in visitors if v.service_s is not None]
    return StaffingDefaults(
        hours=list(range(hours[0], hours[-1] + 1)),
        arrivals=dict(arrivals),
        handle_time_s=(
            statistics.fmean(services) if services else _expected_service_s(center, visitors)
        ),
        handle_time_from_today=bool(services),
    )


def _expected_service_s(center: Center, visitors: Sequence[VisitorDay]) -> float:
    """The case types' expected service times, weighted by today's visitors, or alike
    for every active case type that a service of this center handles."""
    counts: dict[int, int] = defaultdict(int)
    for visitor in visitors:
        counts[visitor.case_type_id] += 1
    case_types = (
        CaseType.objects.filter(pk__in=counts)
        if counts
        else CaseType.objects.filter(
            active=True, skill__in=Service.objects.filter(center=center).values("code")
        )
    )
    expected = dict(case_types.values_list("pk", "expected_service_s"))
    if not expected:
        return float(CaseType._meta.get_field("expected_service_s").default)
    if not counts:
        return statistics.fmean(expected.values())
    return sum(expected[pk] * n for pk, n in counts.items()) / sum(counts.values())


@dataclass(frozen=True)
class StaffingHour:
    hour: int
    arrivals_per_hour: float
    #: Erlang C: the fewest desks that call ``target_share`` within the target wait.
    desks: int
    erlang_share: float | None
    occupancy: float | None
    simulated_share: float | None = None
    simulated_visitors: int = 0

    @property
    def label(self) -> str:
        return hour_label(self.hour)

    @property
    def erlang_percent(self) -> int | None:
        return None if self.erlang_share is None else math.floor(100 * self.erlang_share)

    @property
    def simulated_percent(self) -> int | None:
        return None if self.simulated_share is None else round(100 * self.simulated_share)

    @property
    def occupancy_percent(self) -> int | None:
        return None if self.occupancy is None else round(100 * self.occupancy)


@dataclass(frozen=True)
class SimulationCheck:
    """The forecast played through the simulator with the recommended desks.

    ``hours`` are the hours simulated: all of them, or (``reduced``) the busiest run of
    hours around the peak that fits the time a page may take; ``too_large`` when even
    the peak hour alone does not fit; ``failed`` holds the simulator's refusal."""

    hours: tuple[int, ...] = ()
    replications: int = 0
    visitors: int = 0
    within_target: int = 0
    reduced: bool = False
    too_large: bool = False
    failed: str = ""
    elapsed_s: float = 0.0

    @property
    def share(self) -> float | None:
        return self.within_target / self.visitors if self.visitors else None

    @property
    def percent(self) -> int | None:
        share = self.share
        return None if share is None else round(100 * share)

    @property
    def first_label(self) -> str:
        return f"{self.hours[0]:02d}:00"

    @property
    def last_label(self) -> str:
        return f"{self.hours[-1] + 1:02d}:00"


@dataclass(frozen=True)
class StaffingPlan:
    hours: list[StaffingHour]
    handle_time_s: float
    target_s: float
    target_share: float
    check: SimulationCheck | None = None

    @property
    def peak_desks(self) -> int:
        return max((hour.desks for hour in self.hours), default=0)

    @property
    def desk_hours(self) -> int:
        return sum(hour.desks for hour in self.hours)

    @property
    def arrivals(self) -> float:
        return sum(hour.arrivals_per_hour for hour in self.hours)

    @property
    def erlang_percent(self) -> int | None:
        """Erlang C's share within the target over the day, weighted by arrivals."""
        busy = [hour for hour in self.hours if hour.erlang_share is not None]
        weight = sum(hour.arrivals_per_hour for hour in busy)
        if not weight:
            return None
        share = sum(hour.erlang_share * hour.arrivals_per_hour for hour in busy) / weight  # type: ignore[operator]
        return math.floor(100 * share)


def staffing_plan(
    *,
    arrivals_by_hour: dict[int, float],
    handle_time_s: float,
    target_s: float,
    target_share: float,
) -> StaffingPlan:
    """Per hour, the desks Erlang C needs to call ``target_share`` of the visitors within
    ``target_s``: each hour on its own, as if it were a steady state, with every desk
    serving every case type. An hour without arrivals needs no desk."""
    hours = []
    for hour, rate in sorted(arrivals_by_hour.items()):
        if rate <= 0:
            hours.append(StaffingHour(hour, rate, desks=0, erlang_share=None, occupancy=None))
            continue
        result = desks_for_service_level(
            arrival_rate_per_hour=rate,
            handle_time_s=handle_time_s,
            target_s=target_s,
            service_level=target_share,
        )
        hours.append(
            StaffingHour(
                hour,
                rate,
                desks=result.desks,
                erlang_share=result.service_level,
                occupancy=result.occupancy,
            )
        )
    return StaffingPlan(
        hours=hours, handle_time_s=handle_time_s, target_s=target_s, target_share=target_share
    )


#: About 36 ms of simulation per visitor on a quiet core (``python -m bench simday``): a
#: check stays within ~4 s of a page request.
SIMULATION_VISITOR_BUDGET = 100
SIMULATION_MAX_REPLICATIONS = 3
SIMULATION_SEED = 1


def _hours_to_simulate(rates: Sequence[float], budget: float) -> range | None:
    """Every hour when the expected visitors fit the budget, else the busiest hour and
    its busier neighbours while they fit; None when the peak hour alone is too much."""
    if sum(rates) <= budget:
        return range(len(rates))
    peak = max(range(len(rates)), key=lambda index: rates[index])
    if rates[peak] > budget:
        return None
    first, end, total = peak, peak + 1, rates[peak]
    while True:
        options = [
            i for i in (first - 1, end) if 0 <= i < len(rates) and total + rates[i] <= budget
        ]
        if not options:
            return range(first, end)
        chosen = max(options, key=lambda index: rates[index])
        total += rates[chosen]
        first, end = min(first, chosen), max(end, chosen + 1)


def _desk_plans(desks_by_hour: Sequence[int], skill: str) -> tuple[DeskPlan, ...]:
    """Desk n is open in the hours that need n desks or more: it opens at the first,
    takes a break over any gap and leaves after the last. Desk 1 stays all day, so that
    somebody serves the visitors still waiting when the doors close."""
    plans = [DeskPlan(number=1, skills=(skill,))]
    last_hour = len(desks_by_hour) - 1
    for number in range(2, max(desks_by_hour, default=0) + 1):
        needed = [hour for hour, desks in enumerate(desks_by_hour) if desks >= number]
        first, last = needed[0], needed[-1]
        gaps = [hour for hour in range(first, last) if desks_by_hour[hour] < number]
        breaks: list[Break] = []
        for hour in gaps:
            if breaks and breaks[-1].start_h + breaks[-1].minutes / 60 == hour:
                breaks[-1] = Break(breaks[-1].start_h, breaks[-1].minutes + 60)
            else:
                breaks.append(Break(start_h=hour, minutes=60))
        plans.append(
            DeskPlan(
                number=number,
                skills=(skill,),
                opens_h=first,
                closes_h=None if last == last_hour else last + 1,
                breaks=tuple(breaks),
            )
        )
    return tuple(plans)


def staffing_check(*, center: Center, plan: StaffingPlan) -> StaffingPlan:
    """The plan with a simulation check: the forecast (Poisson arrivals, exponential
    handle times) played with the recommended desks through the real services, a few
    times with fixed seeds, counting who was first called within the target. Everything
    the runs write is rolled back. Unchanged when the forecast has no visitors."""
    rates = [hour.arrivals_per_hour for hour in plan.hours]
    if not any(rate > 0 for rate in rates):
        return plan
    window = _hours_to_simulate(rates, SIMULATION_VISITOR_BUDGET)
    if window is None:
        return dataclasses.replace(plan, check=SimulationCheck(too_large=True))
    simulated = plan.hours[window.start : window.stop]
    hours = tuple(hour.hour for hour in simulated)
    expected = sum(hour.arrivals_per_hour for hour in simulated)
    replications = max(
        1, min(SIMULATION_MAX_REPLICATIONS, int(SIMULATION_VISITOR_BUDGET // expected))
    )
    started = time.perf_counter()
    try:
        with transaction.atomic():
            results = replications_run(
                scenario=_scenario(center, plan, simulated),
                seed=SIMULATION_SEED,
                replications=replications,
            )
            transaction.set_rollback(True)
    except ScenarioError as error:
        return dataclasses.replace(plan, check=SimulationCheck(hours=hours, failed=str(error)))
    visitors = [0] * len(simulated)
    within = [0] * len(simulated)
    for result in results:
        for visitor in result.visitors:
            index = min(int(visitor.arrived_s // HOUR), len(simulated) - 1)
            visitors[index] += 1
            within[index] += visitor.wait_s is not None and visitor.wait_s <= plan.target_s
    checked = [
        dataclasses.replace(
            hour,
            simulated_visitors=visitors[index],
            simulated_share=within[index] / visitors[index] if visitors[index] else None,
        )
        for index, hour in enumerate(simulated)
    ]
    return dataclasses.replace(
        plan,
        hours=[*plan.hours[: window.start], *checked, *plan.hours[window.stop :]],
        check=SimulationCheck(
            hours=hours,
            replications=replications,
            visitors=sum(visitors),
            within_target=sum(within),
            reduced=len(simulated) < len(plan.hours),
            elapsed_s=time.perf_counter() - started,
        ),
    )


def _scenario(center: Center, plan: StaffingPlan, hours: Sequence[StaffingHour]) -> Scenario:
    """The simulator's M/M/c day with the forecast's rates and the plan's desks."""
    base = mmc_scenario(
        arrivals_per_hour=1,
        mean_service_s=plan.handle_time_s,
        desks=1,
        hours=len(hours),
        warmup_h=0,
    )
    load = dataclasses.replace(
        base.case_types[0], arrivals_per_hour=tuple(hour.arrivals_per_hour for hour in hours)
    )
    return dataclasses.replace(
        base,
        name="staffing",
        case_types=(load,),
        desks=_desk_plans([hour.desks for hour in hours], load.skill),
        opens_at=dt.time(hours[0].hour),
        timezone=center.timezone,
    )
