"""The simulated day's HTML report, and that a simulated day leaves no rows behind."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from center.models import Case, Center, Visit
from queueing import report
from queueing.models import Desk, Service, Ticket, TicketEvent
from queueing.simulator import SCENARIOS, simulation_run
from tests.queueing.test_simulator import SMALL_DAY


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Center, get_user_model(), Service, Desk, Ticket, TicketEvent, Visit, Case)
    }


@pytest.mark.django_db(transaction=False)
def test_the_report_agrees_with_the_json_kpis(monkeypatch, tmp_path):
    monkeypatch.setitem(SCENARIOS, "default", SMALL_DAY)
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "reports" / "day.html"
    call_command("simulate", "--seed", "4", "--json", "--report", str(path), stdout=out, stderr=err)

    kpis = json.loads(out.getvalue())  # stdout holds the JSON alone
    assert err.getvalue().strip() == f"Report: {path}"  # no bar: stderr is not a terminal
    page = path.read_text(encoding="utf-8")

    # Self-contained: no script, stylesheet, image or font fetched from anywhere.
    assert not re.search(r"<script|<link|<img|src=|url\(|@import", page)
    for figure in ("queue-length", "wait-histogram", "staffing"):
        assert f'<svg id="{figure}"' in page
    for name in ("visitors", "served", "no_shows", "walkouts"):
        assert f'data-kpi="{name}">{kpis[name]}<' in page
    assert f'data-kpi="service_level" class="miss">{100 * kpis["service_level"]:.0f} %<' in page
    # The histogram holds every measured wait; the table every visitor.
    counts = [int(n) for n in re.findall(r'data-count="(\d+)"', page)]
    assert sum(counts) == kpis["visitors"] - kpis["walkouts"]
    rows = re.findall(r'<tr data-service="([A-Z_]+)"><td>[A-Z_]+</td><td>(\d+)</td>', page)
    services = {name: int(n) for name, n in rows if name in {"ACCOUNTS", "TECH"}}
    assert sum(services.values()) == kpis["visitors"]
    by_case_type = {name: int(n) for name, n in rows if name in kpis["by_case_type"]}
    assert by_case_type == {
        code: figures["visitors"] for code, figures in kpis["by_case_type"].items()
    }


@pytest.mark.django_db(transaction=False)
def test_queue_length_and_staffing_figures():
    result = simulation_run(scenario=SMALL_DAY, seed=2)
    series = report.queue_length_series(result)

    assert set(series) == {"", "ACCOUNTS", "TECH"}
    for points in series.values():
        assert all(count >= 0 for _at, count in points)
        assert points[-1][1] == 0  # everyone was called or left
    # The total is the sum of the lines at every change.
    at = series[""][len(series[""]) // 2][0]

    def level(points, moment):
        return next(count for start, count in reversed(points) if start <= moment)

    assert level(series[""], at) == level(series["ACCOUNTS"], at) + level(series["TECH"], at)

    rows, handle_time_s = report.staffing_rows(result)
    assert [row.hour for row in rows] == [0, 1, 2]
    assert sum(row.arrivals for row in rows) == len(result.visitors)
    assert handle_time_s > 0
    assert all(row.desks_needed >= 1 for row in rows)
    # Desk 2 opens at 0.5 h and desk 3 leaves at 2 h: about 2.5, 3 (one break) and 2 open.
    assert rows[0].desks_open == pytest.approx(2.5, abs=0.05)
    assert 2 <= rows[2].desks_open < 2.5


@pytest.mark.django_db(transaction=True)
def test_a_simulated_day_leaves_no_rows_unless_kept():
    before = _counts()
    result = simulation_run(scenario=SMALL_DAY, seed=5)
    assert result.kept is False
    assert len(result.visitors) > 20
    assert _counts() == before

    kept = simulation_run(scenario=SMALL_DAY, seed=5, keep=True)
    assert kept.kept is True
    assert Ticket.objects.filter(center__slug=kept.center_slug).count() == len(kept.visitors)
    assert _counts()["Center"] == before["Center"] + 1
