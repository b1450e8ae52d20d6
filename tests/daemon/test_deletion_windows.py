"""The daemon's deletion windows: since the last full reconcile, and a sliding minute."""

from __future__ import annotations

from containersync.daemon.deletions import MINUTE_S, DeletionWindows
from containersync.plan.safety import DeletionTally


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def gone(*shas: str) -> DeletionTally:
    return DeletionTally(remote_deleted=shas)


def by_label(w: DeletionWindows) -> dict[str, int]:
    return {t.label: t.net_deleted("remote") for t in w.windows()}


def test_targeted_cycles_add_up_until_a_full_reconcile_then_the_minute_still_counts() -> None:
    clock = Clock()
    w = DeletionWindows(clock)
    assert w.windows() == ()
    w.record(gone("a", "b"), full=False)
    clock.t += 10
    w.record(gone("c"), full=False)
    assert by_label(w) == {"since the last full reconcile": 3, "in the last minute": 3}
    clock.t += 10
    w.record(gone("d"), full=True)  # the full cycle's own deletions stay in the minute
    assert by_label(w) == {"in the last minute": 4}
    clock.t += MINUTE_S - 15  # a and b (20 s older than d) fall out first
    assert by_label(w) == {"in the last minute": 2}
    clock.t += 15
    assert w.windows() == ()


def test_creations_pair_with_deletions_across_cycles_and_reset_forgets() -> None:
    clock = Clock()
    w = DeletionWindows(clock)
    w.record(gone("a", "b"), full=False)
    w.record(DeletionTally(remote_created=("a",)), full=False)
    assert by_label(w) == {"since the last full reconcile": 1, "in the last minute": 1}
    w.reset()
    assert w.windows() == ()
