"""A never-synced mapping whose local root is missing or is a file, in the daemon (issue 8
follow-up): one clear error line naming the path and the fix, the mapping halted (no
traceback, no retry loop; ``status`` shows it), the other mappings keep syncing, and when
every mapping is in that state at start-up the daemon exits 78 (``RestartPreventExitStatus``).
Creating the folder lets the halted mapping sync without a restart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from containersync.commands.status import collect
from containersync.config import load_config
from containersync.localapi.embedded import RunningServer
from support.daemon_harness import DaemonRun, wait_for


def _unmade(run: DaemonRun, kind: str) -> None:
    shutil.rmtree(run.local)
    if kind == "a-file":
        run.local.write_text("not a folder")


@pytest.mark.parametrize("kind", ["missing", "a-file"])
def test_every_mapping_unmade_at_start_up_exits_78(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun], kind: str) -> None:
    run = DaemonRun(tmp_path, local_server)
    _unmade(run, kind)
    runs.append(run.start(notify=True))
    assert run.proc is not None
    code = run.proc.wait(30)
    assert code == 78, run.log()
    log = run.log()
    assert "Traceback" not in log
    assert str(run.local) in log and "containersync init" in log
    assert run.log().count("has never synced") == 1
    assert run.notify is not None and "READY=1" not in run.notify.drain()
    assert not run.local.is_dir()  # nothing made
    if kind == "a-file":
        assert run.local.read_text() == "not a folder"


def test_an_unmade_root_halts_only_its_mapping_until_the_folder_exists(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.txt").write_text("a")
    typo = tmp_path / "typo"
    run.config.write_text(run.config.read_text().replace(f'"{run.local}"', f'"{good}"')
                          + f'[[mappings]]\nname = "typo"\nlocal = "{typo}"\n')
    runs.append(run.start())
    run.wait_remote(lambda r: r.get("a.txt") == b"a", "the good mapping synced")
    assert run.proc is not None and run.proc.poll() is None  # the daemon keeps running

    def typo_daemon() -> dict[str, object]:
        found = collect(load_config(run.config).config)["mappings"]
        entry: dict[str, object] = next(m for m in found if m["mapping"] == "typo")["daemon"]
        return entry

    halted = wait_for(lambda: (lambda d: d if d.get("state") == "halted" else None)(
        typo_daemon()), "the typo mapping halted")
    assert str(typo) in str(halted["error"]) and "containersync init" in str(halted["error"])
    log = run.log()
    assert "Traceback" not in log and "cycle failed" not in log
    assert log.count("has never synced") == 1  # said once, not on every retry
    typo.mkdir()
    (typo / "b.txt").write_text("b")
    wait_for(lambda: typo_daemon().get("cycles", 0) >= 1, "the typo mapping synced once made")
    assert run.log().count("has never synced") == 1
    assert run.stop() == 0
