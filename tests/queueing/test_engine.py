"""The queue policy on its own: no database, only plain values in and out."""

import datetime as dt
import itertools

import pytest

from queueing import engine
from queueing.engine import QueuedTicket, WaitEstimate

STANDARD = 0
PRIORITY = 1
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def minutes(value: float) -> dt.timedelta:
    return dt.timedelta(minutes=value)


def queued(ticket_id: int, issued_at: dt.datetime, priority: int) -> QueuedTicket:
    return QueuedTicket(id=ticket_id, rank_at=engine.rank_at(issued_at, priority))


class TestRankAt:
    def test_standard_ticket_queues_at_its_issue_time(self):
        assert engine.rank_at(T0, STANDARD) == T0

    def test_priority_ticket_gets_a_ten_minute_head_start(self):
        assert engine.rank_at(T0, PRIORITY) == T0 - minutes(10)

    def test_unknown_priority_class_gets_no_head_start(self):
        assert engine.rank_at(T0, 7) == T0

    def test_priority_goes_ahead_of_standard_who_arrived_less_than_ten_minutes_earlier(self):
        standard = queued(1, T0, STANDARD)
        priority = queued(2, T0 + minutes(9), PRIORITY)
        assert engine.next_in_line([standard, priority]) == priority

    def test_priority_never_goes_ahead_of_standard_who_waited_longer_than_the_head_start(self):
        standard = queued(1, T0, STANDARD)
        priority = queued(2, T0 + minutes(11), PRIORITY)
        assert engine.next_in_line([standard, priority]) == standard

    def test_exactly_the_head_start_apart_the_earlier_ticket_goes_first(self):
        standard = queued(1, T0, STANDARD)
        priority = queued(2, T0 + minutes(10), PRIORITY)
        assert standard.rank_at == priority.rank_at
        assert engine.next_in_line([priority, standard]) == standard

    def test_priority_tickets_keep_their_arrival_order_among_themselves(self):
        first = queued(1, T0, PRIORITY)
        second = queued(2, T0 + minutes(1), PRIORITY)
        assert engine.next_in_line([second, first]) == first


def test_stream_of_priority_arrivals_cannot_starve_a_standard_ticket():
    """One desk serves a ticket every 3 minutes while a priority visitor arrives every
    minute, forever: the standard ticket is still called, and no priority visitor who
    arrived more than the head start after it is called before it."""
    ids = itertools.count(1)
    standard = queued(next(ids), T0, STANDARD)
    waiting = [standard]
    arrivals: dict[int, dt.datetime] = {}
    now = T0 - minutes(30)
    called_before_standard: list[int] = []
    while now < T0 + minutes(240):
        now += minutes(1)
        ticket = queued(next(ids), now, PRIORITY)
        arrivals[ticket.id] = now
        waiting.append(ticket)
        if int((now - T0).total_seconds() // 60) % 3 == 0:
            called = engine.next_in_line(waiting)
            assert called is not None
            waiting.remove(called)
            if called == standard:
                break
            called_before_standard.append(called.id)
    else:
        pytest.fail("the standard ticket was never called")
    assert called_before_standard, "the scenario must actually put priority visitors first"
    assert all(arrivals[i] < T0 + engine.PRIORITY_HEAD_START for i in called_before_standard)
    # A backlog of priority visitors who arrived later is still waiting: they did not win.
    assert any(arrivals[t.id] > T0 + engine.PRIORITY_HEAD_START for t in waiting)


class TestTicketCode:
    @pytest.mark.parametrize(
        ("prefix", "number", "code"),
        [("A", 1, "A001"), ("W", 17, "W017"), ("A", 999, "A999"), ("B", 1000, "B1000")],
    )
    def test_prefix_and_number_padded_to_three_digits(self, prefix, number, code):
        assert engine.ticket_code(prefix, number) == code


class TestNextInLine:
    def test_nobody_waiting(self):
        assert engine.next_in_line([]) is None

    def test_earliest_rank_wins_whatever_the_input_order(self):
        late = QueuedTicket(id=1, rank_at=T0 + minutes(5))
        early = QueuedTicket(id=2, rank_at=T0)
        assert engine.next_in_line([late, early]) == early

    def test_equal_rank_is_broken_by_the_lower_id(self):
        first = QueuedTicket(id=3, rank_at=T0)
        second = QueuedTicket(id=8, rank_at=T0)
        assert engine.next_in_line([second, first]) == first


def estimate(ahead: int, open_desks: int = 1, times=(), default: float = 600):
    return engine.estimate_wait(
        ahead=ahead, open_desks=open_desks, service_times_s=times, default_service_s=default
    )


class TestEstimateWait:
    @pytest.mark.parametrize("open_desks", [0, -1])
    def test_no_open_desk_gives_no_estimate(self, open_desks):
        assert estimate(3, open_desks=open_desks) is None

    def test_first_in_line_waits_at_most_one_service(self):
        assert estimate(0, open_desks=2, default=600) == WaitEstimate(low_s=0, high_s=300)

    def test_range_brackets_the_expected_wait(self):
        result = estimate(4, times=[500, 700, 600, 550, 650])
        assert result is not None
        assert result.low_s < 5 * 600 < result.high_s

    def test_range_widens_with_more_visitors_ahead(self):
        times = [400, 800, 600, 500, 700]
        widths = []
        for ahead in (1, 4, 9, 25):
            result = estimate(ahead, times=times)
            assert result is not None
            widths.append(result.high_s - result.low_s)
        assert widths == sorted(widths)
        assert len(set(widths)) == len(widths)

    def test_more_open_desks_means_a_shorter_wait(self):
        one, two, four = (estimate(8, open_desks=n, times=[600, 620]) for n in (1, 2, 4))
        assert one is not None
        assert two is not None
        assert four is not None
        assert one.high_s > two.high_s > four.high_s
        assert one.low_s > two.low_s > four.low_s

    def test_without_history_the_case_type_default_is_used(self):
        quick = estimate(3, default=120)
        slow = estimate(3, default=1200)
        assert quick is not None
        assert slow is not None
        assert quick.high_s < slow.high_s

    def test_recent_service_times_weigh_more(self):
        getting_slower = estimate(3, times=[100] * 10 + [1000] * 3)
        getting_faster = estimate(3, times=[1000] * 3 + [100] * 10)
        assert getting_slower is not None
        assert getting_faster is not None
        assert getting_slower.high_s > getting_faster.high_s

    def test_minutes_are_rounded_for_display(self):
        assert WaitEstimate(low_s=0, high_s=0).high_minutes == 1
        assert WaitEstimate(low_s=150, high_s=301).low_minutes == 2
        assert WaitEstimate(low_s=150, high_s=301).high_minutes == 6


class TestPercentile:
    def test_no_values(self):
        assert engine.percentile([], 0.9) is None

    @pytest.mark.parametrize(
        ("fraction", "expected"), [(0.0, 1), (0.1, 1), (0.5, 5), (0.9, 9), (0.91, 10), (1.0, 10)]
    )
    def test_nearest_rank_of_unsorted_values(self, fraction, expected):
        values = [7, 3, 10, 1, 9, 2, 8, 4, 6, 5]
        assert engine.percentile(values, fraction) == expected

    def test_single_value(self):
        assert engine.percentile([42.5], 0.9) == 42.5


def times(mean_s: float, spread_s: float | None = None) -> engine.ServiceTimes:
    return engine.ServiceTimes(mean_s=mean_s, spread_s=mean_s if spread_s is None else spread_s)


def line(ahead: int, desks: set[int], mean_s: float = 600, spread_s: float | None = None):
    return engine.SharedLine(ahead=ahead, desks=frozenset(desks), times=times(mean_s, spread_s))


def midpoint(result: WaitEstimate) -> float:
    return (result.low_s + result.high_s) / 2


def shared_estimate(ahead: int, desks: set[int], mean_s: float, *others, spread_s=None):
    return engine.estimate_from(
        ahead=ahead,
        open_desks=len(desks),
        times=times(mean_s, spread_s),
        desks=frozenset(desks),
        shared=others,
    )


class TestSharedDesks:
    """A desk calls the lowest rank among all its lines: visitors of another line ranked
    ahead of us come first at the desks we share, while its other desks take part."""

    def test_without_shared_lines_it_is_the_queue_length_estimate(self):
        plain = engine.estimate_from(ahead=3, open_desks=2, times=times(600, 200))
        assert shared_estimate(3, {1, 2}, 600, spread_s=200) == plain
        assert engine.estimate_from(ahead=3, open_desks=2, times=times(600, 0)) == (
            WaitEstimate(low_s=1200, high_s=1200)
        )

    def test_desks_shared_by_two_lines_in_full_pool_them(self):
        """Both desks serve both lines: one queue in rank order, whatever the line."""
        pooled = engine.estimate_from(ahead=5, open_desks=2, times=times(600, 300))
        split = shared_estimate(2, {1, 2}, 600, line(3, {1, 2}, 600, 300), spread_s=300)
        assert split == pooled

    def test_first_in_a_quiet_line_waits_for_the_busy_line_ahead(self):
        """TECH has desks 1-2, which also serve ACCOUNTS (desks 1-5): the 10 ACCOUNTS
        visitors ranked ahead are served by all five desks before TECH's turn."""
        alone = shared_estimate(0, {1, 2}, 420)
        sharing = shared_estimate(0, {1, 2}, 420, line(10, {1, 2, 3, 4, 5}, 900))
        assert alone == WaitEstimate(low_s=0, high_s=210)
        assert midpoint(sharing) == pytest.approx((420 + 10 * 900) / 5, abs=1)
        assert sharing.low_s < sharing.high_s

    def test_a_long_own_line_is_not_shortened_by_the_other_desks(self):
        """Six TECH visitors ahead can only use TECH's two desks."""
        result = shared_estimate(6, {1, 2}, 600, line(2, {1, 2, 3, 4, 5}, 600))
        assert midpoint(result) == pytest.approx(7 * 600 / 2, abs=1)

    def test_lines_that_never_reach_our_desks_do_not_count(self):
        alone = shared_estimate(1, {1, 2}, 600)
        assert shared_estimate(1, {1, 2}, 600, line(30, {3, 4})) == alone

    def test_a_desk_of_ours_without_the_busy_line_calls_us_first(self):
        """ACCOUNTS has desks 1-3; TECH's 10 visitors ahead hold up desks 1-2 only, and
        desk 3 calls the ACCOUNTS visitor as if TECH were not there."""
        alone = shared_estimate(2, {1, 2, 3}, 600)
        assert shared_estimate(2, {1, 2, 3}, 600, line(10, {1, 2}, 420)) == alone
        # When every desk of ours also serves TECH, its visitors ahead come first.
        both = shared_estimate(2, {1, 2}, 600, line(10, {1, 2}, 420))
        assert midpoint(both) == pytest.approx((3 * 600 + 10 * 420) / 2, abs=1)

    def test_a_shared_line_with_nobody_ahead_changes_nothing(self):
        alone = shared_estimate(2, {1, 2, 3}, 600)
        assert shared_estimate(2, {1, 2, 3}, 600, line(0, {1, 2, 3, 4})) == alone

    @pytest.mark.parametrize("others_ahead", [1, 4, 9, 20])
    def test_more_shared_work_ahead_never_shortens_the_wait(self, others_ahead):
        def wait(count):
            return midpoint(shared_estimate(1, {1, 2}, 600, line(count, {1, 2, 3, 4})))

        assert wait(others_ahead) <= wait(others_ahead + 1)

    def test_no_open_desk_still_means_no_estimate(self):
        assert shared_estimate(0, set(), 600, line(3, {1, 2})) is None


class TestWhatTheLineHasSeen:
    """Three things the queue alone does not say: a paused desk comes back, some of the
    visitors ahead leave before their call, and the first services of a day are few."""

    def test_a_paused_desk_counts_once_it_is_back(self):
        """One desk open, one on a break back in 20 minutes, 600 s a visitor: a short
        wait is done by the open desk alone, a long one by both after the break."""
        back = {2: 1200.0}

        def wait(ahead: int) -> float:
            result = engine.estimate_from(
                ahead=ahead,
                open_desks=1,
                times=times(600, 0),
                desks=frozenset({1, 2}),
                back_in_s=back,
            )
            assert result is not None
            # Nobody ahead: the range runs from now to when the desk is expected free.
            return result.high_s if ahead == 0 else midpoint(result)

        assert wait(0) == 600  # before the break ends: one desk
        assert wait(1) == 1200  # exactly when it ends
        # 10 visitors (6,000 s of work): 1,200 s by one desk, the 4,800 s left by two.
        assert wait(9) == 1200 + 4800 / 2

    def test_an_overrunning_or_returned_desk_is_an_open_one(self):
        returned = engine.estimate_from(
            ahead=5,
            open_desks=1,
            times=times(600, 0),
            desks=frozenset({1, 2}),
            back_in_s={2: 0.0},
        )
        both_open = engine.estimate_from(
            ahead=5, open_desks=2, times=times(600, 0), desks=frozenset({1, 2})
        )
        assert returned == both_open

    def test_with_every_desk_paused_there_is_no_estimate(self):
        assert (
            engine.estimate_from(
                ahead=0,
                open_desks=0,
                times=times(600),
                desks=frozenset({1}),
                back_in_s={1: 600.0},
            )
            is None
        )

    def test_only_the_share_that_stays_is_waited_for(self):
        """A quarter of the line's recent visitors left before their call: of 8 ahead,
        6 are expected at the desk."""
        staying = engine.ServiceTimes(mean_s=600, spread_s=0, stay_share=0.75)
        result = engine.estimate_from(ahead=8, open_desks=1, times=staying)
        assert result is not None
        assert midpoint(result) == (6 + 1) * 600

    def test_the_share_that_stays_needs_enough_outcomes(self):
        assert engine.stay_share([True, False] * 4) == 1.0  # 8 outcomes say nothing yet
        assert engine.stay_share([True, True, True, False] * 5) == 0.75

    def test_the_configured_time_weighs_against_a_first_long_service(self):
        """One 3,600 s service early in the day does not make every wait six times
        longer; twenty of them do."""
        one = engine.ServiceTimes.from_samples([3600], default_s=600)
        many = engine.ServiceTimes.from_samples([3600] * 20, default_s=600)
        assert 600 < one.mean_s < 2000
        assert many.mean_s == pytest.approx(3600, rel=0.03)
        assert engine.ServiceTimes.from_samples([], default_s=600).mean_s == 600
