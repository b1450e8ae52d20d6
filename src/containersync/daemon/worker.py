"""One mapping in the daemon: the mapping's lock, watcher and cycles, worked through one
*turn* at a time on one of the daemon's runner threads (``daemon.runners``; the worker has
no thread of its own, issue 9).

Triggers: dirty local paths (from the watcher, debounced), and timer ticks that the
scheduler *enqueues* with ``trigger()``: ``pull``, ``full``, ``keepalive``. Pulls and full
cycles come from the shared idle budget (``daemon.idle_work``): the worker tells it of each
change on either side (the mapping is active: it pulls at the active interval for a
minute) and pays each keep-alive from it.

A turn (``turn()``), each time the mapping is woken (``trigger()``, ``sync_now()``,
``request_stop()``, a dirty batch's debounce deadline, a retry time):

1. take due dirty paths into ``pending`` (they stay there until a cycle that covered them
   succeeds, so an outage loses no change);
2. in backoff, halted or waiting for the lock? return that wait's end as the next wake
   time (waits are wake times, never sleeps);
3. decide: a full cycle when one is owed (first sync, timer, watcher overflow, after an
   error), else a targeted cycle for ``pending`` plus new remote paths, else a pull check;
   then a keep-alive when due;
4. on failure: back off (0.5 s doubling to 60 s); remote errors owe a full cycle;
5. while a step left work due now for itself (a keep-alive after the first sync, a pull
   again after one that found new objects), take it in the same turn (at most
   ``STEPS_PER_TURN`` steps, so one mapping never holds a runner for long);
6. return when it next wants a turn: the next debounce deadline, retry or path-retry time,
   every ``TICK_S`` while the root is missing or a configuration error stands (the user
   may fix it at any moment), else ``math.inf`` (until woken).

Invariants the thread used to give for free, now explicit:

- **One writer**: the runners never run two turns of one mapping at once (``WakeQueue``),
  and ``_act`` fails loudly (``InvariantViolation``) if that were ever broken; a wake while
  a turn runs gives the mapping another turn right after it.
- **Heartbeat** (what the systemd watchdog reads): during a turn, the time of its last
  progress (``_beat``); between turns, now: a mapping waiting for a wake or for a free
  runner is not stuck, while a cycle that stops making progress grows stale.
- **Index**: a turn works on its runner's index connection (``ctx.index`` is rebound at
  the start of every turn); nothing touches it between turns.
- **Memory**: nothing per file stays between steps (the last report is dropped once its
  waiters have it), and each step ends by giving back what it freed (``daemon.memory``:
  the connection's page cache, glibc's free pages).
- **Stop**: ``request_stop()`` wakes the mapping; its next turn (after the cycle in flight,
  which sees ``should_stop``) releases the lock, stops the watcher, fails ``sync_now``
  futures still waiting, and ends; ``join`` waits for that.

Cycle slots: the runners are the slots (``CYCLE_SLOTS``): only that many mappings act at
once (their transfer threads and index writes are bounded by the runner count, not by the
mapping count). A worker started without runners (``Mirror``) makes a private one.

Idle: after ``keepalive_idle_limit`` without a change on either side, keep-alives and full
cycles stop and pulls slow down; a container found gone while idle is not replaced until a
local change arrives (then the engine starts a new generation and re-seeds it).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from containersync.daemon import cycles, keepalive_budget, memory
from containersync.daemon.backoff import Backoff
from containersync.daemon.deletions import DeletionWindows
from containersync.daemon.idle_work import IdleWork
from containersync.daemon.problem_notes import SHOWN, ProblemNotes
from containersync.daemon.retries import PathRetries
from containersync.daemon.runners import Runners
from containersync.daemon.status_model import WorkerStatus
from containersync.daemon.watching import MappingWatch
from containersync.engine.container import is_gone
from containersync.engine.context import MappingContext
from containersync.engine.session import Session
from containersync.engine.summary import CycleReport, HeldBackNotes
from containersync.errors import (
    AuthError,
    ConfigError,
    ContainerGone,
    ContainerSyncError,
    Halted,
    InvariantViolation,
    LockedError,
    RemoteError,
)
from containersync.index.lock import MappingLock
from containersync.index.store import Index
from containersync.logs import get_logger, log_cycle
from containersync.watch.coalesce import FULL_RESCAN, Coalescer
from containersync.watch.dirty import DirtyPaths
from containersync.watch.shared import SharedInotify

if TYPE_CHECKING:  # annotations only: the daemon can run on a cached config record
    from containersync.config import DaemonConfig, MappingConfig

log = get_logger(__name__)
TICK_S = 1.0
LOCK_RETRY_S = 5.0
HALT_RETRY_S = 60.0
#: steps one turn may take while its own follow-up work is due (then it yields the runner)
STEPS_PER_TURN = 3
AUTH_REFUSED = "auth-refused"
RULE_FILES = (".containersyncignore", ".gitignore")  # a change reloads the rules


def _utcnow() -> datetime:
    return datetime.now(UTC)


# What the loop takes from ``DaemonConfig``, as functions of it (the config-reaches-the-
# engine test calls the same ones).

def coalescer_for(daemon: DaemonConfig) -> Coalescer:
    return Coalescer(daemon.debounce_ms / 1000, daemon.max_wait_ms / 1000)


def watch_options(daemon: DaemonConfig) -> dict[str, Any]:
    return {"use_polling": daemon.poll_fallback == "always",
            "polling_interval": daemon.poll_interval_seconds}


def is_idle(daemon: DaemonConfig, quiet_for: float) -> bool:
    """Idle: no change on either side for ``keepalive_idle_limit_seconds`` (0: never)."""
    limit = daemon.keepalive_idle_limit_seconds
    return limit > 0 and quiet_for >= limit


#: the keep-alive a first cycle queues to learn the container's expiry: start-up work, not
#: idle work, so it is not charged to the shared idle budget (charged, a daemon's 200 first
#: syncs left the budget ~185 requests short, and no mapping pulled for two minutes)
EXPIRY = "expiry"
#: the triggers that make a keep-alive: the scheduler's timer (charged) and ``EXPIRY``
KEEPALIVES = frozenset({"keepalive", EXPIRY})


def pull_check_due(triggers: Collection[str], *, container_gone_idle: bool) -> bool:
    """Whether the timers ask this turn for a pull check: a ``pull`` trigger is the idle
    budget's grant, and the budget alone paces pulls (idle ones every
    ``idle_pull_interval_seconds`` from their due time, by the tick nearest it: a few ms
    early at times). A second interval counted here from the last check refused each grant
    that came a little earlier than the one before: every other idle pull was dropped."""
    return "pull" in triggers and not container_gone_idle


def next_wake(now: float, *, deadlines: list[float | None], poll: bool) -> float:
    """When a mapping wants its next turn: the earliest of ``deadlines`` (debounce, retry,
    path retries), at most ``TICK_S`` from ``now`` while ``poll`` (a missing root or a
    configuration error the user may fix at any moment), else ``math.inf`` (until woken)."""
    times = [t for t in deadlines if t is not None]
    if poll:
        times.append(now + TICK_S)
    return min(times, default=math.inf)


class MappingWorker:
    def __init__(self, session: Session, mapping: MappingConfig, daemon: DaemonConfig, *,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = _utcnow,
                 runners: Runners | None = None,
                 shared_watch: SharedInotify | None = None) -> None:
        self.name = mapping.name
        self._shared_watch = shared_watch
        self._runners = runners
        self._own_runners: Runners | None = None
        self._acting = False
        self._in_turn = False
        self._done = threading.Event()
        self._closing = False  # the last turn began (guarded by _tlock)
        self._session = session
        self._mapping = mapping
        self._cfg = daemon
        self._clock = clock
        self._now = now
        self.dirty = DirtyPaths(coalescer_for(daemon), clock=clock)
        self.dirty.on_change = self._dirty_changed
        self.status = WorkerStatus(self.name)
        self._lock = MappingLock(session.state_dir, session.identity(mapping).key,
                                 purpose="containersync daemon")
        self._stop = threading.Event()
        self.first_attempt = threading.Event()
        self._triggers: set[str] = set()
        self._tlock = threading.Lock()
        self._pending: set[str] = set()
        #: callers of ``sync_now`` waiting for the next full cycle (guarded by _tlock)
        self._waiters: list[Future[CycleReport]] = []
        self._last_report: CycleReport | None = None
        self._lock_holder = "another process"
        self._refused_error: AuthError | None = None
        self._owe_full = True
        self._first_done = False
        self._held = HeldBackNotes()  # each held-back file is logged once per daemon run
        self._problems = ProblemNotes()  # and each problem
        self._retries = PathRetries(clock)  # paths whose transfer failed, queued again
        self._retry_at: float | None = None
        self._backoff = Backoff()
        self._deletions = DeletionWindows(clock)
        self._last_change = clock()
        self._container_gone_idle = False
        self._budget_notes = keepalive_budget.BudgetNotes()
        self._refused = False  # the API refused the key: no more cycles until a reload
        #: a problem only the user can fix (a never-synced root that is not a folder)
        self.config_error: ConfigError | None = None
        self._root_was_dir = False  # ... and whether the root was a folder then
        self._beat_at = clock()
        self._ctx: MappingContext | None = None
        self._watch: MappingWatch | None = None
        #: the daemon's shared idle budget, once a scheduler feeds this worker
        self._idle_work: IdleWork | None = None

    # -- control (any thread) ------------------------------------------------------------

    def start(self) -> None:
        """Queue the first turn on the daemon's runners (or on a private runner)."""
        if self._runners is None:
            self._runners = self._own_runners = Runners(
                self._session.open_index, 1, clock=self._clock, name=f"containersync:{self.name}")
            self._runners.start()
        self._runners.add(self)

    def _wake(self, at: float | None = None) -> None:
        if self._runners is not None:
            self._runners.wake(self, at)

    def _dirty_changed(self, deadline: float) -> None:
        self._wake(deadline)  # a watchdog thread: the batch is due then

    def trigger(self, kind: str) -> None:
        """Enqueue a timer tick; the worker acts on it when it is free."""
        with self._tlock:
            self._triggers.add(kind)
        self._wake()

    def use_idle_work(self, idle: IdleWork) -> None:
        """Report pull results to, and pay keep-alives from, the shared idle budget."""
        self._idle_work = idle

    def sync_now(self) -> Future[CycleReport]:
        """Ask for a full cycle as soon as the worker is free (past any backoff or halt
        wait); the future gets that cycle's report, or the error that stopped it
        (``Halted``, ``RemoteError``, ...). Used by ``containersync.Mirror.sync()``."""
        future: Future[CycleReport] = Future()
        with self._tlock:
            if self._closing:  # its last turn is over or under way: nobody would answer
                future.set_exception(ContainerSyncError(f"mapping {self.name!r} stopped"))
                return future
            self._waiters.append(future)
        self._wake()
        return future

    def request_stop(self) -> None:
        self._stop.set()
        self._wake()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the mapping stopped (its last turn ended); True when it has."""
        if not self._done.wait(timeout):
            return False
        own, self._own_runners = self._own_runners, None
        if own is not None:
            own.stop(timeout)
        return True

    @property
    def alive(self) -> bool:
        """Still taking turns, on runners that all run."""
        return not self._done.is_set() and (self._runners is None or self._runners.healthy)

    @property
    def heartbeat(self) -> float:
        """The watchdog's reading: in a turn, its last progress; between turns, now."""
        return self._beat_at if self._in_turn else self._clock()

    @property
    def cannot_start(self) -> bool:
        """A configuration error stopped the mapping before any cycle ran."""
        return self.config_error is not None and not self._first_done

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def snapshot(self) -> dict[str, Any]:
        queue = len(self._pending) + len(self.dirty.pending())
        watch = self._watch
        return self.status.to_dict(
            queue=queue,
            watcher={"mode": watch.mode if watch else "not-watching",
                     "degraded": watch.degraded if watch else None,
                     "full_rescans": watch.full_rescans if watch else 0,
                     "last_rescan_reason": watch.last_rescan_reason if watch else None},
            idle=self._idle(),
        )

    # -- a turn (a runner thread) ---------------------------------------------------------

    def turn(self, open_index: Callable[[], Index]) -> float | None:
        """One decision on the runner's thread (``open_index``: its connection); when the
        mapping next wants a turn, or None once it stopped."""
        self._beat_at = self._clock()
        self._in_turn = True
        try:
            if self._ctx is None:
                self._set_up(open_index())
            elif self._ctx.index is not (index := open_index()):
                self._ctx.index = index
            ctx, watch = self._ctx, self._watch
            if ctx is not None and watch is not None and not self._stop.is_set():
                wake = self._decide(ctx, watch)
                for _ in range(STEPS_PER_TURN - 1):  # follow-ups a step queued for itself
                    if self._stop.is_set() or not self._more_now():
                        break
                    wake = self._decide(ctx, watch)
                if not self._stop.is_set():
                    return wake
            self._finish()
            return None
        except BaseException as exc:  # a bug: say so loudly; the watchdog stops pinging
            self.turn_crashed(exc)
            return None
        finally:
            self._in_turn = False

    def _more_now(self) -> bool:
        """The last step left work for this mapping that is due now (the keep-alive after
        a first sync, the pull again after one that found new objects): it runs in the same
        turn, as the mapping's own thread did, instead of behind every other due mapping
        (with 200 first syncs, the last keep-alives came minutes after start-up)."""
        with self._tlock:
            queued = bool(self._triggers or self._waiters)
        return queued and not self._refused and (
            self._retry_at is None or self._clock() >= self._retry_at)

    def turn_crashed(self, exc: BaseException) -> None:
        log.error("mapping-crashed", message="mapping loop crashed", mapping=self.name,
                  exc_info=exc)
        self.status.state = "crashed"
        self.status.set_error(f"internal error: {exc!r}", None)
        self._finish()

    def _set_up(self, index: Index) -> None:
        ctx = self._session.context(self._mapping, index)
        self._ctx = ctx
        self._watch = MappingWatch(ctx.settings.local_root, lambda: ctx.rules, self.dirty,
                                   clock=self._clock, shared=self._shared_watch,
                                   **watch_options(self._cfg))
        ctx.on_local_write = self._watch.on_local_write
        self._watch.start()

    def _finish(self) -> None:
        """The mapping's last turn: release what it holds and say it stopped."""
        if self._done.is_set():
            return
        self.first_attempt.set()
        with self._tlock:
            self._closing = True  # a later sync_now is answered at once, not queued
        self._fail_waiters(ContainerSyncError(f"mapping {self.name!r} stopped"))
        try:
            if self._watch is not None:
                self._watch.stop()
        finally:
            self._lock.release()
            if self.status.state != "crashed":
                self.status.state = "stopped"
            self._done.set()

    def _decide(self, ctx: MappingContext, watch: MappingWatch) -> float:
        due = self.dirty.take_due()
        self._pending.update(self._retries.take_due())
        if due:
            self._pending.update(due)
            self._last_change = self._clock()
            self._container_gone_idle = False
            if self._idle_work is not None:
                self._idle_work.changed(self.name)
        if self._refused:
            if self._refused_error is not None:  # a caller of sync_now hears why
                self._fail_waiters(self._refused_error)
        elif not self._waiting(watch, due) or self._has_waiters():
            self._retry_at = None
            self._act(ctx, watch)
        return next_wake(self._clock(), deadlines=[
            self.dirty.next_deadline(), self._retry_at, self._retries.next_deadline()],
            poll=self.config_error is not None or not watch.running)

    @property
    def acting(self) -> bool:
        """The worker is in a step (a cycle, a pull check, a keep-alive)."""
        return self._acting

    def _act(self, ctx: MappingContext, watch: MappingWatch) -> None:
        """One step, as the mapping's only writer: a second step of this mapping while one
        runs is a bug, and fails loudly instead of writing beside the first."""
        with self._tlock:
            if self._acting:
                raise InvariantViolation(f"two steps of mapping {self.name!r} at once")
            self._acting = True
        try:
            self._step(ctx, watch)
        finally:
            with self._tlock:
                self._acting = False

    def _has_waiters(self) -> bool:
        with self._tlock:
            return bool(self._waiters)

    def _take_waiters(self) -> list[Future[CycleReport]]:
        with self._tlock:
            taken, self._waiters = self._waiters, []
        return taken

    def _fail_waiters(self, exc: BaseException) -> None:
        for future in self._take_waiters():
            future.set_exception(exc)

    def _waiting(self, watch: MappingWatch, due: list[str]) -> bool:
        if self._refused or self._retry_at is None:
            return self._refused
        if self.config_error is not None and (
                (watch.root.is_dir() and not self._root_was_dir)
                or any(p in RULE_FILES for p in due)):
            return False  # the user made the folder or edited a rule file: try at once
        return self._clock() < self._retry_at

    def _take_triggers(self) -> set[str]:
        with self._tlock:
            taken, self._triggers = self._triggers, set()
        return taken

    def _idle(self) -> bool:
        return is_idle(self._cfg, self._clock() - self._last_change)

    def _step(self, ctx: MappingContext, watch: MappingWatch) -> None:
        triggers = self._take_triggers()
        waiters = self._take_waiters()
        self._last_report = None
        try:
            if not self._hold_lock():
                for future in waiters:  # a caller is told at once, not left hanging
                    future.set_exception(LockedError(self.name, self._lock_holder))
                return
            if waiters:
                self._owe_full = True
            if not watch.running and watch.start():
                self._owe_full = True  # the root (re)appeared: look at everything
            self._sync_step(ctx, watch, triggers)
            if triggers & KEEPALIVES and not self._idle() and not self._container_gone_idle:
                self._keepalive(ctx, watch, charged="keepalive" in triggers)
            self._backoff.reset()
            self.status.clear_error()
            self.config_error = None
            for future in waiters:
                if self._last_report is not None:
                    future.set_result(self._last_report)
                else:
                    future.set_exception(ContainerSyncError("no cycle ran"))
        except Halted as exc:
            self._on_halt(exc)
            for future in waiters:
                future.set_exception(exc)
        except AuthError as exc:
            self._on_refused(ctx, exc)
            self._refused_error = exc
            for future in waiters:
                future.set_exception(exc)
        except ConfigError as exc:
            self._on_config_error(exc)
            for future in waiters:
                future.set_exception(exc)
        except Exception as exc:
            self._on_failure(exc, triggers)
            for future in waiters:
                future.set_exception(exc)
        finally:
            if not self._first_done and not self.first_attempt.is_set() \
                    and self.status.state in ("halted", "backoff"):
                self.first_attempt.set()  # READY=1 must not wait for the network forever
            # the report was for the waiters (a full cycle's names every file's sandbox
            # path); what the step read and made is freed: give it back (daemon.memory)
            self._last_report = None
            memory.release(ctx.index)

    def _hold_lock(self) -> bool:
        if self._lock.held:
            return True
        try:
            self._lock.acquire()
            self._after_reacquire()
        except LockedError as exc:
            self._lock_holder = exc.holder
            if self.status.state != "waiting-for-lock":
                log.warning("mapping-locked", message="mapping is locked; waiting",
                            mapping=self.name, holder=exc.holder)
            self.status.state = "waiting-for-lock"
            self.status.set_error(str(exc), self._now().timestamp() + LOCK_RETRY_S)
            self._retry_at = self._clock() + LOCK_RETRY_S
            return False
        return True

    def _after_reacquire(self) -> None:
        """The lock was free while we were halted: a ``sync`` (or ``sync --force``) that
        finished meanwhile cleared the halt; its decision replaces our windows' counts."""
        if self.status.state != "halted" or self._ctx is None:
            return
        row = self._ctx.index.mapping(self._ctx.name)
        if row is not None and row.halt is None:
            log.info("halt-cleared", message="the halt was cleared by another run; deletion "
                     "windows start afresh", mapping=self.name)
            self._deletions.reset()
            self._owe_full = True

    def _sync_step(self, ctx: MappingContext, watch: MappingWatch, triggers: set[str]) -> None:
        idle = self._idle()
        if any(p in RULE_FILES for p in self._pending):
            ctx.reload_rules()
            watch.restart()
            self._owe_full = True
        if FULL_RESCAN in self._pending or (
                "full" in triggers and not idle and not self._container_gone_idle):
            self._owe_full = True
        if self._owe_full:
            kind = "full" if self._first_done else "first"
            self._cycle(ctx, watch, cycles.CycleRequest(kind, None, "full"))
            return
        due = pull_check_due(triggers, container_gone_idle=self._container_gone_idle)
        if not self._pending and not due:
            return
        try:
            found = cycles.new_remote_paths(ctx)
        except ContainerGone as exc:
            self._container_lost(ctx, watch, exc)
            return
        self.status.last_pull_check = self._now().timestamp()
        if found is None:
            self._owe_full = True
            self._cycle(ctx, watch, cycles.CycleRequest("full", None, "full"))
            return
        remote_paths, fresh = found.paths, found.news
        if fresh:
            self._last_change = self._clock()
        if fresh and self._idle_work is not None:
            self._idle_work.changed(self.name)
        if not self._pending and not fresh:
            return
        only = sorted(self._pending | set(remote_paths))
        kind = "targeted" if self._pending else "pull"
        self._cycle(ctx, watch, cycles.CycleRequest(kind, only, "incremental", found.listed,
                                                    found.scope))
        if fresh:
            # the assistant writes in bursts: more may have landed while this cycle ran, so
            # look again at once (a pull trigger always checks: pull_check_due)
            self.trigger("pull")

    def _cycle(self, ctx: MappingContext, watch: MappingWatch,
               request: cycles.CycleRequest) -> None:
        taken = set(self._pending)
        self.status.state = "syncing"
        before = ctx.index.mapping(ctx.name)
        previous_cid = before.container_id if before else None
        rules = ctx.rules.fingerprint
        try:
            report = cycles.run(ctx, request, now=self._now, should_stop=self._stop.is_set,
                                on_progress=self._beat, windows=self._deletions.windows())
        finally:
            if ctx.rules.fingerprint != rules:
                watch.restart()  # the cycle found the rule files edited (no event said so)
        self._deletions.record(report.deletions, full=request.only is None)
        self._pending -= taken
        self._retries.note(report.problems, request.only)
        self._last_report = report
        if request.only is None:
            self._owe_full = False
            self._purge_trash(ctx)
            if self._idle_work is not None:
                self._idle_work.full_done(self.name)
        if not self._first_done:
            self._first_done = True
            self.first_attempt.set()
            self.trigger(EXPIRY)  # learn the container's expiry for status at once
        if cycles.changed_anything(report):
            self._last_change = self._clock()
            if self._idle_work is not None:
                self._idle_work.changed(self.name)
        if report.new_generation and previous_cid and report.container_id != previous_cid:
            log.warning("container-replaced", message="container replaced: started a new "
                        "generation and re-seeded it from local files; nothing was deleted",
                        mapping=self.name,
                        old_container=previous_cid, container=report.container_id,
                        generation=report.generation)
            self.status.note_replacement(previous_cid, report.container_id,
                                         report.generation, self._now().timestamp())
        if report.rebuilt:
            log.warning("index-rebuilt",
                        message="rebuilt the index from the container; nothing was deleted",
                        mapping=self.name, container=report.container_id,
                        reason=report.rebuilt, matched=report.rebuilt_matched)
        self.status.note_cycle(request.kind, report, self._now().timestamp())
        log_cycle(log, self.name, cycles.counts(report), report.seconds, kind=request.kind,
                  paths=len(request.only) if request.only is not None else None,
                  container=report.container_id, generation=report.generation,
                  requests=report.requests, message=report.line())
        fresh = self._problems.fresh(report.problems, request.only)
        for problem in fresh[:SHOWN]:
            log.warning("problem", mapping=self.name, path=problem.path, kind=problem.kind,
                        message=problem.message)
        if len(fresh) > SHOWN:
            log.warning("more-problems", message="more problems (containersync status lists "
                        "them)", mapping=self.name, count=len(fresh) - SHOWN)
        for note in self._held.notes(report):
            log.warning("held-back", message=note.text, kind=note.kind, mapping=self.name,
                        count=len(note.paths), paths=note.paths)
        self.status.state = "idle" if self._idle() else "watching"

    def _keepalive(self, ctx: MappingContext, watch: MappingWatch, *, charged: bool) -> None:
        state = ctx.index.mapping(ctx.name)
        if state is None or state.container_id is None:
            return
        now = self._now()
        if self._budget_spent(ctx, now):
            return
        before = self.status.expires_at
        if charged and self._idle_work is not None:
            self._idle_work.charge()  # never refused: pulls wait for the budget instead
        try:
            container = ctx.client.retrieve_container(state.container_id)
        except ContainerGone as exc:
            self._container_lost(ctx, watch, exc)
            return
        if is_gone(container):
            self._container_lost(ctx, watch, ContainerGone(f"container is {container.status}",
                                                    container_id=container.id))
            return
        self.status.note_keepalive(container, now.timestamp())
        minutes = (container.expires_after.minutes if container.expires_after
                   else self._mapping.container.expires_after_minutes)
        seconds = keepalive_budget.bought(before, self.status.expires_at, minutes * 60)
        with ctx.index.write() as tx:
            tx.add_keepalive(ctx.name, keepalive_budget.day_of(now), seconds, now.timestamp())

    def _budget_spent(self, ctx: MappingContext, now: datetime | None = None) -> bool:
        """Today's keep-alives used up ``keepalive_budget_hours_per_day`` (said once a
        day): keep-alive stops until the next UTC day."""
        budget = keepalive_budget.budget_seconds(self._cfg)
        if budget is None:
            return False
        day = keepalive_budget.day_of(now or self._now())
        used = ctx.index.keepalive_day(ctx.name, day).seconds
        spent = used >= budget
        self.status.keepalive_budget_spent = spent
        if spent and self._budget_notes.first_time(day):
            log.warning("keepalive-budget-spent",
                        message="keep-alive budget for today is spent; no more keep-alives "
                        "until the next UTC day: the container expires when nothing happens, "
                        "and the next change starts a new generation", mapping=self.name,
                        budget_hours=self._cfg.keepalive_budget_hours_per_day,
                        kept_alive_hours=round(used / 3600, 2), day=day)
        return spent

    def _container_lost(self, ctx: MappingContext, watch: MappingWatch,
                        exc: ContainerGone) -> None:
        self.status.container_status = "expired"
        budget_spent = not self._pending and self._budget_spent(ctx)
        if self._idle() or budget_spent:
            if not self._container_gone_idle:
                why = "idle" if self._idle() else "the keep-alive budget was spent"
                log.info("container-expired-idle", message=f"container expired while {why}; "
                         "a new one is made on the next local change", mapping=self.name,
                         error=str(exc))
            self._container_gone_idle = True
            self.status.state = "idle"
            return
        log.warning("container-gone", message="container is gone; starting a new generation",
                    mapping=self.name, error=str(exc))
        self._owe_full = True
        self._cycle(ctx, watch, cycles.CycleRequest("full", None, "full"))

    def _on_halt(self, exc: Halted) -> None:
        log.error("mapping-halted", message="mapping halted by a safety rail; it retries "
                  "every minute and acts only "
                  "once the cause is gone (or stop the daemon and run `containersync sync "
                  "--force`)", mapping=self.name, rail=exc.rail, reason=exc.reason)
        self.status.state = "halted"
        self.status.set_error(f"halted ({exc.rail}): {exc.reason}",
                              self._now().timestamp() + HALT_RETRY_S)
        self._retry_at = self._clock() + HALT_RETRY_S
        self._lock.release()  # let `containersync sync --force` take it meanwhile

    def _on_refused(self, ctx: MappingContext, exc: AuthError) -> None:
        """A wrong or revoked key: retrying will not help (``sync`` exits 77 for it). Halt
        the mapping until the daemon is reloaded or restarted with a key that works."""
        reason = (f"the API refused the key ({exc}); fix the key, then reload the daemon "
                  "(systemctl --user reload containersync, or SIGHUP)")
        log.error("key-refused", message="mapping halted: the API refused the key; not retrying",
                  mapping=self.name, error=str(exc))
        self._refused = True
        self.status.state = "halted"
        self.status.set_error(f"halted ({AUTH_REFUSED}): {reason}", None)
        try:
            with ctx.index.write() as tx:
                tx.set_halt(ctx.name, AUTH_REFUSED, reason, self._now().timestamp())
        except Exception as err:  # the halt still holds in memory and in the state file
            log.warning("halt-not-recorded", message="cannot record the halt in the index",
                        mapping=self.name,
                        error=str(err))
        self._lock.release()

    def _on_config_error(self, exc: ConfigError) -> None:
        """Only the user can fix it: say it once (again only if it changes), halt the
        mapping, look again every minute, and at once when the root becomes a folder. The
        service exits 78 when every mapping is in this state at start-up."""
        if self.config_error is None or str(self.config_error) != str(exc):
            log.error("config-error",
                      message="mapping halted: configuration error; fix it and the mapping resumes",
                      mapping=self.name, error=exc.lines[0])
        self.config_error = exc
        self._root_was_dir = (self._watch.root if self._watch else self._mapping.local).is_dir()
        self.status.state = "halted"
        self.status.set_error(f"halted (config-error): {exc.lines[0]}", None)
        self._retry_at = self._clock() + HALT_RETRY_S
        self._lock.release()

    def _purge_trash(self, ctx: MappingContext) -> None:
        """After a full cycle: drop this mapping's trash folders past the retention (as
        ``sync`` does after each run)."""
        try:
            removed = ctx.trash.purge(self._now(), ctx.name)  # trash folders use the key
        except OSError as exc:
            log.warning("trash-purge-failed", message="cannot purge the trash", mapping=self.name,
                        error=str(exc))
            return
        if removed:
            log.info("trash-purged", message="purged old trash folders", mapping=self.name,
                     removed=removed)

    def _on_failure(self, exc: Exception, triggers: set[str]) -> None:
        delay = self._backoff.next_delay()
        if isinstance(exc, RemoteError):
            message = f"server unreachable or failing: {exc}"
        else:
            message = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, RemoteError | OSError):
            self._owe_full = True  # after an outage, look at everything once
            log.warning("cycle-failed", message=f"cycle failed; retrying: {message}",
                        mapping=self.name, error=message,
                        retry_in_s=round(delay, 1), failures=self._backoff.failures)
        else:
            log.exception("cycle-crashed", message="cycle failed unexpectedly; retrying",
                          mapping=self.name,
                          retry_in_s=round(delay, 1))
        with self._tlock:
            self._triggers |= triggers & KEEPALIVES
        self.status.state = "backoff"
        self.status.set_error(message, self._now().timestamp() + delay)
        self._retry_at = self._clock() + delay

    def _beat(self) -> None:
        self._beat_at = self._clock()
