"""A full cycle's base and scan, done while its listing is under way.

A full listing waits on the server (at a live link's latency, pages are most of a no-op
sync); loading the base and scanning the tree wait on the local disk. ``scan_ahead``
starts the listing in a thread (``engine.remote.PendingListing``), then loads the base
and scans with the provisional ``defer`` that needs no listing; ``run_cycle`` takes the
listing after the scan, and keeps the early scan only when what it assumed still holds
(``Ahead.holds``); else it scans again, as a cycle without the early scan would have.

Only a full cycle of a container the index knows, with no intents left to settle, scans
early: settling (``engine.settle``) and a rebuild from the listing change the base the
scan compares with, and a targeted cycle's scope depends on what the listing finds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from containersync.engine.baseline import rebaseline_if_rules_changed, without_remote
from containersync.engine.container import Attached
from containersync.engine.context import MappingContext
from containersync.engine.remote import PendingListing
from containersync.model.entry import UNHASHED, BaseEntry, RemoteObject, RemoteView
from containersync.model.kinds import RootState
from containersync.plan.hash_later import hash_later
from containersync.scan.scanner import ScanResult, scan

if TYPE_CHECKING:
    from containersync.engine.cycle import CycleOptions


@dataclass
class Ahead:
    """The listing under way, and the base and scan made meanwhile."""

    pending: PendingListing
    base: dict[str, BaseEntry]
    scanned: ScanResult

    def holds(self, *, rebuilt: bool, settled: int,
              defer: Callable[[str, int], bool]) -> bool:
        """Whether the early scan is the one the cycle would make now: the base it compared
        with is still the cycle's, the root was there (a missing root may be created, after
        the listing), and every file it left unhashed may still wait (``defer``, the one
        made from the listing: a remote object at its path needs its digest now)."""
        if rebuilt or settled or self.scanned.root_state != RootState.OK:
            return False
        return all(f.sha256 != UNHASHED or defer(p, f.size)
                   for p, f in self.scanned.files.items())


def load_base(ctx: MappingContext, attached: Attached, *, dry_run: bool,
              scoped: bool, listed: Sequence[RemoteObject] = ()) -> dict[str, BaseEntry]:
    """The whole base; none for a scoped cycle (its scope holds the rows it needs).
    ``listed``: the cycle's listing, whose strings the bases of its objects share."""
    if not dry_run and ctx.settings.local_root.is_dir():
        rebaseline_if_rules_changed(ctx)
    if scoped:
        return {}
    base = ctx.index.bases(ctx.name, listed={o.file_id: o for o in listed} or None)
    if dry_run and attached.new_generation:
        # what attaching a new container would do to the base: forget the remote halves
        base = {p: without_remote(b) for p, b in base.items()}
    return base


def scan_ahead(ctx: MappingContext, opts: CycleOptions, attached: Attached,
               cid: str | None) -> Ahead | None:
    """Start the full listing and scan meanwhile; None when this cycle cannot scan early
    (see the module's docstring). The caller closes ``pending`` whatever happens."""
    if (not opts.scan_while_listing or cid is None or opts.only is not None or opts.listing != "full" or attached.found
            or ctx.index.intents(ctx.name)):
        return None
    # the base is read before the listing starts, not beside it: sqlite3 lets go of the
    # GIL for every row it steps, and each time one of the listing's threads took it, so
    # reading 20,000 bases lasted as long as the whole listing (0.2 s of work, 1.3 s).
    # The cache of the listing is read once the listing ended (``observe``)
    base = load_base(ctx, attached, dry_run=opts.dry_run, scoped=False)
    pending = PendingListing(ctx, cid)
    try:
        # RACE: the tree is scanned while the container is listed, not after. Safe: the
        # two were never one snapshot (a cycle lists, then scans, and either side may
        # change in between); each is compared with the same base, and every action the
        # plan makes checks its own side again before it lands (the executor's checks).
        scanned = scan(ctx.settings.local_root, ctx.rules, base,
                       defer=hash_later(RemoteView(), base))
    except BaseException:
        pending.close()
        raise
    return Ahead(pending, base, scanned)
