"""The cycles a daemon mapping loop runs, built on ``engine.runner.sync_mapping``.

Three kinds, all through the same engine cycle (settle intents, scan, list, reconcile,
safety, execute, commit):

- **full**: whole local scan, full remote listing (start-up, the periodic reconcile, after an
  outage or a watcher overflow; the only kind that sees remote deletions);
- **targeted**: the dirty local paths plus the paths that new remote objects map to, with an
  incremental listing;
- **pull**: a targeted cycle with no dirty paths, run only when the newest-first listing shows
  something new. ``new_remote_paths`` is the check: it costs one request when nothing is
  new, whatever the tree size.

Why the check also runs before every targeted cycle: an incremental listing records the new
objects it saw as known, and a cycle only acts on the paths it scanned; without adding their
paths, a remote change seen by a cycle for unrelated local paths would wait for the next
full listing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from containersync.engine import remote as listing
from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions
from containersync.engine.manifest import split
from containersync.engine.remote import NewObjects, remember_listed
from containersync.engine.runner import sync_mapping
from containersync.engine.scope import Scope, fresh_paths
from containersync.engine.summary import CycleReport
from containersync.execute.outcome import Outcome
from containersync.logs import get_logger
from containersync.model.plan import Plan
from containersync.plan.safety import DeletionTally

log = get_logger(__name__)


@dataclass
class CycleRequest:
    kind: str  # "first" | "full" | "targeted" | "pull"
    only: Sequence[str] | None = None  # None: the whole tree
    listing: str = "full"
    #: what the pull check just listed: the targeted cycle's listing (not read again)
    listed: NewObjects | None = None
    #: the index rows the pull check read for the new objects: the cycle's scope when it
    #: covers the cycle's paths (``Scope.serves``; not read again)
    scope: Scope | None = None


class NewRemote(NamedTuple):
    """What a pull check found: the local paths of the new objects, how many are news,
    everything it listed and the index rows it read for them (``CycleRequest.listed`` and
    ``.scope`` of the cycle it starts)."""

    paths: list[str]
    news: int
    listed: NewObjects | None = None
    scope: Scope | None = None


def new_remote_paths(ctx: MappingContext) -> NewRemote | None:
    """Local paths of objects added to the container since the last listing, and how many
    new objects there are; None when the mapping has no container yet (needs a full cycle).

    Raises what the client raises (``ContainerGone`` when it expired)."""
    state = ctx.index.mapping(ctx.name)
    if state is None or state.container_id is None:
        return None
    fresh = listing.list_new(ctx, state.container_id, listing.cached(ctx))
    listed = NewObjects(state.container_id, list(fresh)) if fresh else None
    if fresh:
        # our own uploads, cached as they landed, are no news. They stay "not listed" until
        # a full listing: the targeted cycle's incremental listing must still read past
        # them to what the sandbox wrote just before they landed (test_listing_gaps)
        ours = ctx.index.scoped.unlisted_among(ctx.name, [o.file_id for o in fresh])
        fresh = [o for o in fresh if o.file_id not in ours]
    if fresh:  # a manifest we wrote (or a leftover one) is no news
        fresh = split(ctx, fresh)[0]
    if not fresh:
        # only our uploads or the manifest: read past once, not by every check until the
        # next full listing (the cycle a check with news starts does the same: observe_new)
        remember_listed(ctx, listed.objects if listed is not None else [])
        return NewRemote([], 0, None)
    s = ctx.settings
    paths, scope = fresh_paths(ctx.index.scoped, ctx.name, fresh, remote_root=s.remote_root,
                               pull_sources=s.pull_sources)
    return NewRemote(paths, len(fresh), listed, scope)


def run(ctx: MappingContext, request: CycleRequest, *, now: Callable[[], datetime],
        should_stop: Callable[[], bool], on_progress: Callable[[], None],
        windows: Sequence[DeletionTally] = ()) -> CycleReport:
    """Run one cycle of ``request``; errors propagate (the loop decides how to retry)."""
    def outcome(o: Outcome) -> None:
        # one line per action at debug level: what a later "where did my file go" needs
        log.debug("action", message="action carried out", mapping=ctx.display_name,
                  path=o.action.path, outcome=o.kind, problem=o.problem.kind if o.problem else None,
                  uploaded=o.new_remote.file_id if o.new_remote else None,
                  deleted=list(o.deleted_remote_ids) or None)
        on_progress()

    def plan(_p: Plan) -> None:
        on_progress()

    opts = CycleOptions(only=request.only, listing=request.listing, listed=request.listed,
                        scope=request.scope,
                        on_outcome=outcome,
                        on_plan=plan, should_stop=should_stop, while_waiting=on_progress,
                        deletion_windows=windows)
    return sync_mapping(ctx, opts, now=now)


def counts(report: CycleReport) -> dict[str, int]:
    d = report.to_dict()
    return {
        "uploaded": d["uploaded"], "downloaded": d["downloaded"],
        "deleted_remote": d["deleted_remote"], "deleted_local": d["deleted_local"],
        "conflicts": d["conflicts"], "problems": len(report.problems),
    }


def changed_anything(report: CycleReport) -> bool:
    c = counts(report)
    return any(c[k] for k in ("uploaded", "downloaded", "deleted_remote", "deleted_local",
                              "conflicts"))
