"""Table tests for the dirty-path debouncer, with explicit timestamps (no clock, no sleep)."""

from __future__ import annotations

import pytest

from containersync.watch.coalesce import FULL_RESCAN, Coalescer

# Each row: (name, events [(path, time)], question time, expected due paths, still pending)
ROWS = [
    ("nothing pending", [], 10.0, [], []),
    ("quiet not yet reached", [("a.txt", 0.0)], 0.05, [], ["a.txt"]),
    ("quiet reached", [("a.txt", 0.0)], 0.1, ["a.txt"], []),
    ("later event restarts quiet", [("a.txt", 0.0), ("a.txt", 0.08)], 0.15, [], ["a.txt"]),
    ("atomic save is one path", [("a.txt", 0.0), ("a.txt", 0.01), ("a.txt", 0.02)], 0.2,
     ["a.txt"], []),
    ("keeps changing: max_wait flushes", [("log", t / 20) for t in range(0, 41)], 2.0,
     ["log"], []),
    ("keeps changing: not before max_wait", [("log", t / 20) for t in range(0, 39)], 1.95,
     [], ["log"]),
    ("independent paths", [("a", 0.0), ("b", 0.5)], 0.2, ["a"], ["b"]),
    ("child folded into pending parent", [("d", 0.0), ("d/x", 0.05)], 0.12, [], ["d"]),
    ("parent absorbs pending children", [("d/x", 0.0), ("d/y/z", 0.01), ("d", 0.02)], 0.2,
     ["d"], []),
    ("sibling with common prefix is not a child", [("d", 0.0), ("dx/y", 0.0)], 0.2,
     ["d", "dx/y"], []),
    ("full rescan absorbs everything", [("a", 0.0), ("b/c", 0.0), (FULL_RESCAN, 0.0)], 0.2,
     [FULL_RESCAN], []),
    ("path after full rescan folds into it", [(FULL_RESCAN, 0.0), ("a", 0.05)], 0.1, [],
     [FULL_RESCAN]),
    ("paths are normalised", [("./a//b/", 0.0)], 0.2, ["a/b"], []),
]


@pytest.mark.parametrize(("events", "now", "due", "left"), [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_due(events: list[tuple[str, float]], now: float, due: list[str], left: list[str]) -> None:
    c = Coalescer(quiet=0.1, max_wait=2.0)
    for path, t in events:
        c.add(path, t)
    assert c.due(now) == due
    assert c.pending() == left


def test_next_deadline_is_exact() -> None:
    c = Coalescer(quiet=0.1, max_wait=2.0)
    assert c.next_deadline() is None
    c.add("a", 1.0)
    assert c.next_deadline() == pytest.approx(1.1)
    c.add("b", 1.05)
    assert c.next_deadline() == pytest.approx(1.1)
    assert c.due(1.0999) == []
    assert c.due(1.1) == ["a"]
    assert c.next_deadline() == pytest.approx(1.15)


def test_next_deadline_capped_by_max_wait() -> None:
    c = Coalescer(quiet=0.1, max_wait=0.3)
    c.add("a", 0.0)
    c.add("a", 0.25)
    assert c.next_deadline() == pytest.approx(0.3)


def test_due_forgets_and_new_event_opens_new_window() -> None:
    c = Coalescer(quiet=0.1, max_wait=2.0)
    c.add("a", 0.0)
    assert c.due(0.5) == ["a"]
    assert c.due(0.6) == []
    c.add("a", 3.0)
    assert c.next_deadline() == pytest.approx(3.1)


def test_too_many_paths_become_full_rescan() -> None:
    c = Coalescer(quiet=0.1, max_wait=2.0, max_paths=3)
    for i in range(4):
        c.add(f"f{i}", 0.0)
    assert c.pending() == [FULL_RESCAN]
    assert c.full_rescan_pending


def test_add_full_rescan_and_flush() -> None:
    c = Coalescer()
    c.add("a/b", 0.0)
    c.add_full_rescan(1.0)
    assert c.pending() == [FULL_RESCAN]
    # the folded window keeps the earliest first event: max_wait counts from 0.0
    assert c.next_deadline() == pytest.approx(1.1)
    assert c.flush() == [FULL_RESCAN]
    assert len(c) == 0


def test_folding_bookkeeping_survives_many_operations() -> None:
    c = Coalescer(quiet=0.1, max_wait=2.0)
    c.add("a/b/c", 0.0)
    c.add("a/b/d", 0.0)
    assert c.due(1.0) == ["a/b/c", "a/b/d"]
    c.add("a/b", 2.0)  # nothing below it is pending any more: stays a plain path
    c.add("a/x", 2.0)
    assert c.due(3.0) == ["a/b", "a/x"]
    c.add("a", 4.0)
    assert c.pending() == ["a"]


@pytest.mark.parametrize(("quiet", "max_wait"), [(-1.0, 2.0), (1.0, 0.5)])
def test_rejects_bad_parameters(quiet: float, max_wait: float) -> None:
    with pytest.raises(ValueError, match="quiet"):
        Coalescer(quiet=quiet, max_wait=max_wait)
