"""The daemon process: every mapping of the config in one process, until a signal.

Responsibilities: open the session (API client, embedded backend for ``base_url =
"local"``), one ``MappingWorker`` per mapping, taking turns on ``CYCLE_SLOTS`` runner
threads (``daemon.runners``: only that many mappings act at once, and the thread count
does not grow with the mapping count), and the scheduler that feeds them,
then run the main loop on the main thread: handle signal requests, write each mapping's
state file for ``containersync status``, and talk to systemd (READY=1 once every mapping
finished its first attempt, STATUS= on change, WATCHDOG=1, STOPPING=1).

Invariants:
- The watchdog is pinged only while every mapping is alive (not crashed, on runners that
  all run) and no turn has gone without progress for the watchdog interval: a hung or
  crashed mapping stops the pings and systemd restarts us.
- A reload (SIGHUP) validates the new config before touching anything; a bad one is logged
  and the running workers keep going. A good one drains the workers (commit, release the
  locks) and starts new ones.
- Stopping drains: workers stop taking work, in-flight transfers finish and are committed;
  after ``drain_timeout`` the process gives up waiting and exits 1 (open intents are
  settled on the next start).
- A long start-up or stop is announced, not killed: until READY=1, every
  ``EXTEND_EVERY_S`` while every mapping loop is alive and beating, the daemon sends
  ``EXTEND_TIMEOUT_USEC`` (``EXTEND_BY_S``), so a large first sync outlives
  ``TimeoutStartSec=`` while a hung one still times out; a drain asks for its own bound
  (``drain_timeout`` plus a margin) when it begins.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

from containersync.config_methods import LoadedConfig
from containersync.daemon import memory, systemd
from containersync.daemon import state as state_files
from containersync.daemon.runners import Runners
from containersync.daemon.schedule import start_scheduler, stop_scheduler
from containersync.daemon.signals import RELOAD, STOP, SignalInbox
from containersync.daemon.worker import MappingWorker
from containersync.endpoint import resolve_endpoint
from containersync.engine.session import Session, open_session
from containersync.errors import ConfigError
from containersync.logs import get_logger
from containersync.watch.shared import SharedInotify

log = get_logger(__name__)
TICK_S = 0.5
DRAIN_TIMEOUT_S = 30.0
EXTEND_EVERY_S = 10.0
EXTEND_BY_S = 30.0
STOP_MARGIN_S = 10.0
#: runner threads, so turns that run at once, whatever the mapping count (each cycle has
#: its transfer threads)
CYCLE_SLOTS = 4


class Daemon:
    def __init__(self, config_path: Path | None, loaded: LoadedConfig, *,
                 drain_timeout: float = DRAIN_TIMEOUT_S,
                 load: Callable[[], LoadedConfig] | None = None) -> None:
        self.config_path = config_path
        #: how a reload gets the new config (the folder-only form has no file to re-read)
        self._load = load or (lambda: load_file(config_path))
        self.loaded = loaded
        self.drain_timeout = drain_timeout
        self.inbox = SignalInbox()
        self.session: Session | None = None
        self.workers: list[MappingWorker] = []
        self.scheduler: BackgroundScheduler | None = None
        self.runners: Runners | None = None
        self._shared_watch: SharedInotify | None = None
        self._ready_sent = False
        self._states: state_files.StateWriter | None = None
        self._last_status = ""
        self._last_ping = 0.0
        self._last_extend: float | None = None
        self._started_up = False  # READY=1 was sent once (a reload does not start up again)
        self._unstartable = False

    # -- whole run -------------------------------------------------------------------------

    def run(self) -> int:
        self.inbox.install()
        try:
            self._start(self.loaded)
            while True:
                requests = self.inbox.wait(TICK_S)
                self._tick()
                if STOP in requests or self._unstartable:
                    break
                if RELOAD in requests:
                    self._reload()
            systemd.stopping("draining: finishing transfers in flight")
            systemd.extend_timeout(self.drain_timeout + STOP_MARGIN_S)
            log.info("stopping", message="stopping: finishing transfers in flight",
                     drain_timeout_s=self.drain_timeout)
            clean = self._stop_workers()
            if self._unstartable:
                log.error("no-valid-mapping", message="every mapping has a configuration error; "
                          "exiting 78 (fix the "
                          "configuration, then start the daemon again)")
                return 78
            return 0 if clean else 1
        finally:
            self._close_session()
            self.inbox.restore()

    def _start(self, loaded: LoadedConfig) -> None:
        cfg = loaded.config
        self.session = open_session(cfg)
        # the state dir and index are checked here, in one thread: an unusable one is a
        # ConfigError (exit 78), and a corrupt one is moved aside once, before any worker
        self.session.check_index()
        self.runners = Runners(self.session.open_index, CYCLE_SLOTS)
        # one inotify instance and observer for every root (polling needs none)
        self._shared_watch = SharedInotify.open() if cfg.daemon.poll_fallback != "always" \
            and cfg.mappings else None
        self.workers = [MappingWorker(self.session, m, cfg.daemon, runners=self.runners,
                                      shared_watch=self._shared_watch)
                        for m in cfg.mappings]
        if not self.workers:
            log.warning("no-mappings", message="the configuration has no mappings; nothing to do",
                        config=str(loaded.file))
        self.runners.start()
        for worker in self.workers:
            worker.start()
        self.scheduler = start_scheduler(cfg.daemon, zip(cfg.mappings, self.workers,
                                                         strict=True))
        log.info("daemon-started", message="daemon started", config=str(loaded.file),
                 mappings=[m.name for m in cfg.mappings],
                 backend=self.session.backend.base_url if self.session.backend else
                 self.session.endpoint.base_url if self.session.endpoint else
                 cfg.api.base_url)

    def _stop_workers(self) -> bool:
        if self.scheduler is not None:
            stop_scheduler(self.scheduler)
            self.scheduler = None
        for worker in self.workers:
            worker.request_stop()
        deadline = time.monotonic() + self.drain_timeout
        clean = True
        for worker in self.workers:
            if not worker.join(max(0.0, deadline - time.monotonic())):
                log.error("drain-timeout", message="mapping did not finish in time; its open "
                          "intents are settled on the next start", mapping=worker.name)
                clean = False
        if self.runners is not None:
            # a runner still in a turn past the drain timeout is a daemon thread: exit anyway
            self.runners.stop(max(0.0, deadline - time.monotonic()))
            self.runners = None
        self._write_states(final=True)
        self.workers = []
        if self._shared_watch is not None:
            self._shared_watch.stop()
            self._shared_watch = None
        return clean

    def _close_session(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    # -- reload ----------------------------------------------------------------------------

    def _reload(self) -> None:
        try:
            loaded = self._load()
            resolve_endpoint(loaded.config)
        except ConfigError as exc:
            log.error("reload-refused", message="reload refused: the new configuration is "
                      "invalid; keeping the running one", error=str(exc))
            return
        log.info("reloading", message="reloading the configuration", config=str(loaded.file))
        if not self._stop_workers():
            raise SystemExit(1)
        self._close_session()
        try:
            self._start(loaded)
        except Exception as exc:
            log.error("reload-failed", message="could not start with the new configuration; "
                      "going back to the old one",
                      error=str(exc))
            self._close_session()
            self._start(self.loaded)
            return
        self.loaded = loaded
        self._ready_sent = False
        self._last_extend = None

    # -- each tick ---------------------------------------------------------------------------

    def _tick(self) -> None:
        self._write_states()
        self._extend_start()
        if not self._ready_sent and all(w.first_attempt.is_set() for w in self.workers):
            if not self._started_up and self.workers and all(
                    w.cannot_start for w in self.workers):
                self._unstartable = True  # nothing can run: exit 78, systemd does not restart
                return
            self._ready_sent = self._started_up = True
            systemd.ready(self._summary())
            log.info("ready", message="ready: every mapping finished its first sync attempt")
        summary = self._summary()
        if summary != self._last_status:
            self._last_status = summary
            systemd.status(summary)
        self._watchdog()

    def _extend_start(self) -> None:
        """Before READY=1: ask systemd for more start-up time while the work progresses."""
        if self._ready_sent:
            return
        now = time.monotonic()
        if self._last_extend is not None and now - self._last_extend < EXTEND_EVERY_S:
            return
        if self._stale(now, EXTEND_BY_S):
            return  # a stuck first sync must still time out
        self._last_extend = now
        systemd.extend_timeout(EXTEND_BY_S)

    def _stale(self, now: float, limit: float) -> list[str]:
        return [w.name for w in self.workers if not w.alive or now - w.heartbeat > limit]

    def _write_states(self, *, final: bool = False) -> None:
        if self.session is None:
            return
        if self._states is None or self._states.state_dir != self.session.state_dir:
            self._states = state_files.StateWriter(self.session.state_dir,
                                                   report=_state_file_trouble)
        for worker in self.workers:
            self._states.update(worker.name, worker.snapshot(), force=final)

    def _summary(self) -> str:
        if not self.workers:
            return "no mappings configured"
        parts = []
        for w in self.workers:
            snap = w.snapshot()
            text = f"{w.name}: {snap['state']}"
            if snap["queue"]:
                text += f", {snap['queue']} queued"
            if snap["error"]:
                text += f" ({snap['error'][:60]})"
            parts.append(text)
        return "; ".join(parts)

    def _watchdog(self) -> None:
        interval = systemd.watchdog_interval()
        if interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping < interval / 2:
            return
        stale = self._stale(now, interval)
        if stale:
            log.error("watchdog-withheld", message="not pinging the watchdog: mapping loop stuck "
                      "or dead", mappings=stale)
            return
        self._last_ping = now
        systemd.watchdog_ping()


def _state_file_trouble(trouble: state_files.WriteTrouble) -> None:
    """A mapping's state file failing (a full disk), in the log: once when it starts, not
    at every tick it is tried again, and once when it ends."""
    if trouble.over:
        log.info("state-file-recovered", message="the daemon state file is written again",
                 mapping=trouble.mapping, failures=trouble.failures)
    else:
        log.warning("state-file-failed", message="cannot write the daemon state file: "
                    "`status` shows this mapping as not running until it can (tried again "
                    "every tick, logged when it works)", mapping=trouble.mapping,
                    error=trouble.error)


def load_file(config_path: Path | None) -> LoadedConfig:
    """The config file's config (``ConfigError`` on any problem), as ``sync`` reads it: the
    cached record while nothing it was validated from changed (no pydantic in the daemon,
    ~10 MiB of its resident memory), else validated in full."""
    from containersync.config_paths import find_config_path
    from containersync.status_config import config_for_file

    file, _origin = find_config_path(config_path, os.environ)
    return LoadedConfig(config_for_file(config_path), file)


def run_daemon(config_path: Path | None, *,
               load: Callable[[], LoadedConfig] | None = None) -> int:
    """Load the config (``ConfigError`` propagates: exit 78) and run until a signal;
    ``load`` replaces reading ``config_path`` (the folder-only form)."""
    loaded = load() if load is not None else load_file(config_path)
    resolve_endpoint(loaded.config)
    memory.map_large_blocks()  # before the first cycle: its peak is the daemon's budget
    return Daemon(config_path, loaded, load=load).run()
