"""The runner threads that take every mapping's turns (``daemon.runners``), and what the
worker thread used to give for free: one writer per mapping, a heartbeat that tells a
stuck cycle from an idle mapping, ``sync_now`` futures resolved, stop and join.

The pool is exercised with a small ``Turnable`` (the protocol's smallest honest
implementation, counting overlaps) and with real ``MappingWorker``s against a served
local backend, with an injected clock for the heartbeat; nothing asserts a timing.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from containersync.config import load_config
from containersync.daemon.idle_work import IdleWork
from containersync.daemon.runners import Runners
from containersync.daemon.worker import TICK_S, MappingWorker, next_wake
from containersync.engine.session import open_session
from containersync.index.store import Index
from containersync.localapi.embedded import RunningServer
from containersync.plan.idle_budget import IdleBudget, TokenBucket
from support.backend import clear_faults, inject_fault
from support.daemon_harness import wait_for

KEY_ENV = "CONTAINERSYNC_TEST_KEY"


class Counting:
    """A turn that wakes itself while it runs (as a watcher event or ``trigger()`` would)
    the first ``rewakes`` times, and notes any turn running beside another of its own."""

    def __init__(self, name: str, runners: Runners, rewakes: int) -> None:
        self.name, self._runners, self._rewakes = name, runners, rewakes
        self.turns, self.overlaps, self.in_turn = 0, 0, False
        self.done = threading.Event()

    def turn(self, open_index: Callable[[], Index]) -> float | None:
        if self.in_turn:
            self.overlaps += 1
        self.in_turn = True
        try:
            open_index()  # the runner's own connection, on the runner's thread
            self.turns += 1
            if self.turns <= self._rewakes:
                self._runners.wake(self)  # made due while running
                return math.inf
            self.done.set()
            return None
        finally:
            self.in_turn = False

    def turn_crashed(self, exc: BaseException) -> None:
        raise AssertionError(exc)


def test_a_wake_while_a_turn_runs_gives_one_more_turn_never_a_second_beside_it(
        tmp_path: Path) -> None:
    runners = Runners(lambda: Index.open(tmp_path / "i.db"), 3)
    runners.start()
    subjects = [Counting(f"m{i}", runners, rewakes=50) for i in range(12)]
    try:
        for s in subjects:
            runners.add(s)
        for s in subjects:
            assert s.done.wait(60)
    finally:
        assert runners.stop(30)
    assert [(s.turns, s.overlaps) for s in subjects] == [(51, 0)] * 12
    assert 1 <= runners.most_at_once <= 3


def test_the_next_wake_is_the_earliest_deadline_or_a_poll_while_the_user_must_act() -> None:
    assert next_wake(10.0, deadlines=[None, None, None], poll=False) == math.inf
    assert next_wake(10.0, deadlines=[12.0, None, 11.0], poll=False) == 11.0
    assert next_wake(10.0, deadlines=[None, 70.0, None], poll=True) == 10.0 + TICK_S


def _worker(tmp_path: Path, server: RunningServer, clock: Callable[[], float]
            ) -> tuple[MappingWorker, Runners, object]:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "a.txt").write_text("a\n")
    config = tmp_path / "config.toml"
    config.write_text("\n".join([
        "[api]", f'base_url = "{server.base_url}"', f'api_key_env = "{KEY_ENV}"',
        "[state]", f'dir = "{tmp_path / "state"}"',
        "[[mappings]]", 'name = "m"', f'local = "{folder}"']) + "\n")
    cfg = load_config(config).config
    session = open_session(cfg, {KEY_ENV: "sk-test-not-a-secret"})
    runners = Runners(session.open_index, 2, clock=clock)
    runners.start()
    worker = MappingWorker(session, cfg.mappings[0], cfg.daemon, clock=clock, runners=runners)
    return worker, runners, session


def test_an_idle_mapping_beats_and_a_cycle_that_stops_progressing_does_not(
        tmp_path: Path, local_server: RunningServer) -> None:
    now = [1000.0]
    worker, runners, session = _worker(tmp_path, local_server, lambda: now[0])
    try:
        worker.start()
        assert worker.first_attempt.wait(60)
        wait_for(lambda: not worker.acting and worker.snapshot()["state"] == "watching",
                 "the first sync's turn to end")
        now[0] += 10_000  # hours without a turn: waiting for a wake is not being stuck
        assert worker.heartbeat == now[0] and worker.alive
        # a full cycle whose listing hangs: no progress is reported while it waits
        inject_fault(local_server, when="pass", method="GET", path_regex=r"/files$", delay_ms=4000,
                     times=1)
        future = worker.sync_now()
        wait_for(lambda: worker.acting, "the cycle to start")
        beat = worker.heartbeat
        now[0] += 500
        assert worker.heartbeat == beat <= now[0] - 500  # stale: the watchdog would see it
        assert future.result(60).container_id  # the future gets the cycle's report
        assert worker.heartbeat == now[0]
    finally:
        clear_faults(local_server)
        worker.request_stop()
        assert worker.join(30)
        assert not worker.alive and worker.snapshot()["state"] == "stopped"
        assert runners.stop(30)
        session.close()  # type: ignore[attr-defined]


def test_a_stopped_mapping_fails_the_sync_now_it_can_no_longer_answer(
        tmp_path: Path, local_server: RunningServer) -> None:
    worker, runners, session = _worker(tmp_path, local_server, lambda: 0.0)
    try:
        worker.start()
        assert worker.first_attempt.wait(60)
        worker.request_stop()
        assert worker.join(30)
        late = worker.sync_now()
        assert late.exception(10) is not None
    finally:
        assert runners.stop(30)
        session.close()  # type: ignore[attr-defined]


@contextmanager
def _three_on_one_runner(tmp_path: Path, server: RunningServer,
                         idle: IdleWork | None = None) -> Iterator[list[MappingWorker]]:
    """Three mappings' started workers taking turns on one runner (reporting to ``idle``
    when given); stopped, with their runner and session, at the end."""
    lines = ["[api]", f'base_url = "{server.base_url}"', f'api_key_env = "{KEY_ENV}"',
             "[state]", f'dir = "{tmp_path / "state"}"']
    for i in range(3):
        (tmp_path / f"m{i}").mkdir()
        (tmp_path / f"m{i}" / "a.txt").write_text(f"{i}\n")
        lines += ["[[mappings]]", f'name = "m{i}"', f'local = "{tmp_path / f"m{i}"}"']
    (tmp_path / "config.toml").write_text("\n".join(lines) + "\n")
    cfg = load_config(tmp_path / "config.toml").config
    session = open_session(cfg, {KEY_ENV: "sk-test-not-a-secret"})
    runners = Runners(session.open_index, 1)
    runners.start()
    workers = [MappingWorker(session, m, cfg.daemon, runners=runners) for m in cfg.mappings]
    try:
        for w in workers:
            if idle is not None:
                idle.add(w.name)
                w.use_idle_work(idle)
            w.start()
        wait_for(lambda: all(w.snapshot()["keepalives"] == 1 for w in workers),
                 "every mapping's first keep-alive")
        yield workers
    finally:
        for w in workers:
            w.request_stop()
        assert all(w.join(30) for w in workers)
        assert runners.stop(30)
        session.close()


def test_a_first_sync_keeps_its_keepalive_in_the_same_turn_not_behind_every_other_mapping(
        tmp_path: Path, local_server: RunningServer) -> None:
    """One runner, three mappings: each first sync's keep-alive (a follow-up the step
    queued for itself) runs before the next mapping's first sync, as the mapping's own
    thread did; behind every other due mapping, the last of 200 mappings' keep-alives
    came minutes after start-up."""
    with _three_on_one_runner(tmp_path, local_server) as workers:
        snaps = [w.snapshot() for w in workers]
        for before, after in itertools.pairwise(snaps):
            assert before["last_keepalive"] < after["last_cycle"]["at"]


def test_first_sync_keepalives_leave_the_idle_budget_to_pulls(
        tmp_path: Path, local_server: RunningServer) -> None:
    """The keep-alive each first sync queues (to learn the container's expiry) is start-up
    work, not idle work: charged to the shared budget, 200 of them left it ~185 requests
    short and no mapping pulled for the next two minutes (the many-mappings bench row
    measured 0 idle requests a minute). Here a budget with a burst of two and three first
    syncs, and pulls stretched to the 5 s cap (as 200 mappings stretch theirs to 60 s): the
    first pulls it owes are granted when due, not after the bucket repays the keep-alives."""
    now = [0.0]
    idle = IdleWork(IdleBudget(TokenBucket(6, 2), base_s=5, cap_s=5, full_s=600, active_s=1),
                    clock=lambda: now[0])
    with _three_on_one_runner(tmp_path, local_server, idle):
        now[0] = 5.0  # every mapping's first pull is due (the capped interval)
        assert [kind for kind, _name in idle.due()] == ["pull", "pull"]  # the burst
