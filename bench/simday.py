"""The simulated day: 2,000 visitors and 20 desks through the real services, timed.

``queueing.simulator`` plays an M/M/c day (Poisson arrivals, exponential service, 20
identical desks open all day, first come first served) on a virtual clock through the
real services: every check-in, call, start of service and resolution is the same
transaction, with its events and audit entries, that a screen makes, here on the run's
database (SQLite unless ``DATABASE_URL`` says otherwise). 250 arrivals an hour for 8 hours
(about 2,000 visitors; the seed fixes how many), a mean service of 240 s (16.7 Erlangs on
20 desks, occupancy 0.83).

Baseline, in the same run: ciw (a discrete-event simulation library, no database)
simulating the same M/M/c day, the same arrival rate, service time, desks and hours,
until everyone who arrived is served. The ciw day runs before and after each real day
(the median of those runs is the baseline), so a change in the machine's load shows in
both. The figures are seconds per day, wall clock and this process's CPU time (steadier
on a shared machine), and CPU milliseconds per visitor; the ratio says how many times
longer the real services take than a pure simulation of the same queue.
"""

from __future__ import annotations

import statistics
import time

import ciw

from bench.report import median
from bench.runner import Context
from queueing.erlang import erlang_c
from queueing.simulator import mmc_scenario, simulation_run

NAME = "simday"
TITLE = "a simulated day of 2,000 visitors and 20 desks through the real services, beside ciw"

ARRIVALS_PER_HOUR = 250.0
HOURS = 8.0
QUICK_HOURS = 1.0
DESKS = 20
MEAN_SERVICE_S = 240.0
WARMUP_H = 1.0
SEED = 1
DAYS = 1
#: ciw runs on after the doors close, until everyone who came has been served.
CIW_DRAIN_H = 4.0
HOUR = 3600.0


def ciw_day(hours: float, seed: int) -> tuple[int, float]:
    """The same M/M/c day in ciw; returns the visitors who arrived while the doors were
    open and their mean wait in seconds."""
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=ARRIVALS_PER_HOUR / HOUR)],
        service_distributions=[ciw.dists.Exponential(rate=1 / MEAN_SERVICE_S)],
        number_of_servers=[DESKS],
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time((hours + CIW_DRAIN_H) * HOUR)
    waits = [
        record.waiting_time
        for record in simulation.get_all_records()
        if record.arrival_date < hours * HOUR
    ]
    return len(waits), statistics.fmean(waits)


def run(context: Context) -> None:
    report = context.report
    hours = QUICK_HOURS if context.quick else HOURS
    scenario = mmc_scenario(
        arrivals_per_hour=ARRIVALS_PER_HOUR,
        mean_service_s=MEAN_SERVICE_S,
        desks=DESKS,
        hours=hours,
        warmup_h=min(WARMUP_H, hours / 2),
    )
    ours_s: list[float] = []
    ours_cpu: list[float] = []
    ours_per_visitor: list[float] = []
    theirs_s: list[float] = []
    theirs_cpu: list[float] = []
    theirs_per_visitor: list[float] = []

    def ciw_once(seed: int) -> None:
        begin, cpu = time.perf_counter(), time.process_time()
        visitors, mean_wait = ciw_day(hours, seed)
        seconds = time.perf_counter() - begin
        theirs_cpu.append(time.process_time() - cpu)
        theirs_s.append(seconds)
        theirs_per_visitor.append(1000 * theirs_cpu[-1] / visitors)
        report.note(
            f"  ciw day (seed {seed}): {visitors} visitors in {seconds:.2f} s"
            f" ({theirs_cpu[-1]:.2f} s CPU), mean wait {mean_wait:.0f} s"
        )

    ciw_once(SEED)
    for index in range(DAYS):
        begin, cpu = time.perf_counter(), time.process_time()
        result = simulation_run(scenario=scenario, seed=SEED + index)
        seconds = time.perf_counter() - begin
        ours_cpu.append(time.process_time() - cpu)
        visitors = len(result.visitors)
        ours_s.append(seconds)
        ours_per_visitor.append(1000 * ours_cpu[-1] / visitors)
        report.note(
            f"  real day (seed {SEED + index}): {visitors} visitors in {seconds:.1f} s"
            f" ({ours_cpu[-1]:.1f} s CPU, {1000 * ours_cpu[-1] / visitors:.1f} ms each), mean wait"
            f" {result.mean_wait_s or 0:.0f} s (after the first {scenario.warmup_h:g} h)"
        )
        ciw_once(SEED + index + 1)
    theory = erlang_c(
        arrival_rate_per_hour=ARRIVALS_PER_HOUR,
        handle_time_s=MEAN_SERVICE_S,
        desks=DESKS,
        target_s=MEAN_SERVICE_S,
    )
    report.note(
        f"  M/M/{DESKS}, {ARRIVALS_PER_HOUR:g}/h x {MEAN_SERVICE_S:g} s for {hours:g} h:"
        f" Erlang C mean wait {theory.mean_wait_s:.0f} s, P(wait) {theory.p_wait:.2f}"
    )
    label = f"d{DESKS}.h{hours:g}"
    baseline_s = median(theirs_s)
    report.figure(f"simday.ciw.{label}", baseline_s, "s")
    report.figure(f"simday.real_services.{label}", median(ours_s), "s", baseline=baseline_s)
    cpu_baseline = median(theirs_cpu)
    report.figure(f"simday.ciw.{label}.cpu", cpu_baseline, "s")
    report.figure(f"simday.real_services.{label}.cpu", median(ours_cpu), "s", baseline=cpu_baseline)
    report.figure(
        f"simday.real_services.{label}.cpu_ms_per_visitor",
        median(ours_per_visitor),
        "ms",
        baseline=median(theirs_per_visitor),
    )
