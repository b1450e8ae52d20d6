"""Listing positions for the cache: where each object stands in the container's listing.

Pure: ``assign_positions`` takes the ids of a full listing (the server's order) and the
positions the cache holds, and returns only the positions to write. Invariant of the
result: positions strictly grow along the listing. A position that already fits is kept,
so a listing that only lost or gained objects at the end rewrites nothing it had; objects
placed between two kept ones take room between them; only when there is no room (an
object the server placed among older ones) is everything renumbered, ``STEP`` apart.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence

#: the distance between positions after a renumbering: room for later insertions
STEP = 16


def assign_positions(listing: Sequence[str], known: Mapping[str, int]) -> dict[str, int]:
    """The positions to write (file id -> position) so that ``listing`` is numbered in
    order, changing as few known positions as it can."""
    keep = _kept(listing, known)
    placed: dict[str, int] = {}
    run: list[str] = []
    low: int | None = None
    for fid in [*listing, None]:
        high = keep.get(fid) if fid is not None else None
        if fid is not None and high is None:
            run.append(fid)
            continue
        if run:
            spots = _between(low, high, len(run))
            if spots is None:
                return _renumbered(listing, known)
            placed.update(zip(run, spots, strict=True))
            run = []
        low = high
    return {fid: p for fid, p in placed.items() if known.get(fid) != p}


def _kept(listing: Sequence[str], known: Mapping[str, int]) -> Mapping[str, int]:
    """The known positions to keep (looked up only for ids of ``listing``): all of them
    when they grow along the listing (the usual case: no copy is made), else a longest
    growing run of them."""
    last: int | None = None
    for fid in listing:
        at = known.get(fid)
        if at is not None:
            if last is not None and at <= last:
                break
            last = at
    else:
        return known
    pairs = [(fid, known[fid]) for fid in listing if fid in known]
    tails: list[int] = []  # the smallest last position of a growing run of each length
    ends: list[int] = []  # index in pairs of that run's last pair
    back = [-1] * len(pairs)
    for i, (_fid, p) in enumerate(pairs):
        j = bisect_left(tails, p)
        if j == len(tails):
            tails.append(p)
            ends.append(i)
        else:
            tails[j], ends[j] = p, i
        back[i] = ends[j - 1] if j else -1
    kept: dict[str, int] = {}
    i = ends[-1] if ends else -1
    while i >= 0:
        kept[pairs[i][0]] = pairs[i][1]
        i = back[i]
    return kept


def _between(low: int | None, high: int | None, count: int) -> list[int] | None:
    """``count`` growing positions strictly between ``low`` and ``high`` (None: unbounded),
    spread out; None when there is no room."""
    if low is None and high is None:
        return [i * STEP for i in range(count)]
    if high is None:
        assert low is not None
        return [low + 1 + i for i in range(count)]
    if low is None:
        return [high - count + i for i in range(count)]
    gap = (high - low) // (count + 1)
    if gap < 1:
        return None
    return [low + (i + 1) * gap for i in range(count)]


def _renumbered(listing: Sequence[str], known: Mapping[str, int]) -> dict[str, int]:
    fresh = {fid: i * STEP for i, fid in enumerate(listing)}
    return {fid: p for fid, p in fresh.items() if known.get(fid) != p}
