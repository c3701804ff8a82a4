"""``python -m bench``: prepares one fresh database for the run, then runs each benchmark.

A benchmark is a module in :data:`BENCHMARKS` with ``NAME`` (a short word), ``TITLE`` (a
line) and ``run(context: Context) -> None``, which measures and reports its figures
through ``context.report``. Django is set up before the modules are imported, on a fresh
SQLite file in a temporary folder (or on ``DATABASE_URL`` when it is set), migrated.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import django
from django.core.management import call_command

from bench.report import Report

BENCHMARKS = (
    "bench.fanout",
    "bench.screens",
    "bench.history",
    "bench.claims",
    "bench.checkin",
    "bench.memory",
    "bench.simday",
)

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (100, 1000)
DEFAULT_REPETITIONS = 30
QUICK_SIZES = (100,)
QUICK_REPETITIONS = 5
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


@dataclass(frozen=True)
class Context:
    sizes: tuple[int, ...]
    repetitions: int
    #: A smoke run: sizes and repetitions are already cut; a benchmark may do less still.
    quick: bool
    redis_url: str
    #: None, "phases" or "cprofile": see bench.apps.walkin.
    profile: str | None
    sustained_s: float
    sustained_rate: float
    redis_idle_s: float
    #: A folder of this run only: the database file, worker logs, profiles.
    work_dir: Path
    #: What every process of the run (workers included) needs in its environment.
    env: dict[str, str]
    report: Report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    names = [name.rsplit(".", 1)[-1] for name in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "names",
        nargs="*",
        metavar="BENCHMARK",
        help=f"run only these benchmarks, of: {', '.join(names)} (default: all)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON line per figure")
    parser.add_argument(
        "-n",
        "--sizes",
        type=int,
        nargs="+",
        metavar="N",
        help=f"numbers of sockets (default {' '.join(map(str, DEFAULT_SIZES))})",
    )
    parser.add_argument(
        "-r",
        "--repetitions",
        type=int,
        help=f"measured repetitions per figure (default {DEFAULT_REPETITIONS})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: N={QUICK_SIZES[0]}, {QUICK_REPETITIONS} repetitions, 3 s sustained, "
        "and every other benchmark at its smallest",
    )
    parser.add_argument("--only", choices=names, nargs="+", help="run only these benchmarks")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="Redis database of the multi-worker variants; its asgi* keys are deleted "
        f"(default $BENCH_REDIS_URL or {DEFAULT_REDIS_URL}); 'none' skips them",
    )
    parser.add_argument(
        "--sustained-seconds", type=float, help="length of the sustained load (default 10)"
    )
    parser.add_argument(
        "--rate", type=float, default=5.0, help="events per second of the sustained load"
    )
    parser.add_argument(
        "--redis-idle",
        type=float,
        help="seconds the Redis workers stand idle after their calls, counting the sockets "
        "they close meanwhile (default 12, --quick 0)",
    )
    parser.add_argument(
        "--profile",
        choices=("phases", "cprofile"),
        help="time the single worker's refreshes by phase (cheap), or also run cProfile "
        "in it (slows it down about twice)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in names]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(names)}")
    args.only = [*(args.only or []), *args.names] or None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report(as_json=args.json)
    work_dir = Path(tempfile.mkdtemp(prefix="walkin-bench-"))
    try:
        env = _django_environment(work_dir)
        _raise_open_files_limit()
        started = time.monotonic()
        report.note(_machine_line())
        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        context = Context(
            sizes=tuple(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)),
            repetitions=args.repetitions
            or (QUICK_REPETITIONS if args.quick else DEFAULT_REPETITIONS),
            quick=args.quick,
            redis_url="" if args.redis_url.lower() == "none" else args.redis_url,
            profile=args.profile,
            sustained_s=args.sustained_seconds or (3.0 if args.quick else 10.0),
            sustained_rate=args.rate,
            redis_idle_s=args.redis_idle
            if args.redis_idle is not None
            else 0
            if args.quick
            else 12,
            work_dir=work_dir,
            env=env,
            report=report,
        )
        for module_name in BENCHMARKS:
            if args.only and module_name.rsplit(".", 1)[-1] not in args.only:
                continue
            module = importlib.import_module(module_name)
            report.note(f"\n{module.NAME}: {module.TITLE}")
            module.run(context)
        report.note(f"\ndone in {time.monotonic() - started:.0f} s")
    finally:
        if args.keep:
            report.note(f"run folder kept: {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    return 0


def _django_environment(work_dir: Path) -> dict[str, str]:
    """Settings come from the environment (center/settings.py); set it before Django
    reads it, for this process and the workers alike."""
    env = {
        "DJANGO_SETTINGS_MODULE": "center.settings",
        "WALKIN_VAR_DIR": str(work_dir),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{work_dir / 'bench.sqlite3'}",
        "LOG_LEVEL": "WARNING",
        # Only to keep WhiteNoise from warning that the collected static files are missing.
        "STATIC_ROOT": str(work_dir),
        "PYTHONPATH": str(REPO_DIR),
    }
    os.environ.update(env)
    # The channel layer is chosen per variant; this process starts on the in-memory one.
    os.environ.pop("REDIS_URL", None)
    if str(REPO_DIR) not in sys.path:
        sys.path.insert(0, str(REPO_DIR))
    return env


def _raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _machine_line() -> str:
    return (
        f"machine: {platform.node()}, {os.cpu_count()} CPUs ({_cpu_model()}), "
        f"{_memory_gib():.0f} GiB, Python {platform.python_version()}"
        f", load {os.getloadavg()[0]:.2f}"
    )


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")
