"""A discrete-event simulation of a center's day, played through the real queue services.

Time is virtual: events wait in a heap and each one runs inside
``use_clock(FixedClock(at))``, so every service stamps the virtual instant and a day
takes seconds. Each run creates its own center (slug ``sim-<seed>-<n>``) with services,
desks and staff logins, checks visitors in at the kiosk service, has the desks open,
call, recall, serve, resolve and pause, and reception record walkouts: exactly the writes
the screens make, against the configured database, with all their rules and logs. By
default the whole day is one transaction rolled back at its end: the database keeps no
trace of it (``keep=True`` commits it).

Randomness comes from one ``random.Random(seed)``, and every visitor (arrival, case
type, priority, patience, service time, whether they answer the call) is drawn before the
day starts. The same seed therefore replays the same visitors, also when the staffing
changes, and gives identical results.

Measurements, per visitor: arrival, first call (the wait ends there, as in
``selectors.day_kpis``), start of service and end. At each arrival the simulator also
records what the visitor's status page would show at that moment, the midpoint of
``selectors.ticket_wait_estimate``, and a naive estimate, position in line x the mean
service time the scenario configures for the visitor's case type / open desks of the
line; both are scored against the wait that followed (RMSE).

Warm-up: visitors who arrive during the first ``warmup_h`` hours are played but not
measured, so that a run that starts with an empty floor can be compared with steady-state
theory (Erlang C).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import heapq
import itertools
import math
import random
import statistics
import string
import time
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

from center import clock
from center.clock import FixedClock, use_clock
from center.errors import DomainError
from center.models import AssistanceNeed, CaseType, Center, Outcome, Role, StaffProfile
from queueing import demo, engine
from queueing.erlang import erlang_c
from queueing.models import Desk, Service, Ticket, TicketEvent
from queueing.selectors import recent_service_times, ticket_wait_estimate, tickets_ahead
from queueing.services import (
    CheckIn,
    IssuedTicket,
    checkin_issue_ticket,
    desk_close,
    desk_open,
    desk_pause,
    ticket_call_next,
    ticket_recall,
    ticket_resolve,
    ticket_start_serving,
    ticket_walkout,
)

HOUR = 3600.0
DEFAULT_DAY = dt.date(2030, 1, 7)
EXPLANATION = "Simulated visit: the representative explained the next steps."
PROGRESS_STEPS = 100


class ScenarioError(ValueError):
    """The scenario cannot be played as described; the message says why."""


# --- The scenario ---------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    """A random duration: exponential, or lognormal with a coefficient of variation."""

    kind: Literal["exponential", "lognormal"]
    mean_s: float
    cv: float = 1.0

    @classmethod
    def exponential(cls, mean_s: float) -> Duration:
        return cls("exponential", mean_s)

    @classmethod
    def lognormal(cls, mean_s: float, cv: float) -> Duration:
        return cls("lognormal", mean_s, cv)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean_s) and self.mean_s > 0):
            raise ScenarioError(f"a mean duration must be positive, got {self.mean_s}")
        if self.kind == "exponential" and self.cv != 1:
            raise ScenarioError("an exponential duration has a coefficient of variation of 1")
        if not (math.isfinite(self.cv) and self.cv > 0):
            raise ScenarioError(f"a coefficient of variation must be positive, got {self.cv}")

    def sample(self, rng: random.Random) -> float:
        if self.kind == "exponential":
            return rng.expovariate(1 / self.mean_s)
        sigma2 = math.log(1 + self.cv**2)
        return rng.lognormvariate(math.log(self.mean_s) - sigma2 / 2, math.sqrt(sigma2))


@dataclass(frozen=True)
class CaseTypeLoad:
    """Visitors of one case type. ``arrivals_per_hour`` holds one rate per hour after the
    doors open (a single value: the whole day); ``skill`` is the service that serves it."""

    code: str
    skill: str
    arrivals_per_hour: tuple[float, ...]
    service_time: Duration
    no_show_p: float = 0.0

    def rate_in_hour(self, hour: int) -> float:
        return self.arrivals_per_hour[min(hour, len(self.arrivals_per_hour) - 1)]


@dataclass(frozen=True)
class Break:
    start_h: float
    minutes: float


@dataclass(frozen=True)
class DeskPlan:
    """A desk and the representative at it. ``closes_h`` None: the desk stays until the
    doors close and then until nobody it can serve is waiting; a number: the
    representative leaves then, after the visitor at the desk. A break that falls during
    a visit starts when the visit ends."""

    number: int
    skills: tuple[str, ...]
    opens_h: float = 0.0
    closes_h: float | None = None
    breaks: tuple[Break, ...] = ()


@dataclass(frozen=True)
class Surge:
    """An incident: extra arrivals of one case type between two hours of the day."""

    case_type: str
    start_h: float
    end_h: float
    extra_per_hour: float


@dataclass(frozen=True)
class Scenario:
    """A day of the center. Hours count from when the doors open (``opens_at`` local
    time on ``day``); arrivals come while the doors are open, for ``hours``."""

    name: str
    case_types: tuple[CaseTypeLoad, ...]
    desks: tuple[DeskPlan, ...]
    hours: float
    priority_share: float = 0.0
    patience: Duration | None = None
    surge: Surge | None = None
    walk_to_desk_s: float = 0.0
    recall_after_s: float = 60.0
    warmup_h: float = 0.0
    day: dt.date = DEFAULT_DAY
    opens_at: dt.time = dt.time(9)
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        _check_scenario(self)


def _check_scenario(scenario: Scenario) -> None:  # noqa: PLR0912 - one rule per line
    if not (math.isfinite(scenario.hours) and 0 < scenario.hours <= 24):
        raise ScenarioError(f"the doors open for 0 to 24 hours, not {scenario.hours}")
    if not 0 <= scenario.warmup_h < scenario.hours:
        raise ScenarioError("the warm-up must end before the doors close")
    if not 0 <= scenario.priority_share <= 1:
        raise ScenarioError("the priority share is a fraction between 0 and 1")
    if scenario.walk_to_desk_s < 0 or scenario.recall_after_s <= 0:
        raise ScenarioError("walking and recall times cannot be negative")
    if not scenario.case_types:
        raise ScenarioError("a scenario needs at least one case type")
    codes = [load.code for load in scenario.case_types]
    if len(set(codes)) != len(codes):
        raise ScenarioError("each case type appears once in a scenario")
    for load in scenario.case_types:
        if not load.arrivals_per_hour or any(
            not (math.isfinite(rate) and rate >= 0) for rate in load.arrivals_per_hour
        ):
            raise ScenarioError(f"{load.code}: arrival rates are numbers of visitors per hour")
        if not 0 <= load.no_show_p < 1:
            raise ScenarioError(f"{load.code}: the no-show probability is a fraction below 1")
    numbers = [plan.number for plan in scenario.desks]
    if len(set(numbers)) != len(numbers) or any(n < 1 for n in numbers):
        raise ScenarioError("desk numbers are distinct and start at 1")
    for plan in scenario.desks:
        if not plan.skills:
            raise ScenarioError(f"desk {plan.number} has no skill")
        closes = scenario.hours if plan.closes_h is None else plan.closes_h
        if not 0 <= plan.opens_h < closes:
            raise ScenarioError(f"desk {plan.number} must open before it closes")
        for pause in plan.breaks:
            if not (plan.opens_h <= pause.start_h < closes and pause.minutes > 0):
                raise ScenarioError(f"desk {plan.number}: breaks fall within its opening hours")
    staying = {skill for plan in scenario.desks if plan.closes_h is None for skill in plan.skills}
    for load in scenario.case_types:
        if load.skill not in staying:
            raise ScenarioError(
                f"{load.code}: no desk with skill {load.skill} stays until the doors close, "
                "so its visitors could be left waiting"
            )
    surge = scenario.surge
    if surge is not None:
        if surge.case_type not in codes:
            raise ScenarioError(f"the surge's case type {surge.case_type} is not in the scenario")
        if not (0 <= surge.start_h < surge.end_h <= scenario.hours and surge.extra_per_hour > 0):
            raise ScenarioError("a surge adds arrivals during opening hours")


# --- The demo center's day ------------------------------------------------------------

#: Arrivals through the day relative to the daily mean: a morning peak, a lunch dip.
DAY_PROFILE = (0.8, 1.3, 1.4, 1.1, 0.8, 1.0, 1.0, 0.6)


def _profiled(per_hour: float) -> tuple[float, ...]:
    return tuple(round(per_hour * factor, 3) for factor in DAY_PROFILE)


def _demo_load(code: str, per_hour: float, service_cv: float, no_show_p: float) -> CaseTypeLoad:
    spec = next(spec for spec in demo.CASE_TYPES if spec["code"] == code)
    return CaseTypeLoad(
        code=code,
        skill=spec["skill"],
        arrivals_per_hour=_profiled(per_hour),
        service_time=Duration.lognormal(spec["expected_service_s"], service_cv),
        no_show_p=no_show_p,
    )


#: The demo center's desks and case types (service times as configured in the demo),
#: doors open 09:00-17:00, staggered lunch breaks; desks 1-5 are about 70 % busy, the
#: specialist's desk about 30 %.
DEFAULT_SCENARIO = Scenario(
    name="default",
    case_types=(
        _demo_load("ACCOUNT_SUSPENDED", 6.0, service_cv=0.6, no_show_p=0.05),
        _demo_load("WALLET_FROZEN", 3.0, service_cv=0.5, no_show_p=0.05),
        _demo_load("MERCHANT_APPEAL", 1.5, service_cv=0.7, no_show_p=0.04),
        _demo_load("MINOR_SPENDING", 1.1, service_cv=0.5, no_show_p=0.03),
        _demo_load("SOFTWARE_CONFLICT", 3.0, service_cv=1.0, no_show_p=0.08),
        _demo_load("GENERAL", 4.0, service_cv=1.0, no_show_p=0.08),
    ),
    desks=tuple(
        DeskPlan(
            number=number,
            skills=tuple(skills),
            breaks=(Break(start_h=2.5 + 0.5 * (number % 4), minutes=45),),
        )
        for number, skills in demo.DESKS
    ),
    hours=8,
    priority_share=0.08,
    patience=Duration.lognormal(90 * 60, 0.5),
    walk_to_desk_s=45,
)

#: The same day with a platform-wide mass suspension from 11:00 to 13:00.
INCIDENT_SCENARIO = dataclasses.replace(
    DEFAULT_SCENARIO,
    name="incident",
    surge=Surge(case_type="ACCOUNT_SUSPENDED", start_h=2.0, end_h=4.0, extra_per_hour=8.0),
)

SCENARIOS = {"default": DEFAULT_SCENARIO, "incident": INCIDENT_SCENARIO}

#: The demo's catch-all case type carries the M/M/c visitors: one line, no form to fill.
MMC_CASE_TYPE = "GENERAL"


def mmc_scenario(
    *,
    arrivals_per_hour: float,
    mean_service_s: float,
    desks: int,
    hours: float,
    warmup_h: float = 1.0,
) -> Scenario:
    """M/M/c: Poisson arrivals, exponential service, ``desks`` identical desks open all
    the time, first come first served, nobody walks out or misses the call."""
    return Scenario(
        name="mmc",
        case_types=(
            CaseTypeLoad(
                code=MMC_CASE_TYPE,
                skill="ACCOUNTS",
                arrivals_per_hour=(arrivals_per_hour,),
                service_time=Duration.exponential(mean_service_s),
            ),
        ),
        desks=tuple(DeskPlan(number=n, skills=("ACCOUNTS",)) for n in range(1, desks + 1)),
        hours=hours,
        warmup_h=warmup_h,
        opens_at=dt.time(0),
    )


# --- Results --------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitorRecord:
    """One visitor's day. Times are seconds after the doors opened."""

    code: str
    case_type: str
    priority: bool
    status: str
    arrived_s: float
    called_s: float | None
    serving_s: float | None
    finished_s: float
    ahead_at_arrival: int
    estimate_s: float | None
    naive_estimate_s: float | None
    measured: bool
    #: The status page's estimate as it was before it counted lines sharing desks:
    #: (ahead + 1) x the line's recent service time / the line's open desks.
    line_only_estimate_s: float | None = None

    @property
    def wait_s(self) -> float | None:
        return None if self.called_s is None else self.called_s - self.arrived_s


def _rmse(pairs: Sequence[tuple[float, float]]) -> float | None:
    if not pairs:
        return None
    return math.sqrt(sum((guess - actual) ** 2 for guess, actual in pairs) / len(pairs))


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def service_level(visitors: Sequence[VisitorRecord], target_wait_s: float) -> float | None:
    """Share of ``visitors`` first called within ``target_wait_s``; None for nobody."""
    if not visitors:
        return None
    within = sum(1 for v in visitors if v.wait_s is not None and v.wait_s <= target_wait_s)
    return within / len(visitors)


@dataclass(frozen=True)
class SimulationResult:
    scenario: Scenario
    seed: int
    center_slug: str
    visitors: tuple[VisitorRecord, ...]
    desk_open_s: dict[int, float]
    desk_busy_s: dict[int, float]
    #: When each desk was open, as (from, to) seconds after the doors opened.
    desk_open_periods: dict[int, tuple[tuple[float, float], ...]] = dataclasses.field(
        default_factory=dict
    )
    #: The center's published target: ``target_share`` called within ``target_wait_s``.
    target_wait_s: float = 15 * 60
    target_share: float = 0.85
    #: False: everything the run wrote was rolled back at its end.
    kept: bool = False

    @property
    def measured(self) -> list[VisitorRecord]:
        return [v for v in self.visitors if v.measured]

    @property
    def waits_s(self) -> list[float]:
        return [v.wait_s for v in self.measured if v.wait_s is not None]

    @property
    def mean_wait_s(self) -> float | None:
        """Mean time to the first call of the measured visitors who were called."""
        return _mean(self.waits_s)

    @property
    def p_wait(self) -> float | None:
        """Share of measured visitors not called the moment they arrived (walkouts
        waited)."""
        measured = self.measured
        if not measured:
            return None
        return sum(1 for v in measured if v.wait_s is None or v.wait_s > 0) / len(measured)

    @property
    def p90_wait_s(self) -> float | None:
        return engine.percentile(self.waits_s, 0.9)

    @property
    def service_level(self) -> float | None:
        """Share of the measured visitors first called within the center's target wait
        (no-shows were called; walkouts and anyone called later missed it)."""
        return service_level(self.measured, self.target_wait_s)

    def service_of(self, case_type: str) -> str:
        """The service (line) that serves a case type."""
        return next(load.skill for load in self.scenario.case_types if load.code == case_type)

    def _scored(self, attribute: str, case_type: str | None = None) -> list[tuple[float, float]]:
        return [
            (getattr(v, attribute), v.wait_s)
            for v in self.measured
            if v.wait_s is not None
            and v.estimate_s is not None
            and v.naive_estimate_s is not None
            and getattr(v, attribute) is not None
            and case_type in {None, v.case_type}
        ]

    @property
    def estimate_rmse_s(self) -> float | None:
        """Of the status page's estimate at arrival, over measured visitors who were
        called while a desk of their line was open when they arrived."""
        return _rmse(self._scored("estimate_s"))

    @property
    def naive_rmse_s(self) -> float | None:
        return _rmse(self._scored("naive_estimate_s"))

    def kpis(self) -> dict[str, Any]:
        measured = self.measured
        by_status = Counter(visitor.status for visitor in measured)
        by_case_type = {}
        for load in self.scenario.case_types:
            mine = [v for v in measured if v.case_type == load.code]
            by_case_type[load.code] = {
                "visitors": len(mine),
                "mean_wait_s": _mean([v.wait_s for v in mine if v.wait_s is not None]),
                "walkouts": sum(1 for v in mine if v.status == Ticket.Status.WALKOUT),
                "estimate_rmse_s": _rmse(self._scored("estimate_s", load.code)),
                "line_only_rmse_s": _rmse(self._scored("line_only_estimate_s", load.code)),
                "naive_rmse_s": _rmse(self._scored("naive_estimate_s", load.code)),
                "estimate_bias_s": _mean(
                    [guess - actual for guess, actual in self._scored("estimate_s", load.code)]
                ),
            }
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "center": self.center_slug,
            "kept": self.kept,
            "visitors": len(self.visitors),
            "measured_visitors": len(measured),
            "served": by_status[Ticket.Status.DONE],
            "no_shows": by_status[Ticket.Status.NO_SHOW],
            "walkouts": by_status[Ticket.Status.WALKOUT],
            "mean_wait_s": self.mean_wait_s,
            "p_wait": self.p_wait,
            "p90_wait_s": self.p90_wait_s,
            "max_wait_s": max(self.waits_s, default=None),
            "target_wait_s": self.target_wait_s,
            "target_share": self.target_share,
            "service_level": self.service_level,
            "estimate_rmse_s": self.estimate_rmse_s,
            "naive_rmse_s": self.naive_rmse_s,
            "line_only_rmse_s": _rmse(self._scored("line_only_estimate_s")),
            "estimates_scored": len(self._scored("estimate_s")),
            "desk_occupancy": {
                number: self.desk_busy_s[number] / open_s if open_s else None
                for number, open_s in sorted(self.desk_open_s.items())
            },
            "by_case_type": by_case_type,
        }


@dataclass(frozen=True)
class Figure:
    """A mean over replications and its standard error (sample std / sqrt(R))."""

    mean: float
    se: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Figure:
        if not values:
            return cls(math.nan, math.nan)
        se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan
        return cls(statistics.fmean(values), se)

    def as_dict(self) -> dict[str, float | None]:
        return {
            "mean": None if math.isnan(self.mean) else self.mean,
            "se": None if math.isnan(self.se) else self.se,
        }


SUMMARY_FIGURES = ("mean_wait_s", "p_wait", "p90_wait_s", "estimate_rmse_s", "naive_rmse_s")


def replication_summary(results: Sequence[SimulationResult]) -> dict[str, Figure]:
    """Each figure averaged over the replications that have it."""
    summary = {}
    for name in SUMMARY_FIGURES:
        values = [getattr(result, name) for result in results]
        summary[name] = Figure.of([value for value in values if value is not None])
    return summary


def _mmc_steady_state(
    arrivals_per_hour: float, mean_service_s: float, desks: int
) -> tuple[float, float, float]:
    """(rho, pi_c, P(k <= c)) of a steady M/M/c queue, k the number in the system."""
    rho = arrivals_per_hour * mean_service_s / HOUR / desks
    p_wait = erlang_c(
        arrival_rate_per_hour=arrivals_per_hour,
        handle_time_s=mean_service_s,
        desks=desks,
        target_s=mean_service_s,
    ).p_wait
    # P(k >= c) = p_wait = pi_c / (1 - rho); P(k <= c) = 1 - P(k > c).
    return rho, p_wait * (1 - rho), 1 - p_wait * rho


def queue_length_optimal_estimate_s(
    *, ahead: int, arrivals_per_hour: float, mean_service_s: float, desks: int
) -> float:
    """E[wait | ``ahead`` visitors waiting] on arrival in a steady M/M/c queue: the best
    estimate (least squares) from the queue length, knowing the true service rate.

    With n >= 1 ahead every desk is busy and the wait is Gamma(n + 1, c mu). With nobody
    ahead a desk is free (no wait) unless all c are busy, with probability
    q = pi_c / P(k <= c), and then the wait is Exp(c mu)."""
    unit = mean_service_s / desks
    if ahead:
        return (ahead + 1) * unit
    _rho, pi_c, none_ahead = _mmc_steady_state(arrivals_per_hour, mean_service_s, desks)
    return pi_c / none_ahead * unit


def queue_length_estimate_optimum_rmse_s(
    *, arrivals_per_hour: float, mean_service_s: float, desks: int
) -> float:
    """The RMSE of :func:`queue_length_optimal_estimate_s` over arrivals (PASTA: they see
    the stationary distribution): no estimate from the number waiting ahead does better.
    In units of 1 / (c mu), the wait's variance is n + 1 with n >= 1 ahead and
    2q - q^2 with nobody ahead."""
    rho, pi_c, none_ahead = _mmc_steady_state(arrivals_per_hour, mean_service_s, desks)
    q = pi_c / none_ahead
    # The sum over n >= 1 of P(n ahead) (n + 1), with P(n ahead) = pi_c rho^n.
    queued = pi_c * rho * (2 - rho) / (1 - rho) ** 2
    return mean_service_s / desks * math.sqrt(queued + none_ahead * (2 * q - q * q))


# --- The run --------------------------------------------------------------------------


@dataclass
class _Visitor:
    index: int
    load: CaseTypeLoad
    arrived_s: float
    priority: bool
    patience_s: float
    service_s: float
    no_show: bool
    ticket: Ticket | None = None
    status: str = "EXPECTED"
    called_at: dt.datetime | None = None
    serving_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    ahead: int = 0
    estimate_s: float | None = None
    naive_estimate_s: float | None = None
    line_only_estimate_s: float | None = None


@dataclass
class _DeskState:
    plan: DeskPlan
    desk: Desk
    rep: AbstractBaseUser
    service_ids: frozenset[int]
    status: str = Desk.Status.CLOSED
    visitor: _Visitor | None = None
    idle_since_s: float = 0.0
    pending_break: Break | None = None
    leaving: bool = False
    open_since_s: float = 0.0
    open_s: float = 0.0
    open_periods: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    busy_since_s: float = 0.0
    busy_s: float = 0.0


def _draw_visitors(scenario: Scenario, rng: random.Random) -> list[_Visitor]:
    """Everyone who comes today, in order of arrival, drawn before the day starts."""
    streams: list[tuple[CaseTypeLoad, list[tuple[float, float, float]]]] = []
    whole_hours = math.ceil(scenario.hours)
    for load in scenario.case_types:
        segments = [
            (hour * HOUR, min(hour + 1, scenario.hours) * HOUR, load.rate_in_hour(hour))
            for hour in range(whole_hours)
        ]
        streams.append((load, segments))
    if scenario.surge is not None:
        surge = scenario.surge
        load = next(load for load in scenario.case_types if load.code == surge.case_type)
        streams.append((load, [(surge.start_h * HOUR, surge.end_h * HOUR, surge.extra_per_hour)]))
    arrivals = sorted(
        (arrived_s, position, load)
        for position, (load, segments) in enumerate(streams)
        for arrived_s in _poisson_arrivals(rng, segments)
    )
    visitors = []
    for index, (arrived_s, _position, load) in enumerate(arrivals):
        visitors.append(
            _Visitor(
                index=index,
                load=load,
                arrived_s=arrived_s,
                priority=rng.random() < scenario.priority_share,
                patience_s=scenario.patience.sample(rng) if scenario.patience else math.inf,
                service_s=load.service_time.sample(rng),
                no_show=rng.random() < load.no_show_p,
            )
        )
    return visitors


def _poisson_arrivals(
    rng: random.Random, segments: Sequence[tuple[float, float, float]]
) -> Iterator[float]:
    """A Poisson process with a piecewise constant rate (per hour); memorylessness lets
    each segment start afresh at its beginning."""
    for start_s, end_s, per_hour in segments:
        if per_hour <= 0:
            continue
        at = start_s
        while (at := at + rng.expovariate(per_hour / HOUR)) < end_s:
            yield at


def _complaint_for(case_type: CaseType, day: dt.date) -> dict[str, str]:
    """Plausible answers to the required questions of a case type's intake form."""
    answers = {
        "year": "2011",
        "money": "100.00",
        "date": day.isoformat(),
        "phone_digits": "0921",
    }
    complaint = {}
    for spec in case_type.intake_fields:
        if not spec.get("required"):
            continue
        kind = spec.get("kind", "text")
        if kind == "choice":
            complaint[spec["name"]] = spec["choices"][0]
        else:
            complaint[spec["name"]] = answers.get(kind, "Simulated visitor")
    return complaint


class _Day:
    """One run: the center it created, the event heap and what happened to everyone."""

    #: Also score the estimate that ignores lines sharing desks, to show the difference.
    score_line_only = True

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        on_progress: Callable[[float], None] | None,
        *,
        keep: bool,
    ):
        self.scenario = scenario
        self.seed = seed
        self.keep = keep
        self.on_progress = on_progress
        self.progress_step = 0
        self.doors_open_at = dt.datetime.combine(
            scenario.day, scenario.opens_at, zoneinfo.ZoneInfo(scenario.timezone)
        )
        self.now_s = 0.0
        self.doors_closed = False
        self.heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self.order = itertools.count()
        with use_clock(FixedClock(self.doors_open_at)):
            self.center = _center_create(scenario, seed)
            self.case_types = {
                load.code: _case_type_ensure(load, self.center) for load in scenario.case_types
            }
            self.services = {s.code: s for s in Service.objects.filter(center=self.center)}
            self.services_by_id = {s.pk: s for s in self.services.values()}
            self.reception = _staff_create(self.center, Role.RECEPTION, "reception")
            self.desks = [self._desk_create(plan) for plan in scenario.desks]
        self.visitors = _draw_visitors(scenario, random.Random(seed))  # noqa: S311 - no secret
        self.by_ticket: dict[int, _Visitor] = {}
        self.waiting: dict[int, int] = dict.fromkeys(
            (service.pk for service in self.services.values()), 0
        )

    def _desk_create(self, plan: DeskPlan) -> _DeskState:
        desk = Desk.objects.create(center=self.center, number=plan.number)
        services = [self.services[skill] for skill in plan.skills]
        desk.services.set(services)
        rep = _staff_create(self.center, Role.REPRESENTATIVE, f"desk{plan.number}")
        return _DeskState(
            plan=plan, desk=desk, rep=rep, service_ids=frozenset(s.pk for s in services)
        )

    # The event loop.

    def at(self, at_s: float, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self.heap, (at_s, next(self.order), action, args))

    def play(self) -> SimulationResult:
        for state in self.desks:
            self.at(state.plan.opens_h * HOUR, self.desk_opens, state)
            for pause in state.plan.breaks:
                self.at(pause.start_h * HOUR, self.break_starts, state, pause)
            if state.plan.closes_h is not None:
                self.at(state.plan.closes_h * HOUR, self.desk_leaves, state)
        for visitor in self.visitors:
            self.at(visitor.arrived_s, self.arrives, visitor)
        self.at(self.scenario.hours * HOUR, self.doors_close)
        while self.heap:
            self.now_s, _order, action, args = heapq.heappop(self.heap)
            with use_clock(FixedClock(self.virtual(self.now_s))):
                action(*args)
        self._check_finished()
        if self.on_progress:
            self.on_progress(1.0)
        return self.result()

    def virtual(self, at_s: float) -> dt.datetime:
        return self.doors_open_at + dt.timedelta(seconds=at_s)

    def seconds(self, at: dt.datetime) -> float:
        return (at - self.doors_open_at).total_seconds()

    # Visitors.

    def arrives(self, visitor: _Visitor) -> None:
        case_type = self.case_types[visitor.load.code]
        issued = checkin_issue_ticket(
            center=self.center,
            checkin=CheckIn(
                full_name=f"Visitor {visitor.index + 1}",
                purpose="CASE",
                screening_passed=True,
                items_stored=False,
                recording_rule_acknowledged=True,
                case_type=case_type,
                complaint=_complaint_for(case_type, self.scenario.day),
                complaint_text="Simulated visitor.",
                assistance_needs=(AssistanceNeed.ELDERLY,) if visitor.priority else (),
                assisted_by_staff=visitor.priority,
            ),
            by=self.reception,
        )
        assert isinstance(issued, IssuedTicket)  # noqa: S101 - no idempotency key was given
        ticket = issued.ticket
        # The line is in memory already: spare the selectors a query for it.
        ticket.service = self.services_by_id[ticket.service_id]
        visitor.ticket, visitor.status = ticket, Ticket.Status.WAITING
        self.by_ticket[ticket.pk] = visitor
        self.waiting[ticket.service_id] += 1
        self._estimate(visitor, ticket)
        if math.isfinite(visitor.patience_s):
            self.at(self.now_s + visitor.patience_s, self.gives_up, visitor)
        self._report_progress()
        self.dispatch()

    def _estimate(self, visitor: _Visitor, ticket: Ticket) -> None:
        """What the status page shows now, and the naive figure, for scoring later."""
        visitor.ahead = ahead = tickets_ahead(ticket)
        estimate = ticket_wait_estimate(ticket, ahead)
        if estimate is not None:
            visitor.estimate_s = (estimate.low_s + estimate.high_s) / 2
        open_desks = [
            state
            for state in self.desks
            if state.status == Desk.Status.OPEN and ticket.service_id in state.service_ids
        ]
        if open_desks:
            visitor.naive_estimate_s = (
                (ahead + 1) * visitor.load.service_time.mean_s / len(open_desks)
            )
        if estimate is None or not self.score_line_only:
            return
        if all(state.service_ids == {ticket.service_id} for state in open_desks):
            # No desk of this line serves another: both estimates are the same.
            visitor.line_only_estimate_s = visitor.estimate_s
            return
        line_only = engine.estimate_wait(
            ahead=ahead,
            open_desks=len(open_desks),
            service_times_s=recent_service_times(ticket.service),
            default_service_s=self.case_types[visitor.load.code].expected_service_s,
        )
        if line_only is not None:
            visitor.line_only_estimate_s = (line_only.low_s + line_only.high_s) / 2

    def gives_up(self, visitor: _Visitor) -> None:
        if visitor.status != Ticket.Status.WAITING or visitor.ticket is None:
            return
        ticket = ticket_walkout(ticket=visitor.ticket, by=self.reception)
        visitor.status, visitor.finished_at = ticket.status, ticket.finished_at
        self.waiting[ticket.service_id] -= 1

    # Desks.

    def dispatch(self) -> None:
        """Every free open desk with someone to serve calls, longest idle first."""
        free = sorted(
            (s for s in self.desks if s.status == Desk.Status.OPEN and s.visitor is None),
            key=lambda state: (state.idle_since_s, state.plan.number),
        )
        for state in free:
            if self._has_waiting(state):
                self.calls(state)

    def _has_waiting(self, state: _DeskState) -> bool:
        return any(self.waiting[service_id] for service_id in state.service_ids)

    def calls(self, state: _DeskState) -> None:
        ticket = ticket_call_next(desk=state.desk, by=state.rep)
        if ticket is None:
            raise RuntimeError(f"desk {state.plan.number} found nobody; the simulator lost track")
        visitor = self.by_ticket[ticket.pk]
        visitor.status, visitor.called_at = ticket.status, ticket.called_at
        self.waiting[ticket.service_id] -= 1
        state.visitor, state.busy_since_s = visitor, self.now_s
        if visitor.no_show:
            self.at(self.now_s + self.scenario.recall_after_s, self.recalls, state)
        else:
            self.at(self.now_s + self.scenario.walk_to_desk_s, self.starts_serving, state)

    def recalls(self, state: _DeskState) -> None:
        """Nobody came: call again, and after the last call the ticket is a no-show."""
        ticket = ticket_recall(desk=state.desk, by=state.rep)
        if ticket.status == Ticket.Status.NO_SHOW:
            self._finish(state, ticket.status, ticket.finished_at)
            return
        self.at(self.now_s + self.scenario.recall_after_s, self.recalls, state)

    def starts_serving(self, state: _DeskState) -> None:
        ticket = ticket_start_serving(desk=state.desk, by=state.rep)
        assert state.visitor is not None  # noqa: S101 - a desk serves whom it called
        state.visitor.serving_at = ticket.serving_at
        self.at(self.now_s + state.visitor.service_s, self.resolves, state)

    def resolves(self, state: _DeskState) -> None:
        resolution = ticket_resolve(
            desk=state.desk,
            outcome=Outcome.GUIDANCE_GIVEN,
            reason_code="",
            explanation=EXPLANATION,
            by=state.rep,
        )
        self._finish(state, Ticket.Status.DONE, resolution.decided_at)

    def _finish(self, state: _DeskState, status: str, at: dt.datetime | None) -> None:
        assert state.visitor is not None  # noqa: S101 - a desk finishes whom it called
        state.visitor.status, state.visitor.finished_at = status, at
        state.visitor = None
        state.idle_since_s = self.now_s
        state.busy_s += self.now_s - state.busy_since_s
        self._settle(state)
        self.dispatch()

    def _settle(self, state: _DeskState) -> None:
        """A free desk takes its pending break, leaves, or closes after the last visitor."""
        if state.visitor is not None or state.status != Desk.Status.OPEN:
            return
        if state.leaving or (self.doors_closed and not self._has_waiting(state)):
            self._close(state)
        elif state.pending_break is not None:
            pause, state.pending_break = state.pending_break, None
            desk_pause(desk=state.desk, by=state.rep)
            self._set_status(state, Desk.Status.PAUSED)
            self.at(self.now_s + pause.minutes * 60, self.break_ends, state)

    def desk_opens(self, state: _DeskState) -> None:
        desk_open(desk=state.desk, by=state.rep)
        self._set_status(state, Desk.Status.OPEN)
        state.idle_since_s = self.now_s
        self.dispatch()

    def break_starts(self, state: _DeskState, pause: Break) -> None:
        if state.status != Desk.Status.OPEN or state.leaving:
            return
        state.pending_break = pause
        self._settle(state)

    def break_ends(self, state: _DeskState) -> None:
        if state.status != Desk.Status.PAUSED:
            return
        if state.leaving or (self.doors_closed and not self._has_waiting(state)):
            self._close(state)
            return
        self.desk_opens(state)

    def desk_leaves(self, state: _DeskState) -> None:
        state.leaving = True
        if state.visitor is None and state.status != Desk.Status.CLOSED:
            self._close(state)

    def doors_close(self) -> None:
        self.doors_closed = True
        for state in self.desks:
            self._settle(state)

    def _close(self, state: _DeskState) -> None:
        desk_close(desk=state.desk, by=state.rep)
        self._set_status(state, Desk.Status.CLOSED)

    def _set_status(self, state: _DeskState, status: str) -> None:
        if state.status == Desk.Status.OPEN:
            state.open_s += self.now_s - state.open_since_s
            state.open_periods.append((state.open_since_s, self.now_s))
        state.status = status
        state.open_since_s = self.now_s

    # Bookkeeping.

    def _report_progress(self) -> None:
        if self.on_progress is None:
            return
        step = int(PROGRESS_STEPS * self.now_s / (self.scenario.hours * HOUR))
        if step > self.progress_step:
            self.progress_step = step
            self.on_progress(step / PROGRESS_STEPS)

    def _check_finished(self) -> None:
        unfinished = [v for v in self.visitors if v.finished_at is None]
        if unfinished or any(s.status != Desk.Status.CLOSED for s in self.desks):
            raise RuntimeError(
                f"the day ended with {len(unfinished)} visitors unfinished or a desk open"
            )

    def result(self) -> SimulationResult:
        warmup_s = self.scenario.warmup_h * HOUR
        records = []
        for visitor in self.visitors:
            assert visitor.ticket is not None  # noqa: S101 - checked by _check_finished
            assert visitor.finished_at is not None  # noqa: S101
            records.append(
                VisitorRecord(
                    code=visitor.ticket.code,
                    case_type=visitor.load.code,
                    priority=visitor.priority,
                    status=visitor.status,
                    arrived_s=self.seconds(visitor.ticket.issued_at),
                    called_s=self.seconds(visitor.called_at) if visitor.called_at else None,
                    serving_s=self.seconds(visitor.serving_at) if visitor.serving_at else None,
                    finished_s=self.seconds(visitor.finished_at),
                    ahead_at_arrival=visitor.ahead,
                    estimate_s=visitor.estimate_s,
                    naive_estimate_s=visitor.naive_estimate_s,
                    measured=visitor.arrived_s >= warmup_s,
                    line_only_estimate_s=visitor.line_only_estimate_s,
                )
            )
        return SimulationResult(
            scenario=self.scenario,
            seed=self.seed,
            center_slug=self.center.slug,
            visitors=tuple(records),
            desk_open_s={s.plan.number: s.open_s for s in self.desks},
            desk_busy_s={s.plan.number: s.busy_s for s in self.desks},
            desk_open_periods={s.plan.number: tuple(s.open_periods) for s in self.desks},
            target_wait_s=self.center.target_wait_minutes * 60.0,
            target_share=float(self.center.target_share),
            kept=self.keep,
        )


def _center_create(scenario: Scenario, seed: int) -> Center:
    prefix = f"sim-{seed}-"
    taken = {
        int(suffix)
        for suffix in (
            slug.removeprefix(prefix)
            for slug in Center.objects.filter(slug__startswith=prefix).values_list(
                "slug", flat=True
            )
        )
        if suffix.isdigit()
    }
    number = next(n for n in itertools.count(1) if n not in taken)
    pauses = [pause.minutes for plan in scenario.desks for pause in plan.breaks]
    center = Center.objects.create(
        name=f"Simulation {scenario.name} #{number} (seed {seed})",
        slug=f"{prefix}{number}",
        timezone=scenario.timezone,
        languages=["zh-hans", "en"],
        # The center knows its own break plan: the wait estimates count on it.
        **({"desk_pause_minutes": round(statistics.median(pauses))} if pauses else {}),
    )
    skills = list(
        dict.fromkeys(
            [load.skill for load in scenario.case_types]
            + [skill for plan in scenario.desks for skill in plan.skills]
        )
    )
    if len(skills) > len(string.ascii_uppercase):
        raise ScenarioError("a center has at most 26 services (one ticket letter each)")
    known = {code: (prefix, name, name_zh) for code, prefix, name, name_zh in demo.SERVICES}
    letters = set(string.ascii_uppercase)
    for skill in skills:
        if skill in known and known[skill][0] in letters:
            letter, name, name_zh = known[skill]
        else:
            initial = skill[:1].upper()
            letter = initial if initial in letters else min(letters)
            name, name_zh = skill.replace("_", " ").capitalize(), ""
        letters.discard(letter)
        Service.objects.create(center=center, code=skill, prefix=letter, name=name, name_zh=name_zh)
    return center


def _case_type_ensure(load: CaseTypeLoad, center: Center) -> CaseType:
    """Case types are shared by all centers: the simulator reuses one with the load's
    code, creating it from the demo catalogue (or from the load) when it is missing."""
    spec = next((spec for spec in demo.CASE_TYPES if spec["code"] == load.code), None)
    defaults = spec or {
        "name": load.code.replace("_", " ").capitalize(),
        "skill": load.skill,
        "expected_service_s": round(load.service_time.mean_s),
    }
    case_type, _created = CaseType.objects.get_or_create(code=load.code, defaults=defaults)
    if case_type.skill != load.skill:
        raise ScenarioError(
            f"case type {load.code} is served by {case_type.skill} in this database, "
            f"not by {load.skill} as the scenario says"
        )
    if not case_type.active:
        raise ScenarioError(f"case type {load.code} is switched off in this database")
    return case_type


def _staff_create(center: Center, role: str, name: str) -> AbstractBaseUser:
    user = get_user_model().objects.create(username=f"{center.slug}-{name}", first_name=name)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    StaffProfile.objects.create(user=user, center=center)
    return user


# --- The live demo ----------------------------------------------------------------------

#: Simulated desks take the numbers after the center's own desks, from this one on.
LIVE_DESK_OFFSET = 10
#: How often (simulated seconds) an idle simulated desk looks for visitors checked in by
#: a person at the kiosk, whom the simulator did not schedule.
LIVE_POLL_S = 60.0


@dataclass(frozen=True)
class LiveSummary:
    center_slug: str
    speed: float
    visitors: int
    called_by_simulated_desks: int
    served_by_simulated_desks: int
    events: int
    elapsed_s: float
    interrupted: bool


def _staff_ensure(center: Center, role: str, name: str) -> AbstractBaseUser:
    username = f"{center.slug}-{name}"
    user = get_user_model().objects.filter(username=username).first()
    return user if user is not None else _staff_create(center, role, name)


class _LiveDay(_Day):
    """A day played into a running center on the system clock, ``speed`` times faster
    than real time: every commit reaches the screens as it would from a desk.

    The simulated desks are desks of their own (numbers from ``LIVE_DESK_OFFSET`` + 1,
    operated by ``<slug>-sim-desk<n>`` logins), so people can open the center's real
    desks and call from the same lines. Therefore nothing here assumes the simulator
    owns the floor: a simulated desk calls whoever is next (also visitors a person
    checked in), finds nobody when a person was quicker, and a simulated visitor may
    already be at a person's desk when their patience runs out. Everything written is
    committed; a stop (Ctrl-C or the end of the day) finishes the simulated desks'
    visitors, closes those desks and records the simulated visitors still waiting as
    gone."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        on_progress: Callable[[float], None] | None,
        *,
        center: Center,
        speed: float,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
    ) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ScenarioError(f"the speed is a positive factor, not {speed}")
        self.scenario = scenario
        self.seed = seed
        self.keep = True
        self.on_progress = on_progress
        self.progress_step = 0
        self.speed = speed
        self.sleep = sleep
        self.monotonic = monotonic
        self.doors_open_at = clock.now()
        self.now_s = 0.0
        self.doors_closed = False
        self.heap = []
        self.order = itertools.count()
        self.center = center
        self.case_types = {
            load.code: _case_type_ensure(load, center) for load in scenario.case_types
        }
        self.services = {s.code: s for s in Service.objects.filter(center=center)}
        self.services_by_id = {s.pk: s for s in self.services.values()}
        missing = {load.skill for load in scenario.case_types} - set(self.services)
        missing |= {skill for plan in scenario.desks for skill in plan.skills} - set(self.services)
        if missing:
            raise ScenarioError(f"center {center.slug} has no service {', '.join(sorted(missing))}")
        self.called = self.served = 0
        self.reception = _staff_ensure(center, Role.RECEPTION, "sim-kiosk")
        self.desks = [self._live_desk(plan) for plan in scenario.desks]
        self.visitors = _draw_visitors(scenario, random.Random(seed))  # noqa: S311
        self.by_ticket = {}
        self.waiting = dict.fromkeys((service.pk for service in self.services.values()), 0)

    def _live_desk(self, plan: DeskPlan) -> _DeskState:
        number = LIVE_DESK_OFFSET + plan.number
        rep = _staff_ensure(self.center, Role.REPRESENTATIVE, f"sim-desk{number}")
        desk, _created = Desk.objects.get_or_create(center=self.center, number=number)
        services = [self.services[skill] for skill in plan.skills]
        desk.services.set(services)
        state = _DeskState(
            plan=plan, desk=desk, rep=rep, service_ids=frozenset(s.pk for s in services)
        )
        if desk.status != Desk.Status.CLOSED:
            # Left open by a run that was killed: finish its visitor and close it.
            self._stop_desk(state)
            self.served = 0
        return state

    def play(self) -> LiveSummary:  # type: ignore[override]
        first_seq = TicketEvent.objects.filter(center=self.center).count()
        started = self.monotonic()
        for state in self.desks:
            self.at(state.plan.opens_h * HOUR, self.desk_opens, state)
            for pause in state.plan.breaks:
                self.at(pause.start_h * HOUR, self.break_starts, state, pause)
            if state.plan.closes_h is not None:
                self.at(state.plan.closes_h * HOUR, self.desk_leaves, state)
        for visitor in self.visitors:
            self.at(visitor.arrived_s, self.arrives, visitor)
        self.at(self.scenario.hours * HOUR, self.doors_close)
        self.at(LIVE_POLL_S, self.polls)
        interrupted = False
        try:
            while self.heap:
                at_s, _order, action, args = heapq.heappop(self.heap)
                delay = started + at_s / self.speed - self.monotonic()
                if delay > 0:
                    self.sleep(delay)
                self.now_s = at_s
                action(*args)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self._stop()
        if self.on_progress:
            self.on_progress(1.0)
        return LiveSummary(
            center_slug=self.center.slug,
            speed=self.speed,
            visitors=sum(1 for v in self.visitors if v.ticket is not None),
            called_by_simulated_desks=self.called,
            served_by_simulated_desks=self.served,
            events=TicketEvent.objects.filter(center=self.center).count() - first_seq,
            elapsed_s=self.monotonic() - started,
            interrupted=interrupted,
        )

    def _estimate(self, visitor: _Visitor, ticket: Ticket) -> None:
        """Nobody scores estimates in a live demo."""

    def _has_waiting(self, state: _DeskState) -> bool:
        return (
            Ticket.objects.waiting()
            .filter(center=self.center, service_id__in=state.service_ids)
            .exists()
        )

    def polls(self) -> None:
        """Idle simulated desks look for visitors a person checked in."""
        self.dispatch()
        if not self.doors_closed or any(s.status != Desk.Status.CLOSED for s in self.desks):
            self.at(self.now_s + LIVE_POLL_S, self.polls)

    def calls(self, state: _DeskState) -> None:
        ticket = ticket_call_next(desk=state.desk, by=state.rep)
        if ticket is None:  # a person's desk was quicker
            return
        visitor = self.by_ticket.get(ticket.pk)
        if visitor is None:  # checked in by a person at the kiosk
            load = next(
                (
                    load
                    for load in self.scenario.case_types
                    if self.services[load.skill].pk == ticket.service_id
                ),
                self.scenario.case_types[0],
            )
            visitor = _Visitor(
                index=-1,
                load=load,
                arrived_s=self.now_s,
                priority=False,
                patience_s=math.inf,
                service_s=load.service_time.mean_s,
                no_show=False,
                ticket=ticket,
            )
            self.by_ticket[ticket.pk] = visitor
        self.called += 1
        visitor.status, visitor.called_at = ticket.status, ticket.called_at
        state.visitor, state.busy_since_s = visitor, self.now_s
        if visitor.no_show:
            self.at(self.now_s + self.scenario.recall_after_s, self.recalls, state)
        else:
            self.at(self.now_s + self.scenario.walk_to_desk_s, self.starts_serving, state)

    def resolves(self, state: _DeskState) -> None:
        super().resolves(state)
        self.served += 1

    def gives_up(self, visitor: _Visitor) -> None:
        try:
            super().gives_up(visitor)
        except DomainError:  # already called at a person's desk
            visitor.status = "ELSEWHERE"

    def _stop_desk(self, state: _DeskState) -> None:
        """Finishes the desk's visitor and closes it, without calling anyone else."""
        ticket = Ticket.objects.active().filter(desk=state.desk).first()
        if ticket is not None:
            if ticket.status == Ticket.Status.CALLED:
                ticket_start_serving(desk=state.desk, by=state.rep)
            ticket_resolve(
                desk=state.desk,
                outcome=Outcome.GUIDANCE_GIVEN,
                reason_code="",
                explanation=EXPLANATION,
                by=state.rep,
            )
            self.served += 1
        if Desk.objects.filter(pk=state.desk.pk).exclude(status=Desk.Status.CLOSED).exists():
            desk_close(desk=state.desk, by=state.rep)
        state.status, state.visitor = Desk.Status.CLOSED, None

    def _stop(self) -> None:
        self.heap.clear()
        for state in self.desks:
            self._stop_desk(state)
        for visitor in self.visitors:
            if visitor.ticket is None:
                continue
            if Ticket.objects.filter(pk=visitor.ticket.pk, status=Ticket.Status.WAITING).exists():
                with contextlib.suppress(DomainError):
                    ticket_walkout(ticket=visitor.ticket, by=self.reception)


def live_run(
    *,
    scenario: Scenario,
    seed: int,
    speed: float,
    center: Center | None = None,
    on_progress: Callable[[float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> LiveSummary:
    """Plays ``scenario`` into ``center`` (the demo center by default) now, ``speed``
    times faster than real time, committing as it goes (see ``_LiveDay``)."""
    if center is None:
        center = Center.objects.filter(slug=demo.CENTER_SLUG).first()
        if center is None:
            raise ScenarioError(
                "the demo center is not loaded: run `manage.py seed_demo` (or `manage.py demo`)"
            )
    day = _LiveDay(
        scenario, seed, on_progress, center=center, speed=speed, sleep=sleep, monotonic=monotonic
    )
    return day.play()


def simulation_run(
    *,
    scenario: Scenario,
    seed: int,
    on_progress: Callable[[float], None] | None = None,
    keep: bool = False,
) -> SimulationResult:
    """Plays one day of ``scenario`` through the real services in a new center.

    The whole day runs in one transaction that is rolled back at its end, so the
    database is left as it was (the result lives in memory); ``keep`` commits the
    simulated center, its staff, tickets, cases and logs instead, to look at them on the
    screens or query them afterwards. Inside a caller's transaction the day is a
    savepoint, rolled back alike."""
    if keep:
        return _Day(scenario, seed, on_progress, keep=True).play()
    with transaction.atomic():
        result = _Day(scenario, seed, on_progress, keep=False).play()
        transaction.set_rollback(True)
    return result


def replications_run(
    *,
    scenario: Scenario,
    seed: int,
    replications: int,
    on_progress: Callable[[float], None] | None = None,
    keep: bool = False,
) -> list[SimulationResult]:
    """Independent runs; replication ``i`` uses seed ``seed + i`` (rerun one alone with
    that seed)."""
    results = []
    for index in range(replications):
        report = (
            (lambda fraction, index=index: on_progress((index + fraction) / replications))
            if on_progress
            else None
        )
        results.append(
            simulation_run(scenario=scenario, seed=seed + index, on_progress=report, keep=keep)
        )
    return results


@dataclass(frozen=True)
class MmcDay:
    """One M/M/c day timed: ``elapsed_s`` (wall) and ``cpu_s`` (this process) cover the
    whole run through the real services, creating the center and the rollback
    included."""

    result: SimulationResult
    elapsed_s: float
    cpu_s: float

    @property
    def visitors(self) -> int:
        return len(self.result.visitors)

    @property
    def ms_per_visitor(self) -> float:
        return 1000 * self.elapsed_s / max(1, self.visitors)


def run_mmc_day(
    *,
    visitors: int = 2000,
    desks: int = 20,
    seed: int = 1,
    mean_service_s: float = 600.0,
    occupancy: float = 0.85,
) -> MmcDay:
    """A busy M/M/c day for timing: ``desks`` desks at ``occupancy``, arrivals for as
    many hours as bring ``visitors`` visitors on average (at most 24), everything rolled
    back. The same scenario in ciw: Poisson arrivals at ``arrivals_per_hour``,
    exponential service with mean ``mean_service_s``, ``desks`` servers."""
    arrivals_per_hour = occupancy * desks * HOUR / mean_service_s
    scenario = mmc_scenario(
        arrivals_per_hour=arrivals_per_hour,
        mean_service_s=mean_service_s,
        desks=desks,
        hours=visitors / arrivals_per_hour,
        warmup_h=0,
    )
    started, cpu = time.perf_counter(), time.process_time()
    result = simulation_run(scenario=scenario, seed=seed)
    return MmcDay(
        result=result,
        elapsed_s=time.perf_counter() - started,
        cpu_s=time.process_time() - cpu,
    )


@dataclass(frozen=True)
class MmcComparison:
    """Simulated M/M/c figures next to the theory for the same parameters."""

    summary: dict[str, Figure]
    erlang_p_wait: float
    erlang_mean_wait_s: float
    optimum_estimate_rmse_s: float
    replications: int
    visitors: int
    measured_visitors: int


def mmc_compare(
    *,
    arrivals_per_hour: float,
    mean_service_s: float,
    desks: int,
    hours: float,
    replications: int,
    seed: int,
    warmup_h: float = 1.0,
    on_progress: Callable[[float], None] | None = None,
) -> MmcComparison:
    scenario = mmc_scenario(
        arrivals_per_hour=arrivals_per_hour,
        mean_service_s=mean_service_s,
        desks=desks,
        hours=hours,
        warmup_h=warmup_h,
    )
    results = replications_run(
        scenario=scenario, seed=seed, replications=replications, on_progress=on_progress
    )
    theory = erlang_c(
        arrival_rate_per_hour=arrivals_per_hour,
        handle_time_s=mean_service_s,
        desks=desks,
        target_s=mean_service_s,
    )
    return MmcComparison(
        summary=replication_summary(results),
        erlang_p_wait=theory.p_wait,
        erlang_mean_wait_s=theory.mean_wait_s,
        optimum_estimate_rmse_s=queue_length_estimate_optimum_rmse_s(
            arrivals_per_hour=arrivals_per_hour, mean_service_s=mean_service_s, desks=desks
        ),
        replications=replications,
        visitors=sum(len(result.visitors) for result in results),
        measured_visitors=sum(len(result.measured) for result in results),
    )
