"""``status --check`` exits non-zero for monitoring (3 halted, 1 conflicts or problems), and
``sync --dry-run`` runs while another process (the daemon) holds the mapping's lock: it
writes nothing, so it takes no lock."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from containersync import cli
from containersync.config import load_config, mapping_identity
from containersync.index.lock import MappingLock
from containersync.localapi.embedded import RunningServer
from support.scenario import KEY_ENV, MAPPING, World, _environ


def _check(world: World) -> int:
    with _environ({KEY_ENV: "sk-unused"}), contextlib.redirect_stdout(io.StringIO()):
        return cli.main(["status", "--config", str(world.config), "--check"])


def test_status_check_is_zero_when_clean_one_on_conflicts_three_when_halted(
        local_server: RunningServer, tmp_path: Path) -> None:
    world = World(local_server, tmp_path)
    world.write({"report.csv": "v1", "other.txt": "o"})
    assert world.sync().code == 0
    assert _check(world) == 0

    world.write({"report.csv": "mine"})
    world.assistant_changes({"report.csv": "theirs"})
    assert world.sync().counts["conflicts"] == 1
    assert _check(world) == 1

    world.assistant("rm -rf ./* /mnt/data/*")
    assert world.sync().code == 3
    assert _check(world) == 3


def test_dry_run_works_while_the_lock_is_held(local_server: RunningServer,
                                              tmp_path: Path) -> None:
    world = World(local_server, tmp_path)
    world.write({"a.txt": "a"})
    assert world.sync().code == 0
    world.write({"b.txt": "b"})
    cfg = load_config(world.config).config
    key = mapping_identity(cfg, cfg.mapping(MAPPING)).key  # what the lock file is named by
    with MappingLock(world.state, key, purpose="containersync daemon"):
        dry = world.sync("--dry-run")
        assert dry.code == 0, dry.err
        assert [(a["action"], a["path"]) for a in dry.m["plan"]] == [("Upload", "b.txt")]
        real = world.sync()  # a real run still waits its turn
        assert real.code == 1 and real.m["status"] == "locked"
    assert world.sync().counts["uploaded"] == 1
