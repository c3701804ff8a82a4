"""Figures and how they are printed: a line for people, or one JSON line per figure."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Figure:
    """One measured number; ``baseline`` is the comparison measured in the same run."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None


def median(values: Sequence[float]) -> float:
    return percentile(values, 0.5)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Report:
    """Prints as it goes, so a long run shows its progress; ``--json`` keeps stdout to
    figures only and sends every other line to stderr."""

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json

    def figure(
        self, name: str, value: float, unit: str, *, baseline: float | None = None
    ) -> Figure | None:
        if not math.isfinite(value):
            self.note(f"  {name}: no value (nothing was measured)")
            return None
        if baseline is not None and not math.isfinite(baseline):
            baseline = None
        ratio = value / baseline if baseline else None
        figure = Figure(
            name=name,
            value=_round(value),
            unit=unit,
            baseline=_round(baseline) if baseline is not None else None,
            ratio=_round(ratio) if ratio is not None else None,
        )
        if self.as_json:
            print(json.dumps(asdict(figure)), flush=True)
        else:
            compared = (
                f"   baseline {figure.baseline:g} {unit}, ratio {figure.ratio:.2f}"
                if figure.baseline is not None and figure.ratio is not None
                else ""
            )
            print(f"  {name:<54} {figure.value:>10g} {unit:<4}{compared}", flush=True)
        return figure

    def note(self, text: str) -> None:
        print(text, file=sys.stderr if self.as_json else sys.stdout, flush=True)


def _round(value: float) -> float:
    return round(value, 3) if math.isfinite(value) else value
