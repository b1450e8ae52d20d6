"""Cost awareness: ``status`` shows the memory tier and how long keep-alives kept the
container alive today; ``keepalive_budget_hours_per_day`` stops keep-alive once that much
was spent, and the next change (not the next poll) starts a new generation.

A real daemon subprocess against a served local backend; time is the backend's clock,
moved with ``advance_clock`` (``/_local/clock/advance``): no sleeps.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest

from containersync import cli
from containersync.localapi.embedded import RunningServer
from support.daemon_harness import DaemonRun, wait_for

WINDOW_S = 20 * 60


def _cost(run: DaemonRun) -> dict[str, Any]:
    cost: dict[str, Any] = run.status()["cost"]
    return cost


def _quiet(d: dict[str, Any]) -> bool:
    last = d.get("last_cycle") or {}
    return bool(d.get("last_pull_check") and last and d["last_pull_check"] > last["at"])


def _status_text(run: DaemonRun) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["status", "--config", str(run.config)]) == 0
    return out.getvalue()


@pytest.mark.slow
def test_status_counts_keepalive_time_and_the_budget_stops_it(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    # keep-alives every 0.2 s are 300 requests a minute, and they are paid from the idle
    # request budget before pulls (never held back): with the default 60 a minute no pull
    # check would ever run, and this test waits for one
    run = DaemonRun(tmp_path, local_server, container={"memory_limit": "4g"}, daemon={
        "keepalive_interval_seconds": 0.2, "full_sync_interval_seconds": 3600,
        "keepalive_idle_limit_seconds": 0, "keepalive_budget_hours_per_day": 0.25,
        "idle_requests_per_minute": 1200})
    (run.local / "a.txt").write_text("a")
    runs.append(run.start())
    cid = run.container_id()
    run.wait_remote(lambda r: len(r) == 1, "the first sync")
    first = wait_for(lambda: (lambda c: c if c["keepalives_today"] else None)(_cost(run)),
                     "a first keep-alive counted")
    assert first["memory_limit"] == "4g" and first["memory_limit_source"] == "config"
    assert first["keepalive_budget_s"] == 900 and not first["keepalive_budget_spent"]

    # a pull check after the last cycle found nothing new: from here only keep-alives touch
    # the container (a cycle's own retrieve would be what kept it alive, not a keep-alive)
    wait_for(lambda: _quiet(run.daemon()), "the daemon done with its first cycles")
    # each 5 minutes of server time a keep-alive holds the container counts as 5 minutes
    steps = 0
    while not _cost(run)["keepalive_budget_spent"]:
        assert steps < 3, _cost(run)
        before = _cost(run)["kept_alive_today_s"]
        local_server.advance_clock(300)
        try:
            wait_for(lambda before=before: _cost(run)["kept_alive_today_s"] >= before + 290,
                     "a keep-alive that bought five minutes")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {_cost(run)} (before: {before})\n"
                                 f"{run.log()[-3000:]}") from None
        assert local_server.store.get_container(cid)["status"] == "running"
        steps += 1
    spent = _cost(run)
    assert steps == 3 and 900 <= spent["kept_alive_today_s"] < 900 + 120
    text = _status_text(run)
    assert "memory 4g" in text and "kept alive 15 min today" in text
    assert "budget 15 min/day, spent" in text

    # keep-alive stopped: the container expires one window later, and polling it is no
    # reason to make a new one
    wait_for(lambda: "keep-alive budget for today is spent" in run.log(), "the budget note")
    local_server.advance_clock(WINDOW_S + 60)
    assert local_server.store.get_container(cid)["status"] == "expired"
    wait_for(lambda: "container expired while the keep-alive budget was spent" in run.log(),
             "the daemon noticing the expiry")
    assert run.status()["container"]["id"] == cid

    # the next change starts a new generation, re-seeded from the folder
    (run.local / "b.txt").write_text("b")
    new_cid = wait_for(lambda: (lambda c: c if c and c != cid else None)(
        run.status()["container"]["id"]), "a new container after the change")
    remote = run.wait_remote(lambda r: len(r) == 2, "the re-seeded container", cid=new_cid)
    assert remote == {"a.txt": b"a", "b.txt": b"b"}
    assert run.status()["container"]["generation"] == 2
    # still the same day: no keep-alive was sent (or counted) after the budget ran out
    assert _cost(run)["keepalives_today"] == spent["keepalives_today"]
    assert run.log().count("keep-alive budget for today is spent") == 1
    assert run.stop() == 0


def test_without_a_budget_status_still_shows_the_tier_and_time(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server, daemon={"keepalive_interval_seconds": 0.2})
    (run.local / "a.txt").write_text("a")
    runs.append(run.start())
    run.container_id()
    cost = wait_for(lambda: (lambda c: c if c["keepalives_today"] else None)(_cost(run)),
                    "a keep-alive counted")
    assert cost["memory_limit"] == "1g" and cost["memory_limit_source"] == "api-default"
    assert cost["keepalive_budget_s"] is None and not cost["keepalive_budget_spent"]
    [line] = [ln for ln in _status_text(run).splitlines() if ln.strip().startswith("cost:")]
    assert "memory 1g (the API's default)" in line and "budget" not in line
    assert run.stop() == 0
