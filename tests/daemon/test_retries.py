"""``PathRetries``: a path whose transfer failed comes back after a growing backoff, until a
cycle that covered it reports no problem for it (the clock is a plain variable)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from containersync.daemon.retries import CAP_S, FIRST_S, PathRetries
from containersync.model.entry import Problem


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def failed(path: str, kind: str = "upload-failed") -> Problem:
    return Problem(path, kind, "HTTP 503")


def test_a_failed_path_comes_back_after_a_doubling_backoff() -> None:
    clock = Clock()
    retries = PathRetries(clock)
    waits = []
    for _ in range(12):
        retries.note([failed("a.txt")], ["a.txt"])
        deadline = retries.next_deadline()
        assert deadline is not None
        waits.append(deadline - clock.t)
        clock.t = deadline - 0.001
        assert retries.take_due() == []
        clock.t = deadline
        assert retries.take_due() == ["a.txt"]
        assert retries.take_due() == []  # handed out once per failure
    assert waits[:4] == [FIRST_S, 2 * FIRST_S, 4 * FIRST_S, 8 * FIRST_S]
    assert max(waits) == CAP_S


def test_a_covering_cycle_without_the_problem_forgets_the_path() -> None:
    clock = Clock()
    retries = PathRetries(clock)
    retries.note([failed("a.txt"), failed("dir/b.txt", "download-failed")], None)
    retries.note([], ["elsewhere.txt"])  # did not look at them: still owed
    assert len(retries) == 2
    retries.note([], ["dir"])  # covered dir/b.txt through its folder
    assert len(retries) == 1
    retries.note([], None)  # a full cycle covers everything
    assert len(retries) == 0 and retries.next_deadline() is None
    clock.t += 10 * CAP_S
    assert retries.take_due() == []


def test_a_repeated_failure_after_a_success_starts_the_backoff_again() -> None:
    clock = Clock()
    retries = PathRetries(clock)
    for _ in range(5):
        retries.note([failed("a.txt")], ["a.txt"])
    retries.note([], ["a.txt"])
    retries.note([failed("a.txt")], ["a.txt"])
    assert retries.next_deadline() == clock.t + FIRST_S


def test_problems_only_the_user_can_fix_are_not_retried() -> None:
    retries = PathRetries(Clock())
    retries.note([failed("x", "unsafe-remote-path"), failed("y", "folder-in-the-way"),
                  failed("", "unsettled")], None)
    assert len(retries) == 0 and retries.next_deadline() is None


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c/d"]), st.booleans()), max_size=30))
def test_every_failed_path_is_handed_back_until_a_cycle_clears_it(
        steps: list[tuple[str, bool]]) -> None:
    """Whatever the sequence of single-path cycles, a path whose last cycle failed is handed
    back once its backoff passes, and a path whose last cycle succeeded never is."""
    clock = Clock()
    retries = PathRetries(clock)
    last: dict[str, bool] = {}
    for path, fails in steps:
        retries.note([failed(path)] if fails else [], [path])
        last[path] = fails
        clock.t += 0.5
    clock.t += CAP_S
    assert set(retries.take_due()) == {p for p, fails in last.items() if fails}
