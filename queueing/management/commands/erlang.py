import json
import math

from django.core.management.base import BaseCommand, CommandError, CommandParser

from queueing.erlang import ErlangC, desks_for_service_level, erlang_c


class Command(BaseCommand):
    help = (
        "Erlang C (M/M/c) staffing: the chance of waiting, the mean wait and the service "
        "level for a number of desks, or the fewest desks that reach a service level."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--arrival-rate", type=float, required=True, metavar="PER_HOUR", help="visitors/hour"
        )
        parser.add_argument(
            "--handle-time", type=float, required=True, metavar="SECONDS", help="mean service"
        )
        parser.add_argument("--desks", type=int, help="open desks (or give --service-level)")
        parser.add_argument(
            "--service-level",
            type=float,
            help="wanted share served within --target, e.g. 0.85; prints the fewest desks",
        )
        parser.add_argument(
            "--target", type=float, default=900.0, metavar="SECONDS", help="default 900 (15 min)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: object, **options: object) -> None:
        desks = options["desks"]
        service_level = options["service_level"]
        if (desks is None) == (service_level is None):
            raise CommandError("Give either --desks or --service-level (not both).")
        try:
            if desks is not None:
                result = erlang_c(
                    arrival_rate_per_hour=options["arrival_rate"],
                    handle_time_s=options["handle_time"],
                    desks=desks,
                    target_s=options["target"],
                )
            else:
                result = desks_for_service_level(
                    arrival_rate_per_hour=options["arrival_rate"],
                    handle_time_s=options["handle_time"],
                    target_s=options["target"],
                    service_level=service_level,
                )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(_as_json(result, with_desks=service_level is not None))
        else:
            self.stdout.write(
                _summary(result, target_s=options["target"], wanted_service_level=service_level)
            )


def _as_json(result: ErlangC, *, with_desks: bool) -> str:
    fields: dict[str, int | float | None] = {"desks": result.desks} if with_desks else {}
    fields |= {
        "p_wait": result.p_wait,
        # JSON has no infinity: an unstable queue has no mean wait.
        "mean_wait_s": None if math.isinf(result.mean_wait_s) else result.mean_wait_s,
        "service_level": result.service_level,
        "occupancy": result.occupancy,
    }
    return json.dumps(fields, allow_nan=False)


def _summary(result: ErlangC, *, target_s: float, wanted_service_level: float | None) -> str:
    lines = [f"Desks: {result.desks} (occupancy {result.occupancy:.1%})"]
    if wanted_service_level is not None:
        lines[0] += f", the fewest serving {wanted_service_level:.1%} within {target_s:g} s"
    if math.isinf(result.mean_wait_s):
        lines.append(
            "Unstable: visitors arrive at least as fast as the desks serve; the queue grows."
        )
    else:
        lines += [
            f"Chance of waiting: {result.p_wait:.1%}",
            f"Mean wait: {result.mean_wait_s:.0f} s",
        ]
    lines.append(f"Served within {target_s:g} s: {result.service_level:.1%}")
    return "\n".join(lines)
