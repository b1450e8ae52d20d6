"""The daemon's state files under trouble: a write that keeps failing is told once per
streak, and what a killed writer left behind is swept, and nothing else.

The failing write is injected at the write call (``StateWriter``'s ``write``): every tick
is counted here without waiting for one. The same on a real full disk, with the real
daemon and its log: ``tests/e2e/test_daemon_state.py``.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any

from containersync.daemon.state import (
    STALE_AFTER_S,
    StateWriter,
    WriteTrouble,
    read_state,
    write_state,
)

FULL = OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_keeps_failing_is_told_once_and_its_end_once(tmp_path: Path) -> None:
    full = [True]
    attempts: list[str] = []

    def write(state_dir: Path, mapping: str, data: dict[str, Any]) -> None:
        attempts.append(mapping)
        if full[0]:
            raise FULL
        write_state(state_dir, mapping, data)

    told: list[WriteTrouble] = []
    states = StateWriter(tmp_path, write=write, report=told.append)
    for tick in range(10):  # ten ticks of a full disk, the state changing at each
        assert not states.update("a", {"state": "syncing", "queue": tick})
        assert not states.update("b", {"state": "watching"})
    assert told == [WriteTrouble("a", str(FULL), 1, over=False),
                    WriteTrouble("b", str(FULL), 1, over=False)]
    assert attempts.count("a") == attempts.count("b") == 10  # still tried every tick
    full[0] = False
    assert states.update("a", {"state": "watching", "queue": 0})
    assert read_state(tmp_path, "a")["queue"] == 0  # type: ignore[index]
    assert told[2:] == [WriteTrouble("a", str(FULL), 10, over=True)]
    full[0] = True
    assert not states.update("a", {"state": "syncing", "queue": 1})  # a new streak
    assert not states.update("b", {"state": "watching"})  # b's goes on: not told again
    assert told[3:] == [WriteTrouble("a", str(FULL), 1, over=False)]


def test_a_failed_write_is_not_taken_for_the_state_on_disk(tmp_path: Path) -> None:
    """The same data offered again after a failure is written (not skipped as unchanged)."""
    (tmp_path / "daemon").write_text("a file where the folder should be")
    told: list[WriteTrouble] = []
    states = StateWriter(tmp_path, report=told.append)
    assert not states.update("m", {"state": "watching"})
    assert [t.over for t in told] == [False]
    (tmp_path / "daemon").unlink()
    assert states.update("m", {"state": "watching"})
    assert read_state(tmp_path, "m")["state"] == "watching"  # type: ignore[index]
    assert [t.over for t in told] == [False, True]


def _aged(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)
    return path


def _file(path: Path, text: str, age: float) -> Path:
    path.write_text(text)
    return _aged(path, age)


def test_a_writer_sweeps_the_temp_files_a_killed_writer_left_and_nothing_else(
        tmp_path: Path) -> None:
    folder = tmp_path / "daemon"
    folder.mkdir()
    old = STALE_AFTER_S * 2
    write_state(tmp_path, "m", {"state": "watching"})
    # killed between its mkstemp and its replace
    left = _file(folder / ".state-k3x_9qzb", '{"state": "sync', old)
    outside = _file(tmp_path / "elsewhere.txt", "not in the state folder", old)
    (folder / ".state-dir12345").mkdir()
    (folder / ".state-lnk12345").symlink_to(outside)
    kept = {
        "another writer's, in progress (a mirror's)": _file(folder / ".state-a1b2c3d4", "{", 0),
        "the user's": _file(folder / "notes.txt", "mine", old),
        "another name": _file(folder / ".state-backup.json", "mine too", old),
        "a folder": _aged(folder / ".state-dir12345", old),
        "a link": _aged(folder / ".state-lnk12345", old),
    }

    if os.geteuid() == 0:  # as root a file can belong to someone else
        kept["another user's"] = _file(folder / ".state-nobody12", "{", old)
        os.chown(kept["another user's"], 65534, -1)

    StateWriter(tmp_path)

    assert not left.exists()
    for what, path in kept.items():
        assert path.is_symlink() or path.exists(), f"swept {what}: {path.name}"
    assert outside.read_text() == "not in the state folder"
    assert read_state(tmp_path, "m")["state"] == "watching"  # type: ignore[index]
