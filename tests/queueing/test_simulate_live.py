"""The live demo mode: a simulated day played into the demo center on the real clock,
accelerated, beside people at the center's own desks."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from queueing.demo import CENTER_SLUG, load_demo
from queueing.models import Desk, Ticket, TicketEvent
from queueing.services import desk_open, ticket_call_next
from queueing.simulator import (
    LIVE_DESK_OFFSET,
    SCENARIOS,
    CaseTypeLoad,
    DeskPlan,
    Duration,
    Scenario,
    live_run,
)

LIVE_DAY = Scenario(
    name="live",
    case_types=(
        CaseTypeLoad(
            code="ACCOUNT_SUSPENDED",
            skill="ACCOUNTS",
            arrivals_per_hour=(24.0,),
            service_time=Duration.exponential(240),
            no_show_p=0.1,
        ),
        CaseTypeLoad(
            code="SOFTWARE_CONFLICT",
            skill="TECH",
            arrivals_per_hour=(8.0,),
            service_time=Duration.exponential(180),
        ),
    ),
    desks=(
        DeskPlan(number=1, skills=("ACCOUNTS", "TECH")),
        DeskPlan(number=2, skills=("ACCOUNTS",)),
    ),
    hours=1,
    patience=Duration.lognormal(15 * 60, 0.5),
    walk_to_desk_s=20,
)


def _simulated_desks(center):
    return Desk.objects.filter(center=center, number__gt=LIVE_DESK_OFFSET)


@pytest.mark.django_db(transaction=False)
def test_a_live_run_writes_events_and_its_desks_serve(monkeypatch):
    center = load_demo()
    demo_desks = dict(Desk.objects.filter(center=center).values_list("number", "status"))
    events_before = TicketEvent.objects.filter(center=center).count()
    monkeypatch.setitem(SCENARIOS, "default", LIVE_DAY)
    out = io.StringIO()
    call_command("simulate", "--live", "--speed", "36000", "--seed", "3", "--json", stdout=out)

    summary = json.loads(out.getvalue())
    assert summary["center_slug"] == CENTER_SLUG
    assert summary["interrupted"] is False
    assert summary["visitors"] > 10
    assert summary["served_by_simulated_desks"] > 10
    desks = _simulated_desks(center)
    assert sorted(desks.values_list("number", flat=True)) == [11, 12]
    assert set(desks.values_list("status", flat=True)) == {Desk.Status.CLOSED}
    calls = TicketEvent.objects.filter(center=center, kind=TicketEvent.Kind.CALLED, desk__in=desks)
    assert calls.count() >= summary["served_by_simulated_desks"]
    assert summary["events"] == TicketEvent.objects.filter(center=center).count() - events_before
    # Nobody is left waiting or at a simulated desk; the center's own desks are untouched.
    assert not Ticket.objects.filter(center=center, desk__in=desks).active().exists()
    simulated = Ticket.objects.filter(
        center=center, case__visit__visitor__full_name__startswith="Visitor "
    )
    assert not simulated.filter(status=Ticket.Status.WAITING).exists()
    assert (
        dict(
            Desk.objects.filter(center=center, number__lte=LIVE_DESK_OFFSET).values_list(
                "number", "status"
            )
        )
        == demo_desks
    )


@pytest.mark.django_db(transaction=False)
def test_a_person_serves_beside_the_simulated_desks_and_ctrl_c_stops_cleanly():
    center = load_demo()
    rep1 = get_user_model().objects.get(username="rep1")
    desk1 = Desk.objects.get(center=center, number=1)
    desk_open(desk=desk1, by=rep1)
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 8:  # a person at desk 1 calls whoever is next
            assert ticket_call_next(desk=desk1, by=rep1) is not None
        if len(sleeps) == 60:
            raise KeyboardInterrupt

    summary = live_run(scenario=LIVE_DAY, seed=5, speed=60, sleep=sleep)

    assert summary.interrupted is True
    assert summary.called_by_simulated_desks > 0
    desks = _simulated_desks(center)
    assert set(desks.values_list("status", flat=True)) == {Desk.Status.CLOSED}
    assert not Ticket.objects.filter(desk__in=desks).active().exists()
    # The person's visitor stays with the person; the simulated visitors went home.
    assert Ticket.objects.get(desk=desk1, status=Ticket.Status.CALLED)
    simulated = Ticket.objects.filter(
        center=center, case__visit__visitor__full_name__startswith="Visitor "
    )
    finished = {Ticket.Status.DONE, Ticket.Status.NO_SHOW, Ticket.Status.WALKOUT}
    assert set(simulated.exclude(desk=desk1).values_list("status", flat=True)) <= finished
