"""A full listing in segments listed side by side, from cursors an earlier listing left.

``list_segmented(files, positions, workers=...)`` returns exactly the objects, in exactly
the order, that one walk of the listing (oldest first) returns, in about 1/``workers``
of the time. ``positions`` are where objects stood in an earlier listing (the index's
cache); ``files(after)`` walks the listing after an id (None: from the start).

How: ``pick_cursors`` takes K-1 ids spread through the earlier listing. Segment j walks
after cursor j-1 (the first from the start) until it meets cursor j (the last segment: to
the end of the listing). Segments run in at most ``workers`` threads; the result joins
them in order, each taken only where the one before it ended.

The checks that keep it equal to a single walk (a position is only a hint, so each check
errs towards walking further, never towards skipping):
- a segment *closes* only on meeting its end cursor as an item, so the join never has a
  gap: segment j's walk starts strictly after the very object segment j-1 ended on;
- a segment that meets an object placed after its end cursor (the cursor object was
  deleted) or reaches the end of the listing walks on through the next segment's range
  (*absorbs* it) until it meets a later cursor; the absorbed segment's walk is not used;
- a segment whose start the server refuses (the cursor object is gone: 400
  ``invalid_cursor`` on the local backend) or whose walk returns an object placed at or
  before its start (a server that ignored the cursor) is not used:
  the join goes on with a walk of its own after the latest object it holds that the
  server still accepts, back to the start of the listing if need be.
New objects land at the end of the listing (the last segment sees them); an object
created or deleted while the segments run is seen or not, as a single walk may see it.

With no known positions (a first listing), or too few for cursors, the listing is read
from both ends at once,
oldest first and newest first, until the two walks meet (``_both_ends``): about half the
time of one walk. This takes the server's newest-first order to be the reverse of its
oldest-first one, as ``engine.remote.list_new`` already does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from containersync.api.client import cursor_gone
from containersync.errors import RemoteError


class Listed(Protocol):
    """What a listing yields: anything with the object's id (the wire's ``ContainerFile``,
    or the engine's ``RemoteObject``, made as each page arrives so whole pages of wire
    objects are never held at once)."""

    @property
    def id(self) -> str: ...


L = TypeVar("L", bound=Listed)
T = TypeVar("T")


class Pool(Protocol):
    """Where the walks run: the client's ``api.pool.TransferPool`` (shared with every
    transfer), or a ``ThreadPoolExecutor``."""

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]: ...


@contextlib.contextmanager
def _threads(pool: Pool | None, workers: int) -> Iterator[Pool]:
    """``pool``, or a pool of ``workers`` threads of this listing's own."""
    if pool is not None:
        yield pool
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="listing") as own:
        yield own

#: a walk of the listing, oldest first, after an id (None: from the start); with
#: ``newest_first`` the same walk from the other end (the server's desc order, the reverse
#: of its asc order, as ``engine.remote.list_new`` also takes it)
Files = Callable[..., Iterator[L]]

#: objects per page of a walk (the client's default page size)
PAGE = 100

#: fewer known objects per segment than this and a segment is not worth its extra page
MIN_SEGMENT = 400


@dataclass(frozen=True)
class Segment(Generic[L]):
    """One walk: its items, and where it ended: ``end`` is the index of the cursor it
    closed on, ``len(cursors)`` for the end of the listing. ``usable`` is false when its
    start was refused or its answer contradicted the known order."""

    items: list[L]
    end: int
    usable: bool = True


@dataclass
class Stats:
    """What a segmented listing did, for logs and tests."""

    segments: int = 1
    absorbed: int = 0  # segments whose range an earlier one walked through
    resumed: int = 0  # walks the join made itself, after a segment it could not use


def pick_cursors(positions: Mapping[str, int], *, workers: int,
                 min_segment: int = MIN_SEGMENT) -> list[str]:
    """Up to ``2 * workers - 1`` ids spread evenly through the earlier listing (twice as
    many segments as threads, so one slow segment does not hold up the rest); none when
    the listing is too small to be worth splitting. ``positions`` in listing order."""
    ids = list(positions)
    count = min(2 * workers, len(ids) // min_segment) if workers > 1 else 1
    return [ids[len(ids) * j // count] for j in range(1, count)] if count > 1 else []


def walk(files: Files[L], start: str | None, cursors: Sequence[str], end: int,
         positions: Mapping[str, int]) -> Segment[L]:
    """Walk after ``start`` until the item ``cursors[end]`` (included), absorbing the
    ranges of cursors found gone; to the end of the listing when ``end`` is past the last
    cursor. Not usable when the start is refused or the answer holds an object placed at
    or before it (a walk from the start is always usable)."""
    items: list[L] = []
    floor = positions.get(start) if start is not None else None
    listed = files(start)
    try:
        for f in listed:
            at = positions.get(f.id)
            if floor is not None and at is not None and at <= floor:
                return Segment(items, end, usable=False)  # the server ignored the cursor
            items.append(f)
            # an object placed after the end cursor: that cursor object is gone
            while end < len(cursors) and f.id != cursors[end] and at is not None \
                    and at > positions.get(cursors[end], at):
                end += 1
            if end < len(cursors) and f.id == cursors[end]:
                return Segment(items, end)
    except RemoteError as exc:
        if items or not cursor_gone(exc):
            raise
        return Segment(items, end, usable=False)
    return Segment(items, len(cursors))


def list_segmented(files: Files[L], positions: Mapping[str, int], *, workers: int,
                   min_segment: int = MIN_SEGMENT, page_size: int = PAGE,
                   stats: Stats | None = None, pool: Pool | None = None) -> list[L]:
    """Every object of the listing, oldest first, as one walk would return them (with too
    few known positions for cursors: from both ends at once, ``_both_ends``;
    ``page_size``: the walk's). The walks run in ``pool`` (else in threads of their own);
    the caller waits for them, so it must not be one of ``pool``'s threads."""
    stats = stats if stats is not None else Stats()
    cursors = pick_cursors(positions, workers=workers, min_segment=min_segment)
    stats.segments = len(cursors) + 1
    if not cursors:  # nothing (or too little) known: no cursors, but two ends
        return (list(files(None)) if workers < 2
                else _both_ends(files, stats, page_size, pool))
    starts: list[str | None] = [None, *cursors]
    with _threads(pool, min(workers, len(starts))) as threads:
        futures = [threads.submit(walk, files, start, cursors, j, positions)
                   for j, start in enumerate(starts)]
        try:
            segments = [future.result() for future in futures]
        except BaseException:
            wait(futures)  # no walk outlives the listing (the pool may be shared)
            raise
    result: list[L] = []
    j = 0
    while True:
        segment = segments[j]
        if not segment.usable:
            stats.resumed += 1
            segment = _resume(files, result, cursors, j, positions)
        result.extend(segment.items)
        if segment.end >= len(cursors) and _listed_beyond(segments, j):
            # RACE: the walk reached the end while a later segment listed objects beyond
            # it: a server that ended a walk early (a dropped page), or those objects were
            # deleted meanwhile. Walked on once after its last object: the first gives the
            # objects back, the second ends again, as one walk would now
            stats.resumed += 1
            segment = _resume(files, result, cursors, j, positions)
            result.extend(segment.items)
        stats.absorbed += segment.end - j
        if segment.end >= len(cursors):
            return result
        j = segment.end + 1


def _listed_beyond(segments: Sequence[Segment[L]], j: int) -> bool:
    """Whether a segment after ``j`` listed objects (the server accepted its start)."""
    return any(s.usable and s.items for s in segments[j + 1:])


def _resume(files: Files[L], result: list[L], cursors: Sequence[str], end: int,
            positions: Mapping[str, int]) -> Segment[L]:
    """A walk of its own for segment ``end``, after the latest object of ``result`` the
    server accepts as a cursor (``result`` is cut back to it), or from the start."""
    back = len(result) - 1
    step = 1
    while back >= 0:
        segment = walk(files, result[back].id, cursors, end, positions)
        if segment.usable:
            del result[back + 1:]
            return segment
        back -= step
        step *= 2
    result.clear()
    return walk(files, None, cursors, end, positions)


def _both_ends(files: Files[L], stats: Stats, page: int, pool: Pool | None) -> list[L]:
    """A listing with no known positions (a cold one): oldest first from the start and,
    once the first page says there is more, newest first from the end at the same time,
    until the two walks meet. They meet on an object both hold: each walk records what it
    saw and stops at the first object the other one saw (checked under one lock, so one of
    them sees the other once their pages overlap). The join is the oldest-first walk up to
    that object, then the newest-first walk reversed from it, also when the walk from the
    start reached an end the newest-first walk had not (a server that ended it early); a
    walk from the start that never meets the other (everything the other saw was deleted
    first) runs to its end and is the result."""
    oldest = files(None)
    first: list[L] = []
    for f in oldest:  # the first page: a small listing costs one request, as before
        first.append(f)
        if len(first) == page:
            break
    else:
        return first
    stats.segments = 2
    lock = threading.Lock()
    seen: tuple[set[str], set[str]] = ({f.id for f in first}, set())
    failed = threading.Event()  # the walk from the start failed: the other one stops

    def walk_end(items: list[L], listed: Iterator[L], me: int) -> bool:
        """Walk until meeting the other walk; False when the end was reached first."""
        mine, theirs = seen[me], seen[1 - me]
        for f in listed:
            if failed.is_set():
                return False
            items.append(f)
            with lock:
                mine.add(f.id)
                if f.id in theirs:
                    return True
        return False

    newest: list[L] = []
    with _threads(pool, 1) as threads:
        back = threads.submit(walk_end, newest, files(None, newest_first=True), 1)
        try:
            ahead = walk_end(first, oldest, 0)
        except BaseException:
            failed.set()
            wait([back])  # no walk outlives the listing (the pool may be shared)
            raise
        met = back.result()
    if not ahead and not met:
        return first  # the walk from the start reached the end without meeting the other
    # one walk stopped on an object the other holds, so a first such object exists: when
    # the walk from the start reached "the end" first, the one from the end still met it
    # (a server that ended the first walk early: the rest is in the other one)
    cut = next(i for i, f in enumerate(first) if f.id in seen[1])
    reverse = newest[::-1]
    start = next(i for i, f in enumerate(reverse) if f.id == first[cut].id)
    return first[:cut] + reverse[start:]
