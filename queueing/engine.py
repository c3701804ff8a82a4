"""The queue policy, free of Django: ordering, numbering and wait estimates.

Ordering rule (why it cannot starve anyone): every ticket is ranked by its issue time,
moved earlier by a fixed head start for its priority class. A priority visitor therefore
goes ahead of standard visitors who arrived less than ``PRIORITY_HEAD_START`` before
them, and never ahead of anyone who has waited longer than that. Because every rank is a
fixed point in time, a standard ticket's rank only becomes the smallest as time passes:
no stream of priority arrivals can hold it back for more than the head start.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PRIORITY_HEAD_START = dt.timedelta(minutes=10)
HEAD_STARTS: dict[int, dt.timedelta] = {0: dt.timedelta(0), 1: PRIORITY_HEAD_START}


def rank_at(issued_at: dt.datetime, priority: int) -> dt.datetime:
    """The point in time a ticket queues as if it had been issued."""
    return issued_at - HEAD_STARTS.get(priority, dt.timedelta(0))


def ticket_code(prefix: str, number: int) -> str:
    """A017: the prefix letter of the service and a number padded to three digits."""
    return f"{prefix}{number:03d}"


@dataclass(frozen=True)
class Overtaker:
    """A ticket called while another, issued earlier, still waits."""

    issued_at: dt.datetime
    service_id: int
    priority: int
    transferred: bool


def why_called_first(
    *, issued_at: dt.datetime, service_id: int, priority: int, other: Overtaker
) -> str | None:
    """Why a ticket issued later was called before this one, or None if it was not.

    ANOTHER_SERVICE: it waits in another line, served by other desks or skills.
    TRANSFERRED: it came from another line and kept its place there.
    PRIORITY: its priority class gives it a head start (see ``rank_at``).
    """
    if other.issued_at <= issued_at:
        return None
    if other.service_id != service_id:
        return "ANOTHER_SERVICE"
    if other.transferred:
        return "TRANSFERRED"
    if other.priority > priority:
        return "PRIORITY"
    return None


@dataclass(frozen=True)
class QueuedTicket:
    id: int
    rank_at: dt.datetime


def next_in_line(waiting: Sequence[QueuedTicket]) -> QueuedTicket | None:
    """Who a desk calls next among the tickets its skills cover."""
    if not waiting:
        return None
    return min(waiting, key=lambda ticket: (ticket.rank_at, ticket.id))


@dataclass(frozen=True)
class WaitEstimate:
    low_s: int
    high_s: int

    @property
    def low_minutes(self) -> int:
        return max(0, round(self.low_s / 60))

    @property
    def high_minutes(self) -> int:
        return max(1, math.ceil(self.high_s / 60))


@dataclass(frozen=True)
class ServiceTimes:
    """What the line's recent visitors say about the next ones: a service time weighted
    towards the latest, its spread, and the share of the visitors who are still there
    when a desk reaches them (``stay_share``; the others gave up their place first).
    Computed once per line, used for every ticket in it."""

    mean_s: float
    spread_s: float
    stay_share: float = 1.0

    @classmethod
    def from_samples(
        cls, samples_s: Sequence[float], default_s: float, stay_share: float = 1.0
    ) -> ServiceTimes:
        """``samples_s`` newest last. The configured expected time counts as
        ``PRIOR_SAMPLES`` observations older than all of them: it is the mean when there
        are none, weighs against one long service early in the day, and fades as the
        day's own services come in."""
        mean = (
            _weighted_mean([default_s] * PRIOR_SAMPLES + list(samples_s))
            if samples_s
            else default_s
        )
        spread = statistics.pstdev(samples_s) if len(samples_s) >= 2 else mean
        return cls(mean_s=mean, spread_s=spread, stay_share=stay_share)


#: How many observations the configured expected service time is worth (see
#: ``ServiceTimes.from_samples``).
PRIOR_SAMPLES = 3

#: Below this many recent outcomes a line's share of visitors who leave before their
#: call is not trusted, and everyone ahead counts.
MIN_OUTCOMES = 10


def stay_share(outcomes: Sequence[bool]) -> float:
    """The share of a line's recent visitors (``True``: still there when called) who
    stayed, or 1 with too few of them to say."""
    if len(outcomes) < MIN_OUTCOMES:
        return 1.0
    return sum(outcomes) / len(outcomes)


#: At most this many other lines enter an estimate (those with the most work ahead):
#: the estimate looks at every group of the lines a desk of ours serves.
MAX_SHARED_LINES = 6


@dataclass(frozen=True)
class SharedLine:
    """Another line of the floor that some of our open desks serve: its open desks
    (``desks``, any ids) and its ``ahead`` visitors ranked before ours."""

    ahead: int
    desks: frozenset[int]
    times: ServiceTimes


def estimate_wait(
    *,
    ahead: int,
    open_desks: int,
    service_times_s: Sequence[float],
    default_service_s: float,
    desks: frozenset[int] = frozenset(),
    shared: Sequence[SharedLine] = (),
) -> WaitEstimate | None:
    """Queue-length estimate: (ahead + 1) / (open desks x service rate), shown as a range.

    ``service_times_s`` are recent service durations, newest last; they are weighted towards
    the latest. No open desk means no honest estimate. ``desks`` and ``shared``: our open
    desks and the other lines served by them (see ``estimate_from``).
    """
    return estimate_from(
        ahead=ahead,
        open_desks=open_desks,
        times=ServiceTimes.from_samples(service_times_s, default_service_s),
        desks=desks,
        shared=shared,
    )


@dataclass(frozen=True)
class _Work:
    mean_s: float
    variance: float
    calls: int
    desks: frozenset[int]


def estimate_from(
    *,
    ahead: int,
    open_desks: int,
    times: ServiceTimes,
    desks: frozenset[int] = frozenset(),
    shared: Sequence[SharedLine] = (),
    back_in_s: Mapping[int, float] | None = None,
) -> WaitEstimate | None:
    """When our turn comes: the work ahead of us divided among the desks that do it.

    One line: (ahead + 1) x mean service / open desks, the queue-length estimate (the
    + 1 stands for the visitors being served now). A desk that also serves other lines
    calls the lowest rank among all of them, so it reaches us only once the visitors
    ranked ahead of us in every one of its lines are gone. Those visitors are shared
    out among all the desks of their lines; a set of lines' work ahead is done at the
    earliest when its most loaded subset is, that subset's work over the desks serving
    any of it (Hall's condition for dividing work among desks with skills). We are
    called by whichever of our desks gets there first: the estimate is the smallest,
    over our desks' sets of lines, of that largest ratio. Without shared lines this is
    the one-line formula.

    A desk on a break (paused) is expected back in ``back_in_s[desk]`` seconds: it is
    among ``desks`` and works from then on, so a long wait counts on it and a short one
    does not (``_finish_s``). ``open_desks`` counts the line's open desks: none open
    means no estimate.

    The range is the 20th-80th percentile band of a normal around it: the sum of n
    service times spreads like sqrt(n) single spreads."""
    if open_desks <= 0:
        return None
    back = back_in_s or {}
    # Of the visitors ahead, only the share that stays is expected to reach a desk.
    staying = ahead * times.stay_share
    own = _Work(
        mean_s=(staying + 1) * times.mean_s,
        variance=(staying + 1) * times.spread_s**2,
        calls=ahead,
        desks=desks,
    )
    others = sorted(
        (
            _Work(
                mean_s=line.ahead * line.times.stay_share * line.times.mean_s,
                variance=line.ahead * line.times.stay_share * line.times.spread_s**2,
                calls=line.ahead,
                desks=line.desks,
            )
            for line in shared
            if line.ahead > 0 and line.desks & desks
        ),
        key=lambda work: work.mean_s,
        reverse=True,
    )[:MAX_SHARED_LINES]
    if not desks:
        return _estimate(own, open_desks, back)
    if not others:
        return _estimate(own, desks, back)
    routes = {frozenset(i for i, work in enumerate(others) if desk in work.desks) for desk in desks}
    best: tuple[float, _Work] | None = None
    for route in routes:
        lines = [own, *(others[i] for i in sorted(route))]
        slowest = max(
            (
                _merged(group)
                for size in range(1, len(lines) + 1)
                for group in itertools.combinations(lines, size)
            ),
            key=lambda work: _finish_s(work.mean_s, work.desks, back),
        )
        done_s = _finish_s(slowest.mean_s, slowest.desks, back)
        if best is None or done_s < best[0]:
            best = (done_s, slowest)
    assert best is not None  # noqa: S101 - desks is not empty
    return _estimate(best[1], best[1].desks, back)


def _merged(group: Sequence[_Work]) -> _Work:
    return _Work(
        mean_s=sum(work.mean_s for work in group),
        variance=sum(work.variance for work in group),
        calls=sum(work.calls for work in group),
        desks=frozenset().union(*(work.desks for work in group)),
    )


def _finish_s(work_s: float, desks: frozenset[int] | int, back_in_s: Mapping[int, float]) -> float:
    """When ``work_s`` seconds of service are done by ``desks`` (ids, or a number of open
    desks), each paused one joining when it is back: before, fewer desks share the work."""
    if isinstance(desks, int):
        return work_s / desks
    at, working, left = 0.0, 0, work_s
    for back in sorted(back_in_s.get(desk, 0.0) for desk in desks):
        if working and left <= working * (back - at):
            return at + left / working
        left -= working * (back - at)
        at, working = back, working + 1
    return at + left / working


def _estimate(
    work: _Work, desks: frozenset[int] | int, back_in_s: Mapping[int, float]
) -> WaitEstimate:
    expected = _finish_s(work.mean_s, desks, back_in_s)
    if work.calls == 0:
        return WaitEstimate(low_s=0, high_s=round(expected))
    # The work's spread, shared by the desks as its mean is (over the desks' average).
    spread = math.sqrt(work.variance) * expected / work.mean_s
    return WaitEstimate(
        low_s=max(0, round(expected - 0.84 * spread)), high_s=round(expected + 0.84 * spread)
    )


def _weighted_mean(values: Sequence[float]) -> float:
    """Exponentially weighted mean, newest last, half-life of five observations."""
    decay = 0.5 ** (1 / 5)
    weights = [decay ** (len(values) - 1 - index) for index in range(len(values))]
    return sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (fraction in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, math.ceil(fraction * len(ordered)) - 1)
    return ordered[index]
