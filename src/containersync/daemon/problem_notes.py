"""Which problems the daemon has said: each once per daemon run, like ``sync`` and the
held-back notes, not on every cycle (a persistent problem filled the log).

A problem is said again only after it went away: a cycle that covered its path (a full
cycle covers every path; a targeted one its scope) no longer reported it. A problem a
targeted cycle did not look at stays said. Keyed by (path, kind): a message that changes
with each cycle (a count, a time) is not a new problem.
"""

from __future__ import annotations

from collections.abc import Sequence

from containersync.model.entry import Problem
from containersync.model.paths import is_under

#: new problems logged one by one per cycle; the rest are counted in one line
SHOWN = 20


class ProblemNotes:
    def __init__(self) -> None:
        self._said: set[tuple[str, str]] = set()

    def fresh(self, problems: Sequence[Problem], scope: Sequence[str] | None) -> list[Problem]:
        """The problems not said yet (each once, in order); ``scope``: the paths the cycle
        covered, None for all of them."""
        now = {(p.path, p.kind) for p in problems}
        if scope is None:
            self._said &= now
        else:
            covered = frozenset(scope)
            self._said = {k for k in self._said if k in now or not is_under(k[0], covered)}
        out: list[Problem] = []
        for problem in problems:
            key = (problem.path, problem.kind)
            if key not in self._said:
                self._said.add(key)
                out.append(problem)
        return out
