"""A full cycle that would plan nothing, known without planning it (issue 9: a no-op
``sync`` costs its listing and its scan, not a pass of planning over every path).

Planning is pure. Its plan is a function of the base, the scan and the remote view (and
of ``now``, which only names conflict copies); the view is a function of the listing, the
base, the own uploads, the known objects, the upload paths and two settings;
``screen_local`` adds the scan's folders; ``reconcile`` the mode and the ignore rules. A
scan *stands* for its base (``stands``) when it covered the whole tree, met no problem and
opened no file, and describes one file per base: each file is then its base's size,
mtime and digest, so the scan is a function of the base too.

So a full cycle whose scan stands and whose ``digest`` (of its listing, the rules, the
settings and the folders) equals the one the index keeps has the inputs of the earlier
cycle that stored it, as long as none of the index's rows planning reads was written
since: every such write clears the stored digest (``index/v008_quiet_digest.sql``), and
a listing that differs from the cached one is stored (which clears it too) or, in a dry
run, has another digest. That earlier cycle
planned nothing and met no problem, so this one plans nothing: it skips the view, the
reconcile and their reads of the index (``run_cycle``).

Storing takes two steps, so a write made during the cycle that stores is seen too: once
the listing is in the index, ``begin`` marks the digest as pending; at the end, ``end``
makes it the digest only if the cycle planned nothing, met nothing and the mark is still
there (any write to those tables meanwhile cleared it). A pending mark never matches: a
run that stopped between the two leaves nothing that skips planning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from containersync.engine.context import MappingContext
from containersync.engine.remote import Listing
from containersync.model.entry import BaseEntry
from containersync.model.kinds import RootState
from containersync.scan.scanner import ScanResult

_VERSION = b"quiet-1"
_PENDING = "pending "


def stands(scanned: ScanResult, base: Mapping[str, BaseEntry]) -> bool:
    """Whether ``scanned`` is a function of ``base``: the whole tree, no problem, no file
    opened, one file per base (see the module doc)."""
    return (scanned.root_state == RootState.OK and scanned.scope is None
            and not scanned.problems and not scanned.incomplete and scanned.opened == 0
            and len(scanned.files) == len(base) > 0)


def digest(ctx: MappingContext, listing: Listing, scanned: ScanResult,
           base: Mapping[str, BaseEntry]) -> str | None:
    """What this cycle's inputs come to beside the index's rows, or None when they are not
    ones a digest can stand for (a listing that was not full, a scan that does not stand
    for its base)."""
    if listing.digest is None or not stands(scanned, base):
        return None
    s = ctx.settings
    h = hashlib.blake2b(_VERSION, digest_size=16)
    parts = [listing.digest, ctx.rules.fingerprint, s.mode.value, s.remote_root,
             *sorted(s.pull_sources), "", *sorted(scanned.folders)]
    for part in parts:
        data = part.encode("utf-8", "surrogateescape")
        h.update(len(data).to_bytes(4, "big"))
        h.update(data)
    return h.hexdigest()


@dataclass(frozen=True)
class Quiet:
    """This cycle's digest (None: it has none) and whether the index holds it: planning
    would give the empty plan the cycle that stored it gave."""

    digest: str | None = None
    holds: bool = False


def check(ctx: MappingContext, listing: Listing, scanned: ScanResult,
          base: Mapping[str, BaseEntry]) -> Quiet:
    d = digest(ctx, listing, scanned, base)
    if d is None:
        return Quiet()
    return Quiet(d, ctx.index.quiet_digest(ctx.name) == d)


def begin(ctx: MappingContext, quiet: Quiet) -> None:
    """Mark ``quiet``'s digest pending (before the index's rows are read for planning)."""
    if quiet.digest is not None and not quiet.holds:
        with ctx.index.write() as tx:
            tx.set_quiet_digest(ctx.name, _PENDING + quiet.digest)


def end(ctx: MappingContext, quiet: Quiet, *, planned_nothing: bool) -> None:
    """Make the pending digest the index's when the cycle planned nothing, met no problem
    and changed nothing (``planned_nothing``) and no write cleared the mark meanwhile."""
    if quiet.digest is None or quiet.holds or not planned_nothing:
        return
    with ctx.index.write() as tx:
        tx.set_quiet_digest(ctx.name, quiet.digest, was=_PENDING + quiet.digest)
