"""An unusable state dir or index ends in one line, not a traceback (issue 8.7, 8.5).

- the state dir is a file: exit 78, naming it;
- the index is read-only (a read-only mount, so it holds for root too): exit 78;
- the state dir's disk is full (a tiny tmpfs; the lock file on ``/dev/full``): exit 1;
- the state dir is 0700 and the index, its side files and the lock files 0600 under a
  permissive umask.

The mounts happen inside ``unshare -m`` (a private mount namespace), so nothing outside the
test's own process tree sees them; without that privilege those cases are skipped.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess as sp
import sys

import pytest

from support.scenario import KEY_ENV, World

NO_TRACEBACK = "Traceback"


def _can_mount() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    done = sp.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                   "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True, check=False)
    return done.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs root and unshare -m")


def _sync_in_namespace(world: World, script: str) -> sp.CompletedProcess[str]:
    """Run ``script`` (with $SYNC, the CLI call) in a private mount namespace."""
    sync = f"{sys.executable} -m containersync sync --config {world.config}"
    env = {**os.environ, KEY_ENV: "sk-unused", "SYNC": sync, "STATE": str(world.state)}
    return sp.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                  capture_output=True, text=True, env=env, timeout=120, check=False)


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_state_dir_that_is_a_file_is_78(world: World) -> None:
    world.write({"a.txt": "a"})
    world.state.write_text("not a folder")
    result = world.sync(subprocess=True, json_out=False)
    assert result.code == 78, result.err
    assert NO_TRACEBACK not in result.err
    line = _one_line(result.err)
    assert str(world.state) in line and "not a folder" in line


@needs_mount
def test_read_only_index_is_78(world: World) -> None:
    world.write({"a.txt": "a"})
    world.state.mkdir()
    done = _sync_in_namespace(world, 'mount -t tmpfs tmpfs "$STATE" && $SYNC >/dev/null 2>&1 && '
                                     'mount -o remount,ro "$STATE" && $SYNC')
    assert done.returncode == 78, done.stderr
    assert NO_TRACEBACK not in done.stderr
    line = _one_line(done.stderr)
    assert "index.sqlite3" in line or str(world.state) in line
    assert "writable" in line


@needs_mount
def test_full_state_dir_is_1(world: World) -> None:
    world.write({f"f{i}.txt": "x" * 100 for i in range(50)})
    world.state.mkdir()
    done = _sync_in_namespace(world, 'mount -t tmpfs -o size=64k tmpfs "$STATE" && '
                                     'dd if=/dev/zero of="$STATE/filler" bs=4k 2>/dev/null; '
                                     '$SYNC')
    assert done.returncode == 1, done.stderr
    out = done.stdout + done.stderr
    assert NO_TRACEBACK not in out
    assert "full" in out or "no space left" in out.lower(), out


@needs_mount
def test_lock_file_on_a_full_disk_is_1(world: World) -> None:
    world.write({"a.txt": "a"})
    (world.state / "locks").mkdir(parents=True)
    done = _sync_in_namespace(world, 'mount -t tmpfs -o size=4k tmpfs "$STATE/locks" && '
                                     'dd if=/dev/zero of="$STATE/locks/filler" bs=4k '
                                     '2>/dev/null; $SYNC')
    assert done.returncode == 1, done.stderr
    out = done.stdout + done.stderr
    assert NO_TRACEBACK not in out
    assert "no space left" in out.lower() and ".lock" in out


def test_state_files_are_private_whatever_the_umask(world: World) -> None:
    world.write({"a.txt": "a"})
    old = os.umask(0)
    try:
        result = world.sync(subprocess=True)
    finally:
        os.umask(old)
    assert result.code == 0, result.err
    assert stat.S_IMODE(world.state.stat().st_mode) == 0o700
    assert stat.S_IMODE((world.state / "locks").stat().st_mode) == 0o700
    files = [world.index_file, *world.state.glob("locks/*.lock"),
             *world.state.glob("index.sqlite3-*")]
    assert len(files) >= 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_open_state_dir_from_an_older_version_is_tightened(world: World) -> None:
    world.write({"a.txt": "a"})
    assert world.sync().code == 0
    world.state.chmod(0o755)
    world.index_file.chmod(0o644)
    assert world.sync().code == 0
    assert stat.S_IMODE(world.state.stat().st_mode) == 0o700
    assert stat.S_IMODE(world.index_file.stat().st_mode) == 0o600
