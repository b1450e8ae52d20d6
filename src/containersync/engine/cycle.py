"""One sync cycle of one mapping, top to bottom:

    attach container -> list remote (and settle intents) -> load base -> scan
    -> reconcile -> safety check -> execute -> remember what was decided
    -> settle what is still open -> commit results

``run_cycle`` is used by ``containersync sync`` (full scan, full listing) and by the daemon
(targeted scans of dirty paths, incremental listings). A dry run stops after the safety check
and writes nothing anywhere: no remote call that writes, no index write, no local write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from containersync.api.counting import RequestCount, counting
from containersync.engine import collector, manifest
from containersync.engine.ahead import Ahead, load_base, scan_ahead
from containersync.engine.apply import commit_cycle, execute_plan, remember_known
from containersync.engine.baseline import refresh_touched_bases
from containersync.engine.conflicts import forget_gone_copies
from containersync.engine.container import Attached, attach
from containersync.engine.context import MappingContext
from containersync.engine.quiet import Quiet
from containersync.engine.quiet import begin as begin_quiet
from containersync.engine.quiet import check as check_quiet
from containersync.engine.quiet import end as end_quiet
from containersync.engine.rebuild import rebuild_if_lost
from containersync.engine.remote import (
    Listing,
    NewObjects,
    PendingListing,
    list_full,
    observe,
    observe_new,
    with_fresh_paths,
)
from containersync.engine.scope import Scope
from containersync.engine.scope import load as load_scope
from containersync.engine.settle import (
    remote_sha256,
    settle_intents,
    settle_open,
    sweep_temporaries,
)
from containersync.engine.summary import CycleReport
from containersync.errors import ConfigError, Halted
from containersync.execute.outcome import Outcome
from containersync.model.entry import (
    BaseEntry,
    Mode,
    Problem,
    RemoteFile,
    RemoteObject,
    RemoteView,
)
from containersync.model.kinds import OutcomeKind, RootState
from containersync.model.manifest import MANIFEST_NAME, reserved_problem
from containersync.model.paths import is_under
from containersync.model.plan import DeleteRemote, Plan, TrashLocal
from containersync.plan.hash_later import hash_later
from containersync.plan.protect import hold_back_pulls
from containersync.plan.reconcile import digest_wanted, reconcile
from containersync.plan.remote_problems import screen_local
from containersync.plan.remote_view import remote_view
from containersync.plan.safety import DeletionTally, Halt, check_safety, tally
from containersync.plan.shared import deleted_ids, spare_claimed
from containersync.scan.scanner import ScanResult, scan

#: outcome kinds that deleted or created a file (what a deletion window counts)
DONE = frozenset({OutcomeKind.UPLOADED, OutcomeKind.DOWNLOADED, OutcomeKind.DELETED_REMOTE,
                  OutcomeKind.TRASHED_LOCAL})


@dataclass
class CycleOptions:
    force: bool = False
    dry_run: bool = False
    #: relative paths to rescan (the daemon's dirty paths); None: the whole tree
    only: Sequence[str] | None = None
    #: "full" sees remote deletions; "incremental" only reads what is new
    listing: str = "full"
    on_outcome: Callable[[Outcome], None] = field(default=lambda _o: None)
    on_plan: Callable[[Plan], None] = field(default=lambda _p: None)
    #: asked between actions; True stops submitting new ones (in-flight ones finish and are
    #: recorded). The daemon's drain on SIGTERM.
    should_stop: Callable[[], bool] = field(default=lambda: False)
    #: called every few seconds while long transfers are in flight (a liveness heartbeat)
    while_waiting: Callable[[], None] = field(default=lambda: None)
    #: bytes sent or received as they move, from the transfer threads (progress)
    on_bytes: Callable[[int], None] = field(default=lambda _n: None)
    #: the daemon's max-delete windows: what earlier cycles deleted (``daemon/deletions``)
    deletion_windows: Sequence[DeletionTally] = ()
    #: a container a file route just answered "expired"/"not found" for: attach takes it as
    #: gone whatever its object says
    gone_container: str | None = None
    #: the new objects a pull check listed just before this cycle: a targeted cycle's
    #: listing, taken instead of reading the same pages again (``remote.observe_new``)
    listed: NewObjects | None = None
    #: the index rows that pull check read for those objects: the targeted cycle's scope
    #: when nothing was settled since and it covers the cycle's paths (``Scope.serves``),
    #: taken instead of reading the same rows again
    scope: Scope | None = None
    #: a full cycle loads its base and scans while its listing is under way
    #: (``engine.ahead``): faster by the scan's time, but the listing's stage then holds
    #: the base and the scan too (~0.45 KiB more per file at its peak). ``sync`` asks for
    #: it; the daemon, whose peak memory is its budget, does not
    scan_while_listing: bool = False
    #: the cyclic collector runs while the cycle lists (and loads its base and scans
    #: meanwhile); off, it is paused from the cycle's start instead of the listing's end.
    #: A listing makes no cyclic garbage (the client frees each answer as read), but the
    #: collector is off for the whole process while any cycle holds it off: ``sync``,
    #: alone in its process, turns it off (collections there walked every object of the
    #: base and the scan: ~7 % of a no-op sync's CPU); the daemon, whose other mappings'
    #: transfers make garbage while a listing at a live link's latency lasts seconds,
    #: does not
    collect_while_listing: bool = True


def run_cycle(
    ctx: MappingContext, opts: CycleOptions, *, now: Callable[[], datetime]
) -> CycleReport:
    """One cycle of ``ctx``'s mapping; its report counts the requests sent for it alone
    (``api.counting``: other mappings on the same client are not counted)."""
    # the collector is paused from the listing's end (or from the start: see
    # ``collect_while_listing``) to the transfers: only objects per file are made there, no
    # cyclic garbage (``engine.collector``)
    with counting() as requests, \
            collector.paused(start=not opts.collect_while_listing) as gc_switch:
        return _cycle(ctx, opts, now=now, requests=requests, gc_switch=gc_switch)


def _cycle(ctx: MappingContext, opts: CycleOptions, *, now: Callable[[], datetime],
           requests: RequestCount, gc_switch: collector.Switch) -> CycleReport:
    started = time.monotonic()
    report = CycleReport(mapping=ctx.display_name, dry_run=opts.dry_run)

    def finish(problems: list[Problem]) -> None:
        report.finish(problems, started, requests.value)

    _refuse_unmade_root(ctx)
    if opts.only is None:
        # the rule files as they are now (read again if they changed): the daemon reloads
        # on the watcher's event, and an edit whose event was lost (a queue overflow owes
        # this full cycle) kept every cycle on the old rules, uploading what the user had
        # just excluded
        ctx.refresh_rules()
    if ctx.rules_error is not None:
        raise ctx.rules_error  # before anything is listed, scanned or sent
    ctx.ensure_spec()  # a container is never created without its skills or secrets
    attached = _attach(ctx, opts, now=now)
    report.note_container(attached)
    if attached.new_generation and (opts.only is not None or opts.listing != "full"):
        # a new container holds nothing yet: re-seed the whole tree, not just the dirty paths
        opts = replace(opts, only=None, listing="full")
    cid = attached.container.id if attached.container else None
    # a targeted cycle reads the index rows its paths need (engine.scope), never whole
    # tables; a container the index had no record of needs the whole listing (rebuild)
    scoped = opts.only is not None and opts.listing != "full" and not attached.found
    ahead = None if scoped else scan_ahead(ctx, opts, attached, cid)
    try:
        remote = _list_and_settle(ctx, cid, opts, report, scoped=scoped,
                                  pending=ahead.pending if ahead else None)
    finally:
        if ahead is not None:
            ahead.pending.close()
    rebuilt = rebuild_if_lost(ctx, attached, remote, full_listing=opts.listing == "full",
                              dry_run=opts.dry_run)
    report.note_rebuilt(rebuilt)
    gc_switch.pause()
    base = rebuilt.base if rebuilt else ahead.base if ahead else load_base(
        ctx, attached, dry_run=opts.dry_run, scoped=scoped, listed=remote.objects)
    index = (_whole_index(ctx, base, remote, as_stored=rebuilt is None and not (
        opts.dry_run and attached.new_generation)) if not scoped
        else _scoped_index(ctx, opts, remote, settled=bool(report.settled)))
    if index.scope is not None:
        base, remote = index.scope.base, Listing(index.scope.objects, remote.fresh)
    listed = remote.objects
    # a full cycle of an unchanged listing and tree that the index knows planned nothing
    # plans nothing again (``engine.quiet``): no view, no reconcile, no whole-table reads
    quiet = Quiet() if ahead is None or rebuilt or report.settled \
        or attached.new_generation else check_quiet(ctx, remote, ahead.scanned, base)
    remote = replace(remote, objects=[])  # the raw objects go as the view maps them
    known: Mapping[str, BaseEntry]
    digests: dict[str, str]
    if quiet.holds:
        assert ahead is not None
        scanned, ahead = ahead.scanned, None
        view, known, plan, digests = RemoteView(), base, Plan(), {}
        _took_scan(ctx, scanned, report, dry_run=opts.dry_run)
    else:
        if not opts.dry_run:
            begin_quiet(ctx, quiet)
        scanned, base, view, known, plan, digests = _plan_all(
            ctx, opts, cid, base, listed, remote, index, ahead, report,
            rebuilt=rebuilt is not None, now=now, before_downloads=gc_switch.resume)
        ahead = None
    del listed
    plan, report.held_back_pulls = hold_back_pulls(  # .envrc, rule files, .git/: never
        plan, resend=ctx.settings.mode is not Mode.PULL)
    # an object another folder sharing this container still records is never deleted here
    # (plan.shared); asked only when the plan deletes something
    doomed = deleted_ids(plan)
    if doomed:
        plan = spare_claimed(plan, base, ctx.index.scoped.claimed_elsewhere(ctx.name, doomed))
    opts.on_plan(plan)
    report.plan = plan
    # plan.problems already carries the remote view's problems (reconcile passes them on)
    problems: list[Problem] = [*scanned.problems, *plan.problems]

    halt = _check_safety(ctx, plan, base, scanned, view, digests, attached,
                         tracked=index.tracked, listed=index.listed,
                         force=opts.force, windows=opts.deletion_windows)
    if halt is not None:
        if not opts.dry_run:
            with ctx.index.write() as tx:
                tx.set_halt(ctx.name, halt.rail, halt.reason, now().timestamp())
        finish(problems)
        raise Halted(halt.rail, halt.reason)
    if opts.dry_run or cid is None:
        finish(problems)
        return report

    if plan.actions:
        gc_switch.resume()  # transfers make cyclic garbage: collected as they go
    execute_plan(ctx, cid, plan.actions, base, report, now=now,
                 on_outcome=opts.on_outcome, should_stop=opts.should_stop,
                 while_waiting=opts.while_waiting, on_bytes=opts.on_bytes,
                 stat_since_ns=scanned.started_ns)
    gc_switch.pause()
    # the scan (a LocalFile per file) is not read past the transfers, nor the view past
    # the tally: neither is held beside the manifest step's sandbox paths (issue 9)
    del scanned, known
    remember_known(ctx, plan, view, report.outcomes)
    # what a download brought is known once it ran: count it as a creation (a file pulled,
    # then deleted by the assistant a minute later, is churn, not a mass deletion)
    learned = {**digests, **dict(o.digest for o in report.outcomes if o.digest)}
    report.deletions = tally([o.action for o in report.outcomes if o.ok and o.kind in DONE],
                             base, view, learned)
    del view
    problems += [o.problem for o in report.outcomes if o.problem is not None]
    # "converged" is checked, not assumed: an outcome left unknown is settled now
    report.settled += settle_open(ctx, cid, problems)
    changed = bool(report.outcomes or rebuilt or attached.new_generation or report.settled)
    refreshed = manifest.refresh(
        ctx, cid, remote.manifests, full_listing=opts.listing == "full", changed=changed,
        new_bases=None if rebuilt or attached.new_generation
        else [o.base for o in report.outcomes if o.base is not None],
        # the bases in hand are the index's when nothing changed them (a touched file's new
        # stat does not move it): reading them all again held a second copy of the tree
        bases=base if index.scope is None and not changed else None, shared=base)
    problems += refreshed.problems
    report.sandbox_paths, report.manifest_path = refreshed.paths, refreshed.manifest
    finish(problems)
    commit_cycle(ctx, report, full_listing=opts.listing == "full", now=now)
    end_quiet(ctx, quiet, planned_nothing=not (
        changed or problems or plan.actions or plan.needs_digest or plan.conflicts
        or report.held_back_pulls))
    if opts.only is None:
        forget_gone_copies(ctx)
    return report


def _plan_all(
    ctx: MappingContext, opts: CycleOptions, cid: str | None, base: dict[str, BaseEntry],
    listed: list[RemoteObject], remote: Listing, index: IndexRows, ahead: Ahead | None,
    report: CycleReport, *, rebuilt: bool, now: Callable[[], datetime],
    before_downloads: Callable[[], None],
) -> tuple[ScanResult, dict[str, BaseEntry], RemoteView, Mapping[str, BaseEntry], Plan,
           dict[str, str]]:
    """Map the listing, scan (or take the early scan) and plan: (the scan, the base, the
    view, the base of the paths the scan knows, the plan, the digests it used)."""
    # the view holds what planning needs of the listing: the raw objects go as they are
    # mapped (``consume``), not once the whole view is built beside them
    view = remote_view(listed, base, remote_root=ctx.settings.remote_root,
                       pull_sources=ctx.settings.pull_sources, own_ids=index.own(),
                       keep=_targeted(opts.only, remote), known=index.known(),
                       upload_paths=index.upload_paths(), consume=True)
    defer = hash_later(view, base)
    scanned = ahead.scanned if ahead and ahead.holds(rebuilt=rebuilt,
                                                     settled=report.settled, defer=defer) \
        else _scan(ctx, base, with_fresh_paths(opts.only, view, remote.fresh), opts, defer=defer)
    # the early scan is in ``scanned`` now, or was not usable; ``defer``'s set of every
    # rival path is not needed past the scan
    del ahead, defer
    _took_scan(ctx, scanned, report, dry_run=opts.dry_run)
    if not opts.dry_run:
        base = refresh_touched_bases(ctx, base, scanned.files, scanned.started_ns)
    view = screen_local(view, base, scanned.files, folders=scanned.folders,
                        links={p.path for p in scanned.problems if p.kind == "symlink"})
    known, view = _known_to_scan(base, view, scanned)
    plan, digests = _reconcile(ctx, cid, known, scanned, view, index.digests, now=now,
                               before_downloads=before_downloads)
    return scanned, base, view, known, plan, digests


def _took_scan(ctx: MappingContext, scanned: ScanResult, report: CycleReport, *,
               dry_run: bool) -> None:
    """What every scan a cycle plans with goes through: the reserved name, our
    temporaries, the report's counts."""
    _refuse_reserved(scanned)
    if not dry_run:
        sweep_temporaries(ctx.settings.local_root, scanned.temporaries)
    report.hashed, report.held_back = scanned.hashed, list(scanned.held_back)


def _refuse_unmade_root(ctx: MappingContext) -> None:
    """A mapping that has never synced and whose local root is missing or is a file is a
    configuration error, before anything is created: a typo must not make a folder tree and
    a container. One that synced before (bases, or a recorded cycle) goes on to the "local
    root gone" rail instead."""
    root = ctx.settings.local_root
    if root.is_dir():
        return
    state = ctx.index.mapping(ctx.name)
    if ctx.index.scoped.has_bases(ctx.name) or (state is not None
                                                and state.summary is not None):
        return
    what = "is a file, not a folder" if root.exists() else "does not exist"
    raise ConfigError(f"local root {str(root)!r} {what} and mapping {ctx.display_name!r} "
                      "has never synced", fix="fix `local` if it is a typo, else create the folder: "
                      f"mkdir -p {root} (`containersync init FOLDER` creates it)")


def _refuse_reserved(scanned: ScanResult) -> None:
    """The manifest's name in the local root is not a user file's: a problem, and its
    state counts as unknown (so nothing is uploaded, deleted or written over there)."""
    if MANIFEST_NAME in scanned.files:
        del scanned.files[MANIFEST_NAME]
        scanned.incomplete.add(MANIFEST_NAME)
        scanned.problems.append(reserved_problem())


def _attach(ctx: MappingContext, opts: CycleOptions, *, now: Callable[[], datetime]) -> Attached:
    # attach creates (or claims) the mapping's row for its identity
    return attach(ctx, now=now, dry_run=opts.dry_run, known_gone=opts.gone_container)


def _list_and_settle(
    ctx: MappingContext, cid: str | None, opts: CycleOptions, report: CycleReport, *,
    scoped: bool, pending: PendingListing | None = None,
) -> Listing:
    """List the container; settle what a crashed run left (against a full listing), and
    list again if settling changed anything. A scoped listing holds only the new objects
    (``_scoped_index`` adds the cached ones its paths need). ``pending``: the first full
    listing, already under way (``engine.ahead``)."""
    incremental = opts.listing != "full"

    def listed(pending: PendingListing | None = None, new: NewObjects | None = None) -> Listing:
        if scoped:
            return observe_new(ctx, cid, dry_run=opts.dry_run, listed=new)
        return observe(ctx, cid, incremental=incremental, dry_run=opts.dry_run,
                       pending=pending)

    remote = listed(pending, opts.listed)  # a listing again after settling is a new one
    if cid and not opts.dry_run and ctx.index.intents(ctx.name):
        full = list_full(ctx, cid) if incremental else remote.objects
        report.settled = settle_intents(ctx, cid, full)
        if report.settled:
            remote = listed()
    return remote


@dataclass(frozen=True)
class IndexRows:
    """What remote_view, reconcile and the safety rails read from the index: the whole
    mapping's rows, or a targeted cycle's ``scope``."""

    # read when used, and not kept: at 100,000 files each whole table is tens of MiB
    own: Callable[[], Mapping[str, str]]
    known: Callable[[], frozenset[str]]
    upload_paths: Callable[[], Mapping[str, str]]
    #: the known digests of some object ids (reconcile asks only for the paths not in sync)
    digests: Callable[[Collection[str]], Mapping[str, str]]
    #: (bases, bases with a remote object), counted when asked
    tracked: Callable[[], tuple[int, int]]
    listed: int
    scope: Scope | None = None


def _whole_index(ctx: MappingContext, base: Mapping[str, BaseEntry], remote: Listing, *,
                 as_stored: bool) -> IndexRows:
    """``as_stored``: ``base`` is the index's bases as they are, so the upload paths a
    base already names (one per synced file) need not be read: ``remote_view`` maps a
    sandbox path by the base first and gets the same answer. (Own uploads are all read:
    whether a base's object is our upload decides how its path's objects are ordered.)"""
    counts = (len(base), sum(1 for b in base.values() if b.remote_id is not None))
    name, index = ctx.name, ctx.index
    uploads = index.upload_paths_unnamed if as_stored else index.upload_paths
    return IndexRows(lambda: _sharing(index.own_upload_rows(name), base),
                     lambda: frozenset(index.known_objects(name)),
                     lambda: uploads(name), lambda ids: index.scoped.digests_of(name, ids),
                     lambda: counts, listed=len(remote.objects))


def _sharing(own: Iterable[tuple[str, str]], base: Mapping[str, BaseEntry]) -> dict[str, str]:
    """``own`` (rows of file id, local path) with the base's strings where a base names
    the upload (one per synced file): the same values, without a second copy of each id and
    path held while planning. Taken row by row: the rows' own strings are freed as they go
    (read whole first, they were ~0.2 KiB per file beside the raw listing and the base, a
    full cycle's peak)."""
    shared: dict[str, str] = {}
    for fid, path in own:
        b = base.get(path)
        if b is not None and b.remote_id == fid:
            shared[b.remote_id] = b.path
        else:
            shared[fid] = path
    return shared


def _scoped_index(ctx: MappingContext, opts: CycleOptions, remote: Listing, *,
                  settled: bool) -> IndexRows:
    """``opts.scope`` when it serves the cycle (the index is as the pull check read it:
    only this mapping's worker writes it, and settling did not), else the scope loaded."""
    s, given = ctx.settings, opts.scope
    scope = given if given is not None and not settled and given.serves(
        opts.only or (), remote.fresh) else load_scope(
        ctx.index.scoped, ctx.name, opts.only or (), remote.fresh,
        remote_root=s.remote_root, pull_sources=s.pull_sources)
    return IndexRows(lambda: scope.own, lambda: scope.known, lambda: scope.upload_paths,
                     lambda _ids: scope.digests,
                     lambda: ctx.index.scoped.base_counts(ctx.name), scope.listed, scope)


def _targeted(
    only: Sequence[str] | None, remote: Listing
) -> Callable[[RemoteObject, str], bool] | None:
    """For a targeted cycle, the objects worth mapping: those at its paths, and the new
    ones (their paths join the scan). Mapping the whole cached listing for one dirty file
    made a cycle's cost grow with the tree."""
    if only is None:
        return None
    scope = frozenset(only)
    fresh = {o.file_id for o in remote.fresh}
    return lambda obj, path: obj.file_id in fresh or is_under(path, scope)


def _scan(ctx: MappingContext, base: Mapping[str, BaseEntry], only: Sequence[str] | None,
          opts: CycleOptions, *, defer: Callable[[str, int], bool] | None = None) -> ScanResult:
    s = ctx.settings
    scanned = scan(s.local_root, ctx.rules, base, only=only, defer=defer)
    if scanned.root_state == RootState.MISSING and (len(base) < 2 or opts.force) and not opts.dry_run:
        # nothing (or, with --force, nothing the user wants kept) is tracked there: make it
        s.local_root.mkdir(parents=True, exist_ok=True)
        scanned = scan(s.local_root, ctx.rules, base, only=only, defer=defer)
    return scanned


def _known_to_scan(
    base: Mapping[str, BaseEntry], view: RemoteView, scanned: ScanResult
) -> tuple[Mapping[str, BaseEntry], RemoteView]:
    """Only paths whose local state the scan knows take part: a targeted scan, or a folder
    that could not be read, must not look like deletions."""
    def known(p: str) -> bool:
        return p in scanned.files or scanned.covers(p)

    if scanned.root_state == "ok" and scanned.scope is None and not scanned.incomplete:
        return base, view  # the whole tree was scanned: every path is known (no copy)
    scoped = {p: b for p, b in base.items() if known(p)}
    if scanned.scope is not None or scanned.incomplete:
        view = replace(view, files={p: r for p, r in view.files.items() if known(p)})
    return scoped, view


def _reconcile(
    ctx: MappingContext, cid: str | None, base: Mapping[str, BaseEntry], scanned: ScanResult,
    view: RemoteView, known_digests: Callable[[Collection[str]], Mapping[str, str]], *,
    now: Callable[[], datetime], before_downloads: Callable[[], None] = lambda: None,
) -> tuple[Plan, dict[str, str]]:
    """Plan; when both sides changed a path and the remote content is unknown, hash the
    remote object and plan again. Digests are read for the paths not in sync only."""
    s = ctx.settings
    wanted = digest_wanted(base, scanned.files, view)
    digests = dict(known_digests(wanted)) if wanted else {}
    # garbage paths too: our old upload of a path that became ignored is never deleted; a
    # path the scan described passed the same rules there
    paths = {*(p for p in view.files if p not in scanned.files),
             *(g.path for g in view.garbage)}
    ignored = frozenset(p for p in paths if ctx.rules.ignored(p))

    def plan() -> Plan:
        return reconcile(base, scanned.files, view, s.mode, now=now(), digests=digests,
                         ignored=ignored)

    first = plan()
    if not (first.needs_digest and cid):
        return first, digests
    before_downloads()
    digests.update(_fetch_digests(ctx, cid, first.needs_digest))
    return plan(), digests


def _fetch_digests(
    ctx: MappingContext, cid: str, needed: Sequence[RemoteFile]
) -> dict[str, str]:
    return {r.file_id: remote_sha256(ctx, cid, r.file_id) for r in needed}


def _check_safety(
    ctx: MappingContext, plan: Plan, base: Mapping[str, BaseEntry],
    scanned: ScanResult, view: RemoteView,
    digests: Mapping[str, str], attached: Attached, *,
    tracked: Callable[[], tuple[int, int]], listed: int, force: bool,
    windows: Sequence[DeletionTally] = (),
) -> Halt | None:
    root_state = scanned.root_state
    if root_state == RootState.OK and scanned.scope is None and not scanned.files:
        root_state = RootState.EMPTY
    # no rail can trip without a deletion (this plan's or a window's), a root that is not
    # "ok" or an empty listing: only then are the tracked files counted (a scan of the
    # bases; a targeted cycle's base holds only its paths)
    could_trip = root_state != RootState.OK or listed == 0 or any(
        isinstance(a, TrashLocal | DeleteRemote) for a in plan.actions) or any(
        w.local_deleted or w.remote_deleted for w in windows)
    return check_safety(
        # the rails count against everything the index tracks, not just what this scan
        # covered: two deletions seen by a cycle for two dirty paths are 2 of N, not 2 of 2,
        # and a root that could not be scanned covers nothing at all
        plan, base, view,
        local_root_state=root_state, remote_listed_count=listed,
        tracked=tracked() if could_trip else None,
        container_running=attached.container is not None and not attached.new_generation,
        force=force, digests=digests, max_delete_fraction=ctx.settings.max_delete_fraction,
        windows=windows,
    )
