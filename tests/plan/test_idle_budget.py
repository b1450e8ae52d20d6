"""The shared idle budget: never more than the budget per window, every mapping gets its
turn, pull intervals grow only as the budget requires, keep-alives are never refused."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from containersync.plan.idle_budget import (
    ACTIVE_FOR_S,
    FULL,
    FULL_COST,
    PULL,
    PULL_SHARE,
    IdleBudget,
    TokenBucket,
)


def _budget(per_minute: float, burst: float, *, base: float = 5.0, cap: float = 60.0,
            full: float = 600.0, active: float | None = None, idle: float | None = None,
            idle_after: float = 0.0, lead: float = 0.0) -> IdleBudget:
    return IdleBudget(TokenBucket(per_minute, burst), base_s=base, cap_s=cap, full_s=full,
                      active_s=active, idle_s=idle, idle_after_s=idle_after, lead_s=lead)


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
            if kind == PULL and found:
                b.changed(name, now)
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
    b = _budget(per_minute, FULL_COST, base=1.0, cap=30.0, full=120.0, active=0.5)
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
            if kind == PULL and int(name[1:]) in greedy:
                b.changed(name, now)
    assert all(now - since <= bound for since in due_since.values())


@settings(max_examples=200, deadline=None)
@given(per_minute=st.floats(1.0, 6000.0),
       quiet=st.lists(st.floats(0.0, 40_000.0), min_size=1, max_size=250),
       base=st.floats(0.5, 60.0), active=st.floats(0.2, 60.0), idle=st.floats(1.0, 3600.0),
       idle_after=st.sampled_from([0.0, 600.0, 28_800.0]), cap=st.floats(1.0, 3600.0))
def test_pull_intervals_grow_only_as_the_budget_requires(
        per_minute: float, quiet: list[float], base: float, active: float, idle: float,
        idle_after: float, cap: float) -> None:
    """Each mapping wants an interval by how long it has been quiet; it gets exactly that
    while everyone's wanted pulls fit the pull share of the budget, and otherwise the
    intervals together fit that share, or sit at the cap."""
    now = 50_000.0
    b = _budget(per_minute, FULL_COST, base=base, cap=max(base, cap), active=active,
                idle=idle, idle_after=idle_after)
    names = [f"m{i}" for i in range(len(quiet))]
    for name, q in zip(names, quiet, strict=True):
        b.add(name, 0.0)
        b.changed(name, now - q)
    wanted = {n: b.wanted(n, now) for n in names}
    got = {n: b.interval(n, now) for n in names}
    supply = per_minute / 60 * PULL_SHARE
    assert all(got[n] >= wanted[n] - 1e-9 for n in names)
    if sum(1 / w for w in wanted.values()) <= supply:
        assert got == wanted
    else:
        capped = {n for n in names if got[n] >= max(wanted[n], b.cap_s) - 1e-9}
        free = sum(1 / got[n] for n in names if n not in capped)
        assert capped or free <= supply * (1 + 1e-9)


@settings(max_examples=100, deadline=None)
@given(tick=st.floats(0.2, 2.0), per_interval=st.integers(1, 5),
       late=st.lists(st.floats(0.0, 0.45), min_size=20, max_size=120))
def test_a_pull_is_granted_at_the_tick_nearest_its_due_time(
        tick: float, per_interval: int, late: list[float]) -> None:
    """The scheduler's tick runs a little late, by a varying amount (``late``, in ticks):
    a pull due one interval after the last must still be granted by the tick nearest its
    due time. Due times advanced from the granting tick slipped a whole tick each time a
    tick was later than the one before (a 1 s interval on a 1 s tick pulled every 1-2 s)."""
    interval = tick * per_interval
    b = _budget(60_000, 1000, base=interval, cap=interval, full=1e9, lead=tick / 2)
    b.add("m", 0.0)
    ticks = [(n + 1) * tick + lag * tick for n, lag in enumerate(late)]
    granted = [n for n, now in enumerate(ticks) if (PULL, "m") in b.tick(now)]
    assert granted == list(range(per_interval - 1, len(ticks), per_interval))


@settings(max_examples=100, deadline=None)
@given(tick=st.floats(0.2, 2.0), interval=st.floats(0.2, 10.0), mappings=st.integers(1, 5),
       per_minute=st.floats(6.0, 6000.0),
       steps=st.lists(st.floats(0.01, 3.0), min_size=1, max_size=150))
def test_pulls_never_run_ahead_of_their_interval(
        tick: float, interval: float, mappings: int, per_minute: float,
        steps: list[float]) -> None:
    """Whenever the ticks come (``steps``, in ticks), and whatever the budget stretches:
    the n pulls after a mapping's first span at least n intervals less one tick (each is
    granted within half a tick of its due time, and a late grant restarts the cadence
    from itself, never catching up)."""
    b = _budget(per_minute, FULL_COST, base=interval, cap=interval * 4, full=30.0,
                lead=tick / 2)
    names = [f"m{i}" for i in range(mappings)]
    for name in names:
        b.add(name, 0.0)
    grants: dict[str, list[float]] = {name: [] for name in names}
    now = 0.0
    for dt in steps:
        now += dt * tick
        for kind, name in b.tick(now):
            if kind == PULL:
                grants[name].append(now)
    for times in grants.values():
        for i, j in itertools.combinations(range(len(times)), 2):
            assert times[j] - times[i] >= (j - i) * interval - tick - 1e-6


def test_a_quiet_mapping_keeps_pulling_at_the_base_interval_while_the_budget_pays() -> None:
    """A pull that finds nothing no longer slows the next one (it used to double up to a
    minute, so the assistant's write after a quiet minute waited up to a minute)."""
    b = _budget(60, 10, base=5, cap=60, active=1)
    b.add("m", 0.0)
    grants = [t for t in range(1, 601) if (PULL, "m") in b.tick(float(t))]
    active = [t for t in grants if t < ACTIVE_FOR_S]
    assert len(active) >= ACTIVE_FOR_S / 2 - 1  # just started (a change): every 1-2 s
    gaps = {later - earlier for earlier, later in itertools.pairwise(grants)
            if earlier > ACTIVE_FOR_S}
    assert gaps == {5}


def test_a_change_makes_the_mapping_active_and_pull_sooner() -> None:
    b = _budget(60, 10, base=5, cap=60, active=1)
    b.add("m", 0.0)
    now = 1000.0
    assert b.wanted("m", now) == 5
    b.tick(now)
    b.changed("m", now)
    assert b.wanted("m", now) == 1 and b._mappings["m"].pull_at <= now + 1 / PULL_SHARE
    assert b.wanted("m", now + ACTIVE_FOR_S) == 5


def test_two_hundred_mappings_share_the_budget_and_idle_ones_want_less() -> None:
    b = _budget(60, 10, base=5, cap=3600, active=1, idle=60, idle_after=600)
    for i in range(200):
        b.add(f"m{i}", 0.0)
    now = 700.0  # all idle: each wants a pull a minute, 200 a minute: 4.4x the pull share
    assert b.interval("m0", now) == pytest.approx(60 * 200 / (60 * PULL_SHARE))
    b.changed("m0", now)  # one active mapping is stretched by the same factor
    assert b.interval("m0", now) / b.interval("m1", now) == pytest.approx(1 / 60)
    granted = sum(len(b.tick(float(t))) for t in range(700, 1300))
    assert granted <= 10 + 60 * 10  # the burst, then the budget (pulls and full cycles)


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
