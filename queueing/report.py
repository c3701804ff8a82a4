"""A simulated day as one self-contained HTML page (no external assets, no script).

The plots are inline SVG drawn here: the number waiting over the day per service, the
distribution of waits against the center's target, per-service KPIs beside the
accuracy of the status page's estimate, and per hour the desks Erlang C recommends next
to the desks that were open. Everything is computed from a ``SimulationResult``, so the
page agrees with ``manage.py simulate --json`` for the same seed.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from queueing import engine
from queueing.analytics import staffing_plan
from queueing.models import Ticket
from queueing.simulator import HOUR, SimulationResult, VisitorRecord, service_level

#: Colour-blind-safe (Okabe-Ito), one per service line; the total is drawn in black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
WIDTH, HEIGHT = 760, 280
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 48, 16, 14, 36
HISTOGRAM_BIN_S = 300


def _rmse(pairs: Sequence[tuple[float, float]]) -> float | None:
    if not pairs:
        return None
    return math.sqrt(sum((guess - actual) ** 2 for guess, actual in pairs) / len(pairs))


@dataclass(frozen=True)
class ServiceRow:
    service: str
    visitors: int
    served: int
    mean_wait_s: float | None
    p90_wait_s: float | None
    service_level: float | None
    no_shows: int
    walkouts: int
    estimate_rmse_s: float | None
    naive_rmse_s: float | None


def _row(name: str, visitors: Sequence[VisitorRecord], target_wait_s: float) -> ServiceRow:
    waits = [v.wait_s for v in visitors if v.wait_s is not None]
    scored = [
        v
        for v in visitors
        if v.wait_s is not None and v.estimate_s is not None and v.naive_estimate_s is not None
    ]
    return ServiceRow(
        service=name,
        visitors=len(visitors),
        served=sum(1 for v in visitors if v.status == Ticket.Status.DONE),
        mean_wait_s=statistics.fmean(waits) if waits else None,
        p90_wait_s=engine.percentile(waits, 0.9),
        service_level=service_level(visitors, target_wait_s),
        no_shows=sum(1 for v in visitors if v.status == Ticket.Status.NO_SHOW),
        walkouts=sum(1 for v in visitors if v.status == Ticket.Status.WALKOUT),
        estimate_rmse_s=_rmse([(v.estimate_s, v.wait_s) for v in scored]),  # type: ignore[misc]
        naive_rmse_s=_rmse([(v.naive_estimate_s, v.wait_s) for v in scored]),  # type: ignore[misc]
    )


def service_rows(result: SimulationResult) -> list[ServiceRow]:
    """Per service line, then per case type, then the whole day (measured visitors)."""
    by_service: dict[str, list[VisitorRecord]] = defaultdict(list)
    for visitor in result.measured:
        by_service[result.service_of(visitor.case_type)].append(visitor)
    return [
        _row(service, visitors, result.target_wait_s)
        for service, visitors in sorted(by_service.items())
    ]


def case_type_rows(result: SimulationResult) -> list[ServiceRow]:
    return [
        _row(
            load.code,
            [v for v in result.measured if v.case_type == load.code],
            result.target_wait_s,
        )
        for load in result.scenario.case_types
    ]


def queue_length_series(result: SimulationResult) -> dict[str, list[tuple[float, int]]]:
    """The number waiting (issued, not yet called or gone) as steps (from second, count),
    per service and, under "", in total; every visitor, warm-up included."""
    changes: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for visitor in result.visitors:
        end = visitor.called_s if visitor.called_s is not None else visitor.finished_s
        for key in ("", result.service_of(visitor.case_type)):
            changes[key] += [(visitor.arrived_s, 1), (end, -1)]
    series = {}
    for key, steps in changes.items():
        count, points = 0, [(0.0, 0)]
        for at, change in sorted(steps):
            count += change
            if points[-1][0] == at:
                points[-1] = (at, count)
            else:
                points.append((at, count))
        series[key] = points
    return series


def wait_histogram(
    result: SimulationResult, bin_s: float = HISTOGRAM_BIN_S
) -> list[tuple[float, int]]:
    """(bin start, visitors) of the measured waits; bins of ``bin_s`` from 0."""
    waits = result.waits_s
    if not waits:
        return []
    bins = [0] * (int(max(waits) // bin_s) + 1)
    for wait in waits:
        bins[int(wait // bin_s)] += 1
    return [(index * bin_s, count) for index, count in enumerate(bins)]


@dataclass(frozen=True)
class StaffingRow:
    hour: int
    clock: str
    arrivals: int
    desks_needed: int
    desks_open: float
    erlang_share: float | None
    simulated_share: float | None


def staffing_rows(result: SimulationResult) -> tuple[list[StaffingRow], float | None]:
    """Per hour of the day: Erlang C's fewest desks to call the target share within the
    target wait (each hour as a steady state with that hour's arrivals and the day's mean
    service time, every desk serving every line), the desks that were open on average,
    and the share of that hour's arrivals the simulated day called within the target."""
    services = [
        v.finished_s - v.serving_s
        for v in result.visitors
        if v.status == Ticket.Status.DONE and v.serving_s is not None
    ]
    if not services:
        return [], None
    handle_time_s = statistics.fmean(services)
    hours = math.ceil(result.scenario.hours)
    arrivals: dict[int, list[VisitorRecord]] = {hour: [] for hour in range(hours)}
    for visitor in result.visitors:
        arrivals[min(int(visitor.arrived_s // HOUR), hours - 1)].append(visitor)
    plan = staffing_plan(
        arrivals_by_hour={hour: float(len(group)) for hour, group in arrivals.items()},
        handle_time_s=handle_time_s,
        target_s=result.target_wait_s,
        target_share=result.target_share,
    )
    rows = []
    for planned in plan.hours:
        start, end = planned.hour * HOUR, (planned.hour + 1) * HOUR
        open_s = sum(
            max(0.0, min(to, end) - max(since, start))
            for periods in result.desk_open_periods.values()
            for since, to in periods
        )
        rows.append(
            StaffingRow(
                hour=planned.hour,
                clock=_clock(result, start),
                arrivals=len(arrivals[planned.hour]),
                desks_needed=planned.desks,
                desks_open=open_s / HOUR,
                erlang_share=planned.erlang_share,
                simulated_share=service_level(arrivals[planned.hour], result.target_wait_s),
            )
        )
    return rows, handle_time_s


# --- Drawing --------------------------------------------------------------------------


def _clock(result: SimulationResult, at_s: float) -> str:
    opens = dt.datetime.combine(result.scenario.day, result.scenario.opens_at)
    return f"{opens + dt.timedelta(seconds=at_s):%H:%M}"


def _nice_step(top: float, ticks: int = 5) -> float:
    raw = max(top, 1) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


class _Plot:
    """Maps data to the SVG canvas and draws the axes."""

    def __init__(self, x_max: float, y_max: float) -> None:
        self.x_max = x_max or 1
        self.y_step = _nice_step(y_max)
        self.y_max = self.y_step * max(1, math.ceil(y_max / self.y_step))
        self.inner_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        self.inner_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x(self, value: float) -> float:
        return round(MARGIN_LEFT + self.inner_w * value / self.x_max, 1)

    def y(self, value: float) -> float:
        return round(MARGIN_TOP + self.inner_h * (1 - value / self.y_max), 1)

    def axes(self, x_ticks: Sequence[tuple[float, str]], y_label: str, x_label: str) -> list[str]:
        parts = []
        value = 0.0
        while value <= self.y_max + 1e-9:
            y = self.y(value)
            parts.append(
                f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y}" y2="{y}" '
                'class="grid"/>'
                f'<text x="{MARGIN_LEFT - 6}" y="{y + 4}" text-anchor="end">{value:g}</text>'
            )
            value += self.y_step
        bottom = HEIGHT - MARGIN_BOTTOM
        for at, label in x_ticks:
            x = self.x(at)
            parts.append(
                f'<line x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 4}" class="axis"/>'
                f'<text x="{x}" y="{bottom + 16}" text-anchor="middle">{escape(label)}</text>'
            )
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{bottom}" y2="{bottom}" '
            'class="axis"/>'
            f'<text x="{MARGIN_LEFT + self.inner_w / 2}" y="{HEIGHT - 4}" '
            f'text-anchor="middle" class="label">{escape(x_label)}</text>'
            f'<text x="12" y="{MARGIN_TOP + self.inner_h / 2}" text-anchor="middle" '
            f'class="label" transform="rotate(-90 12 {MARGIN_TOP + self.inner_h / 2})">'
            f"{escape(y_label)}</text>"
        )
        return parts


def _svg(title: str, parts: Sequence[str], figure_id: str) -> SafeString:
    return mark_safe(  # noqa: S308 - every text inside is escaped above
        f'<svg id="{figure_id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{figure_id}-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{figure_id}-title">{escape(title)}</title>{"".join(parts)}</svg>'
    )


def queue_length_svg(
    result: SimulationResult, series: dict[str, list[tuple[float, int]]]
) -> SafeString:
    end_s = max(
        [result.scenario.hours * HOUR, *(points[-1][0] for points in series.values())],
    )
    hours = math.ceil(end_s / HOUR)
    plot = _Plot(hours * HOUR, max((n for _at, n in series.get("", [(0, 0)])), default=0))
    ticks = [(hour * HOUR, _clock(result, hour * HOUR)) for hour in range(hours + 1)]
    parts = plot.axes(ticks, _("Visitors waiting"), _("Time of day"))
    closes = plot.x(result.scenario.hours * HOUR)
    doors_close = escape(_("doors close"))
    parts.append(
        f'<line x1="{closes}" x2="{closes}" y1="{MARGIN_TOP}" y2="{HEIGHT - MARGIN_BOTTOM}" '
        f'class="marker"/><text x="{closes - 4}" y="{MARGIN_TOP + 10}" text-anchor="end" '
        f'class="note">{doors_close}</text>'
    )
    for key, colour in _series_colours(series).items():
        points = series[key]
        path = [f"M{plot.x(points[0][0])},{plot.y(points[0][1])}"]
        for at, count in points[1:]:
            path.append(f"H{plot.x(at)}V{plot.y(count)}")
        path.append(f"H{plot.x(hours * HOUR)}")
        width = 2.2 if key == "" else 1.4
        parts.append(
            f'<path d="{"".join(path)}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}" data-series="{escape(key or "total")}"/>'
        )
    return _svg(_("Visitors waiting over the day"), parts, "queue-length")


def _series_colours(series: dict[str, list[tuple[float, int]]]) -> dict[str, str]:
    services = sorted(key for key in series if key)
    colours = {key: PALETTE[index % len(PALETTE)] for index, key in enumerate(services)}
    return {**colours, "": "#1a1a1a"}


def wait_histogram_svg(result: SimulationResult, bins: list[tuple[float, int]]) -> SafeString:
    top_s = (bins[-1][0] + HISTOGRAM_BIN_S) if bins else HISTOGRAM_BIN_S
    top_s = max(top_s, result.target_wait_s + HISTOGRAM_BIN_S)
    plot = _Plot(top_s, max((count for _start, count in bins), default=0))
    step_min = max(5, 5 * math.ceil(top_s / 60 / 12 / 5))
    ticks = [(m * 60, f"{m}") for m in range(0, int(top_s // 60) + 1, step_min)]
    parts = plot.axes(ticks, _("Visitors"), _("Wait until the first call (minutes)"))
    for start, count in bins:
        x0, x1 = plot.x(start), plot.x(start + HISTOGRAM_BIN_S)
        y = plot.y(count)
        within = start + HISTOGRAM_BIN_S <= result.target_wait_s
        parts.append(
            f'<rect x="{x0 + 0.5}" y="{y}" width="{max(0.5, x1 - x0 - 1)}" '
            f'height="{round(HEIGHT - MARGIN_BOTTOM - y, 1)}" '
            f'class="{"within" if within else "beyond"}" data-count="{count}">'
            f"<title>{start / 60:g}-{(start + HISTOGRAM_BIN_S) / 60:g} min: {count}</title></rect>"
        )
    target = plot.x(result.target_wait_s)
    label = _("target %(minutes)s min") % {"minutes": f"{result.target_wait_s / 60:g}"}
    parts.append(
        f'<line x1="{target}" x2="{target}" y1="{MARGIN_TOP}" y2="{HEIGHT - MARGIN_BOTTOM}" '
        f'class="marker"/><text x="{target + 4}" y="{MARGIN_TOP + 10}" class="note">'
        f"{escape(label)}</text>"
    )
    return _svg(_("How long visitors waited"), parts, "wait-histogram")


def staffing_svg(rows: Sequence[StaffingRow]) -> SafeString:
    plot = _Plot(
        len(rows), max([1, *(r.desks_needed for r in rows), *(r.desks_open for r in rows)])
    )
    ticks = [(index + 0.5, row.clock) for index, row in enumerate(rows)]
    parts = plot.axes(ticks, _("Desks"), _("Hour starting"))
    slot = plot.inner_w / max(1, len(rows))
    for index, row in enumerate(rows):
        left = MARGIN_LEFT + slot * index
        for offset, value, css in (
            (0.15, row.desks_needed, "needed"),
            (0.5, row.desks_open, "open"),
        ):
            y = plot.y(value)
            parts.append(
                f'<rect x="{round(left + slot * offset, 1)}" y="{y}" '
                f'width="{round(slot * 0.35, 1)}" height="{round(HEIGHT - MARGIN_BOTTOM - y, 1)}" '
                f'class="{css}"><title>{row.clock}: {value:.1f}</title></rect>'
            )
    return _svg(_("Desks recommended by Erlang C and desks open"), parts, "staffing")


# --- The page -------------------------------------------------------------------------


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else _("%(minutes).1f min") % {"minutes": seconds / 60}


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.0f} %"


def _display(row: ServiceRow, target_share: float) -> dict[str, object]:
    return {
        "name": row.service,
        "visitors": row.visitors,
        "served": row.served,
        "mean_wait": _minutes(row.mean_wait_s),
        "p90_wait": _minutes(row.p90_wait_s),
        "service_level": _percent(row.service_level),
        "meets_target": row.service_level is not None and row.service_level >= target_share,
        "no_shows": row.no_shows,
        "walkouts": row.walkouts,
        "estimate_rmse": _minutes(row.estimate_rmse_s),
        "naive_rmse": _minutes(row.naive_rmse_s),
        "estimate_better": (
            row.estimate_rmse_s is not None
            and row.naive_rmse_s is not None
            and row.estimate_rmse_s < row.naive_rmse_s
        ),
    }


def report_html(result: SimulationResult) -> str:
    series = queue_length_series(result)
    colours = _series_colours(series)
    staffing, handle_time_s = staffing_rows(result)
    kpis = result.kpis()
    total = _row("", result.measured, result.target_wait_s)
    scenario = result.scenario
    context = {
        "result": result,
        "scenario": scenario,
        "kpis": kpis,
        "closes_clock": _clock(result, scenario.hours * HOUR),
        "target_minutes": f"{result.target_wait_s / 60:g}",
        "target_percent": _percent(result.target_share),
        "total": _display(total, result.target_share),
        "services": [_display(row, result.target_share) for row in service_rows(result)],
        "case_types": [_display(row, result.target_share) for row in case_type_rows(result)],
        "legend": [
            (key or _("all services"), colour) for key, colour in sorted(colours.items()) if key
        ]
        + [(_("all services"), colours[""])],
        "queue_svg": queue_length_svg(result, series),
        "histogram_svg": wait_histogram_svg(result, wait_histogram(result)),
        "staffing_svg": staffing_svg(staffing) if staffing else "",
        "staffing": [
            {
                "clock": row.clock,
                "arrivals": row.arrivals,
                "desks_needed": row.desks_needed,
                "desks_open": f"{row.desks_open:.1f}",
                "short": row.desks_open + 0.05 < row.desks_needed,
                "erlang": _percent(row.erlang_share),
                "simulated": _percent(row.simulated_share),
            }
            for row in staffing
        ],
        "handle_time": _minutes(handle_time_s),
        "max_queue": max((n for _at, n in series.get("", [])), default=0),
        "desk_occupancy": [
            (number, _percent(share)) for number, share in kpis["desk_occupancy"].items()
        ],
    }
    return render_to_string("queueing/report/simulation.html", context)


def report_write(result: SimulationResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(result), encoding="utf-8")
    return path
