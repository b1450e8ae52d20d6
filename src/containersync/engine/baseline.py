"""Keeping the base (what was in sync last time) true without a transfer: rule changes,
touched-but-unchanged files, and the view of a new generation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from containersync.engine.context import MappingContext
from containersync.model.entry import BaseEntry, LocalFile, trusted


def rebaseline_if_rules_changed(ctx: MappingContext) -> None:
    """New ignore rules forget the paths that became ignored; they delete nothing."""
    state = ctx.index.mapping(ctx.name)
    fingerprint = ctx.rules.fingerprint
    if state is not None and state.rules_fingerprint == fingerprint:
        return
    with ctx.index.write() as tx:
        tx.ensure_mapping(ctx.name)
        for path in ctx.index.bases(ctx.name):
            if ctx.rules.ignored(path):
                tx.drop_base(ctx.name, path)
        tx.set_rules_fingerprint(ctx.name, fingerprint)


def refresh_touched_bases(
    ctx: MappingContext, base: dict[str, BaseEntry], files: Mapping[str, LocalFile],
    stat_since_ns: int,
) -> dict[str, BaseEntry]:
    """A file touched without a change of content (same sha256, new mtime) needs no action,
    but its base takes the new stat; otherwise every later scan hashes it again. The index
    keeps the stat only once it can be trusted (``trusted``: the scan began at
    ``stat_since_ns``); this cycle plans with the stat it saw."""
    touched = [replace(b, size=lf.size, mtime_ns=lf.mtime_ns) for p, b in base.items()
               if (lf := files.get(p)) is not None and lf.sha256 == b.sha256
               and (lf.size, lf.mtime_ns) != (b.size, b.mtime_ns)]
    if not touched:
        return base
    with ctx.index.write() as tx:
        tx.put_bases(ctx.name, [trusted(b, stat_since_ns) for b in touched])
    return {**base, **{b.path: b for b in touched}}


def without_remote(b: BaseEntry) -> BaseEntry:
    """The base as a new container sees it: nothing of it is remote yet."""
    return replace(b, remote_id=None, remote_path=None, remote_created_at=None, source=None)
