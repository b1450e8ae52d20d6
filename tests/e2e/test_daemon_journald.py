"""The daemon under journald: a real subprocess whose stderr is the stream that
``JOURNAL_STREAM`` names (its real device and inode, as systemd sets it) writes plain
lines with ``<N>`` priorities, so ``journalctl -p warning`` would keep only the warnings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from containersync.localapi.embedded import RunningServer
from support.daemon_harness import KEY_ENV, DaemonRun, wait_for

LINE = re.compile(r"^<([0-7])>([a-z]+(?:-[a-z]+)*)[: ]")


def _start(run: DaemonRun, stderr: Path, *,
           journal_stream: Path | None = None) -> subprocess.Popen[bytes]:
    """The daemon, stderr to ``stderr``; JOURNAL_STREAM names ``journal_stream`` (by
    default ``stderr`` itself, as systemd would)."""
    env = {**os.environ, KEY_ENV: "sk-test-not-a-secret"}
    env.pop("NOTIFY_SOCKET", None)
    err = open(stderr, "wb")  # noqa: SIM115 - the child keeps it; closed below
    st = os.stat(journal_stream) if journal_stream else os.fstat(err.fileno())
    env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    try:
        return subprocess.Popen([sys.executable, "-m", "containersync", "daemon", "--config",
                                 str(run.config)], stdout=subprocess.DEVNULL,
                                stderr=err, env=env)
    finally:
        err.close()


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.terminate()
    try:
        return proc.wait(40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_daemon_under_journald_writes_priority_prefixed_plain_lines(
        tmp_path: Path, local_server: RunningServer) -> None:
    run = DaemonRun(tmp_path, local_server)
    (run.local / "a.txt").write_text("a")
    (run.local / "link").symlink_to("a.txt")  # a notice: logged once as a warning
    stderr = tmp_path / "stderr"
    proc = _start(run, stderr)
    try:
        wait_for(lambda: "<6>ready" in stderr.read_text(), "the ready line")
        wait_for(lambda: "<4>problem" in stderr.read_text(), "the symlink's problem line")
    finally:
        assert _stop(proc) == 0
    lines = stderr.read_text().splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed, strict=True) if not m]
    events = {(m.group(2), m.group(1)) for m in parsed if m}
    assert {("daemon-started", "6"), ("ready", "6"), ("problem", "4"),
            ("stopping", "6")} <= events
    cycles = {prio for name, prio in events if name == "cycle"}
    assert cycles and cycles <= {"4", "6"}  # 4: a cycle that saw problems
    started = next(line for line in lines if line.startswith("<6>daemon-started"))
    assert started.startswith("<6>daemon-started: daemon started config=")
    assert not any("\x1b[" in line or line.startswith("<6>{") for line in lines)
    problem = next(line for line in lines if line.startswith("<4>problem"))
    assert "path=link" in problem and "kind=symlink" in problem


def test_a_redirected_stderr_that_inherited_journal_stream_gets_no_prefixes(
        tmp_path: Path, local_server: RunningServer) -> None:
    run = DaemonRun(tmp_path, local_server)
    (run.local / "a.txt").write_text("a")
    stderr = tmp_path / "stderr"
    journal = tmp_path / "journal"  # what the parent's stderr was
    journal.write_text("")
    proc = _start(run, stderr, journal_stream=journal)
    try:
        wait_for(lambda: '"event": "ready"' in stderr.read_text(), "the ready line")
    finally:
        assert _stop(proc) == 0
    assert all(line.startswith("{") for line in stderr.read_text().splitlines())
