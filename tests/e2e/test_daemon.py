"""`containersync daemon` end to end: a real subprocess against a served local backend.

What a user would see is asserted: the container's listing (read from the backend's store
without counting as activity), the local folder, `containersync status` data, the exit
code, systemd notifications on a real datagram socket. Time: the backend's clock is moved
(``advance_clock``) for expiry; the daemon's own timers are set short in the test config.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from containersync.localapi.embedded import RunningServer, start_server
from support.backend import add_assistant_file
from support.daemon_harness import DaemonRun, free_port, wait_for


def test_local_changes_reach_the_container_and_sigterm_drains(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    (run.local / "keep.txt").write_text("keep")
    (run.local / "old-name.txt").write_text("rename me")
    (run.local / "doomed.txt").write_text("delete me")
    # untouched files, so that a rename the watcher reports as a delete and a later create
    # (two cycles on a slow machine) never makes two deletions of few tracked files, which
    # the max-delete rail rightly halts on
    for i in range(4):
        (run.local / f"still-{i}.txt").write_text(f"untouched {i}")
    runs.append(run.start(notify=True))
    run.wait_remote(lambda r: {"keep.txt", "old-name.txt", "doomed.txt"} <= set(r),
                    "the first sync")
    wait_for(lambda: "READY=1" in run.notify.drain(), "READY=1")  # type: ignore[union-attr]

    (run.local / "new.txt").write_text("created")
    (run.local / "keep.txt").write_text("keep, modified")
    (run.local / "doomed.txt").unlink()
    (run.local / "old-name.txt").rename(run.local / "new-name.txt")
    tmp = run.local / ".report.txt.swp"  # an editor's atomic save: temp, then rename over
    tmp.write_text("saved atomically")
    os.replace(tmp, run.local / "report.txt")
    remote = run.wait_remote(
        lambda r: r.get("keep.txt") == b"keep, modified" and "doomed.txt" not in r
        and "old-name.txt" not in r and r.get("new-name.txt") == b"rename me"
        and r.get("new.txt") == b"created" and r.get("report.txt") == b"saved atomically",
        "create, modify, delete, rename and atomic save to reach the container")
    assert not any(".swp" in p for p in remote)

    burst = run.local / "burst"
    burst.mkdir()
    for i in range(1000):
        (burst / f"f{i:04d}.txt").write_text(f"file {i}")
    remote = run.wait_remote(
        lambda r: sum(p.startswith("burst/") for p in r) == 1000, "1,000 new files", 90)
    assert remote["burst/f0999.txt"] == b"file 999"

    # status works while the daemon runs, as a separate process, as JSON; the last uploads
    # are visible in the container a moment before their intents are cleared
    wait_for(lambda: run.status()["pending_intents"] == 0, "the burst's intents cleared")
    out = subprocess.run([sys.executable, "-m", "containersync", "status", "--config",
                          str(run.config), "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)["mappings"][0]
    assert status["daemon"]["running"] is True
    assert status["container"]["id"].startswith("cntr_")
    assert status["container"]["generation"] == 1
    assert status["pending_intents"] == 0 and status["halt"] is None

    # a concurrent one-shot sync refuses: the daemon holds the mapping
    out = subprocess.run([sys.executable, "-m", "containersync", "sync", "--config",
                          str(run.config)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "CONTAINERSYNC_TEST_KEY": "x"})
    assert out.returncode != 0 or "in use by containersync daemon" in out.stdout
    assert "in use by containersync daemon" in out.stdout + out.stderr

    assert run.stop() == 0
    assert "STOPPING=1" in run.notify.lines  # type: ignore[union-attr]
    assert run.status()["daemon"]["running"] is False
    assert sorted(p.name for p in run.local.iterdir()) == [
        "burst", "keep.txt", "new-name.txt", "new.txt", "report.txt",
        *(f"still-{i}.txt" for i in range(4))]


def test_assistant_files_reach_the_folder_and_a_conflict_keeps_both(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    (run.local / "notes.md").write_text("v1")
    runs.append(run.start())
    cid = run.container_id()
    run.wait_remote(lambda r: "notes.md" in r, "the first sync")

    exec_cmd = [sys.executable, "-m", "containersync", "local", "exec", cid, "--base-url",
                local_server.base_url, "--", "sh", "-c",
                "mkdir -p /mnt/data/out && echo 'from the assistant' > /mnt/data/out/result.txt"]
    done = subprocess.run(exec_cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = run.local / "out" / "result.txt"
    wait_for(lambda: result.exists() and result.read_text() == "from the assistant\n",
             "the assistant's file in the folder")

    # both sides change notes.md before the daemon sees either: pulls are slow here, and
    # the local edit's cycle sees the remote one too
    add_assistant_file(local_server, cid, "/mnt/data/notes.md", b"assistant version")
    (run.local / "notes.md").write_text("my version")
    copies = wait_for(lambda: sorted(run.local.glob("notes.conflict-*.md")), "a conflict copy")
    assert copies[0].read_text() == "assistant version"
    assert (run.local / "notes.md").read_text() == "my version"
    run.wait_remote(lambda r: r.get("notes.md") == b"my version", "the local version pushed")
    status = wait_for(lambda: (lambda s: s if s["conflicts"] else None)(run.status()),
                      "the conflict in status")
    assert status["conflicts"][0]["path"] == "notes.md"
    assert run.stop() == 0


@pytest.mark.slow
def test_keepalive_holds_the_container_then_idle_lets_it_expire_and_nothing_is_lost(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server, container={"expires_after_minutes": 1}, daemon={
        "keepalive_interval_seconds": 0.2, "pull_interval_seconds": 3600,
        "idle_pull_interval_seconds": 3600, "full_sync_interval_seconds": 3600,
        "keepalive_idle_limit_seconds": 10})
    for i in range(3):
        (run.local / f"doc{i}.txt").write_text(f"doc {i}")
    runs.append(run.start())
    cid = run.container_id()
    run.wait_remote(lambda r: len(r) == 3, "the first sync")
    for _ in range(5):  # 250 s of server time with a 60 s expiry window
        seen = run.daemon()["keepalives"]
        local_server.advance_clock(50)
        wait_for(lambda seen=seen: run.daemon()["keepalives"] > seen + 1,
                 "keep-alives after moving the clock")
        assert local_server.store.get_container(cid)["status"] == "running"

    wait_for(lambda: run.daemon()["idle"], "the idle limit", 20)
    local_server.advance_clock(61)
    assert local_server.store.get_container(cid)["status"] == "expired"

    (run.local / "after-idle.txt").write_text("back to work")
    new_cid = wait_for(lambda: (lambda c: c if c and c != cid else None)(
        run.status()["container"]["id"]), "a new container")
    remote = run.wait_remote(lambda r: len(r) == 4, "a re-seeded container", 30,
                             cid=new_cid)
    assert remote["doc0.txt"] == b"doc 0" and remote["after-idle.txt"] == b"back to work"
    assert run.status()["container"]["generation"] == 2
    assert sorted(p.name for p in run.local.iterdir()) == [
        "after-idle.txt", "doc0.txt", "doc1.txt", "doc2.txt"]
    assert new_cid != cid
    assert run.stop() == 0


@pytest.mark.slow
def test_expired_container_is_replaced_without_deleting_local_files(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server, daemon={"keepalive_interval_seconds": 0.3})
    for i in range(4):
        (run.local / f"f{i}.txt").write_text(str(i))
    runs.append(run.start())
    cid = run.container_id()
    run.wait_remote(lambda r: len(r) == 4, "the first sync")
    local_server.advance_clock(21 * 60)  # past the 20-minute window in one jump
    new_cid = wait_for(lambda: (lambda c: c if c and c != cid else None)(
        run.status()["container"]["id"]), "a new generation")
    # the container is named once: re-reading it from `status` on every poll could return
    # the expired one again (the daemon's state file lags the index by up to a tick)
    run.wait_remote(lambda r: len(r) == 4, "re-seeded", 30, cid=new_cid)
    assert sorted(p.name for p in run.local.iterdir()) == [f"f{i}.txt" for i in range(4)]
    # .get: until the daemon's first state write, status shows it as not (yet) running
    status = wait_for(lambda: (lambda s: s if s["daemon"].get("last_replacement") else None)(
        run.status()), "the replacement in status")
    assert status["daemon"]["last_replacement"]["old_container"] == cid
    assert status["daemon"]["last_replacement"]["container"] == new_cid
    assert "container replaced" in run.log()
    assert run.stop() == 0


@pytest.mark.slow
def test_server_outage_loses_nothing(
        tmp_path: Path, local_server_factory: object, runs: list[DaemonRun]) -> None:
    port = free_port()
    data = tmp_path / "backend"
    server = start_server(data, port=port)
    try:
        run = DaemonRun(tmp_path, server)
        (run.local / "before.txt").write_text("before")
        (run.local / "gone-while-down.txt").write_text("x")
        runs.append(run.start())
        cid = run.container_id()
        run.wait_remote(lambda r: len(r) == 2, "the first sync")
        server.stop()

        (run.local / "during.txt").write_text("written during the outage")
        (run.local / "gone-while-down.txt").unlink()
        wait_for(lambda: run.status()["daemon"].get("error"), "the outage in status")
        assert run.proc is not None and run.proc.poll() is None

        server = start_server(data, port=port)
        run.server = server
        remote = run.wait_remote(lambda r: set(r) == {"before.txt", "during.txt"},
                                 "catching up after the outage", 90)
        assert remote["during.txt"] == b"written during the outage"
        assert run.container_id() == cid
        wait_for(lambda: run.status()["daemon"].get("error") is None, "the error cleared")
        assert run.stop() == 0
    finally:
        server.stop()


def test_watch_limit_falls_back_to_polling_and_status_says_why(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    """A real, lowered kernel limit: the daemon runs in its own user namespace whose
    ``user.max_inotify_watches`` is 2, so the tree's third folder cannot be watched."""
    unshare = shutil.which("unshare")
    probe = unshare and subprocess.run(
        [unshare, "--user", "--map-root-user", "sh", "-c",
         "echo 2 > /proc/sys/user/max_inotify_watches"], capture_output=True)
    if not probe or probe.returncode != 0:
        pytest.skip("needs unshare with user namespaces and a writable user.max_inotify_watches")
    run = DaemonRun(tmp_path, local_server, daemon={"poll_interval_seconds": 0.2})
    for d in ("a", "b", "c/d"):
        (run.local / d).mkdir(parents=True)
        (run.local / d / "x.txt").write_text(d)
    prefix = [unshare, "--user", "--map-root-user", "sh", "-c",
              'echo 2 > /proc/sys/user/max_inotify_watches && exec "$@"', "sh"]
    runs.append(run.start(prefix=prefix))
    run.wait_remote(lambda r: len(r) == 3, "the first sync")
    status = wait_for(lambda: (lambda s: s if s["daemon"].get("watcher") else None)(
        run.status()), "the watcher in status")
    assert status["daemon"]["watcher"] == "polling"
    assert "sysctl fs.inotify.max_user_watches" in status["daemon"]["watcher_degraded"]
    (run.local / "c" / "d" / "y.txt").write_text("seen by polling")
    run.wait_remote(lambda r: r.get("c/d/y.txt") == b"seen by polling", "a polled change")
    assert "inotify watch limit" in run.log()
    assert run.stop() == 0


def test_sighup_keeps_running_on_a_bad_config_and_applies_a_good_one(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    (run.local / "a.txt").write_text("a")
    runs.append(run.start())
    run.wait_remote(lambda r: "a.txt" in r, "the first sync")
    cid = run.container_id()
    good = run.config.read_text()
    assert run.proc is not None
    run.config.write_text(good + "\n[daemon]\nno_such_key = 1\n")
    run.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in run.log(), "the refusal in the log")
    (run.local / "b.txt").write_text("b")
    run.wait_remote(lambda r: "b.txt" in r, "the old config still syncing", cid=cid)

    run.config.write_text(good.replace("debounce_ms = 50", "debounce_ms = 60"))
    run.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reloading the configuration" in run.log(), "the reload")
    wait_for(lambda: run.log().count("daemon started") == 2, "workers restarted")
    (run.local / "c.txt").write_text("c")
    run.wait_remote(lambda r: "c.txt" in r, "syncing under the new config")
    assert run.stop() == 0


def test_invalid_config_exits_78(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[daemon]\ndebounce_ms = "soon"\n')
    done = subprocess.run([sys.executable, "-m", "containersync", "daemon", "--config",
                           str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 78
    assert "debounce_ms" in done.stderr


def test_a_pull_that_brought_something_looks_again_at_once(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    """The assistant writes in bursts: after a cycle that found new objects the daemon
    checks the container again at once, not after the pull interval (an hour here)."""
    hour = {"pull_interval_seconds": 3600, "idle_pull_interval_seconds": 3600}
    run = DaemonRun(tmp_path, local_server, daemon=hour)
    runs.append(run.start())
    run.wait_ready()
    add_assistant_file(local_server, run.container_id(), "/mnt/data/made.txt", b"made")
    (run.local / "mine.txt").write_text("mine")  # its cycle's check finds made.txt
    wait_for(lambda: (run.local / "made.txt").exists(), "the assistant's file pulled")

    def checked_after_the_pull() -> bool:
        files = list((run.state / "daemon").glob("*.json"))  # the daemon's own state
        d = json.loads(files[0].read_text()) if files else {}
        cycle = d.get("last_cycle") or {}
        return bool(cycle) and (d.get("last_pull_check") or 0) > cycle["at"]

    wait_for(checked_after_the_pull, "a pull check after the cycle that pulled")
    assert (run.local / "made.txt").read_bytes() == b"made"
