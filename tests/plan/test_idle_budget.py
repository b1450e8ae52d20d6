"""The shared idle budget: never more than the budget per window, every mapping gets its
turn, pulls back off when nothing is new, keep-alives are never refused."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from containersync.plan.idle_budget import FULL, FULL_COST, PULL, IdleBudget, TokenBucket


def _budget(per_minute: float, burst: float, *, base: float = 5.0, cap: float = 60.0,
            full: float = 600.0) -> IdleBudget:
    return IdleBudget(TokenBucket(per_minute, burst), base_s=base, cap_s=cap, full_s=full)


def _cost(kind: str) -> float:
    return FULL_COST if kind == FULL else 1.0


steps = st.lists(st.tuples(st.floats(0.01, 30.0), st.booleans()), min_size=1, max_size=80)


@settings(max_examples=100, deadline=None)
@given(mappings=st.integers(1, 60), per_minute=st.floats(1.0, 600.0),
       burst=st.floats(FULL_COST, 30.0), steps=steps, base=st.floats(0.5, 10.0),
       full=st.floats(1.0, 900.0))
def test_granted_work_never_exceeds_the_budget_in_any_window(
        mappings: int, per_minute: float, burst: float, steps: list[tuple[float, bool]],
        base: float, full: float) -> None:
    b = _budget(per_minute, burst, base=base, cap=base * 8, full=full)
    for i in range(mappings):
        b.add(f"m{i}", 0.0)
    now, spent = 0.0, []  # (time, cost) of everything granted
    for dt, found in steps:
        now += dt
        for kind, name in b.tick(now):
            spent.append((now, _cost(kind)))
            if kind == PULL:
                (b.changed if found else b.nothing_new)(name, now)
    # every window from one grant's time to a later one's (the tightest windows)
    times = sorted({t for t, _c in spent})
    at_time = {t: sum(c for t2, c in spent if t2 == t) for t in times}
    for i, start in enumerate(times):
        window = 0.0
        for end in times[i:]:
            window += at_time[end]
            assert window <= burst + per_minute * (end - start) / 60 + 1e-6


@settings(max_examples=30, deadline=None)
@given(mappings=st.integers(1, 40), per_minute=st.floats(6.0, 240.0),
       tick=st.floats(0.5, 2.0), greedy=st.sets(st.integers(0, 39)))
def test_every_due_mapping_gets_its_turn(mappings: int, per_minute: float, tick: float,
                                         greedy: set[int]) -> None:
    # "greedy" mappings always find something new (so pull again at the base interval);
    # the others back off; none may wait longer than the whole queue ahead of it costs
    b = _budget(per_minute, FULL_COST, base=1.0, cap=30.0, full=120.0)
    names = [f"m{i}" for i in range(mappings)]
    for name in names:
        b.add(name, 0.0)
    due_since: dict[tuple[str, str], float] = {}
    # the queue ahead (a pull and a full cycle per mapping) and one token short, each item
    # paid up to one tick after the bucket could pay it
    bound = (mappings * (1 + FULL_COST) + 1) * 60 / per_minute + (2 * mappings + 1) * tick
    bound += 1e-6
    now = 0.0
    while now < 240.0:
        now += tick
        for name in names:
            m = b._mappings[name]
            for kind, at in ((PULL, m.pull_at), (FULL, m.full_at)):
                if at <= now:
                    due_since.setdefault((kind, name), at)
        for kind, name in b.tick(now):
            waited = now - due_since.pop((kind, name))
            assert waited <= bound, (kind, name, waited, bound)
            if kind == FULL:
                due_since.pop((PULL, name), None)  # a full cycle is a pull as well
            if kind == PULL:
                if int(name[1:]) in greedy:
                    b.changed(name, now)
                else:
                    b.nothing_new(name, now)
    assert all(now - since <= bound for since in due_since.values())


def test_pulls_back_off_when_nothing_is_new_and_reset_on_a_change() -> None:
    b = _budget(6000, 100, base=5, cap=60)
    b.add("m", 0.0)
    intervals = []
    now = 0.0
    for _ in range(6):
        now = b._mappings["m"].pull_at
        assert (PULL, "m") in b.tick(now)
        b.nothing_new("m", now)
        intervals.append(b.interval("m"))
    assert intervals == [10, 20, 40, 60, 60, 60]
    b.changed("m", now)
    assert b.interval("m") == 5 and b._mappings["m"].pull_at == now + 5


def test_keepalives_are_never_refused_and_pulls_wait_for_them() -> None:
    b = _budget(60, 2, base=1, cap=1)  # one token a second, two at most
    b.add("m", 0.0)
    for _ in range(5):
        b.charge(1.0)  # five keep-alives at once: all go, the bucket goes to -3
    assert b.tick(1.0) == []
    assert b.tick(4.0) == []  # refilled to 0 only
    assert b.tick(5.0) == [(PULL, "m")]


def test_a_full_cycle_costs_more_and_counts_as_a_pull() -> None:
    b = _budget(60, 10, base=5, cap=60, full=30)
    b.add("m", 0.0)
    assert b.tick(30.0) == [(PULL, "m"), (FULL, "m")]
    assert b.bucket.tokens == 10 - 1 - FULL_COST
    assert b._mappings["m"].pull_at == 35 and b._mappings["m"].full_at == 60
