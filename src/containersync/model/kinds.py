"""The kinds the engine speaks of, each spelled once: what an action's outcome was, which
side effect an intent announces, what state the local root is in; and the one function
that counts outcomes into the report's counters.

The values are a documented schema (``docs/json.md``: the ``--json`` counters, the
intents in the index, the root states of halts), so they never change; a ``StrEnum``
member compares and serialises as its value. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class OutcomeKind(StrEnum):
    """What carrying out one action did (``execute.outcome.Outcome.kind``)."""

    UPLOADED = "uploaded"
    DOWNLOADED = "downloaded"
    DELETED_REMOTE = "deleted-remote"
    TRASHED_LOCAL = "trashed-local"
    CONFLICT_COPY = "conflict-copy"
    RECORDED = "recorded"
    DROPPED = "dropped"
    SKIPPED = "skipped"


class Counter(StrEnum):
    """A counter of the cycle report (the ``--json`` keys)."""

    UPLOADED = "uploaded"
    DOWNLOADED = "downloaded"
    DELETED_REMOTE = "deleted_remote"
    DELETED_LOCAL = "deleted_local"
    CONFLICTS = "conflicts"
    RECORDED = "recorded"
    FORGOTTEN = "forgotten"


#: the counter each outcome kind adds to (a skipped action adds to none: it is a problem)
COUNTER: Mapping[OutcomeKind, Counter] = {
    OutcomeKind.UPLOADED: Counter.UPLOADED,
    OutcomeKind.DOWNLOADED: Counter.DOWNLOADED,
    OutcomeKind.DELETED_REMOTE: Counter.DELETED_REMOTE,
    OutcomeKind.TRASHED_LOCAL: Counter.DELETED_LOCAL,
    OutcomeKind.CONFLICT_COPY: Counter.CONFLICTS,
    OutcomeKind.RECORDED: Counter.RECORDED,
    OutcomeKind.DROPPED: Counter.FORGOTTEN,
}

#: a change that reached the container / that came from it (``last_push``/``last_pull``:
#: "the last time a change was pushed/pulled", docs/json.md)
PUSHED = frozenset({Counter.UPLOADED, Counter.DELETED_REMOTE})
PULLED = frozenset({Counter.DOWNLOADED, Counter.DELETED_LOCAL, Counter.CONFLICTS})


def count(counts: dict[str, int], kind: str) -> None:
    """Add an outcome of ``kind`` to the report's ``counts`` (the one place outcomes are
    counted; an unknown kind is a bug and raises ``ValueError``)."""
    counter = COUNTER.get(OutcomeKind(kind))
    if counter is not None:
        counts[counter.value] = counts.get(counter.value, 0) + 1


def pushed(counts: Mapping[str, int]) -> bool:
    """Whether a cycle with these counters pushed a change (sets ``last_push``)."""
    return any(counts.get(c, 0) for c in PUSHED)


def pulled(counts: Mapping[str, int]) -> bool:
    """Whether a cycle with these counters pulled a change (sets ``last_pull``)."""
    return any(counts.get(c, 0) for c in PULLED)


class IntentKind(StrEnum):
    """A remote side effect announced before it happens (stable kebab-case spellings)."""

    CREATE_CONTAINER = "create-container"
    UPLOAD = "upload"
    DELETE_REMOTE = "delete-remote"
    DOWNLOAD = "download"


class RootState(StrEnum):
    """What the scan found at the local root (the safety rails' ``local_root_state``)."""

    OK = "ok"
    MISSING = "missing"
    NOT_A_DIRECTORY = "not-a-directory"
    EMPTY = "empty"
    UNREADABLE = "unreadable"
