"""Carrying out a plan for one cycle and recording what happened.

Intents are written before each action's side effect and cleared with its result once
that result is known, in the transaction that also writes the next window's intents (an
outcome the server may or may not have acted on keeps its intent for ``settle``); the
base follows results, never the plan. Paths
whose decision finished (every action succeeded, or none was needed) have the objects the
view saw there remembered as known (``remember_known``). All index writes happen on the
calling thread (index connections are per thread); transfers run on the executor's pool.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from containersync.engine.context import MappingContext
from containersync.engine.summary import CycleReport
from containersync.execute.executor import Executor, Finished, Target
from containersync.execute.outcome import Outcome, record
from containersync.model.entry import BaseEntry, RemoteView
from containersync.model.kinds import IntentKind, pulled, pushed
from containersync.model.paths import local_to_remote
from containersync.model.plan import (
    Action,
    DeleteRemote,
    Download,
    Plan,
    SaveConflictCopy,
    Upload,
)


def execute_plan(
    ctx: MappingContext, cid: str, actions: Sequence[Action], base: dict[str, BaseEntry],
    report: CycleReport, *, now: Callable[[], datetime],
    on_outcome: Callable[[Outcome], None], should_stop: Callable[[], bool],
    stat_since_ns: int,
    while_waiting: Callable[[], None] = lambda: None,
    on_bytes: Callable[[int], None] = lambda _n: None,
) -> None:
    """Carry out ``actions``; each local stat a base records was taken after
    ``stat_since_ns`` (the scan's start), which says whether the index may trust it."""
    s = ctx.settings
    executor = Executor(
        Target(ctx.display_name, s.local_root, cid, s.remote_root, s.honour_paths),
        ctx.client, ctx.trash, now=now,
        on_local_write=ctx.on_local_write, on_bytes=on_bytes,
    )
    # the remote id each acted-on path's base records (outcomes only ever name those
    # paths): a map of every base cost ~50 B per file on a cycle that acts on a few
    base_ids = {a.path: b.remote_id for a in actions if (b := base.get(a.path)) is not None}

    def step(finished: Sequence[Finished], starting: Sequence[Action],
             dropped: Sequence[int]) -> list[int | None]:
        """One transaction: record the outcomes that finished together, clear the intents
        of actions that never started, write the intents of the next ones (committed
        before any of them starts)."""
        at, root = now().timestamp(), s.remote_root if s.honour_paths else None
        fields = [intent_fields(a, at, root) for a in starting]
        if not finished and not dropped and not any(fields):
            return [None] * len(starting)
        with ctx.index.write() as tx:
            for outcome, intent in finished:
                path = outcome.action.path
                gone = record(tx, ctx.name, outcome, base_ids.get(path), at, stat_since_ns)
                if intent is not None and outcome.known:
                    tx.clear_intent(intent)
                if outcome.base is not None:
                    base_ids[path] = outcome.base.remote_id
                elif gone:
                    base_ids.pop(path, None)
            for intent in dropped:
                tx.clear_intent(intent)  # begun, never started: nothing to settle
            ids = [tx.add_intent(ctx.name, **f) if f is not None else None for f in fields]
        for outcome, _intent in finished:
            report.add(outcome)
            on_outcome(outcome)
        return ids

    executor.run(actions, step=step, should_stop=should_stop, while_waiting=while_waiting)


def intent_fields(action: Action, at: float, remote_root: str | None) -> dict[str, Any] | None:
    """The intent row written before an action's side effect (None: nothing to settle)."""
    if isinstance(action, Upload):
        requested = local_to_remote(action.path, remote_root) if remote_root else None
        return {"kind": IntentKind.UPLOAD, "path": action.path, "sha256": action.local.sha256,
                "size": action.local.size, "started_at": at, "remote_path": requested,
                "file_id": action.replaces.file_id if action.replaces else None}
    if isinstance(action, DeleteRemote):
        return {"kind": IntentKind.DELETE_REMOTE, "path": action.path,
                "file_id": action.remote.file_id, "started_at": at}
    if isinstance(action, Download | SaveConflictCopy):
        # not a remote effect, but a crash leaves a temporary file in the path's folder
        # that only this intent points settling at (the scan skips our temporaries)
        return {"kind": IntentKind.DOWNLOAD, "path": action.path, "file_id": action.remote.file_id,
                "started_at": at}
    return None


def finished_paths(plan: Plan, outcomes: Sequence[Outcome],
                   among: Iterable[str]) -> set[str]:
    """The paths of ``among`` that ``plan`` decided and whose every action ran and
    succeeded."""
    wanted = Counter(a.path for a in plan.actions)
    succeeded = Counter(o.action.path for o in outcomes if o.ok)
    return {p for p in among if p in plan.decided and succeeded[p] >= wanted[p]}


def remember_known(ctx: MappingContext, plan: Plan, view: RemoteView,
                   outcomes: Sequence[Outcome]) -> None:
    """Record the objects seen at every path whose decision finished: they are no longer
    remote changes. A path whose action failed keeps them unseen, to be decided again,
    except a version saved as a conflict copy: it is on disk whatever else failed at its
    path (our upload beside it, say), and deciding on it again would copy it again."""
    # only the paths that saw objects can add rows: a set of every decided path (the whole
    # tree in a full cycle) was held beside the base, the view and the scan
    copies = [o.action for o in outcomes if o.ok and isinstance(o.action, SaveConflictCopy)]
    finished = finished_paths(plan, outcomes, among=[*view.seen, *(a.path for a in copies)])
    rows = [(fid, path) for path in sorted(finished) for fid in view.seen.get(path, ())]
    rows += [(a.remote.file_id, a.path) for a in copies if a.path not in finished]
    if rows:
        with ctx.index.write() as tx:
            tx.add_known(ctx.name, rows)


def commit_cycle(
    ctx: MappingContext, report: CycleReport, *, full_listing: bool, now: Callable[[], datetime]
) -> None:
    """Record the cycle's problems, times and summary; a finished cycle clears a halt."""
    at = now().timestamp()
    with ctx.index.write() as tx:
        tx.set_problems(ctx.name, report.problems, at)
        tx.clear_halt(ctx.name)
        times: dict[str, float] = {}
        if pushed(report.counts):
            times["last_push"] = at
        if pulled(report.counts):
            times["last_pull"] = at
        if full_listing:
            times["last_full_list"] = at
        if times:
            tx.set_times(ctx.name, **times)
        tx.set_summary(ctx.name, report.to_dict())
