"""The mapping lock across real processes: refusal with the holder, waiting, no stale locks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from containersync.errors import InvariantViolation, LockedError
from containersync.index import MappingLock

HOLDER = textwrap.dedent("""
    import sys
    from datetime import datetime, timezone
    from pathlib import Path
    from containersync.index import MappingLock
    lock = MappingLock(Path(sys.argv[1]), "analysis", purpose="containersync daemon",
                       clock=lambda: datetime(2026, 11, 23, 10, 15, tzinfo=timezone.utc))
    lock.acquire()
    print("locked", flush=True)
    sys.stdin.readline()
    lock.release()
    print("released", flush=True)
    sys.stdin.readline()
""")


@contextmanager
def holder_process(state: Path) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(state)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        yield child
    finally:
        child.kill()
        child.wait(10)
        for stream in (child.stdout, child.stdin):
            if stream:
                stream.close()


def _tell(child: subprocess.Popen[str]) -> str:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("\n")
    child.stdin.flush()
    return child.stdout.readline().strip()


def test_second_process_is_refused_with_the_holder(tmp_path: Path) -> None:
    with holder_process(tmp_path) as child:
        lock = MappingLock(tmp_path, "analysis", purpose="containersync sync")
        with pytest.raises(LockedError) as info:
            lock.acquire()
        assert str(info.value) == (
            f"mapping 'analysis' is in use by containersync daemon (pid {child.pid}, "
            "since 2026-11-23T10:15:00Z)")
        assert info.value.mapping == "analysis"
        assert not lock.held
        other = MappingLock(tmp_path, "other", purpose="containersync sync")
        with other:  # a different mapping is free
            assert other.held


def test_waiting_acquire_gets_the_lock_once_released(tmp_path: Path) -> None:
    with holder_process(tmp_path) as child:
        lock = MappingLock(tmp_path, "analysis", purpose="containersync sync")
        errors: list[BaseException] = []

        def wait_for_it() -> None:
            try:
                lock.acquire(wait=30)
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=wait_for_it)
        t.start()
        assert _tell(child) == "released"
        t.join(30)
        assert errors == [] and lock.held
        lock.release()


def test_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    with holder_process(tmp_path) as child:
        child.kill()
        child.wait(10)
    with MappingLock(tmp_path, "analysis", purpose="containersync sync") as lock:
        assert lock.held
        assert f'"pid": {os.getpid()}' in lock.path.read_text()


def test_two_locks_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = MappingLock(tmp_path, "analysis", purpose="containersync sync", clock=lambda: at)
    second = MappingLock(tmp_path, "analysis", purpose="containersync daemon")
    with first:
        with pytest.raises(LockedError, match=r"containersync sync \(pid \d+, since "
                                               r"2026-01-02T03:04:05Z\)"):
            second.acquire()
        with pytest.raises(InvariantViolation, match="already held"):
            first.acquire()
    assert first.path.read_text() == ""  # holder info removed on release
    second.acquire()
    second.release()
    second.release()  # releasing twice is harmless


def test_unreadable_holder_info_still_refuses(tmp_path: Path) -> None:
    with holder_process(tmp_path):
        lock_file = tmp_path / "locks" / "analysis.lock"
        lock_file.write_text("garbage")
        with pytest.raises(LockedError, match=r"another process \(holder unknown\)"):
            MappingLock(tmp_path, "analysis", purpose="x").acquire()


def test_mapping_names_that_are_not_file_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvariantViolation):
        MappingLock(tmp_path, "../escape", purpose="x")
