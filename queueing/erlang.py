"""Erlang C (M/M/c): how long visitors wait for a given number of desks, free of Django.

Visitors arrive at random (Poisson) and a desk takes an exponentially distributed time to
serve one; nobody gives up. Offered load ``A = arrival rate x handle time`` (Erlangs).
P(wait) comes from the Erlang B recursion rather than the textbook ``A**c / c!`` form:
every intermediate value stays in [0, 1], so hundreds of desks and loads of hundreds of
Erlangs neither overflow nor lose precision.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ErlangC:
    """``occupancy`` is the offered load per desk, A / c; at 1 or more the queue grows
    without limit, so ``p_wait`` is 1.0, ``mean_wait_s`` infinite, ``service_level`` 0.0."""

    p_wait: float
    mean_wait_s: float
    service_level: float
    occupancy: float
    desks: int


def erlang_c(
    *, arrival_rate_per_hour: float, handle_time_s: float, desks: int, target_s: float
) -> ErlangC:
    """Waiting with ``desks`` open; ``service_level`` is P(wait <= ``target_s``)."""
    load = _offered_load(arrival_rate_per_hour, handle_time_s)
    _check_desks(desks)
    _check_target(target_s)
    blocking = next(itertools.islice(_erlang_b(load), desks - 1, None))
    return _result(
        load=load, desks=desks, blocking=blocking, handle_time_s=handle_time_s, target_s=target_s
    )


def desks_for_service_level(
    *, arrival_rate_per_hour: float, handle_time_s: float, target_s: float, service_level: float
) -> ErlangC:
    """The fewest desks that answer at least ``service_level`` of visitors within
    ``target_s``, with the figures for that many desks."""
    load = _offered_load(arrival_rate_per_hour, handle_time_s)
    _check_target(target_s)
    if not 0 < service_level < 1:
        raise ValueError(f"service level must be between 0 and 1 (exclusive), got {service_level}")
    # Up to A desks the queue is unstable; beyond, the service level rises towards 1
    # (B(c) falls faster than geometrically), so the search always ends.
    stable = (
        _result(
            load=load,
            desks=desks,
            blocking=blocking,
            handle_time_s=handle_time_s,
            target_s=target_s,
        )
        for desks, blocking in enumerate(_erlang_b(load), start=1)
        if desks > load
    )
    return next(result for result in stable if result.service_level >= service_level)


def _erlang_b(load: float) -> Iterator[float]:
    """B(1), B(2), ...: the Erlang B blocking probability for 1, 2, ... servers."""
    blocking = 1.0
    for servers in itertools.count(1):
        blocking = load * blocking / (servers + load * blocking)
        yield blocking


def _result(
    *, load: float, desks: int, blocking: float, handle_time_s: float, target_s: float
) -> ErlangC:
    occupancy = load / desks
    if occupancy >= 1:
        return ErlangC(
            p_wait=1.0,
            mean_wait_s=math.inf,
            service_level=0.0,
            occupancy=occupancy,
            desks=desks,
        )
    spare = desks - load
    p_wait = desks * blocking / (desks - load * (1 - blocking))
    # (c*mu - lambda) * t with mu = 1 / handle time is (c - A) * t / handle time.
    return ErlangC(
        p_wait=p_wait,
        mean_wait_s=p_wait * handle_time_s / spare,
        service_level=1 - p_wait * math.exp(-spare * target_s / handle_time_s),
        occupancy=occupancy,
        desks=desks,
    )


def _offered_load(arrival_rate_per_hour: float, handle_time_s: float) -> float:
    if not (math.isfinite(arrival_rate_per_hour) and arrival_rate_per_hour > 0):
        raise ValueError(
            f"arrival rate must be a positive number of visitors per hour, "
            f"got {arrival_rate_per_hour}"
        )
    if not (math.isfinite(handle_time_s) and handle_time_s > 0):
        raise ValueError(f"handle time must be a positive number of seconds, got {handle_time_s}")
    return arrival_rate_per_hour * handle_time_s / 3600


def _check_desks(desks: int) -> None:
    if isinstance(desks, bool) or not isinstance(desks, int) or desks < 1:
        raise ValueError(f"desks must be a whole number of at least 1, got {desks!r}")


def _check_target(target_s: float) -> None:
    if not (math.isfinite(target_s) and target_s > 0):
        raise ValueError(f"target must be a positive number of seconds, got {target_s}")
