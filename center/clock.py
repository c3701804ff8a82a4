"""The one source of "now" for every service, so the simulator can run the real services
on a virtual clock and tests can pin time.

    with use_clock(FixedClock(at)):
        ticket_issue(...)
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator
from typing import Protocol

from django.utils import timezone


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return timezone.now()


class FixedClock:
    """A clock that moves only when told to: tests and the discrete-event simulator."""

    def __init__(self, at: dt.datetime) -> None:
        if timezone.is_naive(at):
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> dt.datetime:
        self.at += dt.timedelta(**delta)
        return self.at


_SYSTEM_CLOCK = SystemClock()
_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("clock", default=None)


def now() -> dt.datetime:
    return (_current.get() or _SYSTEM_CLOCK).now()


@contextlib.contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)
