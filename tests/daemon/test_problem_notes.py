"""``ProblemNotes``: the daemon says each problem once, again only after a cycle that
covered its path stopped reporting it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from containersync.daemon.problem_notes import ProblemNotes
from containersync.model.entry import Problem


def p(path: str, kind: str = "symlink", message: str = "m") -> Problem:
    return Problem(path, kind, message)


def test_said_once_then_again_after_it_went_away() -> None:
    notes = ProblemNotes()
    assert notes.fresh([p("a"), p("a")], None) == [p("a")]  # once within a cycle too
    assert notes.fresh([p("a", message="other words")], None) == []
    assert notes.fresh([], ["b"]) == []  # a targeted cycle elsewhere: still said
    assert notes.fresh([p("a")], None) == []
    assert notes.fresh([], ["dir"]) == []
    assert notes.fresh([], None) == []  # gone
    assert notes.fresh([p("a")], None) == [p("a")]  # back


def test_a_targeted_cycle_over_the_path_forgets_it() -> None:
    notes = ProblemNotes()
    notes.fresh([p("dir/x"), p("y")], None)
    assert notes.fresh([], ["dir"]) == []
    assert notes.fresh([p("dir/x"), p("y")], ["dir", "y"]) == [p("dir/x")]


@given(st.lists(st.lists(st.sampled_from(["a", "b", "c/d"]), max_size=4), max_size=8))
def test_full_cycles_say_exactly_the_problems_new_since_the_last(cycles: list[list[str]]) -> None:
    notes, before = ProblemNotes(), set[str]()
    for paths in cycles:
        said = [x.path for x in notes.fresh([p(x) for x in paths], None)]
        assert said == sorted(set(paths) - before, key=paths.index)
        before = set(paths)
