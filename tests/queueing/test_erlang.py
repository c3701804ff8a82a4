"""Erlang C against exact arithmetic and published figures; no database anywhere."""

import itertools
import json
import math
from fractions import Fraction
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from queueing.erlang import ErlangC, desks_for_service_level, erlang_c


def exact_p_wait(desks: int, load: Fraction) -> Fraction:
    """The textbook formula in exact arithmetic, independent of the Erlang B recursion:
    C = (A^c/c! * c/(c-A)) / (sum_{k<c} A^k/k! + A^c/c! * c/(c-A)), multiplied through
    by c! so that every term stays a whole number times a power of A."""
    below = sum(load**k * Fraction(math.factorial(desks), math.factorial(k)) for k in range(desks))
    top = load**desks * desks / (desks - load)
    return top / (below + top)


def at_load(load: float, *, handle_time_s: float = 300.0) -> dict[str, float]:
    """Arguments giving ``load`` Erlangs: arrival rate x handle time = load."""
    return {"arrival_rate_per_hour": load * 3600 / handle_time_s, "handle_time_s": handle_time_s}


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("erlang", *args, stdout=out)
    return out.getvalue()


class TestSingleDeskIsMM1:
    # 30 visitors/h, 60 s each: lambda = 1/120 per s, mu = 1/60 per s, rho = 0.5.
    RESULT = erlang_c(arrival_rate_per_hour=30, handle_time_s=60, desks=1, target_s=90)

    def test_chance_of_waiting_is_the_utilisation(self):
        assert self.RESULT.p_wait == pytest.approx(0.5, rel=1e-12)
        assert self.RESULT.occupancy == pytest.approx(0.5, rel=1e-12)

    def test_mean_wait_is_rho_over_mu_minus_lambda(self):
        assert self.RESULT.mean_wait_s == pytest.approx(0.5 / (1 / 60 - 1 / 120), rel=1e-12)

    def test_service_level_is_the_exponential_tail(self):
        expected = 1 - 0.5 * math.exp(-(1 / 60 - 1 / 120) * 90)
        assert self.RESULT.service_level == pytest.approx(expected, rel=1e-12)


class TestPublishedValues:
    def test_two_erlangs_on_three_desks_wait_with_probability_four_ninths(self):
        # Exact: A^3/3! * 3/(3-2) = 4 against 1 + 2 + 2 = 5 below, so C = 4 / 9.
        result = erlang_c(**at_load(2), desks=3, target_s=60)
        assert exact_p_wait(3, Fraction(2)) == Fraction(4, 9)
        assert result.p_wait == pytest.approx(4 / 9, rel=1e-12)

    # Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example"
    # (callcentrehelper.com): 100 calls per 30 minutes, 180 s average handling time
    # (A = 10 Erlangs), target 80 % answered within 20 s: 11 agents give P(wait) 0.6821,
    # and 14 agents are needed. The other digits come from exact_p_wait, not the article.
    CALL_CENTRE = {"arrival_rate_per_hour": 200, "handle_time_s": 180, "target_s": 20}

    def test_call_centre_example_eleven_agents(self):
        result = erlang_c(**self.CALL_CENTRE, desks=11)
        assert result.p_wait == pytest.approx(0.6821, abs=5e-5)
        assert result.p_wait == pytest.approx(float(exact_p_wait(11, Fraction(10))), rel=1e-12)

    def test_call_centre_example_twelve_agents(self):
        result = erlang_c(**self.CALL_CENTRE, desks=12)
        assert result.p_wait == pytest.approx(0.4494, abs=5e-5)

    def test_call_centre_example_needs_fourteen_agents(self):
        result = desks_for_service_level(**self.CALL_CENTRE, service_level=0.8)
        assert result.desks == 14
        p_wait = float(exact_p_wait(14, Fraction(10)))
        assert result.service_level == pytest.approx(1 - p_wait * math.exp(-4 * 20 / 180))
        assert result.mean_wait_s == pytest.approx(p_wait * 180 / 4)
        assert erlang_c(**self.CALL_CENTRE, desks=13).service_level < 0.8

    @pytest.mark.parametrize("desks", [1, 2, 3, 5, 8, 13, 21, 40])
    @pytest.mark.parametrize("load_fraction", [Fraction(1, 10), Fraction(1, 2), Fraction(9, 10)])
    def test_recursion_agrees_with_the_exact_formula(self, desks, load_fraction):
        load = desks * load_fraction
        result = erlang_c(**at_load(float(load)), desks=desks, target_s=60)
        assert result.p_wait == pytest.approx(float(exact_p_wait(desks, load)), rel=1e-12)
        assert result.mean_wait_s == pytest.approx(
            float(exact_p_wait(desks, load) * 300 / (desks - load)), rel=1e-12
        )


class TestMonotonicity:
    def test_every_extra_desk_lowers_the_wait_and_raises_the_service_level(self):
        results = [erlang_c(**at_load(10), desks=desks, target_s=120) for desks in range(11, 40)]
        for fewer, more in itertools.pairwise(results):
            assert more.p_wait < fewer.p_wait
            assert more.mean_wait_s < fewer.mean_wait_s
            assert more.service_level >= fewer.service_level
            assert more.occupancy < fewer.occupancy

    def test_a_longer_target_raises_the_service_level(self):
        levels = [
            erlang_c(**at_load(10), desks=12, target_s=target).service_level
            for target in (10, 60, 300, 900)
        ]
        assert levels == sorted(levels)
        assert len(set(levels)) == len(levels)


class TestDesksForServiceLevel:
    @pytest.mark.parametrize("load", [0.3, 2, 9.5, 10, 48.7, 200])
    @pytest.mark.parametrize("wanted", [0.5, 0.8, 0.95, 0.999])
    @pytest.mark.parametrize("target_s", [15, 900])
    def test_returns_the_fewest_desks_that_reach_the_target(self, load, wanted, target_s):
        result = desks_for_service_level(**at_load(load), target_s=target_s, service_level=wanted)
        assert result.service_level >= wanted
        assert result == erlang_c(**at_load(load), desks=result.desks, target_s=target_s)
        if result.desks > 1:
            one_fewer = erlang_c(**at_load(load), desks=result.desks - 1, target_s=target_s)
            assert one_fewer.service_level < wanted

    def test_never_returns_an_unstable_desk_count(self):
        # With a long target even a barely stable queue answers almost everyone in time.
        result = desks_for_service_level(**at_load(10), target_s=36_000, service_level=0.5)
        assert result.desks == 11
        assert result.occupancy < 1

    @pytest.mark.parametrize("wanted", [0, 1, -0.1, 1.5, math.nan])
    def test_rejects_a_service_level_outside_zero_to_one(self, wanted):
        with pytest.raises(ValueError, match="service level must be between 0 and 1"):
            desks_for_service_level(**at_load(10), target_s=20, service_level=wanted)


class TestUnstableQueue:
    def test_as_many_erlangs_as_desks_does_not_crash(self):
        result = erlang_c(**at_load(10), desks=10, target_s=900)
        assert result == ErlangC(
            p_wait=1.0, mean_wait_s=math.inf, service_level=0.0, occupancy=1.0, desks=10
        )

    def test_overload_reports_the_offered_load_per_desk(self):
        result = erlang_c(**at_load(30), desks=3, target_s=900)
        assert (result.p_wait, result.mean_wait_s, result.service_level) == (1.0, math.inf, 0.0)
        assert result.occupancy == pytest.approx(10)


class TestLargeSystems:
    def test_five_hundred_erlangs_on_five_hundred_and_twenty_desks(self):
        result = erlang_c(**at_load(500), desks=520, target_s=20)
        assert result.p_wait == pytest.approx(float(exact_p_wait(520, Fraction(500))), rel=1e-9)
        assert 0 < result.p_wait < 1
        assert 0 < result.mean_wait_s < 300
        assert 0 < result.service_level < 1
        assert result.occupancy == pytest.approx(500 / 520)

    def test_thousands_of_desks_stay_finite(self):
        result = erlang_c(**at_load(5000), desks=5100, target_s=20)
        assert all(
            math.isfinite(value) and value >= 0
            for value in (result.p_wait, result.mean_wait_s, result.service_level)
        )
        staffed = desks_for_service_level(**at_load(5000), target_s=20, service_level=0.9)
        assert 5000 < staffed.desks < 5200


class TestValidation:
    @pytest.mark.parametrize("rate", [0, -1, math.nan, math.inf])
    def test_rejects_a_non_positive_arrival_rate(self, rate):
        with pytest.raises(ValueError, match="arrival rate must be a positive"):
            erlang_c(arrival_rate_per_hour=rate, handle_time_s=60, desks=2, target_s=60)

    @pytest.mark.parametrize("handle_time_s", [0, -60, math.nan])
    def test_rejects_a_non_positive_handle_time(self, handle_time_s):
        with pytest.raises(ValueError, match="handle time must be a positive"):
            erlang_c(arrival_rate_per_hour=10, handle_time_s=handle_time_s, desks=2, target_s=60)

    @pytest.mark.parametrize("desks", [0, -3, 2.5, True])
    def test_rejects_fewer_than_one_desk_or_a_fraction_of_one(self, desks):
        with pytest.raises(ValueError, match="desks must be a whole number of at least 1"):
            erlang_c(arrival_rate_per_hour=10, handle_time_s=60, desks=desks, target_s=60)

    @pytest.mark.parametrize("target_s", [0, -1, math.nan])
    def test_rejects_a_non_positive_target(self, target_s):
        with pytest.raises(ValueError, match="target must be a positive"):
            erlang_c(arrival_rate_per_hour=10, handle_time_s=60, desks=2, target_s=target_s)
        with pytest.raises(ValueError, match="target must be a positive"):
            desks_for_service_level(
                arrival_rate_per_hour=10, handle_time_s=60, target_s=target_s, service_level=0.8
            )


class TestCommand:
    BASE = ("--arrival-rate", "200", "--handle-time", "180")

    def test_json_equals_the_module(self):
        output = run_command(*self.BASE, "--desks", "12", "--target", "20", "--json")
        expected = erlang_c(arrival_rate_per_hour=200, handle_time_s=180, desks=12, target_s=20)
        assert json.loads(output) == {
            "p_wait": expected.p_wait,
            "mean_wait_s": expected.mean_wait_s,
            "service_level": expected.service_level,
            "occupancy": expected.occupancy,
        }
        assert output.count("\n") == 1

    def test_target_defaults_to_fifteen_minutes(self):
        output = json.loads(run_command(*self.BASE, "--desks", "12", "--json"))
        expected = erlang_c(arrival_rate_per_hour=200, handle_time_s=180, desks=12, target_s=900)
        assert output["service_level"] == expected.service_level

    def test_service_level_mode_prints_the_fewest_desks(self):
        output = run_command(*self.BASE, "--service-level", "0.8", "--target", "20", "--json")
        expected = desks_for_service_level(
            arrival_rate_per_hour=200, handle_time_s=180, target_s=20, service_level=0.8
        )
        assert json.loads(output) == {
            "desks": 14,
            "p_wait": expected.p_wait,
            "mean_wait_s": expected.mean_wait_s,
            "service_level": expected.service_level,
            "occupancy": expected.occupancy,
        }

    def test_unstable_queue_has_a_null_mean_wait(self):
        output = json.loads(run_command(*self.BASE, "--desks", "9", "--json"))
        assert output == {
            "p_wait": 1.0,
            "mean_wait_s": None,
            "service_level": 0.0,
            "occupancy": pytest.approx(10 / 9),
        }

    def test_readable_summary(self):
        output = run_command(*self.BASE, "--desks", "14", "--target", "20")
        assert "Desks: 14 (occupancy 71.4%)" in output
        assert "Chance of waiting: 17.4%" in output
        assert "Mean wait: 8 s" in output
        assert "Served within 20 s: 88.8%" in output

    def test_readable_summary_of_the_service_level_mode(self):
        output = run_command(*self.BASE, "--service-level", "0.8", "--target", "20")
        assert "Desks: 14 (occupancy 71.4%), the fewest serving 80.0% within 20 s" in output

    def test_readable_summary_of_an_unstable_queue(self):
        output = run_command(*self.BASE, "--desks", "10")
        assert "Unstable" in output
        assert "Served within 900 s: 0.0%" in output

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("--arrival-rate", "-5", "--handle-time", "180", "--desks", "3"), "arrival rate"),
            (("--arrival-rate", "0", "--handle-time", "180", "--desks", "3"), "arrival rate"),
            (("--arrival-rate", "200", "--handle-time", "0", "--desks", "3"), "handle time"),
            (("--arrival-rate", "200", "--handle-time", "-1", "--desks", "3"), "handle time"),
            ((*BASE, "--desks", "0"), "desks must be"),
            ((*BASE, "--desks", "-2"), "desks must be"),
            ((*BASE, "--desks", "12", "--target", "0"), "target must be"),
            ((*BASE, "--desks", "12", "--target", "-60"), "target must be"),
            (BASE, "Give either --desks or --service-level"),
            ((*BASE, "--desks", "12", "--service-level", "0.8"), "not both"),
            ((*BASE, "--service-level", "0"), "service level must be between 0 and 1"),
            ((*BASE, "--service-level", "1"), "service level must be between 0 and 1"),
            ((*BASE, "--service-level", "1.2"), "service level must be between 0 and 1"),
            ((*BASE, "--service-level", "-0.5"), "service level must be between 0 and 1"),
            (("--handle-time", "180", "--desks", "3"), "--arrival-rate"),
            ((*BASE, "--desks", "many"), "--desks"),
        ],
    )
    def test_bad_arguments_raise_command_error(self, args, message):
        with pytest.raises(CommandError, match=message):
            run_command(*args)
