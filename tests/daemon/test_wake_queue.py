"""The daemon's wake queue (``daemon.wake_queue``): the decisions that replaced a thread per
mapping. Pure: times are plain numbers, so every rule is checked exactly."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from containersync.daemon.wake_queue import WakeQueue


def test_the_earliest_due_key_goes_first_and_a_later_wake_does_not_postpone_it() -> None:
    q: WakeQueue[str] = WakeQueue()
    q.add("a", 5.0)
    q.add("b", 3.0)
    q.wake("b", 9.0)  # later than asked: b stays at 3
    assert q.start(2.0) is None and q.next_time() == 3.0
    assert q.start(6.0) == "b"
    assert q.start(6.0) == "a"
    assert q.start(6.0) is None


def test_a_running_key_is_never_handed_out_twice_and_a_wake_meanwhile_is_kept() -> None:
    q: WakeQueue[str] = WakeQueue()
    q.add("a", 0.0)
    assert q.start(0.0) == "a"
    q.wake("a", 1.0)  # made due while its turn runs
    assert q.start(10.0) is None  # ... but not a second turn beside the first
    q.finish("a", math.inf)  # the turn wanted no timer: the wake still counts
    assert q.start(10.0) == "a"


def test_a_key_waiting_only_for_a_wake_is_never_due_and_costs_no_heap_entry() -> None:
    q: WakeQueue[str] = WakeQueue()
    q.add("a", math.inf)
    assert q.next_time() is None and q.start(1e12) is None
    q.wake("a", 4.0)
    assert q.start(4.0) == "a"


def test_a_finished_key_leaves_and_later_wakes_are_ignored() -> None:
    q: WakeQueue[str] = WakeQueue()
    q.add("a", 0.0)
    assert q.start(0.0) == "a"
    q.wake("a", 0.0)
    q.finish("a", None)
    assert "a" not in q and not q.wake("a", 0.0) and q.start(1.0) is None


def test_the_heap_stays_proportional_to_the_keys() -> None:
    q: WakeQueue[int] = WakeQueue()
    for k in range(10):
        q.add(k, 1000.0)
    for t in range(10_000):  # each wake earlier than the last leaves a stale entry
        q.wake(t % 10, 999.0 - t / 100)
    assert len(q._heap) <= 2 * len(q) + 17


ops = st.lists(st.tuples(st.sampled_from(["wake", "start", "finish", "stop"]),
                         st.integers(0, 4), st.floats(0, 100)), max_size=200)


@given(ops)
def test_no_two_turns_of_a_key_at_once_and_no_wake_is_lost(steps: list[tuple[str, int, float]]
                                                          ) -> None:
    q: WakeQueue[int] = WakeQueue()
    now = 0.0
    running: set[int] = set()
    owed: dict[int, float] = {}  # a key woken (at this time) since its last turn began
    for k in range(5):
        q.add(k, 0.0)
        owed[k] = 0.0
    for op, key, at in steps:
        now += 1.0
        if op == "wake":
            q.wake(key, at)
            if key in q:
                owed[key] = min(owed.get(key, math.inf), at)
        elif op == "start":
            got = q.start(now)
            if got is not None:
                assert got not in running  # one turn of a key at a time
                assert owed.get(got, math.inf) <= now  # only when asked for
                running.add(got)
                owed.pop(got, None)
        elif op in ("finish", "stop") and key in running:
            running.discard(key)
            q.finish(key, None if op == "stop" else math.inf)
            if op == "stop":
                owed.pop(key, None)
    # every wake still owed to a live key is served once time has passed it
    served: set[int] = set()
    while (got := q.start(1e9)) is not None:
        served.add(got)
    assert {k for k in owed if k not in running} <= served
