"""The shared idle budget (``idle_requests_per_minute``) never starves a keep-alive: with a
budget far too small for the pulls, pull checks stop while keep-alives go on, and the
container outlives several expiry windows of the backend's clock.

A real daemon subprocess against a served local backend; time is the backend's clock,
moved with ``advance_clock``: no sleeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from containersync.localapi.embedded import RunningServer
from support.daemon_harness import DaemonRun, wait_for

WINDOW_S = 20 * 60


def _cost(run: DaemonRun) -> dict[str, Any]:
    cost: dict[str, Any] = run.status()["cost"]
    return cost


def test_a_starved_budget_stops_pulls_but_never_keepalives(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    # a tenth of a request a minute: after the first cycles, no pull is ever paid for
    run = DaemonRun(tmp_path, local_server, daemon={
        "idle_requests_per_minute": 0.1, "keepalive_interval_seconds": 0.2,
        "full_sync_interval_seconds": 3600, "keepalive_idle_limit_seconds": 0})
    (run.local / "a.txt").write_text("a")
    runs.append(run.start())
    cid = run.container_id()
    run.wait_remote(lambda r: len(r) == 1, "the first sync")
    wait_for(lambda: _cost(run)["keepalives_today"], "a first keep-alive")
    pulled: object = "not yet"
    for step in range(6):  # 30 minutes of server time: one and a half windows
        if step == 3:  # by now keep-alives took the bucket below zero: no pull is paid
            pulled = run.daemon()["last_pull_check"]
        before = _cost(run)["kept_alive_today_s"]
        local_server.advance_clock(300)
        wait_for(lambda before=before: _cost(run)["kept_alive_today_s"] >= before + 290,
                 f"a keep-alive after step {step}")
        assert local_server.store.get_container(cid)["status"] == "running"
    assert _cost(run)["kept_alive_today_s"] >= 6 * 290
    assert run.daemon()["last_pull_check"] == pulled  # the pulls waited for the budget
    assert run.stop() == 0
