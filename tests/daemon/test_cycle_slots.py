"""Many mappings in one daemon: their workers take turns on a few runner threads (the
cycle slots), so only that many act at once (each with its transfer threads and index writes), every mapping still gets
through its first sync, and no mapping ever runs two steps at once.

Real workers in this process against a served local backend (answers slowed with
``delay_ms`` so cycles overlap), real folders, a real index and real watchdog; the
sampling below only counts, it asserts no timing.
"""

from __future__ import annotations

import time
from pathlib import Path

from containersync.config import load_config
from containersync.daemon.runners import Runners
from containersync.daemon.worker import MappingWorker
from containersync.engine.session import open_session
from containersync.localapi.embedded import RunningServer
from support.backend import clear_faults, inject_fault
from support.contexts import many_mappings

KEY_ENV = "CONTAINERSYNC_TEST_KEY"
MAPPINGS, FILES, SLOTS = 8, 4, 2


def test_mappings_share_the_cycle_slots_and_each_has_one_writer(
        tmp_path: Path, local_server: RunningServer) -> None:
    cfg = load_config(many_mappings(tmp_path, local_server.base_url, KEY_ENV, mappings=MAPPINGS,
                                   files=FILES, daemon="pull_interval_seconds = 0.5")).config
    inject_fault(local_server, when="pass", delay_ms=40, times=100_000)
    session = open_session(cfg, {KEY_ENV: "sk-test-not-a-secret"})
    runners = Runners(session.open_index, SLOTS)
    workers = [MappingWorker(session, m, cfg.daemon, runners=runners) for m in cfg.mappings]
    most = 0
    try:
        runners.start()
        for w in workers:
            w.start()
        while not all(w.first_attempt.is_set() for w in workers):
            most = max(most, sum(w.acting for w in workers))
            time.sleep(0.001)
        assert 1 <= most <= SLOTS and runners.most_at_once <= SLOTS
        assert not [w.name for w in workers if w.snapshot()["state"] == "crashed"]
        for i in range(MAPPINGS):  # every mapping got its container and its first sync
            [container] = [c for c in session.client.list_containers() if c.name == f"containersync-m{i:02d}"]
            files = list(session.client.list_files(container.id))
            assert len([f for f in files if f.path.endswith(".txt")]) == FILES
    finally:
        clear_faults(local_server)
        for w in workers:
            w.request_stop()
        assert all(w.join(30) for w in workers)
        assert runners.stop(30)
        session.close()
