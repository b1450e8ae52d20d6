"""The adaptive transfer window (``model.window``): bounds, growth, and backing off."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from containersync.model.window import Window

EVENTS = st.lists(st.one_of(
    st.tuples(st.just("done"), st.floats(0.0, 5.0), st.integers(0, 80), st.booleans()),
    st.tuples(st.just("pushback"), st.just(0.0), st.integers(0, 80), st.booleans()),
), max_size=300)


def replay(w: Window, events: list[tuple[str, float, int, bool]]) -> None:
    for kind, latency, running, flag in events:
        if kind == "done":
            w.on_done(latency, running, comparable=flag)
        else:
            w.on_pushback(w.epoch if flag else None)


@given(st.integers(1, 64), st.integers(-3, 80), EVENTS)
def test_the_window_stays_within_one_and_the_maximum(maximum: int, start: int,
                                                     events: list[tuple[str, float, int, bool]]
                                                     ) -> None:
    w = Window(maximum=maximum, start=start)
    assert 1 <= w.limit <= maximum
    for event in events:
        replay(w, [event])
        assert 1 <= w.limit <= maximum
        assert 1.0 <= w.limit_f <= maximum


@given(st.integers(2, 64), EVENTS)
def test_a_pushback_halves_the_window(maximum: int, events: list[tuple[str, float, int, bool]]
                                      ) -> None:
    w = Window(maximum=maximum, start=maximum)
    replay(w, events)
    before = w.limit_f
    w.on_pushback(w.epoch)
    assert w.limit_f == max(1.0, before / 2)
    assert w.limit < maximum or maximum == 1


def test_a_burst_of_pushbacks_from_one_round_halves_once() -> None:
    w = Window(maximum=32, start=32)
    started = w.epoch  # 32 transfers started in this round
    for _ in range(32):
        w.on_pushback(started)
    assert w.limit == 16
    w.on_pushback(w.epoch)  # one that started after the decrease counts again
    assert w.limit == 8


@given(st.integers(1, 64), st.integers(1, 64), st.floats(0.001, 2.0))
def test_steady_success_at_a_steady_latency_grows_to_the_maximum(
        maximum: int, start: int, latency: float) -> None:
    w = Window(maximum=maximum, start=start)
    for _ in range(maximum * maximum + 10):
        w.on_done(latency, w.limit)
    assert w.limit == maximum


def test_growth_needs_the_window_to_be_the_constraint() -> None:
    w = Window(maximum=32, start=8)
    for _ in range(100):
        w.on_done(0.05, 1)  # one transfer at a time: a bigger window would not be used
    assert w.limit == 8


def test_a_sudden_rise_in_latency_shrinks_the_window_once_per_round() -> None:
    w = Window(maximum=64, start=64)
    for _ in range(300):
        w.on_done(0.050, 64)  # steady: the long average learns 50 ms
    assert w.limit == 64
    sizes = []
    for _ in range(200):
        w.on_done(0.400, w.limit)  # the server slows down eightfold
        sizes.append(w.limit)
    assert sizes[-1] < 64
    drops = sum(1 for a, b in pairwise(sizes) if b < a)
    assert drops <= 200 // min(sizes) + 1  # at most one shrink per round of the window


def test_latency_that_rises_with_the_window_does_not_stop_growth() -> None:
    """A busy machine: every transfer takes longer as more run, but throughput still
    rises (latency grows slower than the window). The window reaches the maximum."""
    w = Window(maximum=32, start=4)
    for _ in range(2000):
        w.on_done(0.050 * (1 + w.limit / 16), w.limit)
    assert w.limit == 32


def test_a_few_milliseconds_more_never_hold_back_a_fast_link() -> None:
    w = Window(maximum=32, start=4)
    for _ in range(300):
        w.on_done(0.001, w.limit)
    for _ in range(200):
        w.on_done(0.008, w.limit)  # eight times the average, but 7 ms: no reason to wait
    assert w.limit == 32


def test_slow_start_doubles_then_growth_is_one_per_round_after_a_pushback() -> None:
    w = Window(maximum=64, start=4)
    for _ in range(4):
        w.on_done(0.05, 4)
    assert w.limit == 8  # one round of 4 successes doubled it
    w.on_pushback(w.epoch)
    assert w.limit == 4 and w.threshold == 4.0
    for _ in range(4):
        w.on_done(0.05, 4)
    assert w.limit == 4 or w.limit_f < 5.0  # congestion avoidance: about one per round
    assert w.limit_f > 4.0
