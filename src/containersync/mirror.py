"""The Python API: ``sync()`` (one sync of one folder) and ``Mirror`` (a folder kept in
sync while a ``with`` block runs), with no config file.

Both build their one-mapping config with ``containersync.folder`` and resolve the endpoint
as the ``openai`` SDK does (``containersync.endpoint``). ``Mirror`` runs the daemon's own
pieces in this process: the mapping's ``MappingWorker`` thread (watch, push, pull,
keep-alive; it owns the mapping's lock while it runs) and the APScheduler timers that feed
it. Errors are the classes of ``containersync.errors``; a safety rail raises ``Halted``.
"""

from __future__ import annotations

import os
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any

from containersync.config import MappingConfig
from containersync.errors import ContainerSyncError
from containersync.folder import folder_config
from containersync.model.entry import Mode
from containersync.report import SyncReport

DRAIN_TIMEOUT_S = 30.0
#: ``Mirror.sync()`` runs full cycles until one changes nothing, at most this many
MAX_ROUNDS = 4


def _now() -> datetime:
    return datetime.now(UTC)


def sync(folder: str | os.PathLike[str], *, container: str | None = None,
         mode: str | Mode = "two-way", base_url: str | None = None,
         api_key: str | None = None, state_dir: str | os.PathLike[str] | None = None,
         dry_run: bool = False, force: bool = False) -> SyncReport:
    """Make ``folder`` and its container agree, once, and return what was done.

    ``container``: a name to create the container with, or a ``cntr_`` id to adopt; default
    ``containersync-<folder name>-<digest>``. ``base_url``/``api_key``: default as the ``openai``
    SDK (``$OPENAI_BASE_URL``, else the live service; ``$OPENAI_API_KEY``); ``"local"`` is
    the embedded backend. ``dry_run`` changes nothing anywhere (``SyncReport.planned`` says
    what would change); ``force`` proceeds past a safety rail. Raises ``Halted`` when a rail
    stops the sync, ``LockedError`` when another process syncs the folder (a dry run takes
    no lock), ``ConfigError`` for a missing key, other ``ContainerSyncError``s as they come.
    """
    from containersync.engine.cycle import CycleOptions
    from containersync.engine.runner import sync_mapping
    from containersync.engine.session import session
    from containersync.index.lock import MappingLock
    from containersync.index.store import index_for_run

    cfg = folder_config(folder, container=container, mode=mode, base_url=base_url,
                        state_dir=state_dir)
    m = cfg.mappings[0]
    _log_through_stdlib()
    index_file = Path(cfg.state.index_file)
    with session(cfg, api_key=api_key) as sess, index_for_run(index_file, dry_run=dry_run) as index:
        ctx = sess.context(m, index)
        opts = CycleOptions(force=force, dry_run=dry_run, scan_while_listing=True)
        if dry_run:  # reads only: safe beside a daemon or Mirror holding the lock
            report = sync_mapping(ctx, opts, now=_now)
        else:
            with MappingLock(sess.state_dir, sess.identity(m).key,
                             purpose="containersync.sync()"):
                report = sync_mapping(ctx, opts, now=_now)
            ctx.trash.purge(_now())
    return SyncReport.from_cycles([report], remote_root=m.remote_root,
                                  folder=Path(m.local).name)


class Mirror:
    """Keep ``folder`` and its container in sync while the ``with`` block runs.

    Entering syncs once (raising what ``sync()`` raises) and then watches the folder,
    pushes local changes a moment after they happen, pulls what code in the container
    writes, and keeps the container alive, in background threads. ``container_id`` is the
    container to hand to the Responses API; call ``sync()`` after a model call to have its
    outputs on disk; ``close()`` (or leaving the block) finishes transfers in flight.
    Takes the options of ``containersync.sync()`` except ``dry_run`` and ``force``.
    """

    def __init__(self, folder: str | os.PathLike[str], *, container: str | None = None,
                 mode: str | Mode = "two-way", base_url: str | None = None,
                 api_key: str | None = None,
                 state_dir: str | os.PathLike[str] | None = None,
                 drain_timeout: float = DRAIN_TIMEOUT_S) -> None:
        self._config = folder_config(folder, container=container, mode=mode,
                                     base_url=base_url, state_dir=state_dir)
        self._api_key = api_key
        self._drain_timeout = drain_timeout
        self._session: Any = None
        self._worker: Any = None
        self._scheduler: Any = None
        self._first: SyncReport | None = None
        self._states: Any = None
        self._last_cid: str | None = None  # still known after close()

    @property
    def mapping(self) -> MappingConfig:
        return self._config.mappings[0]

    @property
    def folder(self) -> Path:
        return Path(self.mapping.local)

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> Mirror:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> SyncReport:
        """Sync once, then keep syncing in the background; the first sync's report."""
        from containersync.daemon.schedule import start_scheduler
        from containersync.daemon.worker import MappingWorker
        from containersync.engine.session import open_session

        if self._worker is not None:
            raise ContainerSyncError("this Mirror is already running")
        _log_through_stdlib()
        self._session = open_session(self._config, api_key=self._api_key)
        try:
            self._worker = MappingWorker(self._session, self.mapping, self._config.daemon)
            self._worker.start()
            self._first = self._round(None)
            self._scheduler = start_scheduler(self._config.daemon,
                                              [(self.mapping, self._worker)])
            # the daemon's state file, so `containersync status FOLDER` sees this loop
            self._scheduler.add_job(self._write_state, "interval", seconds=1,
                                    id="state-file", coalesce=True, max_instances=1)
            self._write_state()
        except BaseException:
            self.close()
            raise
        return self._first

    def close(self) -> None:
        """Stop like the daemon on SIGTERM: no new work, transfers in flight finish and are
        committed (at most ``drain_timeout`` seconds), the lock is released. Idempotent."""
        from containersync.daemon.schedule import stop_scheduler

        if self._scheduler is not None:
            stop_scheduler(self._scheduler)
            self._scheduler = None
        if self._worker is not None:
            self._worker.request_stop()
            self._worker.join(self._drain_timeout)
            self._write_state(final=True)
            self._worker = None
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- while running -----------------------------------------------------------------

    @property
    def container_id(self) -> str:
        """The container this folder is mirrored into (it may change if the container
        expires and a new generation starts; read it again before each model call)."""
        worker = self._worker
        cid = (worker.status.container_id if worker is not None else None) or self._last_cid
        if cid is None:
            raise ContainerSyncError("the mirror has no container yet (enter it first)")
        return str(cid)

    def sync(self, timeout: float | None = None) -> SyncReport:
        """Block until both sides agree (full cycles until one has nothing to do) and
        return what they did. Raises ``Halted`` if a rail stops it, ``TimeoutError`` after
        ``timeout`` seconds, else what a cycle raised."""
        return self._round(timeout)

    def status(self) -> dict[str, Any]:
        """What the background loop is doing (the fields of ``containersync status``'s
        daemon section: state, queue, error, watcher, keep-alives, ...), plus ``endpoint``
        and ``local``."""
        worker = self._running()
        endpoint = self._session.endpoint
        return {**worker.snapshot(), "mapping": self.mapping.name,
                "local": str(self.folder),
                "endpoint": "local" if endpoint is None or endpoint.is_local
                else endpoint.base_url}

    # -- where the files are in the sandbox ---------------------------------------------

    def sandbox_paths(self) -> dict[str, str]:
        """Every synced file: its path in the folder -> its path in the sandbox (where code
        in the container finds it), as of the last change the loop recorded."""
        return dict(self._paths()[0])

    def sandbox_path(self, path: str | os.PathLike[str]) -> str:
        """Where the file at ``path`` (relative to the folder, e.g. ``"data/2024/sales.csv"``)
        is in the sandbox: ``/mnt/data/<hex>-sales.csv`` on the live service, which chooses
        upload paths itself; ``/mnt/data/data/2024/sales.csv`` where the server keeps the
        tree. Raises ``UnknownPath`` (a ``KeyError``) for a path the container does not
        hold (not synced yet, ignored, or not a file of the folder)."""
        from containersync.errors import UnknownPath, UnsafePath
        from containersync.model.paths import normalize_relpath

        raw = os.fspath(path)
        try:  # "./a/b" and Path("a") / "b" name "a/b"; ".." and absolute paths name nothing
            rel = normalize_relpath(PurePosixPath(Path(raw).as_posix()).as_posix())
        except UnsafePath as exc:
            raise UnknownPath(raw, exc.reason) from None
        paths = self._paths()[0]
        if rel not in paths:
            raise UnknownPath(rel, "the container holds no synced file there (not synced "
                                   "yet, ignored, or not in the folder); call sync() first")
        return paths[rel]

    @property
    def manifest_path(self) -> str | None:
        """The sandbox path of the container manifest (``None`` where the server keeps the
        folder tree, so none is needed); see docs/syncing.md."""
        return self._paths()[1]

    def instructions(self) -> str:
        """A short text to put in the model's instructions: where the folder's files are
        in the sandbox, where the manifest is, where to write outputs."""
        from containersync.model.manifest import instructions

        paths, manifest = self._paths()
        return instructions(paths, remote_root=self.mapping.remote_root, manifest=manifest,
                            folder=self.folder.name)

    def _paths(self) -> tuple[dict[str, str], str | None]:
        from containersync.index.store import Index

        self._running()
        key = self._session.identity(self.mapping).key
        # this thread's own connection: the worker's belongs to the worker's thread
        with Index.open(Path(self._config.state.index_file)) as index:
            row = index.manifest(key)
            return index.sandbox_paths(key), row.remote_path if row else None

    def _write_state(self, *, final: bool = False) -> None:
        from containersync.daemon.state import StateWriter

        worker = self._worker
        if worker is not None:
            if self._states is None:
                self._states = StateWriter(Path(self._config.state.dir))
            # status is advice: a write that failed never fails the mirror (tried again)
            self._states.update(self.mapping.name, worker.snapshot(), force=final)

    def _running(self) -> Any:
        if self._worker is None:
            raise ContainerSyncError("the mirror is not running (use it in a `with` block)")
        return self._worker

    def _round(self, timeout: float | None) -> SyncReport:
        worker = self._running()
        reports = []
        for _ in range(MAX_ROUNDS):
            try:
                report = worker.sync_now().result(timeout)
            except FutureTimeout:
                raise TimeoutError(f"the mirror did not finish a sync within {timeout} s")\
                    from None
            reports.append(report)
            if not _changed(report) or report.problems:
                break
        result = SyncReport.from_cycles(reports, remote_root=self.mapping.remote_root,
                                        folder=self.folder.name)
        self._last_cid = result.container_id or self._last_cid
        return result


def _log_through_stdlib() -> None:
    """The background loop logs with structlog, whose unconfigured default prints every
    event on stdout: in a notebook, a line per cycle. Unless the application configured
    structlog itself, route containersync's events to stdlib ``logging`` (secrets
    redacted), so they follow the application's logging setup; by default only warnings
    and errors reach stderr."""
    import structlog

    from containersync.logs import redact_secrets

    if structlog.is_configured():
        return
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, redact_secrets,
                    structlog.processors.format_exc_info,
                    structlog.processors.KeyValueRenderer(key_order=["event"])],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def _changed(report: Any) -> bool:
    d = report.to_dict()
    return any(d[k] for k in ("uploaded", "downloaded", "deleted_remote", "deleted_local",
                              "conflicts"))


__all__ = ["Mirror", "SyncReport", "sync"]
