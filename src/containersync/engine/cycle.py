"""One sync cycle of one mapping, top to bottom:

    attach container -> settle intents -> load base -> scan -> list remote -> reconcile
    -> safety check -> execute -> commit results

``run_cycle`` is used by ``containersync sync`` (full scan, full listing) and by the daemon
(targeted scans of dirty paths, incremental listings). A dry run stops after the safety check
and writes nothing anywhere: no remote call that writes, no index write, no local write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from containersync.engine import remote as listing
from containersync.engine.container import attach
from containersync.engine.context import MappingContext
from containersync.engine.settle import remote_sha256, settle_intents
from containersync.engine.summary import CycleReport
from containersync.errors import Halted
from containersync.execute.executor import Executor, Target
from containersync.execute.outcome import Outcome, record
from containersync.model.entry import (
    BaseEntry,
    LocalFile,
    Problem,
    RemoteFile,
    RemoteObject,
    RemoteView,
)
from containersync.model.paths import local_to_remote
from containersync.model.plan import Action, DeleteRemote, Download, Plan, SaveConflictCopy, Upload
from containersync.plan.reconcile import reconcile
from containersync.plan.remote_view import remote_view
from containersync.plan.safety import check_safety
from containersync.scan.scanner import scan


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


def run_cycle(
    ctx: MappingContext, opts: CycleOptions, *, now: Callable[[], datetime]
) -> CycleReport:
    started = time.monotonic()
    requests_before = ctx.client.requests_made
    name, s = ctx.name, ctx.settings
    report = CycleReport(mapping=name, dry_run=opts.dry_run)

    if not opts.dry_run and ctx.index.mapping(name) is None:
        with ctx.index.write() as tx:
            tx.ensure_mapping(name)
    attached = attach(ctx, now=now, dry_run=opts.dry_run)
    report.note_container(attached)
    cid = attached.container.id if attached.container else None

    objects, fresh = _list_remote(ctx, cid, opts)
    if cid and not opts.dry_run and ctx.index.intents(name):
        full = objects if opts.listing == "full" else listing.list_full(ctx, cid)
        report.settled = settle_intents(ctx, cid, full)
        if report.settled:
            objects, fresh = _list_remote(ctx, cid, opts)

    if not opts.dry_run and s.local_root.is_dir():
        _rebaseline_if_rules_changed(ctx)
    base = ctx.index.bases(name)
    if opts.dry_run and attached.new_generation:
        # what attaching a new container would do to the base: forget the remote halves
        base = {p: _without_remote(b) for p, b in base.items()}
    view = remote_view(objects, base, remote_root=s.remote_root, pull_sources=s.pull_sources,
                       own_ids=ctx.index.own_uploads(name))
    only = _with_fresh_paths(opts.only, view, fresh)
    scanned = scan(s.local_root, ctx.rules, base, only=only)
    report.hashed = scanned.hashed
    if scanned.root_state == "missing" and (len(base) < 2 or opts.force) and not opts.dry_run:
        s.local_root.mkdir(parents=True, exist_ok=True)
        scanned = scan(s.local_root, ctx.rules, base, only=only)
    if not opts.dry_run:
        base = _refresh_touched_bases(ctx, base, scanned.files)

    # only paths whose local state the scan knows take part (a targeted scan, or a folder
    # that could not be read, must not look like deletions)
    scoped_base = {p: b for p, b in base.items() if p in scanned.files or scanned.covers(p)}
    if scanned.scope is not None or scanned.incomplete:
        view = replace(view, files={p: r for p, r in view.files.items()
                                    if p in scanned.files or scanned.covers(p)})
    root_state = scanned.root_state
    if root_state == "ok" and scanned.scope is None and not scanned.files:
        root_state = "empty"
    report.held_back = list(scanned.held_back)
    digests = dict(ctx.index.digests(name))
    ignored = frozenset(p for p in view.files if ctx.rules.ignored(p))
    plan = reconcile(scoped_base, scanned.files, view, s.mode, now=now(), digests=digests,
                     ignored=ignored)
    if plan.needs_digest and cid:
        digests.update(_fetch_digests(ctx, cid, plan.needs_digest))
        plan = reconcile(scoped_base, scanned.files, view, s.mode, now=now(), digests=digests,
                         ignored=ignored)
    opts.on_plan(plan)
    report.plan = plan
    # plan.problems already carries the remote view's problems (reconcile passes them on)
    problems: list[Problem] = [*scanned.problems, *plan.problems]

    halt = check_safety(
        # a root that could not be scanned covers nothing, so scoped_base is empty: the
        # local-root rail must count everything the index tracks there
        plan, scoped_base if scanned.root_state == "ok" else base, scanned.files, view,
        local_root_state=root_state, remote_listed_count=len(objects),
        container_running=bool(cid) and not attached.new_generation,
        force=opts.force, digests=digests, max_delete_fraction=s.max_delete_fraction,
    )
    if halt is not None:
        if not opts.dry_run:
            with ctx.index.write() as tx:
                tx.set_halt(name, halt.rail, halt.reason, now().timestamp())
        report.finish(problems, started, ctx.client.requests_made - requests_before)
        raise Halted(halt.rail, halt.reason)
    if opts.dry_run or cid is None:
        report.finish(problems, started, ctx.client.requests_made - requests_before)
        return report

    _execute(ctx, cid, plan.actions, base, digests, report, opts, now=now)
    problems += [o.problem for o in report.outcomes if o.problem is not None]
    report.finish(problems, started, ctx.client.requests_made - requests_before)
    _commit_cycle(ctx, report, opts, now=now)
    return report


def _execute(
    ctx: MappingContext, cid: str, actions: Sequence[Action], base: dict[str, BaseEntry],
    digests: dict[str, str], report: CycleReport, opts: CycleOptions, *,
    now: Callable[[], datetime],
) -> None:
    s = ctx.settings
    executor = Executor(
        Target(ctx.name, s.local_root, cid, s.remote_root, s.honour_paths),
        ctx.client, ctx.trash, digests=digests, now=now, concurrency=s.concurrency,
        on_local_write=ctx.on_local_write,
    )
    base_ids = {p: b.remote_id for p, b in base.items()}

    def begin(action: Action) -> int | None:
        fields = _intent_fields(action, now().timestamp(), s.remote_root if s.honour_paths else None)
        if fields is None:
            return None
        with ctx.index.write() as tx:
            return tx.add_intent(ctx.name, **fields)

    def done(outcome: Outcome, intent: int | None) -> None:
        path = outcome.action.path
        with ctx.index.write() as tx:
            dropped = record(tx, ctx.name, outcome, base_ids.get(path), now().timestamp())
            if intent is not None:
                tx.clear_intent(intent)
        if outcome.base is not None:
            base_ids[path] = outcome.base.remote_id
        elif dropped:
            base_ids.pop(path, None)
        report.add(outcome)
        opts.on_outcome(outcome)

    executor.run(actions, begin=begin, done=done, should_stop=opts.should_stop)


def _without_remote(b: BaseEntry) -> BaseEntry:
    return replace(b, remote_id=None, remote_path=None, remote_created_at=None, source=None)


def _list_remote(
    ctx: MappingContext, cid: str | None, opts: CycleOptions
) -> tuple[list[RemoteObject], list[RemoteObject]]:
    """List the container and keep the index's cache of the listing up to date.
    Returns every object and, for an incremental listing, the ones that are new."""
    if cid is None:
        return [], []
    if opts.listing == "full":
        objects = listing.list_full(ctx, cid)
        if not opts.dry_run:
            _store_full_listing(ctx, objects)
        return objects, []
    objects, count = listing.list_incremental(ctx, cid)
    fresh = objects[len(objects) - count:] if count else []
    if fresh and not opts.dry_run:
        with ctx.index.write() as tx:
            tx.add_remote_objects(ctx.name, fresh)
    return objects, fresh


def _with_fresh_paths(
    only: Sequence[str] | None, view: RemoteView, fresh: Sequence[RemoteObject]
) -> Sequence[str] | None:
    """A targeted cycle also looks at the paths new remote objects map to: once listed they
    count as known, so leaving them out would hide them until the next full listing."""
    if only is None or not fresh:
        return only
    fresh_ids = {o.file_id for o in fresh}
    return [*only, *(p for p, r in view.files.items() if r.file_id in fresh_ids)]


def _store_full_listing(ctx: MappingContext, objects: Sequence[RemoteObject]) -> None:
    """Make the index's cache of the listing equal ``objects``, writing only the difference
    (rewriting 100,000 unchanged rows made a no-op sync seconds slower)."""
    cached = {o.file_id: o for o in ctx.index.remote_cache(ctx.name)}
    listed = {o.file_id: o for o in objects}
    stale = [fid for fid in cached if fid not in listed]
    fresh = [o for fid, o in listed.items() if cached.get(fid) != o]
    if stale or fresh:
        with ctx.index.write() as tx:
            tx.remove_remote_objects(ctx.name, stale)
            tx.add_remote_objects(ctx.name, fresh)


def _intent_fields(action: Action, at: float, remote_root: str | None) -> dict[str, Any] | None:
    """The intent row written before an action's side effect (None: nothing to settle)."""
    if isinstance(action, Upload):
        requested = local_to_remote(action.path, remote_root) if remote_root else None
        return {"kind": "upload", "path": action.path, "sha256": action.local.sha256,
                "size": action.local.size, "started_at": at, "remote_path": requested,
                "file_id": action.replaces.file_id if action.replaces else None}
    if isinstance(action, DeleteRemote):
        return {"kind": "delete-remote", "path": action.path,
                "file_id": action.remote.file_id, "started_at": at}
    if isinstance(action, Download | SaveConflictCopy):
        # not a remote effect, but a crash leaves a temporary file in the path's folder
        # that only this intent points settling at (the scan skips our temporaries)
        return {"kind": "download", "path": action.path, "file_id": action.remote.file_id,
                "started_at": at}
    return None


def _refresh_touched_bases(
    ctx: MappingContext, base: dict[str, BaseEntry], files: Mapping[str, LocalFile]
) -> dict[str, BaseEntry]:
    """A file touched without a change of content (same sha256, new mtime) needs no action,
    but its base takes the new stat; otherwise every later scan hashes it again."""
    touched = [replace(b, size=lf.size, mtime_ns=lf.mtime_ns) for p, b in base.items()
               if (lf := files.get(p)) is not None and lf.sha256 == b.sha256
               and (lf.size, lf.mtime_ns) != (b.size, b.mtime_ns)]
    if not touched:
        return base
    with ctx.index.write() as tx:
        tx.put_bases(ctx.name, touched)
    return {**base, **{b.path: b for b in touched}}


def _fetch_digests(
    ctx: MappingContext, cid: str, needed: Sequence[RemoteFile]
) -> dict[str, str]:
    return {r.file_id: remote_sha256(ctx, cid, r.file_id) for r in needed}


def _rebaseline_if_rules_changed(ctx: MappingContext) -> None:
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


def _commit_cycle(
    ctx: MappingContext, report: CycleReport, opts: CycleOptions, *, now: Callable[[], datetime]
) -> None:
    at = now().timestamp()
    with ctx.index.write() as tx:
        tx.set_problems(ctx.name, report.problems, at)
        tx.clear_halt(ctx.name)
        pushed = report.counts.get("uploaded", 0) + report.counts.get("deleted_remote", 0)
        pulled = report.counts.get("downloaded", 0) + report.counts.get("deleted_local", 0)
        times: dict[str, float] = {}
        if pushed:
            times["last_push"] = at
        if pulled or opts.listing == "full":
            times["last_pull"] = at
        if opts.listing == "full":
            times["last_full_list"] = at
        if times:
            tx.set_times(ctx.name, **times)
        tx.set_summary(ctx.name, report.to_dict())

