"""Plays simulated days through the real queue services (see ``queueing.simulator``).

    manage.py simulate                      # the default day once, its KPIs and report
    manage.py simulate --scenario incident  # the same day with a mass-suspension surge
    manage.py simulate --live --speed 30    # play the day into the running demo center
    manage.py simulate --arrivals-per-hour 9 --mean-service-s 600 --desks 3 \\
        --hours 7 --replications 20 --seed 1 --json   # M/M/c against Erlang C

Every run creates its own center (``sim-<seed>-<n>``) in the configured database, inside
one transaction rolled back at the end: nothing is left behind unless ``--keep``.
A day also writes an HTML report (``--report PATH``, default under ``var/reports/``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    OutputWrapper,
)

from queueing.report import report_write
from queueing.simulator import (
    SCENARIOS,
    MmcComparison,
    ScenarioError,
    SimulationResult,
    live_run,
    mmc_compare,
    simulation_run,
)

MMC_OPTIONS = ("arrivals_per_hour", "mean_service_s", "desks")
MMC_ONLY_OPTIONS = ("hours", "replications", "warmup_hours")
MAX_REPLICATIONS = 1000
PROGRESS_WIDTH = 30


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


class ProgressBar:
    """A plain-text bar redrawn in place on the command's stderr."""

    def __init__(self, stream: OutputWrapper, label: str) -> None:
        self.stream = stream
        self.label = label
        self.shown = -1

    def __call__(self, fraction: float) -> None:
        percent = int(100 * min(max(fraction, 0.0), 1.0))
        if percent == self.shown:
            return
        self.shown = percent
        filled = PROGRESS_WIDTH * percent // 100
        bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
        ending = "\n" if percent == 100 else ""
        self.stream.write(f"\r{self.label} [{bar}] {percent:3d}%", style_func=str, ending=ending)
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Simulates a day of the center on a virtual clock through the real queue services. "
        "Without M/M/c options it plays the default day once and prints its KPIs; with "
        "--arrivals-per-hour, --mean-service-s and --desks it runs M/M/c replications and "
        "compares them with Erlang C (visitors arriving during the warm-up are not counted)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--arrivals-per-hour", type=float, help="M/M/c: Poisson arrivals")
        parser.add_argument("--mean-service-s", type=float, help="M/M/c: mean service time")
        parser.add_argument("--desks", type=int, help="M/M/c: identical desks, always open")
        parser.add_argument(
            "--hours", type=float, help="M/M/c: hours of arrivals per replication (default 4)"
        )
        parser.add_argument(
            "--warmup-hours",
            type=float,
            help="M/M/c: visitors arriving in the first hours are not counted (default 1)",
        )
        parser.add_argument(
            "--replications",
            type=int,
            help="M/M/c: independent runs; run i uses seed + i (default 10)",
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--scenario",
            choices=sorted(SCENARIOS),
            default="default",
            help="the day to play without M/M/c options",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--progress",
            action="store_true",
            help="show a progress bar on stderr (shown anyway when stderr is a terminal)",
        )
        parser.add_argument(
            "--report",
            metavar="PATH",
            help="day mode: where to write the HTML report "
            "(default var/reports/simulate-<scenario>-seed<seed>.html)",
        )
        parser.add_argument(
            "--live",
            action="store_true",
            help="play the day into the demo center on the real clock, --speed times faster, "
            "so the running app's screens move (Ctrl-C stops it cleanly)",
        )
        parser.add_argument(
            "--speed",
            type=float,
            help="live mode: how many times faster than real time (default 30)",
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="commit the simulated center and its day instead of rolling them back",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        given = [name for name in MMC_OPTIONS if options[name] is not None]
        show_progress = options["progress"] or self.stderr.isatty()
        progress = ProgressBar(self.stderr, "simulate") if show_progress else None
        if options["live"]:
            self._handle_live(options, progress)
        elif options["speed"] is not None:
            raise CommandError("--speed applies to the live mode (--live).")
        elif given:
            self._handle_mmc(options, given, progress)
        else:
            self._handle_day(options, progress)

    def _handle_day(self, options: dict[str, Any], progress: ProgressBar | None) -> None:
        misplaced = [_flag(name) for name in MMC_ONLY_OPTIONS if options[name] is not None]
        if misplaced:
            raise CommandError(
                f"{', '.join(misplaced)} only apply to the M/M/c mode (give "
                "--arrivals-per-hour, --mean-service-s and --desks); a day scenario runs once."
            )
        result = _run(
            lambda: simulation_run(
                scenario=SCENARIOS[options["scenario"]],
                seed=options["seed"],
                on_progress=progress,
                keep=options["keep"],
            )
        )
        kpis = result.kpis()
        path = Path(
            options["report"]
            or settings.VAR_DIR
            / "reports"
            / f"simulate-{options['scenario']}-seed{options['seed']}.html"
        )
        report_write(result, path)
        if options["json"]:
            self.stdout.write(json.dumps(kpis))
            # stdout carries the JSON alone.
            self.stderr.write(f"Report: {path}", style_func=str)
        else:
            self.stdout.write(_day_summary(result, kpis))
            self.stdout.write(f"  report            {path}")

    def _handle_mmc(
        self, options: dict[str, Any], given: list[str], progress: ProgressBar | None
    ) -> None:
        missing = [_flag(name) for name in MMC_OPTIONS if name not in given]
        if missing:
            raise CommandError(
                "The M/M/c mode needs --arrivals-per-hour, --mean-service-s and --desks "
                f"together; missing {', '.join(missing)}."
            )
        if options["scenario"] != "default":
            raise CommandError("--scenario does not apply to the M/M/c mode.")
        if options["report"] or options["keep"]:
            raise CommandError(
                "--report and --keep apply to a day scenario, not to the M/M/c mode."
            )
        hours = 4.0 if options["hours"] is None else options["hours"]
        warmup = 1.0 if options["warmup_hours"] is None else options["warmup_hours"]
        replications = 10 if options["replications"] is None else options["replications"]
        arrivals, service, desks = (options[name] for name in MMC_OPTIONS)
        _check_mmc(arrivals, service, desks, hours, warmup, replications)
        comparison = _run(
            lambda: mmc_compare(
                arrivals_per_hour=arrivals,
                mean_service_s=service,
                desks=desks,
                hours=hours,
                warmup_h=warmup,
                replications=replications,
                seed=options["seed"],
                on_progress=progress,
            )
        )
        report = _mmc_report(comparison, options, hours, warmup)
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(_mmc_summary(report))

    def _handle_live(self, options: dict[str, Any], progress: ProgressBar | None) -> None:
        misplaced = [_flag(name) for name in (*MMC_OPTIONS, *MMC_ONLY_OPTIONS) if options[name]]
        misplaced += [_flag(name) for name in ("report", "keep") if options[name]]
        if misplaced:
            raise CommandError(f"{', '.join(misplaced)} do not apply to the live mode.")
        speed = 30.0 if options["speed"] is None else options["speed"]
        if not (math.isfinite(speed) and speed > 0):
            raise CommandError(f"--speed must be a positive factor, got {speed}.")
        scenario = SCENARIOS[options["scenario"]]
        if not options["json"]:
            self.stdout.write(
                f"Playing the {scenario.name} day into the demo center {speed:g} times faster "
                f"than real time: {scenario.hours * 60 / speed:.1f} minutes of doors open. "
                "Ctrl-C stops it cleanly."
            )
        summary = _run(
            lambda: live_run(
                scenario=scenario, seed=options["seed"], speed=speed, on_progress=progress
            )
        )
        if options["json"]:
            self.stdout.write(json.dumps(dataclasses.asdict(summary)))
        else:
            self.stdout.write(
                ("Stopped" if summary.interrupted else "Done")
                + f" after {summary.elapsed_s:.0f} s: {summary.visitors} simulated visitors, "
                f"{summary.served_by_simulated_desks} served at the simulated desks, "
                f"{summary.events} events written to center {summary.center_slug}."
            )


def _run[T](play: Callable[[], T]) -> T:
    try:
        return play()
    except ScenarioError as error:
        raise CommandError(str(error)) from error


def _check_mmc(  # noqa: PLR0917 - the six M/M/c options, checked together
    arrivals: float, service: float, desks: int, hours: float, warmup: float, replications: int
) -> None:
    if not (math.isfinite(arrivals) and arrivals > 0):
        raise CommandError(f"--arrivals-per-hour must be a positive number, got {arrivals}.")
    if not (math.isfinite(service) and service > 0):
        raise CommandError(f"--mean-service-s must be a positive number of seconds, got {service}.")
    if desks < 1:
        raise CommandError(f"--desks must be at least 1, got {desks}.")
    if not (math.isfinite(hours) and 0 < hours <= 24):
        raise CommandError(f"--hours must be more than 0 and at most 24, got {hours}.")
    if not (math.isfinite(warmup) and 0 <= warmup < hours):
        raise CommandError(
            f"--warmup-hours must be at least 0 and less than --hours ({hours}), got {warmup}."
        )
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise CommandError(
            f"--replications must be between 1 and {MAX_REPLICATIONS}, got {replications}."
        )
    load = arrivals * service / 3600
    if load >= desks:
        raise CommandError(
            f"The offered load is {load:.2f} Erlangs ({arrivals:g}/h x {service:g} s): "
            f"{desks} desks cannot keep up, the queue grows without limit and Erlang C has "
            f"no steady state. Use more than {math.floor(load)} desks."
        )


def _mmc_report(
    comparison: MmcComparison, options: dict[str, Any], hours: float, warmup: float
) -> dict[str, Any]:
    return {
        "mode": "mmc",
        "arrivals_per_hour": options["arrivals_per_hour"],
        "mean_service_s": options["mean_service_s"],
        "desks": options["desks"],
        "hours": hours,
        "warmup_hours": warmup,
        "seed": options["seed"],
        "replications": comparison.replications,
        "visitors": comparison.visitors,
        "measured_visitors": comparison.measured_visitors,
        **{name: figure.as_dict() for name, figure in comparison.summary.items()},
        "erlang_c": {
            "p_wait": comparison.erlang_p_wait,
            "mean_wait_s": comparison.erlang_mean_wait_s,
        },
        "optimum_estimate_rmse_s": comparison.optimum_estimate_rmse_s,
    }


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} s ({value / 60:.1f} min)"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _day_summary(result: SimulationResult, kpis: dict[str, Any]) -> str:
    scenario = result.scenario
    lines = [
        f"Scenario {scenario.name}, seed {result.seed}: "
        + (f"kept as center {result.center_slug}, " if result.kept else "rolled back, ")
        + f"{scenario.day} from {scenario.opens_at:%H:%M} for {scenario.hours:g} h",
        f"  visitors          {kpis['visitors']}  (served {kpis['served']}, "
        f"no-shows {kpis['no_shows']}, walkouts {kpis['walkouts']})",
        f"  waited at all     {_share(kpis['p_wait'])}",
        f"  mean wait         {_seconds(kpis['mean_wait_s'])}",
        f"  90th percentile   {_seconds(kpis['p90_wait_s'])}",
        f"  within target     {_share(kpis['service_level'])} called within "
        f"{kpis['target_wait_s'] / 60:g} min (target {_share(kpis['target_share'])})",
        f"  longest wait      {_seconds(kpis['max_wait_s'])}",
        f"  estimate RMSE     {_seconds(kpis['estimate_rmse_s'])} status page, "
        f"{_seconds(kpis['naive_rmse_s'])} naive ({kpis['estimates_scored']} visitors)",
        "  desk occupancy    "
        + ", ".join(
            f"{number}: {_share(share)}" for number, share in kpis["desk_occupancy"].items()
        ),
        "  by case type",
    ]
    for code, figures in kpis["by_case_type"].items():
        lines.append(
            f"    {code:<20} {figures['visitors']:>4} visitors, mean wait "
            f"{_seconds(figures['mean_wait_s'])}, walkouts {figures['walkouts']}"
        )
    return "\n".join(lines)


def _mmc_summary(report: dict[str, Any]) -> str:
    def figure(name: str, scale: float = 1.0, unit: str = "s") -> str:
        value = report[name]
        if value["mean"] is None:
            return "—"
        se = "n/a" if value["se"] is None else f"{value['se'] * scale:,.1f}"
        return f"{value['mean'] * scale:,.1f} ± {se} {unit}"

    theory = report["erlang_c"]
    return "\n".join(
        [
            f"M/M/{report['desks']}: {report['arrivals_per_hour']:g} arrivals/h, mean service "
            f"{report['mean_service_s']:g} s; {report['replications']} replications of "
            f"{report['hours']:g} h (first {report['warmup_hours']:g} h not counted), "
            f"{report['measured_visitors']} of {report['visitors']} visitors counted",
            "                      simulated (mean ± se)     Erlang C",
            f"  P(wait)             {figure('p_wait', 100, '%'):<25} "
            f"{100 * theory['p_wait']:.1f} %",
            f"  mean wait           {figure('mean_wait_s'):<25} {theory['mean_wait_s']:,.1f} s",
            f"  90th pct wait       {figure('p90_wait_s')}",
            f"  estimate RMSE       {figure('estimate_rmse_s'):<25} "
            f"{report['optimum_estimate_rmse_s']:,.1f} s (best from queue length)",
            f"  naive RMSE          {figure('naive_rmse_s')}",
        ]
    )
