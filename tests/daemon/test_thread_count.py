"""One daemon's threads do not grow with its mapping count (issue 9, "Many mappings").

A real ``Daemon`` in this process (its workers, scheduler, shared watcher) against a
served local backend, real folders, a real index and real watchdog. The backend's own
threads (uvicorn) run in this process too; they are the same for 10 and 40 mappings, so
the test compares the two daemons' thread sets by name instead of a bare total.

What a daemon runs, whatever N (names from ``threading.enumerate()``): ``CYCLE_SLOTS``
``containersync-runner-*`` threads (they also dispatch: no separate dispatcher thread),
``containersync-inotify-reader`` (watchdog's reader of the shared inotify instance),
``containersync-inotify`` (the one emitter for every root), APScheduler's thread and its
job pool (at most 10; the jobs only enqueue triggers), and the API client's one transfer
pool (``api.pool``: at most ``[api] concurrency``).
The main thread is the test's.
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from containersync.config import load_config
from containersync.daemon.service import CYCLE_SLOTS, Daemon
from containersync.localapi.embedded import RunningServer
from support.contexts import many_mappings
from support.daemon_harness import wait_for

KEY_ENV = "CONTAINERSYNC_TEST_KEY"
CONCURRENCY = 32  # [api] concurrency, the default: the client's transfer pool at most
SCHEDULER_POOL = 10  # APScheduler's default executor: a thread pool of at most 10
FILES = 2


def _kind(name: str) -> str:
    """A thread's group: its name without a trailing number (``pool_3`` -> ``pool_``)."""
    return re.sub(r"[-_ (]*\d+\)?$", "", re.sub(r"\s*\(.*\)$", "", name))


@contextlib.contextmanager
def _running(tmp_path: Path, server: RunningServer, count: int, prefix: str
             ) -> Iterator[tuple[Daemon, Callable[[], dict[str, set[str]]]]]:
    """A started daemon of ``count`` mappings, once every file is listed, and a function
    that lists each mapping's container."""
    loaded = load_config(many_mappings(tmp_path, server.base_url, KEY_ENV, mappings=count,
                                       files=FILES, prefix=prefix))
    daemon = Daemon(None, loaded, load=lambda: loaded)
    daemon._start(loaded)
    try:
        assert daemon.session is not None
        client = daemon.session.client

        def listed() -> dict[str, set[str]]:
            by_name = {f"containersync-{prefix}{i:02d}": f"{prefix}{i:02d}" for i in range(count)}
            return {by_name[c.name]: {f.path.rsplit("/", 1)[-1] for f in client.list_files(c.id)
                                      if f.path.endswith(".txt")}
                    for c in client.list_containers() if c.name in by_name}

        wait_for(lambda: all(w.first_attempt.is_set() for w in daemon.workers), "first syncs",
                 timeout=120)
        wait_for(lambda: sum(map(len, listed().values())) == count * FILES,
                 "every file listed", timeout=120)
        yield daemon, listed
    finally:
        assert daemon._stop_workers()
        daemon._close_session()


def _daemon_threads(tmp_path: Path, server: RunningServer, count: int,
                    prefix: str) -> collections.Counter[str]:
    """Thread groups of a converged daemon of ``count`` mappings (threads of the test
    process before it started are left out)."""
    before = set(threading.enumerate())  # the objects: a dead thread's ident is reused
    with _running(tmp_path, server, count, prefix):
        return collections.Counter(_kind(t.name) for t in threading.enumerate()
                                   if t not in before)


def test_a_daemon_of_forty_mappings_runs_the_threads_of_one_of_ten(
        tmp_path: Path, local_server: RunningServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(KEY_ENV, "sk-test-not-a-secret")
    small = _daemon_threads(tmp_path / "ten", local_server, 10, "a")  # both converge
    large = _daemon_threads(tmp_path / "forty", local_server, 40, "b")
    fixed = {"containersync-runner": CYCLE_SLOTS, "containersync-inotify-reader": 1,
             "containersync-inotify": 1, "APScheduler": 1}
    for groups in (small, large):
        # the backend serving this test runs in this process too: its threads are not ours
        ours = {k: n for k, n in groups.items() if not k.startswith("AnyIO")}
        pools = {"transfer": 0, "ThreadPoolExecutor": 0}
        for kind in list(ours):
            for prefix in pools:
                if kind.startswith(prefix):
                    pools[prefix] += ours.pop(kind)
        assert ours == fixed
        assert pools["transfer"] <= CONCURRENCY  # the client's one pool (api.pool)
        assert pools["ThreadPoolExecutor"] <= SCHEDULER_POOL  # APScheduler runs its jobs there


def test_one_emitter_gives_each_mapping_its_own_changes_and_an_overflow_a_full_cycle(
        tmp_path: Path, local_server: RunningServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent

    monkeypatch.setenv(KEY_ENV, "sk-test-not-a-secret")
    count = 8
    with _running(tmp_path, local_server, count, "c") as (daemon, listed):
        assert daemon._shared_watch is not None
        for i in range(count):
            (tmp_path / f"c{i:02d}" / f"new-{i}.txt").write_text("new\n")
        want = {f"c{i:02d}": {"f0.txt", "f1.txt", f"new-{i}.txt"} for i in range(count)}
        wait_for(lambda: listed() == want, "each change in its own mapping's container only")
        fulls = {w.name: w.snapshot()["cycles"]
                 for w in daemon.workers}
        # the kernel's overflow record (events were lost): every root rescans in full
        daemon._shared_watch._fd.handle_event(
            InotifyEvent(-1, InotifyConstants.IN_Q_OVERFLOW, 0, b""))
        wait_for(lambda: all(w.snapshot()["watcher"]["last_rescan_reason"] == "queue-overflow"
                             and w.snapshot()["last_cycle"]["kind"] == "full"
                             and w.snapshot()["cycles"] > fulls[w.name]
                             for w in daemon.workers), "a full cycle of every mapping")
